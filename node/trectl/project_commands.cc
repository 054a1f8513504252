// trectl project ... and trectl training ...: the governance register.
#include <functional>
#include <iostream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/util/time_util.h"
#include "node/charging/money.h"
#include "node/trectl/cli.h"
#include "node/trectl/usage_statement.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode::trectl {
namespace {
using google::protobuf::util::TimeUtil;
using trenode::v1::Project;

constexpr char kProjectHelp[] =
    "usage: trectl [GLOBAL FLAGS] project COMMAND [ARGS]\n"
    "\n"
    "  create ID --title T --lay-summary S [--institution I] [--datasets A,B] [--pi PERSON]\n"
    "                                  propose a project (researchers lead what they propose;\n"
    "                                  stewards name the PI as subject@node-id)\n"
    "  get ID | list                   one project, or those you may see\n"
    "  approve ID --reference R --expires YYYY-MM-DD --datasets A,B   (stewards)\n"
    "          [--preapproved-query-kinds counts,summary,crosstab,regression]\n"
    "                                  queries of only these kinds run without review\n"
    "          [--disclosure-policy acro|opensafely|datashield [--disclosure-overrides N=V,...]]\n"
    "          [--auto-release-owner PERSON]  passing aggregate outputs are released without\n"
    "                                  review, PERSON (an output checker) responsible\n"
    "          [--federated-results pooled-only|visible]  a partner's researcher may see this\n"
    "                                  node's released part of a federated analysis on its own\n"
    "                                  (visible) or only pooled (the default)\n"
    "  reject|suspend|close ID --reason TEXT | resume ID               (stewards)\n"
    "  propose-member ID PERSON        (the PI or a steward)\n"
    "  approve-member ID PERSON        (stewards)\n"
    "  revoke-member ID PERSON --reason TEXT   (stewards)\n"
    "  members ID                      the project's memberships\n"
    "  check-access ID [--person P] [--datasets A,B]\n"
    "                                  may P (default: you) use the datasets now, and if not why\n"
    "  register                        the public register of approved projects\n"
    "  budget ID                       the monthly budget and CPU quota, and this month's\n"
    "                                  committed spending\n"
    "  budget ID --monthly AMOUNT [--cpu-seconds N] [--storage-bytes N] --reason TEXT\n"
    "                                  set them (\"0\": none)\n"
    "  usage ID [--month YYYY-MM] [--csv]\n"
    "                                  the month's statement: every analysis's usage and\n"
    "                                  cost, the total and the budget (--json: as JSON)\n";

constexpr char kTrainingHelp[] =
    "usage: trectl [GLOBAL FLAGS] training COMMAND [ARGS]\n"
    "\n"
    "  record PERSON --course C --completed YYYY-MM-DD --expires YYYY-MM-DD [--reference R]\n"
    "                                  (stewards)\n"
    "  list [PERSON]                   training records (yours by default)\n";

std::string Time(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 ? "-" : TimeUtil::ToString(t).substr(0, 10);
}

std::string StateName(const std::string& enum_name, absl::string_view prefix) {
  return absl::AsciiStrToLower(enum_name.substr(prefix.size()));
}

std::vector<std::string> Split(const std::optional<std::string>& list) {
  if (!list) return {};
  return absl::StrSplit(*list, ',', absl::SkipEmpty());
}

template <typename Message>
int Print(const Cli& cli, const grpc::Status& status, const Message& reply,
          const std::function<void()>& human) {
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(reply);
  } else {
    human();
  }
  return kOk;
}

