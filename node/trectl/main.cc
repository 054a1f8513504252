// trectl: the command-line client of a trenode node, for every role.
#include <cstdlib>
#include <iostream>

#include "absl/strings/ascii.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "node/common/files.h"
#include "node/trectl/cli.h"

namespace {

constexpr char kTrectlHelp[] =
    "usage: trectl [GLOBAL FLAGS] AREA COMMAND [ARGS]\n"
    "\n"
    "Areas:\n"
    "  dataset   the data catalogue: list, get, search, import, register, update, retire\n"
    "  project   projects and members: create, approve, propose-member, check-access, ...\n"
    "  training  training records: record, list\n"
    "  analysis  analyses: submit, status, watch, list, cancel, approve, reject\n"
    "  release   output release: create, submit, list, show, review, download, revoke\n"
    "  disclosure  check a table with the disclosure rules before submitting it (local)\n"
    "  log       the activity log: checkpoint, verify\n"
    "  federation  this node's partners: peers, self\n"
    "  pki       a development federation PKI: init, issue, dev-issuer\n"
    "  token     mint a development bearer token (development only)\n"
    "\n"
    "Global flags (each also read from the environment variable shown):\n"
    "  --node ADDR        the node, host:port (TRENODE_NODE; default 127.0.0.1:50051)\n"
    "  --ca FILE          the federation CA that signed the node's certificate (TRENODE_CA)\n"
    "  --cert FILE --key FILE\n"
    "                     a client certificate, for service accounts and nodes\n"
    "                     (TRENODE_CERT, TRENODE_KEY)\n"
    "  --token TOKEN      a bearer token, for people (TRENODE_TOKEN);\n"
    "  --token-file FILE  or read it from FILE (TRENODE_TOKEN_FILE)\n"
    "  --role ROLE        the role to act in when the token grants several (TRENODE_ROLE)\n"
    "  --wait SECONDS     wait up to SECONDS for the node to come up (default: fail at once)\n"
    "  --json             print results as JSON instead of tables\n"
    "  --help             help for trectl, an area or a command\n"
    "\n"
    "Exit codes: 0 done; 1 failed; 2 bad command line; 3 not found; 4 not allowed or not\n"
    "authenticated; 5 the node refused the request (invalid, conflicting or too large);\n"
    "6 the node is unavailable or timed out (retry); 7 a verification failed.\n";

std::string Setting(const trenode::trectl::Args& args, const char* flag, const char* env,
                    const std::string& fallback = "") {
  if (auto value = args.Get(flag)) return *value;
  const char* from_env = std::getenv(env);
  return from_env ? from_env : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace trenode::trectl;
  std::vector<std::string> words(argv + 1, argv + argc);
  auto args = Args::Parse(
      words, {"json", "help", "include-retired", "include-logs", "no-wait", "suppress", "all"});
  if (!args.ok()) {
    std::cerr << "trectl: " << args.status().message() << "\n" << kTrectlHelp;
    return kUsage;
  }
  if (args->positional().empty()) {
    if (auto unknown = args->Unknown(GlobalFlags()); !unknown.empty()) {
      std::cerr << "trectl: unknown flag " << unknown.front() << "\n" << kTrectlHelp;
      return kUsage;
    }
    return Help(*args, kTrectlHelp);
  }
  const std::string& area = args->positional()[0];
  if (area == "pki") return RunPkiCommand(*args);
  if (area == "token") return RunTokenCommand(*args);
  if (area == "disclosure") return RunDisclosureCommand(*args);
  if (area != "dataset" && area != "project" && area != "training" && area != "log" &&
      area != "analysis" && area != "release" && area != "federation") {
    std::cerr << "trectl: unknown area \"" << area << "\"\n" << kTrectlHelp;
    return kUsage;
  }
  if (args->Has("help") || args->positional().size() < 2) {
    Cli none;
    if (area == "log") return RunLogCommand(*args, none);
    if (area == "federation") return RunFederationCommand(*args, none);
    if (area == "analysis") return RunAnalysisCommand(*args, none);
    if (area == "release") return RunReleaseCommand(*args, none);
    return area == "dataset" ? RunDatasetCommand(*args, none) : RunProjectCommand(*args, none);
  }

  Cli cli;
  cli.node_address = Setting(*args, "node", "TRENODE_NODE", "127.0.0.1:50051");
  cli.json = args->Has("json");
  auto wait = args->GetInt("wait", 0);
  if (!wait.ok() || *wait < 0) return Usage("--wait SECONDS takes a number of seconds");
  cli.wait_seconds = static_cast<int>(*wait);
  cli.role = Setting(*args, "role", "TRENODE_ROLE");
  cli.token = Setting(*args, "token", "TRENODE_TOKEN");
  if (std::string token_file = Setting(*args, "token-file", "TRENODE_TOKEN_FILE");
      cli.token.empty() && !token_file.empty()) {
    std::optional<std::string> token = trenode::ReadWholeFile(token_file);
    if (!token) return Fail(absl::NotFoundError("cannot read the token file " + token_file));
    cli.token = std::string(absl::StripAsciiWhitespace(*token));
  }
  grpc::SslCredentialsOptions tls;
  std::string ca = Setting(*args, "ca", "TRENODE_CA");
  if (ca.empty())
    return Usage("--ca FILE (or TRENODE_CA): the CA that signed the node's certificate");
  std::optional<std::string> ca_pem = trenode::ReadWholeFile(ca);
  if (!ca_pem) return Fail(absl::NotFoundError("cannot read the CA file " + ca));
  tls.pem_root_certs = *ca_pem;
  std::string cert = Setting(*args, "cert", "TRENODE_CERT");
  std::string key = Setting(*args, "key", "TRENODE_KEY");
  if (cert.empty() != key.empty()) return Usage("--cert and --key go together");
  if (!cert.empty()) {
    std::optional<std::string> cert_pem = trenode::ReadWholeFile(cert);
    std::optional<std::string> key_pem = trenode::ReadWholeFile(key);
    if (!cert_pem || !key_pem) return Fail(absl::NotFoundError("cannot read --cert or --key"));
    tls.pem_cert_chain = *cert_pem;
    tls.pem_private_key = *key_pem;
  }
  cli.channel = grpc::CreateChannel(cli.node_address, grpc::SslCredentials(tls));
  if (area == "log") return RunLogCommand(*args, cli);
  if (area == "federation") return RunFederationCommand(*args, cli);
  if (area == "analysis") return RunAnalysisCommand(*args, cli);
  if (area == "release") return RunReleaseCommand(*args, cli);
  return area == "dataset" ? RunDatasetCommand(*args, cli) : RunProjectCommand(*args, cli);
}
