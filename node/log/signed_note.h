// C2SP signed notes with Ed25519 signatures (signature type 0x01): a text
// whose every line ends in LF, a blank line, then signature lines
// "— <key name> <base64(key id || signature)>". The key id is the first four
// bytes of SHA-256(key name || LF || type || public key).
//
// Also C2SP tlog-cosignature/v1 (type 0x04), a witness's statement that a
// checkpoint is the largest consistent one it has seen of that log: the
// signature line carries base64(key id || u64 big-endian time || Ed25519
// signature) over "cosignature/v1\ntime <time>\n" followed by the
// checkpoint's text.
//
// Thread-safety: signers and verifiers are immutable after creation.
#ifndef TRENODE_NODE_LOG_SIGNED_NOTE_H_
#define TRENODE_NODE_LOG_SIGNED_NOTE_H_

#include <array>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::log {

enum class SignatureType : uint8_t { kEd25519 = 0x01, kCosignatureV1 = 0x04 };

class NoteSigner {
 public:
  // From "PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>".
  static absl::StatusOr<NoteSigner> FromKeyString(absl::string_view key);
  // A fresh key named `name` (a checkpoint origin, e.g. "trenode.example/site-a").
  static absl::StatusOr<NoteSigner> Generate(const std::string& name);

  // A cosigning key named `name`, derived from this key's seed and `name`
  // (domain separated, so a key pair of its own for each name; C2SP requires
  // a cosigner's key to be its own). Deterministic: the same log key and
  // name always give the same cosigner.
  absl::StatusOr<NoteSigner> DeriveCosigner(const std::string& name) const;

  const std::string& name() const { return name_; }
  SignatureType type() const { return type_; }
  // "PRIVATE+KEY+..." for storing the key.
  std::string KeyString() const;
  // "<name>+<hex key id>+<base64(type || public key)>" for verifiers.
  std::string VerifierKey() const;
  // `text` (which must end in LF) with this key's signature line appended.
  // FailedPrecondition for a cosigning key.
  absl::StatusOr<std::string> Sign(absl::string_view text) const;
  // This cosigning key's signature line ("— <name> <base64>\n") over the
  // checkpoint `text` at `unix_time`. FailedPrecondition for a note key.
  absl::StatusOr<std::string> Cosign(absl::string_view text, uint64_t unix_time) const;

 private:
  NoteSigner(std::string name, SignatureType type, std::array<uint8_t, 32> seed,
             std::array<uint8_t, 32> public_key);
  absl::StatusOr<std::string> SignBytes(absl::string_view message) const;
  std::string name_;
  SignatureType type_;
  std::array<uint8_t, 32> seed_;
  std::array<uint8_t, 32> public_key_;
  std::array<uint8_t, 4> key_id_;
};

struct Cosigned {
  std::string text;  // the checkpoint's text
  uint64_t time;     // when the witness cosigned it (Unix seconds)
};

class NoteVerifier {
 public:
  // From "<name>+<hex key id>+<base64(type || public key)>", type 0x01 or
  // 0x04; InvalidArgument if malformed or the key id does not match the key.
  static absl::StatusOr<NoteVerifier> FromVerifierKey(absl::string_view key);

  const std::string& name() const { return name_; }
  SignatureType type() const { return type_; }
  // The note's text if it carries a valid signature by this (type 0x01) key;
  // FailedPrecondition if it has none or it does not verify; InvalidArgument
  // if the note is malformed.
  absl::StatusOr<std::string> Verify(absl::string_view note) const;
  // The same for a cosignature by this (type 0x04) key: the text and when
  // it was cosigned.
  absl::StatusOr<Cosigned> VerifyCosignature(absl::string_view note) const;

 private:
  NoteVerifier(std::string name, SignatureType type, std::array<uint8_t, 32> public_key);
  absl::StatusOr<Cosigned> Check(absl::string_view note) const;
  std::string name_;
  SignatureType type_;
  std::array<uint8_t, 32> public_key_;
  std::array<uint8_t, 4> key_id_;
};

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_SIGNED_NOTE_H_