void PrintProject(const Project& p) {
  std::cout << "id:            " << p.id() << "\n"
            << "title:         " << p.title() << "\n"
            << "state:         "
            << StateName(trenode::v1::ProjectState_Name(p.state()), "PROJECT_STATE_")
            << (p.state_reason().empty() ? "" : " (" + p.state_reason() + ")") << "\n"
            << "PI:            " << p.principal_investigator() << "\n"
            << "institution:   " << p.institution() << "\n"
            << "requested:     " << absl::StrJoin(p.requested_dataset_ids(), ", ") << "\n";
  if (p.has_approval()) {
    std::cout << "approval:      " << p.approval().reference() << " by "
              << p.approval().approved_by() << " on " << Time(p.approval().approved_at())
              << ", expires " << Time(p.approval().expires()) << "\n"
              << "datasets:      " << absl::StrJoin(p.approval().dataset_ids(), ", ") << "\n";
    if (!p.approval().preapproved_query_kinds().empty()) {
      std::vector<std::string> kinds;
      for (int kind : p.approval().preapproved_query_kinds()) {
        kinds.push_back(
            StateName(trenode::v1::OutputKind_Name(static_cast<trenode::v1::OutputKind>(kind)),
                      "OUTPUT_KIND_"));
      }
      std::cout << "pre-approved:  " << absl::StrJoin(kinds, ", ") << " queries\n";
    }
  }
  std::cout << "\n" << p.lay_summary() << "\n";
}

void PrintMembership(const trenode::v1::Membership& m) {
  std::cout << m.person() << " is "
            << StateName(trenode::v1::MembershipState_Name(m.state()), "MEMBERSHIP_STATE_")
            << " in " << m.project_id() << "\n";
}

