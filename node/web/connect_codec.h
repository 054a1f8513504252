// The Connect protocol's JSON forms (spec/json-api.md): a request or reply
// message as protobuf's canonical JSON, and the envelopes of a streamed
// reply. Pure functions; thread-safe.
#ifndef TRENODE_NODE_WEB_CONNECT_CODEC_H_
#define TRENODE_NODE_WEB_CONNECT_CODEC_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/support/status.h"

namespace trenode::web {

// The JSON object `json` as the binary protobuf of `type`. InvalidArgument
// naming the problem (not JSON, an unknown field, a value of the wrong
// type) otherwise; unknown fields are refused, not ignored.
absl::StatusOr<std::string> JsonToBinary(const google::protobuf::Descriptor& type,
                                         absl::string_view json);

// The binary protobuf `binary` of `type` as canonical JSON (lowerCamelCase
// names, default values left out, 64-bit integers as strings). Internal if
// `binary` does not parse.
absl::StatusOr<std::string> BinaryToJson(const google::protobuf::Descriptor& type,
                                         absl::string_view binary);

// A streamed message: one flags byte (2 for the end of the stream), the
// payload's length as 4 bytes big-endian, the payload.
std::string Envelope(absl::string_view payload, bool end_of_stream = false);

// The payload of a streaming request's body, which must be exactly one
// uncompressed message envelope; InvalidArgument otherwise.
absl::StatusOr<std::string> OnlyEnvelope(absl::string_view body);

// The end-of-stream message for `status`: {} for OK, otherwise
// {"error":{"code":"...","message":"..."}}.
std::string EndOfStreamJson(const grpc::Status& status);

}  // namespace trenode::web

#endif  // TRENODE_NODE_WEB_CONNECT_CODEC_H_
