// trectl federation ...: this node's partners, as the node sees them.
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/time_util.h"
#include "node/common/files.h"
#include "node/common/text.h"
#include "node/log/log_audit.h"
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
    "          with what happened there. Exit 0 even when partners do not answer.\n"
    "  status  (auditor, node_admin) each partner: whether it answers now, and what this\n"
    "          node, as a witness, has verified of its activity log (size, when, why the\n"
    "          last check did not finish); then every ALARM raised (a partner's log\n"
    "          rewritten, rolled back, forked or re-keyed), with its evidence in --json.\n"
    "          Exit 7 if any partner's log has an alarm.\n"
    "  logs [--all] [--log-keys FILE] [--max-age SECONDS] [--quorum N]\n"
    "          (auditor, node_admin) this node's activity log, and with --all every\n"
    "          partner's, relayed as signed and verified here: each current checkpoint\n"
    "          against the node's log key; each cosignature against the witness key that\n"
    "          the witness's own log key signed for it, counted only if by another node,\n"
    "          made within --max-age (default 3600 s), and a prefix of the current\n"
    "          checkpoint; at least --quorum (default 1) other nodes must have cosigned;\n"
    "          any alarm the relaying node raised about a node fails it. One line per\n"
    "          node (--json: the verdicts). --log-keys pins log keys (lines\n"
    "          \"NODE_ID VERIFIER_KEY\"): a pinned node missing from the list fails;\n"
    "          without it keys are as reported. Exit 7 if any log fails.\n";

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
       {"log key", Shown(info.log_verifier_key())},
       {"witness key", Shown(info.witness_verifier_key())}});
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

std::string When(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 ? "-"
                          : google::protobuf::util::TimeUtil::ToString(t).substr(0, 19) + "Z";
}

int Status(Cli& cli) {
  auto stub = trenode::v1::Federation::NewStub(cli.channel);
  trenode::v1::WitnessStatus witnessed;
  auto context = cli.NewContext(10);
  grpc::Status status = stub->GetWitnessStatus(context.get(), {}, &witnessed);
  if (!status.ok()) return Fail(status);
  trenode::v1::ListPartnersResponse listed;
  auto listing = cli.NewContext(10);
  status = stub->ListPartners(listing.get(), {}, &listed);
  if (!status.ok()) return Fail(status);
  bool alarmed = false;
  for (const auto& log : witnessed.logs()) alarmed = alarmed || log.alarms_size() > 0;
  if (cli.json) {
    PrintJson(witnessed);
    return alarmed ? kVerifyFailed : kOk;
  }
  std::map<std::string, const trenode::v1::WitnessedLog*> by_node;
  for (const auto& log : witnessed.logs()) by_node[log.node_id()] = &log;
  std::vector<std::vector<std::string>> rows;
  for (const auto& partner : listed.partners()) {
    auto seen = by_node.find(partner.node_id());
    const trenode::v1::WitnessedLog* log = seen == by_node.end() ? nullptr : seen->second;
    rows.push_back({partner.node_id(), ReachabilityName(partner.reachability()),
                    log ? absl::StrCat(log->size()) : "-", log ? When(log->checked()) : "-",
                    log ? absl::StrCat(log->alarms_size()) : "0",
                    log ? Shown(log->last_error()) : "not witnessed yet"});
  }
  if (rows.empty()) {
    std::cout << "this node lists no partners (federation.partners in its config)\n";
  } else {
    PrintTable({"NODE", "NOW", "LOG SIZE VERIFIED", "CHECKED", "ALARMS", "LAST CHECK"}, rows);
  }
  for (const auto& log : witnessed.logs()) {
    for (const auto& alarm : log.alarms()) {
      std::cout << "ALARM " << Shown(log.node_id()) << " " << When(alarm.raised()) << ": "
                << PrintableText(alarm.detail(), 400) << "\n";
    }
  }
  return alarmed ? kVerifyFailed : kOk;
}