int ProjectCommand(const std::string& command, const Args& args, Cli& cli) {
  auto stub = trenode::v1::Governance::NewStub(cli.channel);
  const auto& words = args.positional();
  auto need = [&](size_t n, const char* usage) { return words.size() == n ? kOk : Usage(usage); };
  Project project;
  if (command == "create") {
    if (int rc = need(1, "project create ID --title T --lay-summary S ..."); rc != kOk) return rc;
    trenode::v1::CreateProjectRequest request;
    Project* p = request.mutable_project();
    p->set_id(words[0]);
    p->set_title(args.Get("title").value_or(""));
    p->set_lay_summary(args.Get("lay-summary").value_or(""));
    p->set_institution(args.Get("institution").value_or(""));
    p->set_principal_investigator(args.Get("pi").value_or(""));
    for (const auto& d : Split(args.Get("datasets"))) p->add_requested_dataset_ids(d);
    grpc::Status status = stub->CreateProject(cli.NewContext().get(), request, &project);
    return Print(cli, status, project, [&] { PrintProject(project); });
  }
  if (command == "get") {
    if (int rc = need(1, "project get ID"); rc != kOk) return rc;
    trenode::v1::GetProjectRequest request;
    request.set_project_id(words[0]);
    grpc::Status status = stub->GetProject(cli.NewContext().get(), request, &project);
    return Print(cli, status, project, [&] { PrintProject(project); });
  }
  if (command == "list") {
    trenode::v1::ListProjectsRequest request;
    trenode::v1::ListProjectsResponse all;
    grpc::Status status = FetchAllPages(request, &all, [&](const auto& page_request, auto* page) {
      return stub->ListProjects(cli.NewContext().get(), page_request, page);
    });
    return Print(cli, status, all, [&] {
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : all.projects()) {
        rows.push_back({p.id(),
                        StateName(trenode::v1::ProjectState_Name(p.state()), "PROJECT_STATE_"),
                        p.principal_investigator(), Time(p.approval().expires()), p.title()});
      }
      PrintTable({"ID", "STATE", "PI", "EXPIRES", "TITLE"}, rows);
    });
  }
  if (command == "approve") {
    if (int rc = need(1, "project approve ID --reference R --expires YYYY-MM-DD --datasets A,B");
        rc != kOk) {
      return rc;
    }
    trenode::v1::ApproveProjectRequest request;
    request.set_project_id(words[0]);
    request.set_reference(args.Get("reference").value_or(""));
    for (const auto& d : Split(args.Get("datasets"))) request.add_dataset_ids(d);
    for (const auto& kind : Split(args.Get("preapproved-query-kinds"))) {
      trenode::v1::OutputKind parsed;
      if (!trenode::v1::OutputKind_Parse(absl::StrCat("OUTPUT_KIND_", absl::AsciiStrToUpper(kind)),
                                         &parsed)) {
        return Usage("--preapproved-query-kinds: a list of counts, summary, crosstab, regression");
      }
      request.add_preapproved_query_kinds(parsed);
    }
    request.set_auto_release_owner(args.Get("auto-release-owner").value_or(""));
    std::string federated = args.Get("federated-results").value_or("pooled-only");
    if (federated != "pooled-only" && federated != "visible") {
      return Usage("--federated-results: pooled-only or visible");
    }
    request.set_federated_results(federated == "visible"
                                      ? trenode::v1::FEDERATED_RESULTS_VISIBLE
                                      : trenode::v1::FEDERATED_RESULTS_POOLED_ONLY);
    request.set_disclosure_policy(args.Get("disclosure-policy").value_or(""));
    for (const auto& setting : Split(args.Get("disclosure-overrides"))) {
      request.add_disclosure_policy_overrides(setting);
    }
    absl::Time expires;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%d", args.Get("expires").value_or(""), absl::UTCTimeZone(),
                         &expires, &error)) {
      return Usage("project approve ID ... --expires YYYY-MM-DD (the approval ends that day)");
    }
    *request.mutable_expires() = TimeUtil::MicrosecondsToTimestamp(
        absl::ToUnixMicros(expires + absl::Hours(24) - absl::Seconds(1)));
    grpc::Status status = stub->ApproveProject(cli.NewContext().get(), request, &project);
    return Print(cli, status, project, [&] { PrintProject(project); });
  }
  using Decision = grpc::Status (trenode::v1::Governance::Stub::*)(
      grpc::ClientContext*, const trenode::v1::ProjectDecisionRequest&, Project*);
  const std::map<std::string, Decision> decisions = {
      {"reject", &trenode::v1::Governance::Stub::RejectProject},
      {"suspend", &trenode::v1::Governance::Stub::SuspendProject},
      {"resume", &trenode::v1::Governance::Stub::ResumeProject},
      {"close", &trenode::v1::Governance::Stub::CloseProject}};
  if (auto it = decisions.find(command); it != decisions.end()) {
    if (int rc = need(1, "project reject|suspend|resume|close ID [--reason TEXT]"); rc != kOk) {
      return rc;
    }
    trenode::v1::ProjectDecisionRequest request;
    request.set_project_id(words[0]);
    request.set_reason(args.Get("reason").value_or(""));
    grpc::Status status = ((*stub).*(it->second))(cli.NewContext().get(), request, &project);
    return Print(cli, status, project, [&] { PrintProject(project); });
  }
  trenode::v1::Membership membership;
  if (command == "propose-member") {
    if (int rc = need(2, "project propose-member ID PERSON"); rc != kOk) return rc;
    trenode::v1::ProposeMemberRequest request;
    request.set_project_id(words[0]);
    request.set_person(words[1]);
    grpc::Status status = stub->ProposeMember(cli.NewContext().get(), request, &membership);
    return Print(cli, status, membership, [&] { PrintMembership(membership); });
  }
  if (command == "approve-member" || command == "revoke-member") {
    if (int rc = need(2, "project approve-member|revoke-member ID PERSON [--reason TEXT]");
        rc != kOk) {
      return rc;
    }
    trenode::v1::MemberDecisionRequest request;
    request.set_project_id(words[0]);
    request.set_person(words[1]);
    request.set_reason(args.Get("reason").value_or(""));
    grpc::Status status = command == "approve-member"
                              ? stub->ApproveMember(cli.NewContext().get(), request, &membership)
                              : stub->RevokeMember(cli.NewContext().get(), request, &membership);
    return Print(cli, status, membership, [&] { PrintMembership(membership); });
  }
  if (command == "members") {
    if (int rc = need(1, "project members ID"); rc != kOk) return rc;
    trenode::v1::ListMembersRequest request;
    request.set_project_id(words[0]);
    trenode::v1::ListMembersResponse reply;
    grpc::Status status = stub->ListMembers(cli.NewContext().get(), request, &reply);
    return Print(cli, status, reply, [&] {
      std::vector<std::vector<std::string>> rows;
      for (const auto& m : reply.members()) {
        rows.push_back(
            {m.person(),
             StateName(trenode::v1::MembershipState_Name(m.state()), "MEMBERSHIP_STATE_"),
             m.decided_by().empty() ? "-" : m.decided_by(), m.reason()});
      }
      PrintTable({"PERSON", "STATE", "DECIDED BY", "REASON"}, rows);
    });
  }
  if (command == "check-access") {
    if (int rc = need(1, "project check-access ID [--person P] [--datasets A,B]"); rc != kOk) {
      return rc;
    }
    trenode::v1::CheckAccessRequest request;
    request.set_project_id(words[0]);
    request.set_person(args.Get("person").value_or(""));
    for (const auto& d : Split(args.Get("datasets"))) request.add_dataset_ids(d);
    trenode::v1::AccessDecision decision;
    grpc::Status status = stub->CheckAccess(cli.NewContext().get(), request, &decision);
    int rc = Print(cli, status, decision, [&] {
      std::cout << (decision.allowed() ? "allowed" : "refused: " + decision.reason()) << "\n";
    });
    return rc == kOk && !decision.allowed() ? kDenied : rc;
  }
  if (command == "register") {
    trenode::v1::ListApprovedProjectsResponse reply;
    grpc::Status status = stub->ListApprovedProjects(cli.NewContext().get(), {}, &reply);
    return Print(cli, status, reply, [&] {
      for (const auto& entry : reply.projects()) {
        std::cout << entry.project_id() << ": " << entry.title() << " (" << entry.institution()
                  << "; datasets " << absl::StrJoin(entry.dataset_ids(), ", ") << "; until "
                  << Time(entry.expires()) << ")\n  " << entry.lay_summary() << "\n";
      }
    });
  }
  if (command == "budget") {
    if (int rc = need(1, "project budget ID [--monthly AMOUNT --reason TEXT]"); rc != kOk) return rc;
    trenode::v1::Budget budget;
    grpc::Status status;
    if (args.Has("monthly") || args.Has("cpu-seconds") || args.Has("storage-bytes") ||
        args.Has("reason")) {
      // SetBudget sets both limits: one not given keeps its current value,
      // so that raising the CPU quota never drops the monthly budget.
      trenode::v1::GetBudgetRequest current_request;
      current_request.set_project_id(words[0]);
      trenode::v1::Budget current;
      status = stub->GetBudget(cli.NewContext().get(), current_request, &current);
      if (!status.ok()) return Print(cli, status, current, [] {});
      trenode::v1::SetBudgetRequest request;
      request.set_project_id(words[0]);
      request.set_monthly(
          args.Get("monthly").value_or(charging::FormatMoney(current.monthly_micros())));
      absl::StatusOr<int64_t> cpu = args.GetInt("cpu-seconds", current.cpu_seconds_quota());
      if (!cpu.ok()) return Usage("project budget ID --cpu-seconds N (a whole number)");
      request.set_cpu_seconds_quota(*cpu);
      absl::StatusOr<int64_t> storage =
          args.GetInt("storage-bytes", current.storage_bytes_quota());
      if (!storage.ok()) return Usage("project budget ID --storage-bytes N (a whole number)");
      request.set_storage_bytes_quota(*storage);
      request.set_reason(args.Get("reason").value_or(""));
      status = stub->SetBudget(cli.NewContext().get(), request, &budget);
    } else {
      trenode::v1::GetBudgetRequest request;
      request.set_project_id(words[0]);
      status = stub->GetBudget(cli.NewContext().get(), request, &budget);
    }
    return Print(cli, status, budget, [&] {
      const std::string currency = budget.currency().empty() ? "" : " " + budget.currency();
      std::cout << "project:    " << budget.project_id() << "\n"
                << "month:      " << budget.month() << "\n"
                << "budget:     "
                << (budget.monthly_micros() > 0
                        ? charging::FormatMoney(budget.monthly_micros()) + currency + " a month"
                        : std::string("none"))
                << "\n"
                << "cpu quota:  "
                << (budget.cpu_seconds_quota() > 0
                        ? absl::StrCat(budget.cpu_seconds_quota(), " CPU-seconds a month")
                        : std::string("none"))
                << "\n"
                << "storage:    "
                << (budget.storage_bytes_quota() > 0
                        ? absl::StrCat("quota ", budget.storage_bytes_quota(), " bytes")
                        : std::string("no quota"))
                << "; " << budget.committed_storage_bytes() << " bytes kept or held\n"
                << "committed:  " << charging::FormatMoney(budget.committed_micros()) << currency
                << ", " << budget.committed_cpu_seconds() << " CPU-seconds\n";
      if (!budget.updated_by().empty()) {
        std::cout << "set by:     " << budget.updated_by() << " on " << Time(budget.updated())
                  << "\n";
      }
    });
  }
  if (command == "usage") {
    if (int rc = need(1, "project usage ID [--month YYYY-MM] [--csv]"); rc != kOk) return rc;
    trenode::v1::GetProjectUsageRequest request;
    request.set_project_id(words[0]);
    request.set_month(args.Get("month").value_or(""));
    trenode::v1::ProjectUsage usage;
    grpc::Status status = stub->GetProjectUsage(cli.NewContext().get(), request, &usage);
    return Print(cli, status, usage, [&] {
      std::cout << (args.Has("csv") ? StatementCsv(usage) : StatementTable(usage));
    });
  }
  std::cerr << "trectl: unknown command \"project " << command << "\"\n" << kProjectHelp;
  return kUsage;
}

