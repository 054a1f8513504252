// trectl: the command-line client of a trenode node, for every role.
#include <iostream>

#include "node/trectl/cli.h"

namespace {

constexpr char kTrectlHelp[] =
    "usage: trectl [GLOBAL FLAGS] AREA COMMAND [ARGS]\n"
    "\n"
    "Areas:\n"
    "  dataset   the data catalogue: list, get, search, import, register, update, retire\n"
    "  project   projects and members: create, approve, propose-member, check-access, ...\n"
    "  training  training records: record, list\n"
    "  analysis  analyses: submit, status, watch, list, cancel, approve, reject, bundles\n"
    "  release   output release: create, submit, list, show, review, download, withdraw, revoke\n"
    "  disclosure  check a table with the disclosure rules before submitting it (local)\n"
    "  log       the activity log: checkpoint, verify, tail, export\n"
    "  federation  this node's partners: peers, self, search, status, logs\n"
    "  pki       a development federation PKI: init, issue, dev-issuer, log-key\n"
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

}  // namespace

int main(int argc, char** argv) {
  using namespace trenode::trectl;
  std::vector<std::string> words(argv + 1, argv + argc);
  auto args = Args::Parse(words, {"json", "help", "include-retired", "include-logs", "no-wait",
                                  "suppress", "all", "csv", "awaiting"});
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
  // The node's areas check their command line before connecting (Connect).
  Cli cli;
  cli.json = args->Has("json");
  if (area == "dataset") return RunDatasetCommand(*args, cli);
  if (area == "project" || area == "training") return RunProjectCommand(*args, cli);
  if (area == "log") return RunLogCommand(*args, cli);
  if (area == "analysis") return RunAnalysisCommand(*args, cli);
  if (area == "release") return RunReleaseCommand(*args, cli);
  if (area == "federation") return RunFederationCommand(*args, cli);
  std::cerr << "trectl: unknown area \"" << area << "\"\n" << kTrectlHelp;
  return kUsage;
}