int Logs(const Args& args, Cli& cli) {
  std::map<std::string, std::string> pinned;
  if (std::optional<std::string> file = args.Get("log-keys")) {
    std::optional<std::string> text = ReadWholeFile(*file);
    if (!text) return Usage(absl::StrCat("--log-keys: cannot read ", *file));
    for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipWhitespace())) {
      std::vector<std::string> words =
          absl::StrSplit(absl::StripAsciiWhitespace(line), ' ', absl::SkipEmpty());
      if (words.size() != 2 || !pinned.emplace(words[0], words[1]).second) {
        return Usage("--log-keys: each line is \"NODE_ID VERIFIER_KEY\", one per node");
      }
    }
  }
  log::AuditPolicy policy{absl::Now()};
  auto max_age = args.GetInt("max-age", 3600);
  auto quorum = args.GetInt("quorum", 1);
  if (!max_age.ok() || *max_age <= 0) return Usage("--max-age SECONDS takes a positive number");
  if (!quorum.ok() || *quorum < 0 || *quorum > 64) return Usage("--quorum N takes 0 to 64");
  policy.max_age = absl::Seconds(*max_age);
  policy.quorum = static_cast<int>(*quorum);

  auto stub = trenode::v1::Federation::NewStub(cli.channel);
  auto context = cli.NewContext(30);
  trenode::v1::FederationLogs logs;
  grpc::Status status = stub->GetFederationLogs(context.get(), {}, &logs);
  if (!status.ok()) return Fail(status);
  // Each node's log key (the one pinned, or as it reports it), and the
  // witness key that log key vouches for; from the whole list, before any
  // is left out.
  std::map<std::string, int> seen;
  std::map<std::string, std::string> witness_keys;
  for (const auto& node : logs.nodes()) {
    ++seen[node.node_id()];
    auto pin = pinned.find(node.node_id());
    const std::string& log_key = pin == pinned.end() ? node.log_key() : pin->second;
    absl::StatusOr<std::string> witness_key =
        log::WitnessKeyFrom(node.witness_key_note(), log_key, node.node_id());
    if (witness_key.ok()) witness_keys[node.node_id()] = *witness_key;
  }
  if (!args.Has("all") && logs.nodes_size() > 1) {
    logs.mutable_nodes()->DeleteSubrange(1, logs.nodes_size() - 1);
  }
  std::vector<log::LogAudit> audits;
  std::vector<bool> pinned_key;
  for (const auto& node : logs.nodes()) {
    auto pin = pinned.find(node.node_id());
    log::LogAudit audit =
        log::AuditNodeLog(node, witness_keys, pin == pinned.end() ? "" : pin->second, policy);
    if (seen[node.node_id()] > 1) audit.problems.push_back("listed more than once by the relay");
    audits.push_back(std::move(audit));
    pinned_key.push_back(pin != pinned.end());
  }
  if (args.Has("all")) {
    for (const auto& [node, key] : pinned) {
      if (seen.contains(node)) continue;
      log::LogAudit missing;
      missing.node_id = PrintableText(node, 64);
      missing.problems.push_back("pinned, but not in the relayed list");
      audits.push_back(std::move(missing));
      pinned_key.push_back(true);
    }
  }
  bool all_good = true;
  for (const auto& audit : audits) all_good = all_good && audit.problems.empty();
  if (cli.json) {
    // The verdicts, not the relayed data: nothing relayed is to be trusted
    // without these checks.
    google::protobuf::Struct out;
    auto& list = *(*out.mutable_fields())["nodes"].mutable_list_value();
    for (size_t i = 0; i < audits.size(); ++i) {
      auto& node = *list.add_values()->mutable_struct_value()->mutable_fields();
      node["node_id"].set_string_value(audits[i].node_id);
      node["verified"].set_bool_value(audits[i].problems.empty());
      node["size"].set_number_value(static_cast<double>(audits[i].size));
      node["root"].set_string_value(audits[i].root);
      node["log_key"].set_string_value(pinned_key[i] ? "pinned" : "as reported");
      for (const auto& [field, words] :
           {std::pair<const char*, const std::vector<std::string>*>{"cosigned_by",
                                                                   &audits[i].cosigned_by},
            {"ignored", &audits[i].ignored},
            {"problems", &audits[i].problems}}) {
        auto& values = *node[field].mutable_list_value();
        for (const std::string& word : *words) values.add_values()->set_string_value(word);
      }
    }
    (*out.mutable_fields())["verified"].set_bool_value(all_good);
    PrintJson(out);
    return all_good ? kOk : kVerifyFailed;
  }
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < audits.size(); ++i) {
    const log::LogAudit& audit = audits[i];
    rows.push_back({audit.node_id, audit.problems.empty() ? "verified" : "FAILED",
                    audit.size > 0 ? absl::StrCat(audit.size) : "-",
                    audit.root.empty() ? "-" : audit.root.substr(0, 12),
                    audit.cosigned_by.empty() ? "-" : absl::StrJoin(audit.cosigned_by, ","),
                    pinned_key[i] ? "pinned" : "as reported",
                    absl::StrJoin(audit.problems, "; ")});
  }
  PrintTable({"NODE", "LOG", "SIZE", "ROOT", "COSIGNED BY", "LOG KEY", "PROBLEMS"}, rows);
  if (pinned.empty()) {
    std::cout << "log keys are as the nodes report them (through the node asked): pin them "
                 "with --log-keys to trust nothing relayed\n";
  }
  return all_good ? kOk : kVerifyFailed;
}

const std::vector<CommandLine>& FederationCommandLines() {
  static const auto* lines = new std::vector<CommandLine>{
      {"peers",
       "usage: trectl federation peers\n"
       "This node's partners, each asked now for its description (--json: everything).\n",
       {}},
      {"self", "usage: trectl federation self\nThis node's own description.\n", {}},
      {"search",
       "usage: trectl federation search WORDS... [--per-node N]\n"
       "This node's catalogue and every partner's searched at once, hits merged by rank.\n",
       {"per-node"}},
      {"status",
       "usage: trectl federation status\n"
       "(auditor, node_admin) Each partner's reachability and witnessed log; exit 7 on an "
       "alarm.\n",
       {}},
      {"logs",
       "usage: trectl federation logs [--all] [--log-keys FILE] [--max-age SECONDS] "
       "[--quorum N]\n"
       "(auditor, node_admin) Activity logs relayed as signed and verified here (see\n"
       "`trectl federation --help`); exit 7 if any log fails.\n",
       {"all", "log-keys", "max-age", "quorum"}},
  };
  return *lines;
}

}  // namespace

int RunFederationCommand(const Args& args, Cli& cli) {
  return RunArea(args, kFederationHelp, FederationCommandLines(),
                 [&](const std::string& command, const Args& rest) {
                   if (int rc = Connect(rest, cli); rc != kOk) return rc;
    if (command == "peers") return Peers(cli);
    if (command == "self") return Self(cli);
    if (command == "search") return Search(rest, cli);
    if (command == "status") return Status(cli);
    if (command == "logs") return Logs(rest, cli);
    std::cerr << "trectl: unknown command \"federation " << command << "\"\n" << kFederationHelp;
    return static_cast<int>(kUsage);
  });
}

}  // namespace trenode::trectl