int TrainingCommand(const std::string& command, const Args& args, Cli& cli) {
  auto stub = trenode::v1::Governance::NewStub(cli.channel);
  const auto& words = args.positional();
  if (command == "record") {
    if (words.size() != 1)
      return Usage("training record PERSON --course C --completed D --expires D");
    trenode::v1::RecordTrainingRequest request;
    auto* record = request.mutable_record();
    record->set_person(words[0]);
    record->set_course(args.Get("course").value_or(""));
    record->set_completed(args.Get("completed").value_or(""));
    record->set_expires(args.Get("expires").value_or(""));
    record->set_certificate_reference(args.Get("reference").value_or(""));
    trenode::v1::TrainingRecord reply;
    grpc::Status status = stub->RecordTraining(cli.NewContext().get(), request, &reply);
    return Print(cli, status, reply, [&] {
      std::cout << "recorded " << reply.course() << " for " << reply.person() << ", valid through "
                << reply.expires() << "\n";
    });
  }
  if (command == "list") {
    if (words.size() > 1) return Usage("training list [PERSON]");
    trenode::v1::ListTrainingRequest request;
    if (!words.empty()) request.set_person(words[0]);
    trenode::v1::ListTrainingResponse reply;
    grpc::Status status = stub->ListTraining(cli.NewContext().get(), request, &reply);
    return Print(cli, status, reply, [&] {
      std::vector<std::vector<std::string>> rows;
      for (const auto& r : reply.records()) {
        rows.push_back({r.person(), r.course(), r.completed(), r.expires(), r.recorded_by()});
      }
      PrintTable({"PERSON", "COURSE", "COMPLETED", "EXPIRES", "RECORDED BY"}, rows);
    });
  }
  std::cerr << "trectl: unknown command \"training " << command << "\"\n" << kTrainingHelp;
  return kUsage;
}

