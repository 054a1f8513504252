// trectl: the command-line client of a trenode node, for every role.
#include <cstdlib>
#include <iostream>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "node/trectl/cli.h"

namespace {

constexpr char kTrectlHelp[] =
    "usage: trectl [GLOBAL FLAGS] AREA COMMAND [ARGS]\n"
    "\n"
    "Areas:\n"
    "  dataset   the data catalogue: list, get, search, import, register, update, retire\n"
    "\n"
    "Global flags:\n"
    "  --node ADDR     the node (default $TRENODE_NODE or 127.0.0.1:50051)\n"
    "  --as ROLE       DEVELOPMENT ONLY: the role to claim on a loopback node\n"
    "                  (researcher, data_steward, output_checker, auditor, node_admin, peer_node)\n"
    "  --subject NAME  DEVELOPMENT ONLY: the subject to claim\n"
    "  --json          print results as JSON instead of tables\n"
    "  --help          help for trectl, an area or a command\n"
    "\n"
    "Exit codes: 0 done; 1 failed; 2 bad command line; 3 not found; 4 not allowed or not\n"
    "authenticated; 5 the node refused the request (invalid, conflicting or too large);\n"
    "6 the node is unavailable or timed out (retry).\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace trenode::trectl;
  std::vector<std::string> words(argv + 1, argv + argc);
  auto args = Args::Parse(words, {"json", "help", "include-retired"});
  if (!args.ok()) {
    std::cerr << "trectl: " << args.status().message() << "\n" << kTrectlHelp;
    return kUsage;
  }
  if (args->positional().empty()) {
    std::cout << kTrectlHelp;
    return args->Has("help") ? kOk : kUsage;
  }
  Cli cli;
  const char* env_node = std::getenv("TRENODE_NODE");
  cli.node_address = args->Get("node").value_or(env_node ? env_node : "127.0.0.1:50051");
  cli.role = args->Get("as").value_or("");
  cli.subject = args->Get("subject").value_or("");
  cli.json = args->Has("json");
  cli.channel = grpc::CreateChannel(cli.node_address, grpc::InsecureChannelCredentials());

  const std::string& area = args->positional()[0];
  if (area == "dataset") return RunDatasetCommand(*args, cli);
  std::cerr << "trectl: unknown area \"" << area << "\"\n" << kTrectlHelp;
  return kUsage;
}
