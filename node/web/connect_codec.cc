#include "node/web/connect_codec.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/type_resolver.h"
#include "google/protobuf/util/type_resolver_util.h"
#include "google/protobuf/util/json_util.h"
#include "node/common/text.h"
#include "node/rpc/connect_status.h"

namespace trenode::web {
namespace {

constexpr unsigned char kCompressedFlag = 0x01;
constexpr unsigned char kEndOfStreamFlag = 0x02;
constexpr size_t kPrefixBytes = 5;

// Converts between JSON and binary protobuf directly, by the generated
// descriptors: no message object is built on the way.
google::protobuf::util::TypeResolver* Resolver() {
  static auto* resolver = google::protobuf::util::NewTypeResolverForDescriptorPool(
      "type.googleapis.com", google::protobuf::DescriptorPool::generated_pool());
  return resolver;
}

std::string TypeUrl(const google::protobuf::Descriptor& type) {
  return absl::StrCat("type.googleapis.com/", type.full_name());
}

}  // namespace

absl::StatusOr<std::string> JsonToBinary(const google::protobuf::Descriptor& type,
                                         absl::string_view json) {
  if (json.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the body must be a JSON object, a ", type.full_name(),
                     " (send {} for an empty one)"));
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  std::string binary;
  auto parsed = google::protobuf::util::JsonToBinaryString(
      Resolver(), TypeUrl(type), std::string(json), &binary, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the body is not a JSON ", type.full_name(), ": ",
                     PrintableText(std::string(parsed.message()), 300)));
  }
  return binary;
}

absl::StatusOr<std::string> BinaryToJson(const google::protobuf::Descriptor& type,
                                         absl::string_view binary) {
  std::string json;
  auto printed = google::protobuf::util::BinaryToJsonString(
      Resolver(), TypeUrl(type), std::string(binary), &json);
  if (!printed.ok()) {
    return absl::InternalError(absl::StrCat("the node's reply is not a ", type.full_name(), ": ",
                                            std::string(printed.message())));
  }
  return json;
}

std::string Envelope(absl::string_view payload, bool end_of_stream) {
  std::string out;
  out.reserve(kPrefixBytes + payload.size());
  out.push_back(static_cast<char>(end_of_stream ? kEndOfStreamFlag : 0));
  uint32_t size = static_cast<uint32_t>(payload.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((size >> shift) & 0xff));
  out.append(payload.data(), payload.size());
  return out;
}

absl::StatusOr<std::string> OnlyEnvelope(absl::string_view body) {
  if (body.size() < kPrefixBytes) {
    return absl::InvalidArgumentError(
        "a streaming request's body must be one enveloped message (5-byte prefix, then JSON)");
  }
  unsigned char flags = static_cast<unsigned char>(body[0]);
  if (flags & kCompressedFlag) {
    return absl::InvalidArgumentError("compressed messages are not accepted");
  }
  if (flags != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request's envelope has flags ", static_cast<int>(flags),
                     "; a request message has 0"));
  }
  uint32_t size = 0;
  for (int i = 1; i < 5; ++i) size = (size << 8) | static_cast<unsigned char>(body[i]);
  if (size != body.size() - kPrefixBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request's envelope says ", size, " bytes but ",
                     body.size() - kPrefixBytes, " follow; send exactly one message"));
  }
  return std::string(body.substr(kPrefixBytes));
}

std::string EndOfStreamJson(const grpc::Status& status) {
  if (status.ok()) return "{}";
  return absl::StrCat("{\"error\":", rpc::ConnectErrorJson(status), "}");
}

}  // namespace trenode::web
