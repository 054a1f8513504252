// trectl analysis ...: submitting, following and deciding analyses.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "node/charging/money.h"
#include "node/common/files.h"
#include "node/common/text.h"
#include "node/trectl/bundle_packer.h"
#include "node/trectl/cli.h"
#include "trenode/v1/analyses.grpc.pb.h"
#include "trenode/v1/federation.grpc.pb.h"

namespace trenode::trectl {
namespace {
using google::protobuf::util::TimeUtil;
using trenode::v1::Analysis;

constexpr char kAnalysisHelp[] =
    "usage: trectl [GLOBAL FLAGS] analysis COMMAND [ARGS]\n"
    "\n"
    "  submit --project P --query FILE [--request-id ID] [--purpose TEXT]\n"
    "                                  submit an aggregate query (trenode.v1.AggregateQuery in\n"
    "                                  protobuf text format; see spec/analyses.md)\n"
    "  submit --project P --dataset D --count-by A,B [--age-bands 40,50,...]\n"
    "         [--index-date YYYY-MM-DD] [--birth-column C] [--request-id ID]\n"
    "                                  or a count by person-table columns; \"age\" in\n"
    "                                  --count-by is age at --index-date, binned by --age-bands\n"
    "                                  A retry with the same --request-id never submits twice;\n"
    "                                  without one, a new id is chosen and printed.\n"
    "  submit ... --nodes A,B,C [--federation-deadline SECONDS]\n"
    "                                  a federated query (spec/federation.md): run at each\n"
    "                                  node named (partners, and this node's own id to\n"
    "                                  include it), each deciding under its own rules; the\n"
    "                                  released contributions are pooled here; `status`\n"
    "                                  shows each node's part (default deadline 60 s)\n"
    "  submit ... --all-partners-with THEME\n"
    "                                  the same, at this node and every partner that answers\n"
    "                                  now and has a dataset of THEME (as `federation peers`\n"
    "                                  shows); the nodes chosen and those left out, with\n"
    "                                  why, are printed first\n"
    "  submit --project P --bundle SHA256 [--request-id ID] [--purpose TEXT]\n"
    "                                  run an uploaded script bundle\n"
    "  estimate (the flags of submit)  what it would cost now and why (spec/charging.md);\n"
    "                                  a submission over the project's budget is refused\n"
    "  upload-bundle FILE.tar.gz|DIR --project P\n"
    "                                  upload a script bundle (a directory is packed; it needs\n"
    "                                  manifest.textproto: entry_point, datasets, outputs)\n"
    "  bundles [--project P] [--awaiting]  bundles uploaded for projects (a steward's queue)\n"
    "  bundle SHA256                   a bundle's manifest, files and approvals\n"
    "  approve-bundle SHA256 --project P   (stewards) the same bytes then run unreviewed\n"
    "  status ID                       one analysis, with results if your role may see them\n"
    "  watch ID [--from N]             follow its state changes until it ends; exits 0 if it\n"
    "                                  succeeded, 1 if it failed, was rejected or cancelled\n"
    "  list [--project P] [--state S] [--page-size N]\n"
    "                                  analyses you may see (S e.g. awaiting_approval), all\n"
    "                                  pages, N per call\n"
    "  cancel ID [--reason TEXT]       (the submitter, stewards, node admins)\n"
    "  approve ID [--reason TEXT]      (stewards)\n"
    "  reject ID --reason TEXT         (stewards)\n";

std::string StateName(trenode::v1::AnalysisState state) {
  return absl::AsciiStrToLower(trenode::v1::AnalysisState_Name(state).substr(15));
}

std::string Time(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 ? "-" : TimeUtil::ToString(t).substr(0, 19);
}

std::string NewRequestId() {
  std::random_device random;
  return absl::StrFormat("trectl-%08x%08x", random(), random());
}

// `pooled`: the result of a federated analysis, pooled from the nodes'
// released tables, which carry no cohort size (its cohort_size is 0).
void PrintResult(const trenode::v1::AggregateResult& result, bool pooled) {
  if (pooled) {
    std::cout << "\ncohort: not known when pooled (each node releases its tables, not its "
                 "cohort's size)\n";
  } else {
    std::cout << "\ncohort: " << result.cohort_size() << " persons\n";
  }
  for (const auto& table : result.tables()) {
    std::cout << "\n" << table.output() << ":\n";
    if (table.kind() == trenode::v1::OUTPUT_KIND_REGRESSION) {
      const auto& r = table.regression();
      std::cout << "n " << r.n() << ", residual df " << r.residual_degrees_of_freedom()
                << ", terms " << absl::StrJoin(r.terms(), " ") << "\nX'X "
                << absl::StrJoin(r.xtx(), " ") << "\nX'y " << absl::StrJoin(r.xty(), " ")
                << "\ny'y " << r.yty() << "\n";
      continue;
    }
    bool summary = table.kind() == trenode::v1::OUTPUT_KIND_SUMMARY;
    std::vector<std::string> header(table.group_columns().begin(), table.group_columns().end());
    header.push_back("count");
    if (summary) header.insert(header.end(), {"n", "mean", "sd", "sum"});
    std::vector<std::vector<std::string>> rows;
    for (const auto& cell : table.cells()) {
      std::vector<std::string> row(cell.group().begin(), cell.group().end());
      row.push_back(absl::StrCat(cell.count()));
      if (summary) {
        row.insert(row.end(), {absl::StrCat(cell.n()), absl::StrFormat("%.4g", cell.mean()),
                               absl::StrFormat("%.4g", cell.sd()), absl::StrCat(cell.sum())});
      }
      rows.push_back(std::move(row));
    }
    PrintTable(header, rows);
  }
}

void PrintAnalysis(const Analysis& a) {
  std::cout << "id:          " << a.id() << "\n"
            << "project:     " << a.project_id() << "\n"
            << "submitter:   " << a.submitter() << " (request " << a.request_id() << ")\n"
            << "state:       " << StateName(a.state())
            << (a.state_reason().empty() ? "" : " (" + a.state_reason() + ")") << "\n"
            << "datasets:    " << absl::StrJoin(a.dataset_ids(), ", ") << "\n"
            << "approved by: " << (a.approved_by().empty() ? "-" : a.approved_by()) << "\n"
            << "submitted:   " << Time(a.created()) << ", updated " << Time(a.updated()) << "\n";
  if (!a.purpose().empty()) std::cout << "purpose:     " << a.purpose() << "\n";
  // A node without a price table charges nothing and names no currency:
  // no estimate or cost lines then (spec/charging.md).
  if (a.has_estimate() && !a.estimate().cost().currency().empty()) {
    std::cout << "estimate:    " << charging::FormatMoney(a.estimate().cost().total_micros()) << " "
              << a.estimate().cost().currency() << " (" << a.estimate().basis() << ")\n";
  }
  if (a.has_usage() && !a.usage().metered_by().empty()) {
    std::cout << "usage:       " << absl::StrFormat("%.3f", a.usage().cpu_micros() / 1e6)
              << " CPU-s, " << absl::StrFormat("%.3f", a.usage().wall_micros() / 1e6)
              << " s wall, peak " << (a.usage().peak_memory_bytes() >> 20)
              << " MiB, "
              // Withheld (0) unless the caller may see results (spec/charging.md).
              << (a.usage().rows_read() > 0 ? absl::StrCat(a.usage().rows_read(), " rows, ") : "")
              << "metered by " << a.usage().metered_by() << "\n";
  }
  if (a.metering_pending()) {
    std::cout << "usage:       being metered after its cancellation (its estimate holds "
                 "until then)\n";
  }
  if (a.has_cost() && !a.cost().currency().empty()) {
    std::cout << "cost:        " << charging::FormatMoney(a.cost().total_micros()) << " "
              << a.cost().currency() << "\n";
  }
  if (a.nodes_size() > 0) {
    std::cout << "federated:   " << absl::StrJoin(a.nodes(), ", ") << " (deadline "
              << a.federation_deadline_seconds() << " s)"
              << (a.partial_result() ? "; PARTIAL result: some nodes did not answer" : "") << "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& site : a.sites()) {
      rows.push_back(
          {site.node_id(),
           absl::AsciiStrToLower(trenode::v1::SiteStatus::State_Name(site.state()).substr(6)),
           site.remote_analysis_id().empty() ? "-" : site.remote_analysis_id(),
           PrintableText(site.reason(), 160)});
    }
    if (!rows.empty()) {
      std::cout << "\n";
      PrintTable({"node", "status", "analysis there", "reason"}, rows);
      std::cout << "\n";
    }
    for (const auto& site : a.sites()) {
      for (const auto& file : site.visible_files()) {
        std::cout << site.node_id() << "'s released " << file.name() << " (visible on its own):\n";
        for (absl::string_view line : absl::StrSplit(file.content(), '\n', absl::SkipEmpty())) {
          std::cout << "  " << PrintableText(line, 400) << "\n";
        }
      }
    }
    for (const std::string& note : a.pooling_notes()) {
      std::cout << "not pooled:  " << PrintableText(note, 300) << "\n";
    }
  }
  if (a.has_script()) std::cout << "bundle:      " << a.script().bundle_sha256() << "\n";
  if (a.results_withheld()) {
    std::cout << "results:     withheld until output release\n";
  } else if (a.has_result()) {
    PrintResult(a.result(), a.nodes_size() > 0);
  } else if (a.has_script_outcome()) {
    const auto& outcome = a.script_outcome();
    std::cout << "exit code:   " << outcome.exit_code() << "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& output : outcome.outputs()) {
      rows.push_back({output.name(), absl::StrCat(output.size()), output.sha256()});
    }
    if (!rows.empty()) {
      std::cout << "\n";
      PrintTable({"output", "bytes", "sha256"}, rows);
    }
    if (!outcome.stdout().empty()) std::cout << "\nstdout:\n" << outcome.stdout();
    if (!outcome.stderr().empty()) std::cout << "\nstderr:\n" << outcome.stderr();
  }
}

