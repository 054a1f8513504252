// trectl release ...: output release requests, their review and downloads.
#include <fstream>
#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/util/time_util.h"
#include "node/trectl/cli.h"
#include "node/trectl/progress.h"
#include "trenode/v1/releases.grpc.pb.h"

namespace trenode::trectl {
namespace {
using google::protobuf::util::TimeUtil;
using trenode::v1::Release;

constexpr char kReleaseHelp[] =
    "usage: trectl [GLOBAL FLAGS] release COMMAND [ARGS]\n"
    "\n"
    "  create ANALYSIS_ID [--include-logs] [--no-wait]\n"
    "                                  open a release request for a succeeded analysis's\n"
    "                                  outputs; --include-logs adds a script job's stdout and\n"
    "                                  stderr (the only way out of a failed job); waits while\n"
    "                                  the node builds the files unless --no-wait\n"
    "  submit ID                       send it for checking and review\n"
    "  list [--state S]                release requests you may see\n"
    "  show ID                         its files, automated verdicts, reviews and state\n"
    "  review ID --approve F,G | --reject F,G [--explanation TEXT]\n"
    "                                  (output checkers) decide on every file; an explanation\n"
    "                                  is needed to approve a file that did not pass or to\n"
    "                                  reject one that did\n"
    "  download ID FILE [--out PATH]   (the requester) a released file; output checkers read\n"
    "                                  files under review the same way\n"
    "  withdraw ID [--reason TEXT]     (the requester)\n"
    "  revoke ID --reason TEXT         (output checkers, stewards) stop further downloads\n";

std::string StateName(trenode::v1::ReleaseState state) {
  return absl::AsciiStrToLower(trenode::v1::ReleaseState_Name(state).substr(14));
}

void PrintRelease(const Release& r) {
  std::cout << "id:          " << r.id() << "\n"
            << "analysis:    " << r.analysis_id() << " (project " << r.project_id() << ")\n"
            << "requester:   " << r.requester() << "\n"
            << "state:       " << StateName(r.state())
            << (r.state_reason().empty() ? "" : " (" + r.state_reason() + ")") << "\n"
            << "policy:      " << r.policy() << "\n";
  if (!r.approved_by().empty()) {
    std::cout << "approved by: " << absl::StrJoin(r.approved_by(), ", ") << "\n";
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : r.files()) {
    std::string why =
        f.gate_failures().empty() ? f.verdict_summary() : absl::StrJoin(f.gate_failures(), "; ");
    rows.push_back({f.name(), f.sha256().empty() ? "-" : absl::StrCat(f.size()), f.verdict(),
                    f.withheld() ? "withheld" : absl::StrCat(f.downloads()), why});
  }
  std::cout << "\n";
  PrintTable({"file", "bytes", "verdict", "downloads", "why"}, rows);
  for (const auto& f : r.files()) {
    if (f.withheld()) std::cout << f.name() << " is withheld: " << f.withheld_reason() << "\n";
  }
  for (const auto& review : r.reviews()) {
    std::cout << "\nreview by " << review.reviewer() << ":\n";
    for (const auto& file : review.files()) {
      std::cout << "  " << file.file() << ": "
                << (file.decision() == trenode::v1::FILE_DECISION_APPROVE ? "approve" : "reject")
                << (file.explanation().empty() ? "" : " — " + file.explanation()) << "\n";
    }
  }
}

int Show(const grpc::Status& status, const Release& release, const Cli& cli) {
  if (!status.ok()) return Fail(status);
  cli.json ? PrintJson(release) : PrintRelease(release);
  return kOk;
}

int Download(const std::string& id, const std::string& file, const Args& args, Cli& cli,
             trenode::v1::Releases::Stub& stub) {
  std::string out = args.Get("out").value_or(file);
  std::unique_ptr<Progress> progress =
      Progress::OnStderr({.what = absl::StrCat("download ", file)}, cli.json);
  if (progress->shown()) {
    // The file's size, for a percentage and the time left; without it, the
    // line shows bytes and rate only.
    trenode::v1::ReleaseIdRequest get;
    get.set_release_id(id);
    Release release;
    if (stub.GetRelease(cli.NewContext().get(), get, &release).ok()) {
      for (const auto& f : release.files()) {
        if (f.name() == file && !f.sha256().empty()) progress->SetTotal(f.size());
      }
    }
  }
  trenode::v1::DownloadFileRequest request;
  request.set_release_id(id);
  request.set_file(file);
  auto context = cli.NewContext(300);
  auto reader = stub.DownloadFile(context.get(), request);
  std::string temporary = out + ".part";
  std::ofstream sink(temporary, std::ios::binary | std::ios::trunc);
  if (!sink) {
    progress.reset();
    return Fail(absl::UnavailableError(absl::StrCat("cannot write ", temporary)));
  }
  trenode::v1::DownloadChunk chunk;
  int64_t bytes = 0;
  while (reader->Read(&chunk)) {
    sink << chunk.data();
    bytes += static_cast<int64_t>(chunk.data().size());
    progress->Add(static_cast<int64_t>(chunk.data().size()));
  }
  sink.close();
  grpc::Status status = reader->Finish();
  if (!status.ok() || !sink) {
    progress.reset();                // the error starts on a clean line
    std::remove(temporary.c_str());  // nothing half-written is left
    return status.ok() ? Fail(absl::UnavailableError(absl::StrCat("cannot write ", out)))
                       : Fail(status);
  }
  if (std::rename(temporary.c_str(), out.c_str()) != 0) {
    progress.reset();
    return Fail(absl::UnavailableError(absl::StrCat("cannot write ", out)));
  }
  progress->Finish();
  std::cout << "wrote " << bytes << " bytes to " << out << "\n";
  return kOk;
}

int ReleaseCommand(const std::string& command, const Args& args, Cli& cli) {
  auto stub = trenode::v1::Releases::NewStub(cli.channel);
  const auto& words = args.positional();
  Release release;
  if (command == "list") {
    trenode::v1::ListReleasesRequest request;
    if (auto state = args.Get("state")) {
      trenode::v1::ReleaseState parsed;
      if (!trenode::v1::ReleaseState_Parse(
              absl::StrCat("RELEASE_STATE_", absl::AsciiStrToUpper(*state)), &parsed)) {
        return Usage(
            "--state: draft, submitted, in_review, approved, rejected, released, "
            "withdrawn, revoked or blocked");
      }
      request.set_state(parsed);
    }
    trenode::v1::ListReleasesResponse all;
    grpc::Status status = FetchAllPages(request, &all, [&](const auto& page_request, auto* page) {
      return stub->ListReleases(cli.NewContext().get(), page_request, page);
    });
    if (!status.ok()) return Fail(status);
    if (cli.json) {
      PrintJson(all);
      return kOk;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& r : all.releases()) {
      rows.push_back({r.id(), r.analysis_id(), r.requester(), StateName(r.state()),
                      TimeUtil::ToString(r.updated()).substr(0, 19)});
    }
    PrintTable({"id", "analysis", "requester", "state", "updated"}, rows);
    return kOk;
  }
  if (command == "download") {
    if (words.size() != 2) return Usage("release download ID FILE [--out PATH]");
    return Download(words[0], words[1], args, cli, *stub);
  }
  if (words.size() != 1) return Usage(absl::StrCat("release ", command, " ID"));
  const std::string& id = words[0];
  if (command == "create") {
    trenode::v1::CreateReleaseRequest request;
    request.set_analysis_id(id);
    request.set_include_logs(args.Has("include-logs"));
    grpc::Status status = stub->CreateRelease(cli.NewContext().get(), request, &release);
    if (status.ok() && release.state() == trenode::v1::RELEASE_STATE_PREPARING &&
        !args.Has("no-wait")) {
      std::cerr << "release " << release.id() << ": the node is building its files...\n";
      while (status.ok() && release.state() == trenode::v1::RELEASE_STATE_PREPARING) {
        absl::SleepFor(absl::Milliseconds(500));
        trenode::v1::ReleaseIdRequest get;
        get.set_release_id(release.id());
        status = stub->GetRelease(cli.NewContext().get(), get, &release);
      }
    }
    return Show(status, release, cli);
  }
  if (command == "submit" || command == "show" || command == "withdraw") {
    trenode::v1::ReleaseIdRequest request;
    request.set_release_id(id);
    request.set_reason(args.Get("reason").value_or(""));
    auto context = cli.NewContext();
    grpc::Status status =
        command == "submit" ? stub->SubmitRelease(context.get(), request, &release)
        : command == "show" ? stub->GetRelease(context.get(), request, &release)
                            : stub->WithdrawRelease(context.get(), request, &release);
    return Show(status, release, cli);
  }
  if (command == "revoke") {
    trenode::v1::RevokeReleaseRequest request;
    request.set_release_id(id);
    request.set_reason(args.Get("reason").value_or(""));
    return Show(stub->RevokeRelease(cli.NewContext().get(), request, &release), release, cli);
  }
  if (command == "review") {
    trenode::v1::ReviewReleaseRequest request;
    request.set_release_id(id);
    std::string explanation = args.Get("explanation").value_or("");
    for (const auto& [flag, decision] : {std::pair{"approve", trenode::v1::FILE_DECISION_APPROVE},
                                         std::pair{"reject", trenode::v1::FILE_DECISION_REJECT}}) {
      for (absl::string_view file :
           absl::StrSplit(args.Get(flag).value_or(""), ',', absl::SkipEmpty())) {
        auto* review = request.add_files();
        review->set_file(std::string(file));
        review->set_decision(decision);
        review->set_explanation(explanation);
      }
    }
    if (request.files().empty()) return Usage("release review ID --approve F,G | --reject F,G");
    return Show(stub->ReviewRelease(cli.NewContext().get(), request, &release), release, cli);
  }
  std::cerr << "trectl: unknown command \"release " << command << "\"\n" << kReleaseHelp;
  return kUsage;
}

const std::vector<CommandLine>& ReleaseCommandLines() {
  static const auto* lines = new std::vector<CommandLine>{
      {"create",
       "usage: trectl release create ANALYSIS_ID [--include-logs] [--no-wait]\n"
       "Opens a release request for a succeeded analysis's outputs (--include-logs adds a\n"
       "script job's stdout and stderr); waits while the node builds the files unless\n"
       "--no-wait.\n",
       {"include-logs", "no-wait"}},
      {"submit", "usage: trectl release submit ID\nSends the request for checking and review.\n",
       {}},
      {"list",
       "usage: trectl release list [--state S]\nRelease requests you may see (S e.g. "
       "in_review).\n",
       {"state"}},
      {"show",
       "usage: trectl release show ID\nIts files, automated verdicts, reviews and state.\n",
       {}},
      {"review",
       "usage: trectl release review ID --approve F,G | --reject F,G [--explanation TEXT]\n"
       "(output checkers) Decides on every file; an explanation is needed to approve a file\n"
       "that did not pass or to reject one that did.\n",
       {"approve", "reject", "explanation"}},
      {"download",
       "usage: trectl release download ID FILE [--out PATH]\n"
       "(the requester) Writes a released file to PATH (default FILE); output checkers read\n"
       "files under review the same way. On a terminal, shows its progress on stderr.\n",
       {"out"}},
      {"withdraw", "usage: trectl release withdraw ID [--reason TEXT]\n(the requester)\n",
       {"reason"}},
      {"revoke",
       "usage: trectl release revoke ID --reason TEXT\n"
       "(output checkers, stewards) Stops further downloads.\n",
       {"reason"}},
  };
  return *lines;
}

}  // namespace

int RunReleaseCommand(const Args& args, Cli& cli) {
  return RunArea(args, kReleaseHelp, ReleaseCommandLines(),
                 [&](const std::string& command, const Args& rest) {
                   if (int rc = Connect(rest, cli); rc != kOk) return rc;
    return ReleaseCommand(command, rest, cli);
  });
}

}  // namespace trenode::trectl
