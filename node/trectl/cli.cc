#include "node/trectl/cli.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "node/common/files.h"

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

namespace {

std::string Setting(const Args& args, const char* flag, const char* env,
                    const std::string& fallback = "") {
  if (auto value = args.Get(flag)) return *value;
  const char* from_env = std::getenv(env);
  return from_env ? from_env : fallback;
}

}  // namespace

int Connect(const Args& args, Cli& cli) {
  cli.node_address = Setting(args, "node", "TRENODE_NODE", "127.0.0.1:50051");
  cli.json = args.Has("json");
  auto wait = args.GetInt("wait", 0);
  if (!wait.ok() || *wait < 0) return Usage("--wait SECONDS takes a number of seconds");
  cli.wait_seconds = static_cast<int>(*wait);
  cli.role = Setting(args, "role", "TRENODE_ROLE");
  cli.token = Setting(args, "token", "TRENODE_TOKEN");
  if (std::string token_file = Setting(args, "token-file", "TRENODE_TOKEN_FILE");
      cli.token.empty() && !token_file.empty()) {
    std::optional<std::string> token = ReadWholeFile(token_file);
    if (!token) return Fail(absl::NotFoundError("cannot read the token file " + token_file));
    cli.token = std::string(absl::StripAsciiWhitespace(*token));
  }
  grpc::SslCredentialsOptions tls;
  std::string ca = Setting(args, "ca", "TRENODE_CA");
  if (ca.empty())
    return Usage("--ca FILE (or TRENODE_CA): the CA that signed the node's certificate");
  std::optional<std::string> ca_pem = ReadWholeFile(ca);
  if (!ca_pem) return Fail(absl::NotFoundError("cannot read the CA file " + ca));
  tls.pem_root_certs = *ca_pem;
  std::string cert = Setting(args, "cert", "TRENODE_CERT");
  std::string key = Setting(args, "key", "TRENODE_KEY");
  if (cert.empty() != key.empty()) return Usage("--cert and --key go together");
  if (!cert.empty()) {
    std::optional<std::string> cert_pem = ReadWholeFile(cert);
    std::optional<std::string> key_pem = ReadWholeFile(key);
    if (!cert_pem || !key_pem) return Fail(absl::NotFoundError("cannot read --cert or --key"));
    tls.pem_cert_chain = *cert_pem;
    tls.pem_private_key = *key_pem;
  }
  cli.channel = grpc::CreateChannel(cli.node_address, grpc::SslCredentials(tls));
  return kOk;
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

int CheckFlags(const Args& args, absl::string_view what, absl::string_view usage,
               const std::set<std::string>& flags) {
  std::set<std::string> known = flags;
  known.insert(GlobalFlags().begin(), GlobalFlags().end());
  std::vector<std::string> unknown = args.Unknown(known);
  if (unknown.empty()) return kOk;
  std::cerr << "trectl: unknown flag " << unknown.front() << " for " << what << "\n" << usage;
  return kUsage;
}

int RunArea(const Args& args, absl::string_view help, const std::vector<CommandLine>& commands,
            const std::function<int(const std::string&, const Args&)>& command) {
  if (args.positional().size() < 2) return Help(args, help);
  const std::string& area = args.positional()[0];
  const std::string& name = args.positional()[1];
  auto it = std::find_if(commands.begin(), commands.end(),
                         [&](const CommandLine& line) { return line.name == name; });
  if (it == commands.end()) {
    if (args.Has("help")) return Help(args, help);
    std::cerr << "trectl: unknown command \"" << area << " " << name << "\"\n" << help;
    return kUsage;
  }
  if (args.Has("help")) {
    std::cout << it->usage;
    return kOk;
  }
  if (int rc = CheckFlags(args, absl::StrCat(area, " ", name), it->usage, it->flags); rc != kOk) {
    return rc;
  }
  return command(name, args.Shift(2));
}

}  // namespace trenode::trectl