// The query from --query FILE, or built from --dataset and --count-by.
absl::StatusOr<trenode::v1::AggregateQuery> QueryFrom(const Args& args) {
  trenode::v1::AggregateQuery query;
  if (auto file = args.Get("query")) {
    std::optional<std::string> text = ReadWholeFile(*file);
    if (!text) return absl::NotFoundError(absl::StrCat("cannot read the query file ", *file));
    if (!google::protobuf::TextFormat::ParseFromString(*text, &query)) {
      return absl::InvalidArgumentError(
          absl::StrCat(*file, " is not a trenode.v1.AggregateQuery in protobuf text format"));
    }
    return query;
  }
  auto dataset = args.Get("dataset");
  auto count_by = args.Get("count-by");
  if (!dataset || !count_by) {
    return absl::InvalidArgumentError("give --query FILE, or --dataset D and --count-by A,B");
  }
  query.set_dataset_id(*dataset);
  query.set_index_date(args.Get("index-date").value_or(""));
  auto* counts = query.add_outputs();
  counts->set_name("counts");
  auto* output = counts->mutable_counts();
  for (absl::string_view column : absl::StrSplit(*count_by, ',', absl::SkipEmpty())) {
    auto* group = output->add_group_by();
    if (column != "age") {
      group->mutable_variable()->set_column(std::string(column));
      continue;
    }
    group->mutable_variable()->mutable_age()->set_birth_column(
        args.Get("birth-column").value_or("year_of_birth"));
    group->set_label("age_band");
    for (absl::string_view bound :
         absl::StrSplit(args.Get("age-bands").value_or(""), ',', absl::SkipEmpty())) {
      double value;
      if (!absl::SimpleAtod(bound, &value)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--age-bands: \"", bound, "\" is not a number"));
      }
      group->mutable_binning()->add_boundaries(value);
    }
  }
  return query;
}

