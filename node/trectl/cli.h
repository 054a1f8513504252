// What every trectl command shares: the connection to a node, the output
// format, and the mapping of outcomes to exit codes.
#ifndef TRENODE_NODE_TRECTL_CLI_H_
#define TRENODE_NODE_TRECTL_CLI_H_

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "node/trectl/args.h"

namespace trenode::trectl {

// Exit codes (documented in `trectl --help` and the README).
enum ExitCode : int {
  kOk = 0,
  kFailed = 1,  // internal error, or anything not below
  kUsage = 2,   // bad command line
  kNotFound = 3,
  kDenied = 4,        // unauthenticated or permission denied
  kRejected = 5,      // the node refused the request as invalid or in conflict
  kUnavailable = 6,   // the node could not be reached or timed out: retry
  kVerifyFailed = 7,  // an integrity check failed (trectl log verify)
};

struct Cli {
  std::string node_address;
  std::string token;  // bearer token, if any
  std::string role;   // the role to act in, for tokens granting several
  bool json = false;
  // If > 0: wait up to this long for the node to come up before each call.
  int wait_seconds = 0;
  std::shared_ptr<grpc::Channel> channel;

  // A context carrying the credentials and, if non-zero, a deadline.
  std::unique_ptr<grpc::ClientContext> NewContext(int deadline_seconds = 30) const;
};

// Fills `cli` from the global flags in `args` (or their environment
// variables) and opens the channel to the node; kOk, or prints why not and
// returns the exit code (kUsage for a missing --ca, kNotFound for an
// unreadable file). Commands call it after their command line is checked.
int Connect(const Args& args, Cli& cli);

// The flags every command takes, without their dashes (see `trectl --help`).
const std::set<std::string>& GlobalFlags();

// Prints "trectl: usage: TEXT" to stderr and returns kUsage.
int Usage(absl::string_view text);

// Prints `help` to stdout and returns kOk when the command line asked for it
// (--help or -h); otherwise, as a command line that is not complete, prints
// it to stderr and returns kUsage.
int Help(const Args& args, absl::string_view help);

// Prints "trectl: MESSAGE" to stderr and returns the exit code for `status`.
int Fail(const absl::Status& status);
int Fail(const grpc::Status& status);

// Prints `message` as JSON (proto3 JSON mapping, fields as in the proto).
void PrintJson(const google::protobuf::Message& message);

// Prints rows under a header, columns padded to line up.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// Calls `list(request, &page)` page after page, following next_page_token
// until the node has no more, and merges every page into `all` (whose
// next_page_token is left empty). The first failed call's status otherwise.
template <typename Request, typename Response, typename List>
grpc::Status FetchAllPages(Request request, Response* all, const List& list) {
  do {
    Response page;
    grpc::Status status = list(request, &page);
    if (!status.ok()) return status;
    all->MergeFrom(page);
    request.set_page_token(page.next_page_token());
  } while (!request.page_token().empty());
  all->clear_next_page_token();
  return grpc::Status::OK;
}

// One command of an area as its command line is checked: its name, its usage
// (printed for `--help`, and after any mistake in its command line), and the
// flags it takes besides the global ones.
struct CommandLine {
  std::string name;
  std::string usage;
  std::set<std::string> flags;
};

// `trectl AREA COMMAND ...`: prints `help` for `AREA --help` or a missing
// command (kOk or kUsage); prints the command's usage for `AREA COMMAND
// --help` (kOk); refuses (kUsage, naming it, then the usage) a command not in
// `commands` or a flag the command does not take; else runs
// `command(COMMAND, the words after it)`.
int RunArea(const Args& args, absl::string_view help, const std::vector<CommandLine>& commands,
            const std::function<int(const std::string&, const Args&)>& command);

// For a program-like command with no subcommands (`trectl token`): kOk if
// every flag given is in `flags` or global, else prints the first unknown
// one and `usage` to stderr and returns kUsage.
int CheckFlags(const Args& args, absl::string_view what, absl::string_view usage,
               const std::set<std::string>& flags);

int RunDatasetCommand(const Args& args, Cli& cli);
// `project ...` and `training ...`.
int RunProjectCommand(const Args& args, Cli& cli);
int RunPkiCommand(const Args& args);
int RunLogCommand(const Args& args, Cli& cli);
int RunFederationCommand(const Args& args, Cli& cli);
int RunAnalysisCommand(const Args& args, Cli& cli);
int RunDisclosureCommand(const Args& args);
int RunReleaseCommand(const Args& args, Cli& cli);
int RunTokenCommand(const Args& args);

}  // namespace trenode::trectl

#endif  // TRENODE_NODE_TRECTL_CLI_H_
