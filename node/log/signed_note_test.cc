#include "node/log/signed_note.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
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


// The cosignature is checked here from the C2SP tlog-cosignature text alone
// (key id, blob layout, signed message), with OpenSSL, not with the code
// under test.
TEST(CosignatureTest, MatchesTheC2spLayoutCheckedIndependently) {
  auto log_key = NoteSigner::FromKeyString(
      "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz");
  ASSERT_TRUE(log_key.ok());
  NoteSigner cosigner = *log_key->DeriveCosigner("witness.example/w1");
  EXPECT_EQ(cosigner.type(), SignatureType::kCosignatureV1);
  // Derived, not the log's own key pair; and the same every time.
  EXPECT_EQ(cosigner.VerifierKey(), log_key->DeriveCosigner("witness.example/w1")->VerifierKey());
  // Another name, another key pair.
  EXPECT_NE(cosigner.VerifierKey().substr(cosigner.VerifierKey().rfind('+')),
            log_key->DeriveCosigner("witness.example/w2")->VerifierKey().substr(
                cosigner.VerifierKey().rfind('+')));
  std::vector<std::string> vkey = absl::StrSplit(cosigner.VerifierKey(), absl::MaxSplits('+', 2));
  ASSERT_EQ(vkey.size(), 3u);
  std::string typed_public;
  ASSERT_TRUE(absl::Base64Unescape(vkey[2], &typed_public));
  ASSERT_EQ(typed_public.size(), 33u);
  ASSERT_EQ(typed_public[0], '\x04');
  std::string log_public;
  ASSERT_TRUE(absl::Base64Unescape("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", &log_public));
  EXPECT_NE(typed_public.substr(1), log_public.substr(1));

  const std::string text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
  auto line = cosigner.Cosign(text, 1679315147);
  ASSERT_TRUE(line.ok()) << line.status();
  std::string prefix = "\xE2\x80\x94 witness.example/w1 ";
  ASSERT_EQ(line->substr(0, prefix.size()), prefix);
  std::string blob;
  ASSERT_TRUE(absl::Base64Unescape(line->substr(prefix.size(), line->size() - prefix.size() - 1),
                                   &blob));
  ASSERT_EQ(blob.size(), 4u + 8u + 64u);
  std::string id_input = "witness.example/w1\n" + typed_public;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(id_input.data()), id_input.size(), digest);
  EXPECT_EQ(blob.substr(0, 4), std::string(reinterpret_cast<char*>(digest), 4));
  EXPECT_EQ(absl::BytesToHexString(blob.substr(0, 4)), vkey[1]);
  // 1679315147 = 0x6418 50CB, big-endian in eight bytes.
  EXPECT_EQ(blob.substr(4, 8), std::string("\0\0\0\0\x64\x18\x50\xcb", 8));
  std::string message = "cosignature/v1\ntime 1679315147\n" + text;
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(typed_public.data() + 1),
      32);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ASSERT_EQ(EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(blob.data() + 12), 64,
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
}

TEST(CosignatureTest, VerifiesOnlyTheCheckpointAndTimeItSigned) {
  auto log_key = NoteSigner::Generate("trenode.example/site-b");
  ASSERT_TRUE(log_key.ok());
  auto checkpoint = log_key->Sign("trenode.example/site-b\n5\nAAAA\n");
  ASSERT_TRUE(checkpoint.ok());
  NoteSigner cosigner = *NoteSigner::Generate("x")->DeriveCosigner("trenode.example/site-a/witness");
  auto line = cosigner.Cosign("trenode.example/site-b\n5\nAAAA\n", 1700000000);
  ASSERT_TRUE(line.ok());
  std::string cosigned = *checkpoint + *line;
  auto witness = NoteVerifier::FromVerifierKey(cosigner.VerifierKey());
  ASSERT_TRUE(witness.ok()) << witness.status();
  auto seen = witness->VerifyCosignature(cosigned);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->time, 1700000000u);
  EXPECT_EQ(seen->text, "trenode.example/site-b\n5\nAAAA\n");
  // The log's signature still verifies beside it.
  auto log = NoteVerifier::FromVerifierKey(log_key->VerifierKey());
  ASSERT_TRUE(log->Verify(cosigned).ok());
  // Another checkpoint, or another time, does not verify.
  std::string other = cosigned;
  other.replace(other.find("\n5\n"), 3, "\n6\n");
  EXPECT_EQ(witness->VerifyCosignature(other).status().code(),
            absl::StatusCode::kFailedPrecondition);
  std::string blob;
  std::string encoded = line->substr(line->rfind(' ') + 1);
  encoded.pop_back();
  ASSERT_TRUE(absl::Base64Unescape(encoded, &blob));
  blob[11] ^= 1;
  std::string retimed = *checkpoint + "\xE2\x80\x94 trenode.example/site-a/witness " +
                        absl::Base64Escape(blob) + "\n";
  EXPECT_EQ(witness->VerifyCosignature(retimed).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // Keys are used only for their own kind of signature.
  EXPECT_EQ(log_key->Cosign("a\n", 1).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(cosigner.Sign("a\n").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(witness->Verify(cosigned).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log->VerifyCosignature(cosigned).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace trenode::log