// This node (if it has a dataset of `theme`) and every partner that answers
// now with one; the rest are named on stderr with why they were left out.
absl::StatusOr<std::vector<std::string>> NodesWithTheme(Cli& cli, const std::string& theme) {
  auto federation = trenode::v1::Federation::NewStub(cli.channel);
  auto has_theme = [&](const trenode::v1::NodeInfo& info) {
    return std::find(info.dataset_themes().begin(), info.dataset_themes().end(), theme) !=
           info.dataset_themes().end();
  };
  std::vector<std::string> chosen;
  std::vector<std::string> left_out;
  trenode::v1::NodeInfo self;
  auto context = cli.NewContext(10);
  grpc::Status status = federation->GetNodeInfo(context.get(), {}, &self);
  if (!status.ok())
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  if (has_theme(self)) {
    chosen.push_back(self.node_id());
  } else {
    left_out.push_back(absl::StrCat(self.node_id(), " (no dataset of that theme)"));
  }
  trenode::v1::ListPartnersResponse listed;
  auto listing = cli.NewContext(10);
  status = federation->ListPartners(listing.get(), {}, &listed);
  if (!status.ok())
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  for (const auto& partner : listed.partners()) {
    if (partner.reachability() != trenode::v1::PartnerStatus::REACHABILITY_ANSWERED) {
      left_out.push_back(absl::StrCat(
          partner.node_id(), " (did not answer: ", PrintableText(partner.detail(), 120), ")"));
    } else if (!has_theme(partner.info())) {
      left_out.push_back(absl::StrCat(partner.node_id(), " (no dataset of that theme)"));
    } else {
      chosen.push_back(partner.node_id());
    }
  }
  std::cerr << "trectl: nodes with a dataset of theme \"" << PrintableText(theme, 100)
            << "\": " << (chosen.empty() ? "none" : absl::StrJoin(chosen, ", ")) << "\n";
  if (!left_out.empty()) {
    std::cerr << "trectl: left out: " << absl::StrJoin(left_out, "; ") << "\n";
  }
  if (chosen.size() < 2) {
    return absl::FailedPreconditionError(
        absl::StrCat("a federated analysis needs two or more nodes; ", chosen.size(),
                     " answer now with a dataset of theme \"", PrintableText(theme, 100), "\""));
  }
  return chosen;
}

