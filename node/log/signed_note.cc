#include "node/log/signed_note.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"

namespace trenode::log {
namespace {

constexpr char kDash[] = "\xE2\x80\x94 ";  // U+2014 and a space
constexpr char kCosignerDomain[] = "trenode/cosigner-key/v1\n";
constexpr size_t kMaxNameBytes = 256;
// A note is a few lines; as Go's note package, at most this many signatures
// are looked at.
constexpr size_t kMaxNoteBytes = 16 << 10;
constexpr size_t kMaxSignatureLines = 100;

std::array<uint8_t, 4> KeyId(const std::string& name, SignatureType type,
                             const std::array<uint8_t, 32>& key) {
  std::string input = name + "\n";
  input.push_back(static_cast<char>(type));
  input.append(reinterpret_cast<const char*>(key.data()), key.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return {digest[0], digest[1], digest[2], digest[3]};
}

std::string Hex(const std::array<uint8_t, 4>& id) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(id.data()), 4));
}

bool ValidName(absl::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (char c : name) {
    if (c == '+' || static_cast<unsigned char>(c) <= 0x20) return false;
  }
  return true;
}

// "<name>+<hex id>+<base64(type || 32 bytes)>" -> name, type and the 32 bytes.
absl::Status ParseKey(absl::string_view text, std::string& name, SignatureType& type,
                      std::array<uint8_t, 32>& key, std::array<uint8_t, 4>& id) {
  // The base64 key may itself contain '+': split off only the name and id.
  std::vector<std::string> parts = absl::StrSplit(text, absl::MaxSplits('+', 2));
  if (parts.size() != 3 || !ValidName(parts[0]) || parts[1].size() != 8) {
    return absl::InvalidArgumentError("a note key is <name>+<8 hex digits>+<base64 key>");
  }
  std::string bytes;
  uint8_t kind = 0;
  if (absl::Base64Unescape(parts[2], &bytes) && bytes.size() == 33) {
    kind = static_cast<uint8_t>(bytes[0]);
  }
  if (kind != static_cast<uint8_t>(SignatureType::kEd25519) &&
      kind != static_cast<uint8_t>(SignatureType::kCosignatureV1)) {
    return absl::InvalidArgumentError(
        "the note key is not an Ed25519 key (type 0x01) or cosigning key (type 0x04)");
  }
  name = parts[0];
  type = static_cast<SignatureType>(kind);
  std::copy(bytes.begin() + 1, bytes.end(), key.begin());
  if (!std::all_of(parts[1].begin(), parts[1].end(),
                   [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); })) {
    return absl::InvalidArgumentError("a note key's id is 8 hex digits");
  }
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

// "cosignature/v1\ntime <t>\n" || text: what a cosignature signs.
std::string CosignedMessage(absl::string_view text, uint64_t time) {
  return absl::StrCat("cosignature/v1\ntime ", time, "\n", text);
}

std::string BigEndian(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 7; i >= 0; --i, value >>= 8) bytes[i] = static_cast<char>(value & 0xff);
  return bytes;
}

uint64_t FromBigEndian(absl::string_view bytes) {
  uint64_t value = 0;
  for (char byte : bytes) value = (value << 8) | static_cast<uint8_t>(byte);
  return value;
}

bool Ed25519Verify(const std::array<uint8_t, 32>& public_key, absl::string_view signature,
                   absl::string_view message) {
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, public_key.data(), 32);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = key && ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace

NoteSigner::NoteSigner(std::string name, SignatureType type, std::array<uint8_t, 32> seed,
                       std::array<uint8_t, 32> public_key)
    : name_(std::move(name)),
      type_(type),
      seed_(seed),
      public_key_(public_key),
      key_id_(KeyId(name_, type, public_key)) {}

absl::StatusOr<NoteSigner> NoteSigner::FromKeyString(absl::string_view key) {
  if (!absl::ConsumePrefix(&key, "PRIVATE+KEY+")) {
    return absl::InvalidArgumentError("a note signing key starts with PRIVATE+KEY+");
  }
  std::string name;
  SignatureType type;
  std::array<uint8_t, 32> seed;
  std::array<uint8_t, 4> id;
  RETURN_IF_ERROR(ParseKey(key, name, type, seed, id));
  ASSIGN_OR_RETURN(auto pub, PublicFromSeed(seed));
  NoteSigner signer(name, type, seed, pub);
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
  return NoteSigner(name, SignatureType::kEd25519, seed, pub);
}

absl::StatusOr<NoteSigner> NoteSigner::DeriveCosigner(const std::string& name) const {
  if (!ValidName(name) || name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError("a key name is 1 to 256 bytes, without spaces or '+'");
  }
  std::string input = absl::StrCat(kCosignerDomain, name, "\n");
  input.append(reinterpret_cast<const char*>(seed_.data()), seed_.size());
  std::array<uint8_t, 32> seed;
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), seed.data());
  OPENSSL_cleanse(input.data(), input.size());
  ASSIGN_OR_RETURN(auto pub, PublicFromSeed(seed));
  return NoteSigner(name, SignatureType::kCosignatureV1, seed, pub);
}

std::string NoteSigner::KeyString() const {
  std::string bytes(1, static_cast<char>(type_));
  bytes.append(reinterpret_cast<const char*>(seed_.data()), 32);
  return absl::StrCat("PRIVATE+KEY+", name_, "+", Hex(key_id_), "+", absl::Base64Escape(bytes));
}

std::string NoteSigner::VerifierKey() const {
  std::string bytes(1, static_cast<char>(type_));
  bytes.append(reinterpret_cast<const char*>(public_key_.data()), 32);
  return absl::StrCat(name_, "+", Hex(key_id_), "+", absl::Base64Escape(bytes));
}

