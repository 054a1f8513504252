#include "node/trectl/cli.h"

#include <algorithm>
#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace trenode::trectl {
namespace {

int ExitCodeFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return kOk;
    case absl::StatusCode::kNotFound:
      return kNotFound;
    case absl::StatusCode::kUnauthenticated:
    case absl::StatusCode::kPermissionDenied:
      return kDenied;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kResourceExhausted:
      return kRejected;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return kUnavailable;
    default:
      return kFailed;
  }
}

}  // namespace

std::unique_ptr<grpc::ClientContext> Cli::NewContext(int deadline_seconds) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  if (!role.empty()) context->AddMetadata("x-trenode-role", role);
  if (wait_seconds > 0) {
    context->set_wait_for_ready(true);
    deadline_seconds = deadline_seconds > 0 ? deadline_seconds + wait_seconds : 0;
  }
  if (deadline_seconds > 0) {
    context->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(deadline_seconds));
  }
  return context;
}

const std::set<std::string>& GlobalFlags() {
  static const auto* flags = new std::set<std::string>{
      "node", "ca", "cert", "key", "token", "token-file", "role", "wait", "json", "help"};
  return *flags;
}

int Usage(absl::string_view text) {
  std::cerr << "trectl: usage: " << text << "\n";
  return kUsage;
}

int Help(const Args& args, absl::string_view help) {
  if (args.Has("help")) {
    std::cout << help;
    return kOk;
  }
  std::cerr << help;
  return kUsage;
}

int Fail(const absl::Status& status) {
  std::cerr << "trectl: " << absl::StatusCodeToString(status.code()) << ": " << status.message()
            << "\n";
  return ExitCodeFor(status.code());
}

int Fail(const grpc::Status& status) {
  return Fail(
      absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message()));
}

void PrintJson(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& cell : header) widths.push_back(cell.size());
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

int RunArea(const Args& args, absl::string_view help,
            const std::function<int(const std::string&, const Args&)>& command) {
  if (args.positional().size() < 2 || args.Has("help")) {
    return Help(args, help);
  }
  return command(args.positional()[1], args.Shift(2));
}

}  // namespace trenode::trectl