// The submission the flags describe (also what `analysis estimate` asks
// about); kOk, or the exit code of the usage error already printed.
int SubmitRequestFrom(const Args& args, Cli& cli, trenode::v1::SubmitAnalysisRequest& request) {
  if (!args.Get("bundle") && !args.Get("query") && !args.Get("dataset")) {
    return Usage(
        "analysis submit --project P (--query FILE | --dataset D --count-by ... | "
        "--bundle SHA256)");
  }
  request.set_project_id(args.Get("project").value_or(""));
  if (request.project_id().empty()) return Usage("analysis submit --project P ...");
  if (auto bundle = args.Get("bundle")) {
    request.mutable_script()->set_bundle_sha256(*bundle);
  } else {
    absl::StatusOr<trenode::v1::AggregateQuery> query = QueryFrom(args);
    if (!query.ok()) {
      return query.status().code() == absl::StatusCode::kNotFound ? Fail(query.status())
                                                                  : Usage(query.status().message());
    }
    *request.mutable_query() = *query;
  }
  request.set_purpose(args.Get("purpose").value_or(""));
  if (auto nodes = args.Get("nodes")) {
    for (absl::string_view node : absl::StrSplit(*nodes, ',', absl::SkipEmpty())) {
      request.add_nodes(std::string(absl::StripAsciiWhitespace(node)));
    }
    if (request.nodes().empty()) return Usage("--nodes A,B,C names the nodes that run it");
  }
  if (auto theme = args.Get("all-partners-with")) {
    if (args.Get("nodes")) return Usage("give --nodes or --all-partners-with, not both");
    auto chosen = NodesWithTheme(cli, *theme);
    if (!chosen.ok()) return Fail(chosen.status());
    for (const std::string& node : *chosen) request.add_nodes(node);
  }
  if (args.Get("federation-deadline")) {
    auto seconds = args.GetInt("federation-deadline", 0);
    if (!seconds.ok() || *seconds <= 0) {
      return Usage("--federation-deadline SECONDS takes a number of seconds");
    }
    request.set_federation_deadline_seconds(static_cast<int32_t>(*seconds));
  }
  return kOk;
}

int Submit(const Args& args, Cli& cli, trenode::v1::Analyses::Stub& stub) {
  trenode::v1::SubmitAnalysisRequest request;
  if (int rc = SubmitRequestFrom(args, cli, request); rc != kOk) return rc;
  request.set_request_id(args.Get("request-id").value_or(NewRequestId()));
  if (!args.Get("request-id")) {
    std::cerr << "trectl: request id " << request.request_id()
              << " (pass --request-id to retry safely)\n";
  }
  Analysis reply;
  grpc::Status status = stub.SubmitAnalysis(cli.NewContext().get(), request, &reply);
  if (!status.ok()) return Fail(status);
  cli.json ? PrintJson(reply) : PrintAnalysis(reply);
  return kOk;
}