absl::StatusOr<std::string> NoteSigner::SignBytes(absl::string_view message) const {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), 32);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char signature[64];
  size_t size = sizeof(signature);
  bool ok = key && ctx && EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestSign(ctx, signature, &size,
                           reinterpret_cast<const unsigned char*>(message.data()),
                           message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (!ok || size != 64) return absl::InternalError("Ed25519 signing failed");
  return std::string(reinterpret_cast<const char*>(signature), 64);
}

absl::StatusOr<std::string> NoteSigner::Sign(absl::string_view text) const {
  if (type_ != SignatureType::kEd25519) {
    return absl::FailedPreconditionError(absl::StrCat(name_, " is a cosigning key"));
  }
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("a note's text ends with a newline");
  }
  ASSIGN_OR_RETURN(std::string signature, SignBytes(text));
  std::string blob(reinterpret_cast<const char*>(key_id_.data()), 4);
  blob += signature;
  return absl::StrCat(text, "\n", kDash, name_, " ", absl::Base64Escape(blob), "\n");
}

absl::StatusOr<std::string> NoteSigner::Cosign(absl::string_view text, uint64_t unix_time) const {
  if (type_ != SignatureType::kCosignatureV1) {
    return absl::FailedPreconditionError(absl::StrCat(name_, " is not a cosigning key"));
  }
  if (text.empty() || text.back() != '\n') {
    return absl::InvalidArgumentError("a checkpoint's text ends with a newline");
  }
  if (unix_time > static_cast<uint64_t>(INT64_MAX)) {
    return absl::InvalidArgumentError("a cosignature's time is at most 2^63 - 1");
  }
  ASSIGN_OR_RETURN(std::string signature, SignBytes(CosignedMessage(text, unix_time)));
  std::string blob(reinterpret_cast<const char*>(key_id_.data()), 4);
  blob += BigEndian(unix_time);
  blob += signature;
  return absl::StrCat(kDash, name_, " ", absl::Base64Escape(blob), "\n");
}

NoteVerifier::NoteVerifier(std::string name, SignatureType type,
                           std::array<uint8_t, 32> public_key)
    : name_(std::move(name)),
      type_(type),
      public_key_(public_key),
      key_id_(KeyId(name_, type, public_key)) {}

absl::StatusOr<NoteVerifier> NoteVerifier::FromVerifierKey(absl::string_view key) {
  std::string name;
  SignatureType type;
  std::array<uint8_t, 32> pub;
  std::array<uint8_t, 4> id;
  RETURN_IF_ERROR(ParseKey(key, name, type, pub, id));
  NoteVerifier verifier(name, type, pub);
  if (verifier.key_id_ != id) {
    return absl::InvalidArgumentError("the verifier key's id does not match its key");
  }
  return verifier;
}

absl::StatusOr<std::string> NoteVerifier::Verify(absl::string_view note) const {
  if (type_ != SignatureType::kEd25519) {
    return absl::FailedPreconditionError(absl::StrCat(name_, " is a cosigner's key"));
  }
  ASSIGN_OR_RETURN(Cosigned checked, Check(note));
  return std::move(checked.text);
}

absl::StatusOr<Cosigned> NoteVerifier::VerifyCosignature(absl::string_view note) const {
  if (type_ != SignatureType::kCosignatureV1) {
    return absl::FailedPreconditionError(absl::StrCat(name_, " is not a cosigner's key"));
  }
  return Check(note);
}

absl::StatusOr<Cosigned> NoteVerifier::Check(absl::string_view note) const {
  if (note.size() > kMaxNoteBytes) {
    return absl::InvalidArgumentError("a signed note is at most 16 KiB");
  }
  size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos || note.back() != '\n') {
    return absl::InvalidArgumentError("a signed note is text, a blank line, and signature lines");
  }
  absl::string_view text = note.substr(0, split + 1);
  absl::string_view signatures = note.substr(split + 2);
  const bool cosignature = type_ == SignatureType::kCosignatureV1;
  const size_t blob_size = cosignature ? 4 + 8 + 64 : 4 + 64;
  bool found = false;
  size_t lines = 0;
  for (absl::string_view line : absl::StrSplit(signatures, '\n', absl::SkipEmpty())) {
    if (++lines > kMaxSignatureLines) {
      return absl::InvalidArgumentError("a signed note carries at most 100 signatures");
    }
    if (!absl::ConsumePrefix(&line, kDash)) {
      return absl::InvalidArgumentError("a signature line starts with an em dash and a space");
    }
    size_t space = line.find(' ');
    if (space == absl::string_view::npos || line.substr(0, space) != name_) continue;
    std::string blob;
    if (!absl::Base64Unescape(line.substr(space + 1), &blob) || blob.size() != blob_size ||
        !std::equal(key_id_.begin(), key_id_.end(), blob.begin(),
                    [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); })) {
      continue;
    }
    found = true;
    absl::string_view rest = absl::string_view(blob).substr(4);
    uint64_t time = 0;
    std::string message(text);
    if (cosignature) {
      time = FromBigEndian(rest.substr(0, 8));
      rest.remove_prefix(8);
      if (time > static_cast<uint64_t>(INT64_MAX)) continue;
      message = CosignedMessage(text, time);
    }
    if (Ed25519Verify(public_key_, rest, message)) return Cosigned{std::string(text), time};
  }
  return absl::FailedPreconditionError(
      found ? absl::StrCat("the signature by ", name_, " does not verify")
            : absl::StrCat("the note has no signature by ", name_));
}

}  // namespace trenode::log
