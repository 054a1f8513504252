// C2SP signed notes with Ed25519 signatures (signature type 0x01): a text
// whose every line ends in LF, a blank line, then signature lines
// "— <key name> <base64(key id || signature)>". The key id is the first four
// bytes of SHA-256(key name || LF || 0x01 || public key).
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

class NoteSigner {
 public:
  // From "PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>".
  static absl::StatusOr<NoteSigner> FromKeyString(absl::string_view key);
  // A fresh key named `name` (a checkpoint origin, e.g. "trenode.example/site-a").
  static absl::StatusOr<NoteSigner> Generate(const std::string& name);

  const std::string& name() const { return name_; }
  // "PRIVATE+KEY+..." for storing the key.
  std::string KeyString() const;
  // "<name>+<hex key id>+<base64(0x01 || public key)>" for verifiers.
  std::string VerifierKey() const;
  // `text` (which must end in LF) with this key's signature line appended.
  absl::StatusOr<std::string> Sign(absl::string_view text) const;

 private:
  NoteSigner(std::string name, std::array<uint8_t, 32> seed, std::array<uint8_t, 32> public_key);
  std::string name_;
  std::array<uint8_t, 32> seed_;
  std::array<uint8_t, 32> public_key_;
  std::array<uint8_t, 4> key_id_;
};

class NoteVerifier {
 public:
  // From "<name>+<hex key id>+<base64(0x01 || public key)>"; InvalidArgument
  // if malformed or the key id does not match the key.
  static absl::StatusOr<NoteVerifier> FromVerifierKey(absl::string_view key);

  const std::string& name() const { return name_; }
  // The note's text if it carries a valid signature by this key;
  // FailedPrecondition if it has none or it does not verify; InvalidArgument
  // if the note is malformed.
  absl::StatusOr<std::string> Verify(absl::string_view note) const;

 private:
  NoteVerifier(std::string name, std::array<uint8_t, 32> public_key);
  std::string name_;
  std::array<uint8_t, 32> public_key_;
  std::array<uint8_t, 4> key_id_;
};

}  // namespace trenode::log

#endif  // TRENODE_NODE_LOG_SIGNED_NOTE_H_