// trectl analysis estimate: what the submission would cost now, and why.
int Estimate(const Args& args, Cli& cli, trenode::v1::Analyses::Stub& stub) {
  trenode::v1::SubmitAnalysisRequest request;
  if (int rc = SubmitRequestFrom(args, cli, request); rc != kOk) return rc;
  request.set_request_id(args.Get("request-id").value_or("estimate"));
  trenode::v1::Estimate reply;
  grpc::Status status = stub.EstimateAnalysis(cli.NewContext().get(), request, &reply);
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(reply);
    return kOk;
  }
  const std::string currency = reply.cost().currency().empty() ? "" : " " + reply.cost().currency();
  std::cout << "estimate:    " << charging::FormatMoney(reply.cost().total_micros()) << currency
            << "\n"
            << "basis:       " << reply.basis() << "\n";
  for (const auto& line : reply.cost().lines()) {
    std::cout << "  " << line.item() << ": " << line.quantity() << " = "
              << charging::FormatMoney(line.micros()) << currency << "\n";
  }
  if (reply.past_runs() > 0) {
    std::cout << "past runs:   " << reply.past_runs() << ", the most costly "
              << charging::FormatMoney(reply.past_runs_max().total_micros()) << currency << "\n";
  }
  std::cout << "budget left: "
            << (reply.budget_left_micros() < 0
                    ? std::string("no budget")
                    : charging::FormatMoney(reply.budget_left_micros()) + currency)
            << "\n";
  return kOk;
}

