#include "node/log/signed_note.h"

#include "gtest/gtest.h"

namespace trenode::log {
namespace {

// Known answers from tests/testdata/signed-note/vectors.md.
TEST(SignedNoteTest, SpecificationExampleVerifies) {
  auto verifier = NoteVerifier::FromVerifierKey(
      "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  std::string note =
      "This is an example message.\n\n\xE2\x80\x94 example.com/foo "
      "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM="
      "\n";
  auto text = verifier->Verify(note);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "This is an example message.\n");
  std::string tampered = note;
  tampered[0] = 't';
  EXPECT_EQ(verifier->Verify(tampered).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SignedNoteTest, PublishedPrivateKeySignsByteForByte) {
  auto signer = NoteSigner::FromKeyString(
      "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(signer->VerifierKey(),
            "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
  std::string text =
      "If you think cryptography is the answer to your problem,\n"
      "then you don't know what your problem is.\n";
  auto note = signer->Sign(text);
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(*note,
            text +
                "\n\xE2\x80\x94 PeterNeumann "
                "x08go/ZJkuBS9UG/"
                "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n");
}

TEST(SignedNoteTest, GeneratedKeysRoundTripAndOtherKeysDoNotVerify) {
  auto signer = *NoteSigner::Generate("trenode.test/site-a");
  auto verifier = *NoteVerifier::FromVerifierKey(signer.VerifierKey());
  auto note = *signer.Sign("trenode.test/site-a\n3\nAAAA\n");
  EXPECT_EQ(*verifier.Verify(note), "trenode.test/site-a\n3\nAAAA\n");
  auto other = *NoteSigner::Generate("trenode.test/site-a");
  EXPECT_EQ(NoteVerifier::FromVerifierKey(other.VerifierKey())->Verify(note).status().code(),
            absl::StatusCode::kFailedPrecondition);
  auto restored = NoteSigner::FromKeyString(signer.KeyString());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->VerifierKey(), signer.VerifierKey());
  EXPECT_FALSE(signer.Sign("no newline").ok());
  EXPECT_FALSE(
      NoteVerifier::FromVerifierKey("name+00000000+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
          .ok());
}

}  // namespace
}  // namespace trenode::log
