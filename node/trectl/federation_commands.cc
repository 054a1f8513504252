// trectl federation ...: this node's partners, as the node sees them.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "node/common/text.h"
#include "node/trectl/cli.h"
#include "trenode/v1/federation.grpc.pb.h"

namespace trenode::trectl {
namespace {

constexpr char kFederationHelp[] =
    "usage: trectl [GLOBAL FLAGS] federation COMMAND\n"
    "\n"
    "  peers   this node's partners, each asked now for its description: one line per\n"
    "          partner with what happened (answered, refused and why, unreachable, or a\n"
    "          wrong certificate), its institution, interface, capabilities, compute\n"
    "          backends and dataset themes; --json for everything, log keys included.\n"
    "          Exit 0 even when partners do not answer: the lines say so.\n"
    "  self    this node's own description (as partners see it)\n"
    "  search WORDS... [--per-node N]\n"
    "          this node's catalogue and every partner's searched at once; hits merged\n"
    "          by rank (scores are not comparable across nodes), then one line per node\n"
    "          with what happened there. Exit 0 even when partners do not answer.\n";

// A partner's words, made safe to print on a terminal.
std::string Shown(const std::string& text) { return PrintableText(text, 200); }

std::string Joined(const google::protobuf::RepeatedPtrField<std::string>& words) {
  std::vector<std::string> shown;
  for (const std::string& word : words) shown.push_back(Shown(word));
  return shown.empty() ? "-" : absl::StrJoin(shown, ",");
}

std::string ReachabilityName(trenode::v1::PartnerStatus::Reachability reachability) {
  switch (reachability) {
    case trenode::v1::PartnerStatus::REACHABILITY_ANSWERED:
      return "answered";
    case trenode::v1::PartnerStatus::REACHABILITY_REFUSED:
      return "refused";
    case trenode::v1::PartnerStatus::REACHABILITY_UNREACHABLE:
      return "unreachable";
    case trenode::v1::PartnerStatus::REACHABILITY_WRONG_IDENTITY:
      return "wrong-identity";
    default:
      return "unknown";
  }
}

int Peers(Cli& cli) {
  auto stub = trenode::v1::Federation::NewStub(cli.channel);
  auto context = cli.NewContext(10);
  trenode::v1::ListPartnersResponse listed;
  grpc::Status status = stub->ListPartners(context.get(), {}, &listed);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(listed);
    return kOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& partner : listed.partners()) {
    const auto& info = partner.info();
    bool answered = partner.reachability() == trenode::v1::PartnerStatus::REACHABILITY_ANSWERED;
    rows.push_back(
        {partner.node_id(), partner.address(), ReachabilityName(partner.reachability()),
         absl::StrCat(partner.latency_ms(), " ms"),
         answered ? Shown(info.institution()) : Shown(partner.detail()),
         answered ? absl::StrCat(Shown(info.interface_version()), " r", info.interface_revision())
                  : "-",
         answered ? Joined(info.capabilities()) : "-",
         answered ? Joined(info.compute_backends()) : "-",
         answered ? Joined(info.dataset_themes()) : "-"});
  }
  if (rows.empty()) {
    std::cout << "this node lists no partners (federation.partners in its config)\n";
    return kOk;
  }
  PrintTable({"NODE", "ADDRESS", "STATUS", "TOOK", "INSTITUTION / DETAIL", "INTERFACE",
              "CAPABILITIES", "COMPUTE", "THEMES"},
             rows);
  return kOk;
}

int Self(Cli& cli) {
  auto stub = trenode::v1::Federation::NewStub(cli.channel);
  auto context = cli.NewContext(10);
  trenode::v1::NodeInfo info;
  grpc::Status status = stub->GetNodeInfo(context.get(), {}, &info);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(info);
    return kOk;
  }
  PrintTable(
      {"FIELD", "VALUE"},
      {{"node", info.node_id()},
       {"institution", Shown(info.institution())},
       {"interface", absl::StrCat(info.interface_version(), " r", info.interface_revision())},
       {"capabilities", Joined(info.capabilities())},
       {"compute", Joined(info.compute_backends())},
       {"themes", Joined(info.dataset_themes())},
       {"log key", Shown(info.log_verifier_key())}});
  return kOk;
}

int Search(const Args& args, Cli& cli) {
  std::vector<std::string> words(args.positional().begin(), args.positional().end());
  if (words.empty()) return Usage("federation search WORDS... [--per-node N]");
  trenode::v1::SearchFederationRequest request;
  request.set_query(absl::StrJoin(words, " "));
  auto per_node = args.GetInt("per-node", 0);
  if (!per_node.ok() || *per_node < 0 || *per_node > 100) {
    return Usage("--per-node N takes 1 to 100");
  }
  request.set_per_node(static_cast<int32_t>(*per_node));
  auto stub = trenode::v1::Federation::NewStub(cli.channel);
  auto context = cli.NewContext(10);
  trenode::v1::SearchFederationResponse found;
  grpc::Status status = stub->SearchFederation(context.get(), request, &found);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(found);
    return kOk;
  }
  std::vector<std::vector<std::string>> hits;
  for (const auto& hit : found.hits()) {
    hits.push_back({absl::StrCat(hit.rank()), hit.node_id(), Shown(hit.dataset().id()),
                    Shown(hit.dataset().title())});
  }
  if (hits.empty()) {
    std::cout << "no dataset matches at any node that answered\n";
  } else {
    PrintTable({"RANK", "NODE", "DATASET", "TITLE"}, hits);
  }
  std::cout << "\n";
  std::vector<std::vector<std::string>> nodes;
  for (const auto& node : found.nodes()) {
    nodes.push_back({node.node_id(), ReachabilityName(node.reachability()),
                     absl::StrCat(node.hits()), absl::StrCat(node.latency_ms(), " ms"),
                     Shown(node.detail())});
  }
  PrintTable({"NODE", "STATUS", "HITS", "TOOK", "DETAIL"}, nodes);
  return kOk;
}

}  // namespace

int RunFederationCommand(const Args& args, Cli& cli) {
  return RunArea(args, kFederationHelp, [&](const std::string& command, const Args& rest) {
    if (command == "peers") return Peers(cli);
    if (command == "self") return Self(cli);
    if (command == "search") return Search(rest, cli);
    std::cerr << "trectl: unknown command \"federation " << command << "\"\n" << kFederationHelp;
    return static_cast<int>(kUsage);
  });
}

}  // namespace trenode::trectl