void PrintBundle(const trenode::v1::Bundle& b) {
  std::cout << "sha256:      " << b.sha256() << "\n"
            << "bytes:       " << b.size() << "\n"
            << (b.uploaded_by().empty() ? ""
                                        : absl::StrCat("uploaded by: ", b.uploaded_by(), " at ",
                                                       Time(b.uploaded()), "\n"))
            << "entry point: " << b.manifest().entry_point() << "\n"
            << "datasets:    " << absl::StrJoin(b.manifest().datasets(), ", ") << "\n"
            << "outputs:     " << absl::StrJoin(b.manifest().outputs(), ", ") << "\n";
  for (const auto& approval : b.approvals()) {
    std::cout << "approved:    for " << approval.project_id() << " by " << approval.approved_by()
              << " at " << Time(approval.approved_at()) << "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& file : b.files()) rows.push_back({file.path(), absl::StrCat(file.size())});
  std::cout << "\n";
  PrintTable({"file", "bytes"}, rows);
}

int UploadBundle(const std::string& path, const Args& args, Cli& cli,
                 trenode::v1::Analyses::Stub& stub) {
  auto project = args.Get("project");
  if (!project) return Usage("analysis upload-bundle FILE.tar.gz|DIR --project P");
  absl::StatusOr<std::string> archive;
  if (std::filesystem::is_directory(path)) {
    archive = PackDirectory(path);
  } else if (std::optional<std::string> bytes = ReadWholeFile(path)) {
    archive = *std::move(bytes);
  } else {
    archive = absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  if (!archive.ok()) return Fail(archive.status());
  trenode::v1::Bundle reply;
  auto context = cli.NewContext();
  auto writer = stub.UploadBundle(context.get(), &reply);
  trenode::v1::UploadBundleRequest header;
  header.mutable_header()->set_project_id(*project);
  writer->Write(header);
  constexpr size_t kChunk = 1 << 20;
  for (size_t at = 0; at < archive->size(); at += kChunk) {
    trenode::v1::UploadBundleRequest chunk;
    chunk.set_chunk(archive->substr(at, kChunk));
    if (!writer->Write(chunk)) break;  // the node ended the call; Finish says why
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return Fail(status);
  cli.json ? PrintJson(reply) : PrintBundle(reply);
  return kOk;
}

int Watch(const std::string& id, const Args& args, Cli& cli, trenode::v1::Analyses::Stub& stub) {
  auto from = args.GetInt("from", 0);
  if (!from.ok() || *from < 0) return Usage("analysis watch ID [--from N]");
  trenode::v1::WatchAnalysisRequest request;
  request.set_analysis_id(id);
  request.set_from_sequence(*from);
  auto context = cli.NewContext(0);
  auto reader = stub.WatchAnalysis(context.get(), request);
  trenode::v1::AnalysisEvent event;
  trenode::v1::AnalysisState last = trenode::v1::ANALYSIS_STATE_UNSPECIFIED;
  while (reader->Read(&event)) {
    last = event.state();
    if (cli.json) {
      PrintJson(event);
    } else {
      std::cout << event.sequence() << "  " << Time(event.time()) << "  "
                << StateName(event.state()) << "  " << event.actor()
                << (event.reason().empty() ? "" : "  " + event.reason()) << "\n";
    }
    std::cout.flush();
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Fail(status);
  return last == trenode::v1::ANALYSIS_STATE_SUCCEEDED ? kOk : kFailed;
}

int List(const Args& args, Cli& cli, trenode::v1::Analyses::Stub& stub) {
  trenode::v1::ListAnalysesRequest request;
  request.set_project_id(args.Get("project").value_or(""));
  absl::StatusOr<int64_t> page_size = args.GetInt("page-size", 0);
  if (!page_size.ok()) return Fail(page_size.status());
  request.set_page_size(static_cast<int32_t>(*page_size));
  if (auto state = args.Get("state")) {
    trenode::v1::AnalysisState parsed;
    if (!trenode::v1::AnalysisState_Parse(
            absl::StrCat("ANALYSIS_STATE_", absl::AsciiStrToUpper(*state)), &parsed)) {
      return Usage(
          "--state: one of submitted, awaiting_approval, approved, rejected, queued, "
          "running, succeeded, failed, cancelled");
    }
    request.set_state(parsed);
  }
  trenode::v1::ListAnalysesResponse all;
  grpc::Status status = FetchAllPages(request, &all, [&](const auto& page_request, auto* page) {
    return stub.ListAnalyses(cli.NewContext().get(), page_request, page);
  });
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(all);
    return kOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const Analysis& a : all.analyses()) {
    rows.push_back(
        {a.id(), a.project_id(), a.submitter(), StateName(a.state()), Time(a.created())});
  }
  PrintTable({"id", "project", "submitter", "state", "submitted"}, rows);
  return kOk;
}

int ListBundles(const Args& args, Cli& cli, trenode::v1::Analyses::Stub& stub) {
  trenode::v1::ListBundlesRequest request;
  request.set_project_id(args.Get("project").value_or(""));
  request.set_awaiting_approval(args.Has("awaiting"));
  trenode::v1::ListBundlesResponse all;
  grpc::Status status = FetchAllPages(request, &all, [&](const auto& page_request, auto* page) {
    return stub.ListBundles(cli.NewContext().get(), page_request, page);
  });
  if (!status.ok()) return Fail(status);
  if (cli.json) {
    PrintJson(all);
    return kOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const trenode::v1::BundleProposal& p : all.proposals()) {
    rows.push_back({p.bundle().sha256(), p.project_id(), p.proposed_by(), Time(p.proposed()),
                    p.approved() ? "approved" : "awaiting approval",
                    p.bundle().manifest().entry_point(),
                    absl::StrJoin(p.bundle().manifest().datasets(), ",")});
  }
  PrintTable({"sha256", "project", "uploaded by", "uploaded", "state", "entry point", "datasets"},
             rows);
  return kOk;
}

int AnalysisCommand(const std::string& command, const Args& args, Cli& cli) {
  auto stub = trenode::v1::Analyses::NewStub(cli.channel);
  const auto& words = args.positional();
  if (command == "submit") return Submit(args, cli, *stub);
  if (command == "estimate") return Estimate(args, cli, *stub);
  if (command == "list") return List(args, cli, *stub);
  if (command == "bundles") return ListBundles(args, cli, *stub);
  if (words.size() != 1) return Usage(absl::StrCat("analysis ", command, " ID"));
  const std::string& id = words[0];
  if (command == "watch") return Watch(id, args, cli, *stub);
  if (command == "upload-bundle") return UploadBundle(id, args, cli, *stub);
  if (command == "bundle" || command == "approve-bundle") {
    trenode::v1::Bundle bundle;
    grpc::Status status;
    if (command == "bundle") {
      trenode::v1::GetBundleRequest request;
      request.set_sha256(id);
      status = stub->GetBundle(cli.NewContext().get(), request, &bundle);
    } else {
      auto project = args.Get("project");
      if (!project) return Usage("analysis approve-bundle SHA256 --project P");
      trenode::v1::ApproveBundleRequest request;
      request.set_sha256(id);
      request.set_project_id(*project);
      status = stub->ApproveBundle(cli.NewContext().get(), request, &bundle);
    }
    if (!status.ok()) return Fail(status);
    cli.json ? PrintJson(bundle) : PrintBundle(bundle);
    return kOk;
  }
  Analysis reply;
  grpc::Status status;
  if (command == "status") {
    trenode::v1::GetAnalysisRequest request;
    request.set_analysis_id(id);
    status = stub->GetAnalysis(cli.NewContext().get(), request, &reply);
  } else if (command == "cancel" || command == "approve" || command == "reject") {
    trenode::v1::AnalysisDecisionRequest request;
    request.set_analysis_id(id);
    request.set_reason(args.Get("reason").value_or(""));
    auto context = cli.NewContext();
    status = command == "cancel"    ? stub->CancelAnalysis(context.get(), request, &reply)
             : command == "approve" ? stub->ApproveAnalysis(context.get(), request, &reply)
                                    : stub->RejectAnalysis(context.get(), request, &reply);
  } else {
    std::cerr << "trectl: unknown command \"analysis " << command << "\"\n" << kAnalysisHelp;
    return kUsage;
  }
  if (!status.ok()) return Fail(status);
  cli.json ? PrintJson(reply) : PrintAnalysis(reply);
  return kOk;
}

const std::vector<CommandLine>& AnalysisCommandLines() {
  static const auto* lines = new std::vector<CommandLine>{
      {"submit",
       "usage: trectl analysis submit --project P (--query FILE | --dataset D --count-by A,B\n"
       "           [--age-bands 40,50,...] [--index-date YYYY-MM-DD] [--birth-column C]\n"
       "           | --bundle SHA256) [--request-id ID] [--purpose TEXT]\n"
       "           [--nodes A,B,C | --all-partners-with THEME] [--federation-deadline SECONDS]\n"
       "Submits an aggregate query or a script bundle run (see `trectl analysis --help`).\n",
       {"project", "query", "dataset", "count-by", "age-bands", "index-date", "birth-column",
        "request-id", "purpose", "nodes", "all-partners-with", "federation-deadline", "bundle"}},
      {"estimate",
       "usage: trectl analysis estimate --project P (--query FILE | --dataset D --count-by A,B\n"
       "           ... | --bundle SHA256)\n"
       "What `analysis submit` with the same flags would cost now, with its basis: for a\n"
       "query the planner's row estimate, for a script its limits' worst case and the\n"
       "bundle's past runs; and what is left of the project's budget.\n",
       {"project", "query", "dataset", "count-by", "age-bands", "index-date", "birth-column",
        "request-id", "nodes", "all-partners-with", "federation-deadline", "bundle"}},
      {"upload-bundle",
       "usage: trectl analysis upload-bundle FILE.tar.gz|DIR --project P\n"
       "Uploads a script bundle (a directory is packed; it needs manifest.textproto).\n",
       {"project"}},
      {"bundles",
       "usage: trectl analysis bundles [--project P] [--awaiting]\n"
       "Bundles uploaded for projects (a researcher's own; all for stewards), oldest first;\n"
       "--awaiting: only those not yet approved for their project.\n",
       {"project", "awaiting"}},
      {"bundle",
       "usage: trectl analysis bundle SHA256\nA bundle's manifest, files and "
       "approvals.\n",
       {}},
      {"approve-bundle",
       "usage: trectl analysis approve-bundle SHA256 --project P\n"
       "(stewards) The same bytes then run unreviewed in P.\n",
       {"project"}},
      {"status",
       "usage: trectl analysis status ID\nOne analysis, with results if your role may see "
       "them.\n",
       {}},
      {"watch",
       "usage: trectl analysis watch ID [--from N]\n"
       "Follows its state changes until it ends; exits 0 if it succeeded, 1 otherwise.\n",
       {"from"}},
      {"list",
       "usage: trectl analysis list [--project P] [--state S] [--page-size N]\n"
       "Analyses you may see (S e.g. awaiting_approval), all pages, N per call.\n",
       {"project", "state", "page-size"}},
      {"cancel",
       "usage: trectl analysis cancel ID [--reason TEXT]\n(the submitter, stewards, node "
       "admins)\n",
       {"reason"}},
      {"approve", "usage: trectl analysis approve ID [--reason TEXT]\n(stewards)\n", {"reason"}},
      {"reject", "usage: trectl analysis reject ID --reason TEXT\n(stewards)\n", {"reason"}},
  };
  return *lines;
}

}  // namespace

int RunAnalysisCommand(const Args& args, Cli& cli) {
  return RunArea(args, kAnalysisHelp, AnalysisCommandLines(),
                 [&](const std::string& command, const Args& rest) {
                   if (int rc = Connect(rest, cli); rc != kOk) return rc;
                   return AnalysisCommand(command, rest, cli);
                 });
}

}  // namespace trenode::trectl
