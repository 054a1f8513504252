#include "node/log/signed_note.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"

namespace trenode::log {
namespace {

constexpr uint8_t kEd25519 = 0x01;
constexpr char kDash[] = "\xE2\x80\x94 ";  // U+2014 and a space

std::array<uint8_t, 4> KeyId(const std::string& name, const std::array<uint8_t, 32>& key) {
  std::string input = name + "\n";
  input.push_back(static_cast<char>(kEd25519));
  input.append(reinterpret_cast<const char*>(key.data()), key.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return {digest[0], digest[1], digest[2], digest[3]};
}

std::string Hex(const std::array<uint8_t, 4>& id) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(id.data()), 4));
}

bool ValidName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c == '+' || static_cast<unsigned char>(c) <= 0x20) return false;
  }
  return true;
}

// "<name>+<hex id>+<base64(0x01 || 32 bytes)>" -> name and the 32 bytes.
absl::Status ParseKey(absl::string_view text, std::string& name, std::array<uint8_t, 32>& key,
                      std::array<uint8_t, 4>& id) {
  // The base64 key may itself contain '+': split off only the name and id.
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('+', 2));
  if (parts.size() != 3 || !ValidName(parts[0]) || parts[1].size() != 8) {
    return absl::InvalidArgumentError("a note key is <name>+<8 hex digits>+<base64 key>");
  }
  std::string bytes;
  if (!absl::Base64Unescape(parts[2], &bytes) || bytes.size() != 33 ||
      static_cast<uint8_t>(bytes[0]) != kEd25519) {
    return absl::InvalidArgumentError("the note key is not an Ed25519 key (type 0x01)");
  }
  name = parts[0];
  std::copy(bytes.begin() + 1, bytes.end(), key.begin());
  std::string hex_id = absl::HexStringToBytes(parts[1]);
  std::copy(hex_id.begin(), hex_id.end(), id.begin());
  return absl::OkStatus();
}

absl::StatusOr<std::array<uint8_t, 32>> PublicFromSeed(const std::array<uint8_t, 32>& seed) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), 32);
  if (key == nullptr) return absl::InternalError("cannot load an Ed25519 key");
  std::array<uint8_t, 32> pub;
  size_t size = pub.size();
  bool ok = EVP_PKEY_get_raw_public_key(key, pub.data(), &size) == 1 && size == 32;
  EVP_PKEY_free(key);
  if (!ok) return absl::InternalError("cannot derive the Ed25519 public key");
  return pub;
}

}  // namespace

NoteSigner::NoteSigner(std::string name, std::array<uint8_t, 32> seed,
                       std::array<uint8_t, 32> public_key)
    : name_(std::move(name)),
      seed_(seed),
      public_key_(public_key),
      key_id_(KeyId(name_, public_key)) {}

absl::StatusOr<NoteSigner> NoteSigner::FromKeyString(absl::string_view key) {
  if (!absl::ConsumePrefix(&key, "PRIVATE+KEY+")) {
    return absl::InvalidArgumentError("a note signing key starts with PRIVATE+KEY+");
  }
  std::string name;
  std::array<uint8_t, 32> seed;
  std::array<uint8_t, 4> id;
  RETURN_IF_ERROR(ParseKey(key, name, seed, id));
  ASSIGN_OR_RETURN(auto pub, PublicFromSeed(seed));
  NoteSigner signer(name, seed, pub);
  if (signer.key_id_ != id) return absl::InvalidArgumentError("the key id does not match the key");
  return signer;
}

absl::StatusOr<NoteSigner> NoteSigner::Generate(const std::string& name) {
  if (!ValidName(name)) {
    return absl::InvalidArgumentError("a key name is non-empty, without spaces or '+'");
  }
  std::array<uint8_t, 32> seed;
  if (RAND_bytes(seed.data(), 32) != 1) return absl::InternalError("no randomness");
  ASSIGN_OR_RETURN(auto pub, PublicFromSeed(seed));
  return NoteSigner(name, seed, pub);
}

std::string NoteSigner::KeyString() const {
  std::string bytes(1, static_cast<char>(kEd25519));
  bytes.append(reinterpret_cast<const char*>(seed_.data()), 32);
  return absl::StrCat("PRIVATE+KEY+", name_, "+", Hex(key_id_), "+", absl::Base64Escape(bytes));
}

std::string NoteSigner::VerifierKey() const {
  std::string bytes(1, static_cast<char>(kEd25519));
  bytes.append(reinterpret_cast<const char*>(public_key_.data()), 32);
  return absl::StrCat(name_, "+", Hex(key_id_), "+", absl::Base64Escape(bytes));
}

absl::StatusOr<std::string> NoteSigner::Sign(absl::string_view text) const {
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("a note's text ends with a newline");
  }
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), 32);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char signature[64];
  size_t size = sizeof(signature);
  bool ok = key && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestSign(ctx, signature, &size,
                           reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok || size != 64) return absl::InternalError("Ed25519 signing failed");
  std::string blob(reinterpret_cast<const char*>(key_id_.data()), 4);
  blob.append(reinterpret_cast<const char*>(signature), 64);
  return absl::StrCat(text, "\n", kDash, name_, " ", absl::Base64Escape(blob), "\n");
}

NoteVerifier::NoteVerifier(std::string name, std::array<uint8_t, 32> public_key)
    : name_(std::move(name)), public_key_(public_key), key_id_(KeyId(name_, public_key)) {}

absl::StatusOr<NoteVerifier> NoteVerifier::FromVerifierKey(absl::string_view key) {
  std::string name;
  std::array<uint8_t, 32> pub;
  std::array<uint8_t, 4> id;
  RETURN_IF_ERROR(ParseKey(key, name, pub, id));
  NoteVerifier verifier(name, pub);
  if (verifier.key_id_ != id) {
    return absl::InvalidArgumentError("the verifier key's id does not match its key");
  }
  return verifier;
}

absl::StatusOr<std::string> NoteVerifier::Verify(absl::string_view note) const {
  size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos || note.back() != '\n') {
    return absl::InvalidArgumentError("a signed note is text, a blank line, and signature lines");
  }
  absl::string_view text = note.substr(0, split + 1);
  absl::string_view signatures = note.substr(split + 2);
  bool found = false;
  for (absl::string_view line : absl::StrSplit(signatures, '\n', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&line, kDash)) {
      return absl::InvalidArgumentError("a signature line starts with an em dash and a space");
    }
    size_t space = line.find(' ');
    if (space == absl::string_view::npos || line.substr(0, space) != name_) continue;
    std::string blob;
    if (!absl::Base64Unescape(line.substr(space + 1), &blob) || blob.size() != 68 ||
        !std::equal(key_id_.begin(), key_id_.end(), blob.begin(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); })) {
      continue;
    }
    found = true;
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key_.data(), 32);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok =
        key && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
        EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(blob.data() + 4), 64,
                         reinterpret_cast<const unsigned char*>(text.data()), text.size()) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    if (ok) return std::string(text);
  }
  return absl::FailedPreconditionError(
      found ? absl::StrCat("the signature by ", name_, " does not verify")
            : absl::StrCat("the note has no signature by ", name_));
}

}  // namespace trenode::log