const std::vector<CommandLine>& ProjectCommandLines() {
  static const auto* lines = new std::vector<CommandLine>{
      {"create",
       "usage: trectl project create ID --title T --lay-summary S [--institution I]\n"
       "                             [--datasets A,B] [--pi PERSON]\n"
       "Proposes a project (researchers lead what they propose; stewards name the PI as\n"
       "subject@node-id).\n",
       {"title", "lay-summary", "institution", "datasets", "pi"}},
      {"get", "usage: trectl project get ID\nOne project.\n", {}},
      {"list", "usage: trectl project list\nThe projects you may see.\n", {}},
      {"approve",
       "usage: trectl project approve ID --reference R --expires YYYY-MM-DD --datasets A,B\n"
       "         [--preapproved-query-kinds counts,summary,crosstab,regression]\n"
       "         [--disclosure-policy acro|opensafely|datashield "
       "[--disclosure-overrides N=V,...]]\n"
       "         [--auto-release-owner PERSON] [--federated-results pooled-only|visible]\n"
       "(stewards) See `trectl project --help` for what each setting does.\n",
       {"reference", "expires", "datasets", "preapproved-query-kinds", "disclosure-policy",
        "disclosure-overrides", "auto-release-owner", "federated-results"}},
      {"reject", "usage: trectl project reject ID --reason TEXT\n(stewards)\n", {"reason"}},
      {"suspend", "usage: trectl project suspend ID --reason TEXT\n(stewards)\n", {"reason"}},
      {"close", "usage: trectl project close ID --reason TEXT\n(stewards)\n", {"reason"}},
      {"resume", "usage: trectl project resume ID [--reason TEXT]\n(stewards)\n", {"reason"}},
      {"propose-member",
       "usage: trectl project propose-member ID PERSON\n(the PI or a steward)\n", {}},
      {"approve-member",
       "usage: trectl project approve-member ID PERSON [--reason TEXT]\n(stewards)\n",
       {"reason"}},
      {"revoke-member",
       "usage: trectl project revoke-member ID PERSON --reason TEXT\n(stewards)\n", {"reason"}},
      {"members", "usage: trectl project members ID\nThe project's memberships.\n", {}},
      {"check-access",
       "usage: trectl project check-access ID [--person P] [--datasets A,B]\n"
       "May P (default: you) use the datasets now, and if not why; exit 4 if not.\n",
       {"person", "datasets"}},
      {"register",
       "usage: trectl project register\nThe public register of approved projects.\n", {}},
      {"budget",
       "usage: trectl project budget ID [--monthly AMOUNT [--cpu-seconds N]\n"
       "                                 [--storage-bytes N] --reason TEXT]\n"
       "The project's monthly budget, CPU and storage quotas and this month's committed\n"
       "spending; with --monthly, --cpu-seconds, --storage-bytes or --reason (stewards) sets\n"
       "them (\"0\": no limit; one not given keeps its current value).\n",
       {"monthly", "cpu-seconds", "storage-bytes", "reason"}},
      {"usage",
       "usage: trectl project usage ID [--month YYYY-MM] [--csv]\n"
       "The month's statement (UTC, default this month): every analysis with its usage and\n"
       "cost (its estimate until it ends), the total and the budget. --json for JSON.\n",
       {"month", "csv"}},
  };
  return *lines;
}

const std::vector<CommandLine>& TrainingCommandLines() {
  static const auto* lines = new std::vector<CommandLine>{
      {"record",
       "usage: trectl training record PERSON --course C --completed YYYY-MM-DD "
       "--expires YYYY-MM-DD\n"
       "                              [--reference R]\n"
       "(stewards)\n",
       {"course", "completed", "expires", "reference"}},
      {"list", "usage: trectl training list [PERSON]\nTraining records (yours by default).\n",
       {}},
  };
  return *lines;
}

}  // namespace

int RunProjectCommand(const Args& args, Cli& cli) {
  if (args.positional()[0] == "project") {
    return RunArea(args, kProjectHelp, ProjectCommandLines(),
                   [&](const std::string& command, const Args& rest) {
                     if (int rc = Connect(rest, cli); rc != kOk) return rc;
                     return ProjectCommand(command, rest, cli);
                   });
  }
  return RunArea(args, kTrainingHelp, TrainingCommandLines(),
                 [&](const std::string& command, const Args& rest) {
                   if (int rc = Connect(rest, cli); rc != kOk) return rc;
                   return TrainingCommand(command, rest, cli);
                 });
}

}  // namespace trenode::trectl
