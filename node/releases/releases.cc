#include "node/common/deterministic_bytes.h"
#include "node/releases/releases.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "node/analyses/analysis_runner.h"
#include "node/analyses/analysis_state.h"
#include "node/analyses/federated_part.h"
#include "node/common/dates.h"
#include "node/common/status_macros.h"
#include "node/disclosure/acro_results.h"
#include "node/log/merkle.h"
#include "node/releases/overlap_audit.h"
#include "node/releases/differencing_guard.h"
#include "node/releases/pooled_differencing.h"

namespace trenode::releases {
namespace {
using trenode::v1::Release;
using trenode::v1::ReleaseState;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr size_t kMaxText = 20000;
// Overlap findings kept per file for checkers (the rest are counted).
constexpr size_t kMaxNotesPerFile = 50;
// What the requester sees of a draft's checks.
constexpr char kCheckedOnSubmission[] = "checked when the release is submitted";
// The release files of a script job's logs (CreateReleaseRequest.include_logs).
constexpr char kStdoutFile[] = "job-stdout.txt";
constexpr char kStderrFile[] = "job-stderr.txt";

std::string NewReleaseId(absl::Time now) {
  static absl::Mutex mu;
  static absl::BitGen* bits = new absl::BitGen();
  absl::MutexLock lock(&mu);
  return absl::StrFormat("r-%013x%04x", absl::ToUnixMicros(now), absl::Uniform<uint16_t>(*bits));
}

bool Is(const auth::Principal& caller, trenode::v1::Role role) { return caller.role == role; }

std::string Object(const Release& release) { return absl::StrCat("release/", release.id()); }

// Releases waiting for their files to be built, at most (spec/releases.md).
constexpr size_t kMaxPreparing = 64;

// `text` cut to a length fit for a state reason.
std::string Capped(std::string text) {
  constexpr size_t kMax = 1000;
  if (text.size() > kMax) {
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

// OK if `request` decides every file of `release` not already withheld
// exactly once, within the review rules (spec/releases.md#review).
absl::Status CheckDecisions(const Release& release,
                            const trenode::v1::ReviewReleaseRequest& request) {
  std::map<std::string, const trenode::v1::FileReview*> decisions;
  for (const auto& decision : request.files()) {
    if (!decisions.emplace(decision.file(), &decision).second) {
      return absl::InvalidArgumentError(absl::StrCat("files: ", decision.file(), " twice"));
    }
    if (decision.explanation().size() > kMaxText) {
      return absl::InvalidArgumentError(absl::StrCat("explanation: at most ", kMaxText, " bytes"));
    }
  }
  for (const auto& file : release.files()) {
    auto found = decisions.find(file.name());
    if (file.withheld() && found == decisions.end()) continue;  // already kept back
    if (found == decisions.end() ||
        found->second->decision() == trenode::v1::FILE_DECISION_UNSPECIFIED) {
      return absl::InvalidArgumentError(
          absl::StrCat("files: decide on every file; ", file.name(), " has no decision"));
    }
    const trenode::v1::FileReview& decision = *found->second;
    bool approve = decision.decision() == trenode::v1::FILE_DECISION_APPROVE;
    if (approve && !file.gate_failures().empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(file.name(), " failed a hard gate and cannot be approved"));
    }
    if (decision.explanation().empty() && approve != (file.verdict() == "pass")) {
      return absl::InvalidArgumentError(
          absl::StrCat("explanation: required to ", approve ? "approve " : "reject ", file.name(),
                       ", whose automated verdict is ", file.verdict()));
    }
    decisions.erase(found);
  }
  if (!decisions.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("files: release ", release.id(), " has no file ", decisions.begin()->first));
  }
  return absl::OkStatus();
}

// Why each file of `release` is withheld, by file name: the reason it was
// withheld at submission (a hard gate), or "rejected by who: why; who: why"
// for files its reviewers rejected.
std::map<std::string, std::string> WithheldReasons(const Release& release) {
  std::map<std::string, std::vector<std::string>> rejections;
  for (const auto& review : release.reviews()) {
    for (const auto& decision : review.files()) {
      if (decision.decision() != trenode::v1::FILE_DECISION_REJECT) continue;
      rejections[decision.file()].push_back(
          decision.explanation().empty()
              ? review.reviewer()
              : absl::StrCat(review.reviewer(), ": ", decision.explanation()));
    }
  }
  std::map<std::string, std::string> reasons;
  for (const auto& [file, who] : rejections) {
    reasons[file] = absl::StrCat("rejected by ", absl::StrJoin(who, "; "));
  }
  for (const auto& file : release.files()) {
    if (file.withheld()) reasons[file.name()] = file.withheld_reason();
  }
  return reasons;
}

// "a.csv, b.txt", or "3 files" if naming them would make a reason too long.
std::string FileList(const std::map<std::string, std::string>& files) {
  std::vector<std::string> names;
  for (const auto& [name, reason] : files) names.push_back(name);
  std::string list = absl::StrJoin(names, ", ");
  return list.size() <= kMaxText / 2 ? list : absl::StrCat(names.size(), " files");
}

}  // namespace

std::string ReviewObjectKey(const std::string& release_id, const std::string& file) {
  return absl::StrCat("releases/", release_id, "/files/", file);
}

std::string EgressObjectKey(const std::string& release_id, const std::string& file) {
  return absl::StrCat("egress/", release_id, "/", file);
}

Releases::Releases(ReleaseStore* store, LedgerStore* ledger, analyses::AnalysisStore* analyses,
                   governance::GovernanceStore* projects, governance::Governance* governance,
                   adapters::ObjectStore* objects, ReleaseOptions options, Clock clock,
                   log::EventSink* events)
    : store_(store),
      ledger_(ledger),
      analyses_(analyses),
      projects_(projects),
      governance_(governance),
      objects_(objects),
      options_(std::move(options)),
      clock_(std::move(clock)),
      events_(events) {
  options_.quorum = std::max(1, options_.quorum);
}

bool Releases::SeesAsRequester(const auth::Principal& caller, const Release& release) {
  std::string person = governance_->PersonId(caller);
  if (Is(caller, trenode::v1::ROLE_RESEARCHER) || person == release.requester()) return true;
  absl::StatusOr<bool> involved = governance_->IsInvolved(person, release.project_id());
  return !involved.ok() || *involved;  // fails closed
}

Release Releases::ViewFor(const auth::Principal& caller, Release release) {
  if (!SeesAsRequester(caller, release)) return release;
  bool released = release.state() == trenode::v1::RELEASE_STATE_RELEASED;
  std::vector<disclosure::FileStatus> shown;
  const bool draft = release.state() == trenode::v1::RELEASE_STATE_DRAFT;
  for (int i = 0; i < release.files_size(); ++i) {
    trenode::v1::ReleaseFile& file = *release.mutable_files(i);
    file.set_verdict_summary(file.requester_summary());
    file.clear_checker_notes();
    if (draft) {
      // Verdicts come with submission, which output checkers see: a draft
      // that could be read and dropped would be an oracle on the data.
      file.clear_verdict();
      file.clear_gate_failures();
      file.set_verdict_summary(kCheckedOnSubmission);
    }
    if (!released || file.withheld()) {
      // Before release a file's size and hash are the job's or the data's:
      // a hash of a short file gives its contents away.
      file.clear_size();
      file.clear_sha256();
      continue;
    }
    shown.push_back({absl::StrCat("output_", i), release.files(i).name() == kStdoutFile ||
                                                         release.files(i).name() == kStderrFile
                                                     ? "file"
                                                     : "table",
                     file.name(), file.verdict(), file.requester_summary()});
  }
  release.set_results_json(released ? disclosure::FileLevelResultsJson(
                                          shown, FromTimestamp(release.updated()))
                                    : "");
  return release;
}

absl::StatusOr<std::pair<disclosure::Policy, std::string>> Releases::PolicyOf(
    const std::string& project_id) {
  // The project's own disclosure policy, if its approval names one.
  ASSIGN_OR_RETURN(trenode::v1::Project project, projects_->GetProject(project_id));
  if (project.approval().disclosure_policy().empty()) {
    return std::make_pair(options_.policy, options_.policy_description);
  }
  std::vector<std::string> overrides(project.approval().disclosure_policy_overrides().begin(),
                                     project.approval().disclosure_policy_overrides().end());
  ASSIGN_OR_RETURN(disclosure::Policy policy,
                   disclosure::PolicyFrom(project.approval().disclosure_policy(), overrides,
                                          "project disclosure_policy"));
  return std::make_pair(policy,
                        disclosure::Describe(project.approval().disclosure_policy(), overrides));
}

absl::Status Releases::CheckRequesterAccess(const Release& release, absl::string_view step) {
  // The datasets too: outputs of a dataset withdrawn since (consent
  // withdrawn, say) stop where they are.
  ASSIGN_OR_RETURN(trenode::v1::Analysis analysis, analyses_->Get(release.analysis_id()));
  std::vector<std::string> datasets(analysis.dataset_ids().begin(), analysis.dataset_ids().end());
  absl::Status access =
      governance_->CheckDataAccess(release.requester(), release.project_id(), datasets);
  if (access.ok()) return access;
  return absl::FailedPreconditionError(
      absl::StrCat("release ", release.id(), " cannot ", step, ": ", access.message()));
}

absl::Status Releases::CheckCanSee(const auth::Principal& caller, const Release& release) {
  if (Is(caller, trenode::v1::ROLE_RESEARCHER) &&
      release.requester() != governance_->PersonId(caller)) {
    return absl::NotFoundError(absl::StrCat("no release \"", release.id(), "\" at this node"));
  }
  return absl::OkStatus();
}

absl::Status Releases::RecordFile(const auth::Principal& actor, const Release& release,
                                  const std::string& action, const trenode::v1::ReleaseFile& file) {
  if (events_ == nullptr) return absl::OkStatus();
  log::ActivityEvent event;
  event.action = action;
  event.object = absl::StrCat(Object(release), "/", file.name());
  event.outcome = "success";
  event.project = release.project_id();
  event.hashes.push_back(absl::StrCat("sha256:", file.sha256()));
  return events_->Record(actor, std::move(event));
}

absl::StatusOr<Release> Releases::Create(const auth::Principal& caller,
                                         const trenode::v1::CreateReleaseRequest& request) {
  const std::string& analysis_id = request.analysis_id();
  std::string person = governance_->PersonId(caller);
  ASSIGN_OR_RETURN(trenode::v1::Analysis analysis, analyses_->Get(analysis_id));
  if (analysis.submitter() != person) {
    return absl::NotFoundError(absl::StrCat("no analysis \"", analysis_id, "\" at this node"));
  }
  if (absl::Status access = governance_->CheckDataAccess(
          person, analysis.project_id(),
          {analysis.dataset_ids().begin(), analysis.dataset_ids().end()});
      !access.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "analysis ", analysis_id, "'s outputs cannot be offered for release: ", access.message()));
  }
  if (request.include_logs() && !analysis.has_script()) {
    return absl::InvalidArgumentError(absl::StrCat("include_logs: analysis ", analysis_id,
                                                   " is an aggregate query; it has no job logs"));
  }
  bool failed_job_logs = request.include_logs() &&
                         analysis.state() == trenode::v1::ANALYSIS_STATE_FAILED &&
                         analysis.has_script_outcome();
  if (analysis.state() != trenode::v1::ANALYSIS_STATE_SUCCEEDED && !failed_job_logs) {
    return absl::FailedPreconditionError(
        absl::StrCat("analysis ", analysis_id, " is ", analyses::StateName(analysis.state()),
                     "; only a succeeded analysis's outputs, or a finished script job's logs "
                     "(include_logs), can be released"));
  }
  RETURN_IF_ERROR(CheckOffered(analysis, request.include_logs()));
  ASSIGN_OR_RETURN(std::vector<Release> earlier, store_->ForAnalysis(analysis_id));
  for (const Release& release : earlier) {
    if (release.state() != trenode::v1::RELEASE_STATE_WITHDRAWN) {
      return absl::AlreadyExistsError(
          absl::StrCat("analysis ", analysis_id, " already has release ", release.id()));
    }
    if (release.reviews_size() > 0) {
      // A new request would put the same outputs to other checkers.
      return absl::FailedPreconditionError(
          absl::StrCat("analysis ", analysis_id, "'s release ", release.id(), " was reviewed by ",
                       release.reviews(0).reviewer(),
                       " before it was withdrawn; its outputs are not offered "
                       "for review again"));
    }
    if (release.has_submitted()) {
      // Submitting gave the requester the checks' verdicts: asking again
      // with the same outputs would make them an oracle.
      return absl::FailedPreconditionError(
          absl::StrCat("analysis ", analysis_id, "'s release ", release.id(),
                       " was submitted before it was withdrawn; its outputs are not offered "
                       "again"));
    }
  }
  {
    absl::MutexLock lock(&queue_mu_);
    if (queue_.size() + creating_ >= kMaxPreparing) {
      return absl::ResourceExhaustedError(absl::StrCat(
          kMaxPreparing, " releases are being prepared at this node; try again later"));
    }
    ++creating_;
  }
  absl::Time now = clock_();
  Release release;
  release.set_id(NewReleaseId(now));
  release.set_analysis_id(analysis_id);
  release.set_project_id(analysis.project_id());
  release.set_requester(person);
  release.set_state(trenode::v1::RELEASE_STATE_PREPARING);
  release.set_include_logs(request.include_logs());
  *release.mutable_created() = ToTimestamp(now);
  *release.mutable_updated() = ToTimestamp(now);
  // The store keeps one open release per analysis, whoever comes first.
  // Its record is durable before the release is answered: the preparer's
  // record follows it in the log, and Finish below waits for both.
  log::DeferredRecords deferred;
  bool made = false;
  absl::Status created = log::RecordedChange(
      events_, caller, log::ChangeEvent("release.create", Object(release), release.project_id()),
      [&] { return store_->Create(release); }, &made);
  {
    absl::MutexLock lock(&queue_mu_);
    --creating_;
    if (made) {
      queue_.push_back(release.id());
      if (created.ok()) awaited_.insert(release.id());
    }
  }
  RETURN_IF_ERROR(created);
  absl::Status quota_refused;
  {
    absl::MutexLock lock(&queue_mu_);
    auto prepared = [this, &release]() ABSL_SHARED_LOCKS_REQUIRED(queue_mu_) {
      return stopping_ || std::find(queue_.begin(), queue_.end(), release.id()) == queue_.end();
    };
    queue_mu_.AwaitWithTimeout(absl::Condition(&prepared), options_.prepare_wait);
    awaited_.erase(release.id());
    if (auto refused = quota_refusals_.find(release.id()); refused != quota_refusals_.end()) {
      quota_refused = refused->second;
      quota_refusals_.erase(refused);
    }
  }
  RETURN_IF_ERROR(deferred.Finish());
  // Withdrawn by the storage quota: nothing was copied; the refusal is the
  // answer (the withdrawn release, with the same reason, is kept).
  RETURN_IF_ERROR(quota_refused);
  ASSIGN_OR_RETURN(release, store_->Get(release.id()));
  return ViewFor(caller, std::move(release));
}

absl::Status Releases::CheckOffered(const trenode::v1::Analysis& analysis, bool include_logs) {
  std::set<std::string> outputs;
  if (analysis.has_query()) {
    for (const auto& table : analysis.result().tables()) outputs.insert(table.output());
  } else {
    for (const auto& output : analysis.script_outcome().outputs()) outputs.insert(output.name());
  }
  bool logs = false;
  if (include_logs) {
    const trenode::v1::ScriptOutcome& outcome = analysis.script_outcome();
    for (const auto& [name, text] :
         {std::pair{kStdoutFile, &outcome.stdout()}, std::pair{kStderrFile, &outcome.stderr()}}) {
      if (text->empty()) continue;
      logs = true;
      if (outputs.count(name) > 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("the job declares an output named ", name,
                         ", the name its log would have; release without include_logs"));
      }
    }
  }
  if (outputs.empty() && !logs) {
    return absl::FailedPreconditionError(absl::StrCat(
        "analysis ", analysis.id(), " has no outputs to release",
        include_logs ? ", and its job wrote nothing to stdout or stderr" : ""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<CandidateFile>> Releases::BuildFiles(
    const trenode::v1::Analysis& analysis, bool include_logs, const disclosure::Policy& policy) {
  const std::string& analysis_id = analysis.id();
  std::vector<CandidateFile> files;
  if (analysis.has_query()) {
    // What the query kept for disclosure control (none for analyses run
    // before the node kept it: then nothing auto-releases).
    std::optional<trenode::internal::QueryInternals> internals;
    absl::StatusOr<std::string> kept = analyses_->GetInternals(analysis_id);
    if (kept.ok()) {
      internals.emplace();
      if (!internals->ParseFromString(*kept)) {
        return absl::DataLossError(
            absl::StrCat("analysis ", analysis_id, "'s disclosure records do not parse"));
      }
    } else if (!absl::IsNotFound(kept.status())) {
      return kept.status();
    }
    // A node's part of a federated analysis releases its regressions'
    // sufficient statistics, for the home node to pool exactly.
    files = AggregateFiles(analysis.result(), internals ? &*internals : nullptr, policy,
                           absl::Now() + options_.protection_time,
                           analyses::IsFederatedPart(analysis, options_.node_id)
                               ? RegressionRelease::kSufficientStatistics
                               : RegressionRelease::kFit);
  } else {
    // What the manifest declares of its magnitude tables' statistics.
    ASSIGN_OR_RETURN(trenode::v1::Bundle bundle,
                     analyses_->GetBundle(analysis.script().bundle_sha256()));
    const auto& statistics = bundle.manifest().magnitude_statistics();
    for (const auto& output : analysis.script_outcome().outputs()) {
      ASSIGN_OR_RETURN(
          std::string bytes,
          adapters::ReadObject(*objects_, analyses::OutputObjectKey(analysis_id, output.name())));
      auto statistic = statistics.find(output.name());
      files.push_back(ScriptFile(output.name(), std::move(bytes), options_.gates, policy,
                                 statistic == statistics.end()
                                     ? trenode::v1::MAGNITUDE_STATISTIC_UNSPECIFIED
                                     : statistic->second));
    }
  }
  if (include_logs) {
    const trenode::v1::ScriptOutcome& outcome = analysis.script_outcome();
    for (const auto& [name, text] :
         {std::pair{kStdoutFile, &outcome.stdout()}, std::pair{kStderrFile, &outcome.stderr()}}) {
      if (text->empty()) continue;
      CandidateFile log = ScriptFile(name, *text, options_.gates, policy);
      log.meta.set_verdict_summary(
          absl::StrCat("the job's ", name == kStdoutFile ? "standard output" : "standard error",
                       " (its first 64 KiB): no automated check; read it for data"));
      log.meta.set_requester_summary(
          "the job's log: not checked automatically; an output checker will judge it");
      files.push_back(std::move(log));
    }
  }
  RETURN_IF_ERROR(CheckOffered(analysis, include_logs));
  return files;
}

absl::Status Releases::Prepare(const std::string& release_id) {
  ASSIGN_OR_RETURN(Release release, store_->Get(release_id));
  if (release.state() != trenode::v1::RELEASE_STATE_PREPARING) return absl::OkStatus();
  std::vector<CandidateFile> files;
  Release prepared = release;
  // Files written so far are removed if the release does not become a draft.
  auto discard = [&] {
    for (const auto& file : prepared.files()) {
      const std::string key = ReviewObjectKey(release_id, file.name());
      if (objects_->Delete(key).ok() && storage_ != nullptr) (void)storage_->Removed(key, clock_());
    }
  };
  absl::Status quota_refused;
  absl::Status built = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(trenode::v1::Analysis analysis, analyses_->Get(release.analysis_id()));
    ASSIGN_OR_RETURN(auto policy_and_name, PolicyOf(release.project_id()));
    auto& [policy, policy_description] = policy_and_name;
    ASSIGN_OR_RETURN(files, BuildFiles(analysis, release.include_logs(), policy));
    if (storage_quota_) {
      // Every file's review copy now, and a released copy of each not
      // withheld if it is approved: checked here, so that approving never
      // fails for storage.
      int64_t needed = 0;
      for (const CandidateFile& file : files) {
        const auto size = static_cast<int64_t>(file.bytes.size());
        needed += file.meta.withheld() ? size : 2 * size;
      }
      quota_refused = storage_quota_(
          release.project_id(), needed, absl::StrCat("release ", release_id),
          "for its review copies and the released copies they may become");
      RETURN_IF_ERROR(quota_refused);
    }
    prepared.set_policy(policy_description);
    std::vector<disclosure::CheckedOutput> checked;
    for (size_t i = 0; i < files.size(); ++i) {
      CandidateFile& file = files[i];
      *prepared.add_files() = file.meta;
      // Recorded before it is written: no copy is kept unmetered (a failed
      // write is closed by discard, with the rest).
      if (storage_ != nullptr) {
        RETURN_IF_ERROR(storage_->Stored(
            release.project_id(), charging::StoredKind::kReviewCopy,
            ReviewObjectKey(release_id, file.meta.name()),
            static_cast<int64_t>(file.bytes.size()), clock_()));
      }
      RETURN_IF_ERROR(adapters::WriteObject(
          *objects_, ReviewObjectKey(release_id, file.meta.name()), file.bytes));
      checked.push_back({absl::StrCat("output_", i), analysis.has_query() ? "table" : "file",
                         file.meta.name(), &file.table, &file.checked, file.suppressed});
    }
    prepared.set_results_json(disclosure::AcroResultsJson(checked, clock_()));
    if (analysis.has_query()) {
      // The cells the files would publish, pending until they are released.
      std::vector<LedgerCell> cells;
      for (CandidateFile& file : files) {
        for (LedgerCell& cell : file.published) {
          cell.release_id = release_id;
          cell.file = file.meta.name();
          cells.push_back(std::move(cell));
        }
      }
      RETURN_IF_ERROR(ledger_->Record(release.project_id(), analysis.query().dataset_id(), cells));
    }
    return absl::OkStatus();
  }();
  absl::MutexLock lock(&mu_);
  if (!built.ok()) {
    discard();
    if (!quota_refused.ok()) {
      absl::MutexLock queue_lock(&queue_mu_);
      if (awaited_.count(release_id) > 0) quota_refusals_[release_id] = quota_refused;
    }
    // The quota's refusal is its own reason; any other is why the files
    // could not be built.
    return Apply(NodePrincipal(), release_id, ReleaseAction::kWithdraw,
                 Capped(quota_refused.ok()
                            ? absl::StrCat("its files could not be built: ", built.message())
                            : std::string(quota_refused.message())))
        .status();
  }
  absl::StatusOr<Release> drafted =
      Apply(NodePrincipal(), release_id, ReleaseAction::kPrepared, "", [&](Release& r) {
        *r.mutable_files() = prepared.files();
        r.set_results_json(prepared.results_json());
        r.set_policy(prepared.policy());
        return absl::OkStatus();
      });
  if (!drafted.ok()) {
    absl::StatusOr<Release> now = store_->Get(release_id);
    // Made, its record waiting in the outbox: the draft stands.
    if (now.ok() && now->state() == trenode::v1::RELEASE_STATE_DRAFT) return drafted.status();
    discard();
    // Withdrawn meanwhile: nothing of it is kept. Still preparing (the
    // draft could not be stored): built again when the node next starts.
    if (now.ok() && now->state() != trenode::v1::RELEASE_STATE_PREPARING) {
      RETURN_IF_ERROR(ledger_->MarkClosed(release_id));
    }
  }
  return drafted.status();
}

void Releases::PrepareInBackground() {
  while (true) {
    std::string release_id;
    {
      absl::MutexLock lock(&queue_mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(queue_mu_) {
        return stopping_ || !queue_.empty();
      };
      queue_mu_.Await(absl::Condition(&ready));
      if (stopping_) return;
      release_id = queue_.front();
    }
    if (absl::Status prepared = Prepare(release_id); !prepared.ok()) {
      std::cerr << absl::StrCat("trenode: release ", release_id,
                                " was not prepared: ", prepared.ToString(), "\n");
    }
    absl::MutexLock lock(&queue_mu_);
    queue_.pop_front();
  }
}

absl::Status Releases::Start() {
  std::string after;
  while (true) {
    ASSIGN_OR_RETURN(std::vector<Release> preparing,
                     store_->List("", trenode::v1::RELEASE_STATE_PREPARING, after, 500));
    absl::MutexLock lock(&queue_mu_);
    for (const Release& release : preparing) queue_.push_back(release.id());
    if (preparing.size() < 500) break;
    after = preparing.back().id();
  }
  preparer_ = std::thread([this] { PrepareInBackground(); });
  return absl::OkStatus();
}

Releases::~Releases() {
  {
    absl::MutexLock lock(&queue_mu_);
    stopping_ = true;
  }
  if (preparer_.joinable()) preparer_.join();
}

auth::Principal Releases::NodePrincipal() const {
  return auth::Principal{options_.node_id, trenode::v1::ROLE_UNSPECIFIED,
                         auth::Principal::Kind::kNode};
}

absl::StatusOr<Release> Releases::Submit(const auth::Principal& caller,
                                         const std::string& release_id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Release release, store_->Get(release_id));
  RETURN_IF_ERROR(CheckCanSee(caller, release));
  if (release.requester() != governance_->PersonId(caller)) {
    return absl::PermissionDeniedError("only the requester submits a release");
  }
  RETURN_IF_ERROR(CheckRequesterAccess(release, "be submitted"));
  // Submitted, then opened for review, or approved and published: answered
  // once every record is durable. Publishing records each file with Record
  // before it is copied out, which waits for the records before it.
  log::DeferredRecords deferred;
  ASSIGN_OR_RETURN(Release submitted, SubmitLocked(caller, release_id));
  RETURN_IF_ERROR(deferred.Finish());
  return ViewFor(caller, std::move(submitted));
}

absl::StatusOr<std::map<std::string, std::string>> Releases::PooledDifferencing(
    const trenode::v1::Analysis& analysis, const Release& release) {
  std::vector<std::string> files;
  for (const auto& file : release.files()) files.push_back(file.name());
  ASSIGN_OR_RETURN(StandingOutputs standing,
                   standing_.Gather({options_.node_id, release.project_id(), release.requester(),
                                     analysis.id(),
                                     StandingOutputs::QuestionsOf(analysis.query(), files)}));
  // A pooled release sums its answered nodes, and protects those shown only
  // pooled; a local release is the home node's table alone, which it may
  // show, but not so as to let a partner's be worked out.
  NodeSet candidate;
  NodeSet allowed;
  if (analysis.nodes_size() == 0) {
    candidate = allowed = {options_.node_id};
  } else {
    for (const auto& site : analysis.sites()) {
      if (site.state() != trenode::v1::SiteStatus::STATE_ANSWERED) continue;
      candidate.insert(site.node_id());
      if (!site.visible()) standing.Protect({site.node_id()});
    }
  }
  std::map<std::string, std::string> withheld;
  for (const auto& file : release.files()) {
    StandingOutputs::Finding finding =
        standing.Check(analysis.query(), file.name(), candidate, allowed);
    if (finding.revealed.empty()) continue;
    withheld[file.name()] = StandingOutputs::Reason(finding, release.requester());
  }
  return withheld;
}

absl::StatusOr<Release> Releases::SubmitLocked(const auth::Principal& caller,
                                               const std::string& release_id) {
  ASSIGN_OR_RETURN(Release release, Apply(caller, release_id, ReleaseAction::kSubmit, ""));
  ASSIGN_OR_RETURN(trenode::v1::Analysis analysis, analyses_->Get(release.analysis_id()));
  // Files failing a hard gate are withheld; with none left, the release is blocked.
  std::map<std::string, std::string> gated;  // file -> why it is withheld
  // Every output of a query, pooled or local, is checked against the
  // project's standing outputs; the home node's own part of a federated
  // analysis is never downloaded, so it is not.
  if (analysis.has_query() && analysis.federated_part_of().empty()) {
    ASSIGN_OR_RETURN(gated, PooledDifferencing(analysis, release));
  }
  bool all_pass = true;
  for (const auto& file : release.files()) {
    if (!file.gate_failures().empty()) {
      gated[file.name()] =
          absl::StrCat("failed a hard gate: ", absl::StrJoin(file.gate_failures(), "; "));
    }
    all_pass = all_pass && file.verdict() == "pass";
  }
  if (gated.size() == static_cast<size_t>(release.files_size())) {
    std::vector<std::string> reasons;
    for (const auto& [file, why] : gated) reasons.push_back(absl::StrCat(file, ": ", why));
    std::string reason = absl::StrJoin(reasons, "; ");
    return Apply(caller, release_id, ReleaseAction::kBlock,
                 reason.size() <= kMaxText ? reason : "every file failed a hard gate");
  }
  ASSIGN_OR_RETURN(trenode::v1::Project project, projects_->GetProject(release.project_id()));
  // The overlap audit: a cell close to one released before goes to checkers.
  std::map<std::string, std::vector<std::string>> notes;  // by file
  std::set<std::string> overlapping;                       // files that need review for it
  if (analysis.has_query()) {
    ASSIGN_OR_RETURN(auto policy_and_name, PolicyOf(release.project_id()));
    const disclosure::Policy& policy = policy_and_name.first;
    ASSIGN_OR_RETURN(std::vector<LedgerCell> cells, ledger_->OfRelease(release.id()));
    WithinRelease within = policy.cell_key             ? WithinRelease::kCountsEverywhere
                           : policy.rounding_base > 0 ? WithinRelease::kCountsAcrossFiles
                                                       : WithinRelease::kMagnitudes;
    ASSIGN_OR_RETURN(std::vector<OverlapFinding> findings,
                     AuditOverlap(*ledger_, analysis.query().dataset_id(), cells,
                                  policy.overlap_threshold, within));
    for (const OverlapFinding& finding : findings) {
      std::vector<std::string>& file_notes = notes[finding.file];
      if (file_notes.size() < kMaxNotesPerFile) {
        file_notes.push_back(finding.Describe(policy.overlap_threshold));
      }
      overlapping.insert(finding.file);
    }
    // From now on these cells count against other releases too.
    RETURN_IF_ERROR(ledger_->MarkSubmitted(release.id()));
  }
  all_pass = all_pass && overlapping.empty() && gated.empty();
  // The findings go on the files with the transition that follows.
  auto annotate = [&](Release& r) {
        for (auto& file : *r.mutable_files()) {
          auto found = notes.find(file.name());
          if (found == notes.end()) continue;
          for (const std::string& note : found->second) file.add_checker_notes(note);
          if (overlapping.contains(file.name()) && file.verdict() == "pass") {
            file.set_verdict("review");
            file.set_requester_summary("needs an output checker");
            file.set_verdict_summary(
                absl::StrCat("review; the overlap audit found cells close to released ones: ",
                             absl::StrJoin(found->second, "; ")));
          }
        }
  };
  const std::string& owner = project.approval().auto_release_owner();
  // The owner answers for what the policy releases, so must be independent
  // of the project and never the requester.
  ASSIGN_OR_RETURN(bool owner_involved, governance_->IsInvolved(owner, release.project_id()));
  // A pooled result (a federated analysis's) carries no person-level
  // records for the audits: it always goes to checkers.
  if (analysis.has_query() && analysis.nodes_size() == 0 && all_pass && !owner.empty() &&
      !owner_involved && owner != release.requester()) {
    ASSIGN_OR_RETURN(release,
                     Apply(caller, release_id, ReleaseAction::kApprove,
                           absl::StrCat("every file passes the ", release.policy(),
                                        " rules; released under the project's auto-release policy"),
                           [&](Release& r) {
                             annotate(r);
                             r.add_approved_by(absl::StrCat(owner, " (auto-release policy owner)"));
                             return absl::OkStatus();
                           }));
    return Publish(caller, release);
  }
  return Apply(caller, release_id, ReleaseAction::kOpenReview,
               absl::StrCat("needs ", options_.quorum, " output checker approvals",
                            gated.empty() ? "" : absl::StrCat("; withheld: ", FileList(gated))),
               [&](Release& r) {
                 annotate(r);
                 for (auto& file : *r.mutable_files()) {
                   auto why = gated.find(file.name());
                   if (why == gated.end()) continue;
                   file.set_withheld(true);
                   file.set_withheld_reason(why->second);
                 }
                 return absl::OkStatus();
               });
}

absl::StatusOr<Release> Releases::Get(const auth::Principal& caller,
                                      const std::string& release_id) {
  ASSIGN_OR_RETURN(Release release, store_->Get(release_id));
  RETURN_IF_ERROR(CheckCanSee(caller, release));
  return ViewFor(caller, std::move(release));
}

absl::StatusOr<trenode::v1::ListReleasesResponse> Releases::List(
    const auth::Principal& caller, const trenode::v1::ListReleasesRequest& request) {
  if (request.page_size() < 0) return absl::InvalidArgumentError("page_size: is negative");
  int limit =
      request.page_size() == 0 ? kDefaultPageSize : std::min(request.page_size(), kMaxPageSize);
  std::string requester =
      Is(caller, trenode::v1::ROLE_RESEARCHER) ? governance_->PersonId(caller) : "";
  if (Is(caller, trenode::v1::ROLE_RESEARCHER) && requester.empty()) {
    // An empty requester would match everyone's: a researcher must be a person.
    return absl::PermissionDeniedError("only people list their releases as researchers");
  }
  ASSIGN_OR_RETURN(std::vector<Release> page,
                   store_->List(requester, request.state(), request.page_token(), limit + 1));
  trenode::v1::ListReleasesResponse response;
  for (size_t i = 0; i < page.size() && i < static_cast<size_t>(limit); ++i) {
    *response.add_releases() = ViewFor(caller, std::move(page[i]));
  }
  if (page.size() > static_cast<size_t>(limit)) {
    response.set_next_page_token(response.releases(limit - 1).id());
  }
  return response;
}

absl::StatusOr<Release> Releases::Review(const auth::Principal& caller,
                                         const trenode::v1::ReviewReleaseRequest& request) {
  std::string reviewer = governance_->PersonId(caller);
  if (reviewer.empty()) return absl::PermissionDeniedError("only people review releases");
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Release release, store_->Get(request.release_id()));
  if (release.requester() == reviewer) {
    return absl::PermissionDeniedError(
        absl::StrCat(reviewer, " requested release ", release.id(), " and may not review it"));
  }
  RETURN_IF_ERROR(
      governance_->CheckIndependent(reviewer, release.project_id(), "review its releases"));
  for (const auto& review : release.reviews()) {
    if (review.reviewer() == reviewer) {
      return absl::AlreadyExistsError(
          absl::StrCat(reviewer, " has already reviewed release ", release.id(),
                       "; a second approval must come from another output checker"));
    }
  }
  if (release.state() != trenode::v1::RELEASE_STATE_IN_REVIEW) {
    return absl::FailedPreconditionError(absl::StrCat(
        "release ", release.id(), " is ", StateName(release.state()), "; it is not in review"));
  }
  RETURN_IF_ERROR(CheckDecisions(release, request));
  RETURN_IF_ERROR(CheckRequesterAccess(release, "be reviewed"));
  trenode::v1::Review review;
  review.set_reviewer(reviewer);
  *review.mutable_files() = request.files();
  *review.mutable_time() = ToTimestamp(clock_());
  *release.add_reviews() = review;

  // A file any checker rejected is withheld; the others are released once
  // the quorum has reviewed. With nothing left to release, the release is
  // rejected at once.
  std::map<std::string, std::string> withheld = WithheldReasons(release);
  bool any_gated = std::any_of(release.files().begin(), release.files().end(),
                               [](const auto& file) { return file.withheld(); });
  auto conclude = [&](Release& r) {
    *r.add_reviews() = review;
    for (auto& file : *r.mutable_files()) {
      auto reason = withheld.find(file.name());
      if (reason == withheld.end() || file.withheld()) continue;
      file.set_withheld(true);
      file.set_withheld_reason(reason->second);
    }
    return absl::OkStatus();
  };
  if (withheld.size() == static_cast<size_t>(release.files_size())) {
    return Apply(caller, release.id(), ReleaseAction::kReject,
                 absl::StrCat("every file was rejected by ", reviewer,
                              release.reviews_size() > 1 ? " and earlier reviewers" : "",
                              any_gated ? " or failed a hard gate" : ""),
                 conclude);
  }
  if (release.reviews_size() < options_.quorum) {
    // Recorded; the release stays in review until the quorum has reviewed.
    *release.mutable_updated() = ToTimestamp(clock_());
    RETURN_IF_ERROR(log::RecordedChange(
        events_, caller,
        log::ChangeEvent(
            "release.review", Object(release), release.project_id(),
            absl::StrCat(
                "reviewed by ", release.reviews_size(), " of ", options_.quorum,
                " output checkers",
                withheld.empty() ? "" : absl::StrCat("; withheld so far: ", FileList(withheld)))),
        [&] { return store_->Update(release, release.state()); }));
    return release;
  }
  ASSIGN_OR_RETURN(
      release,
      Apply(caller, release.id(), ReleaseAction::kApprove,
            absl::StrCat("approved by ", options_.quorum, " output checkers",
                         withheld.empty() ? "" : absl::StrCat("; withheld: ", FileList(withheld))),
            [&](Release& r) {
              RETURN_IF_ERROR(conclude(r));
              for (const auto& each : r.reviews()) r.add_approved_by(each.reviewer());
              return absl::OkStatus();
            }));
  return Publish(caller, release);
}

absl::StatusOr<Release> Releases::Publish(const auth::Principal& actor, const Release& release) {
  for (const auto& file : release.files()) {
    if (file.withheld()) continue;
    ASSIGN_OR_RETURN(std::string bytes,
                     adapters::ReadObject(*objects_, ReviewObjectKey(release.id(), file.name())));
    if (absl::BytesToHexString(log::HashBytes(log::Sha256(bytes))) != file.sha256()) {
      return absl::DataLossError(
          absl::StrCat("the reviewed bytes of ", file.name(), " changed; nothing was released"));
    }
    if (storage_ != nullptr) {
      RETURN_IF_ERROR(storage_->Stored(release.project_id(), charging::StoredKind::kReleasedCopy,
                                       EgressObjectKey(release.id(), file.name()),
                                       static_cast<int64_t>(bytes.size()), clock_()));
    }
    // The store's own copy (a hard link on posix, server-side in the cloud)
    // rather than writing the bytes again; every download checks them
    // against the reviewed hash (ReadReleasedBytes) in any case.
    RETURN_IF_ERROR(objects_->Copy(ReviewObjectKey(release.id(), file.name()),
                                   EgressObjectKey(release.id(), file.name())));
    RETURN_IF_ERROR(RecordFile(actor, release, "release.file", file));
  }
  std::map<std::string, std::string> withheld;
  std::set<std::string> released;
  for (const auto& file : release.files()) {
    if (file.withheld()) {
      withheld[file.name()] = file.withheld_reason();
    } else {
      released.insert(file.name());
    }
  }
  // Released cells join the ledger that later releases are audited against.
  RETURN_IF_ERROR(ledger_->MarkReleased(release.id(), released));
  return Apply(
      actor, release.id(), ReleaseAction::kRelease,
      withheld.empty()
          ? "copied to the egress area"
          : absl::StrCat(release.files_size() - withheld.size(), " of ", release.files_size(),
                         " files copied to the egress area; withheld: ", FileList(withheld)));
}

absl::StatusOr<Release> Releases::Withdraw(const auth::Principal& caller,
                                           const std::string& release_id,
                                           const std::string& reason) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Release release, store_->Get(release_id));
  RETURN_IF_ERROR(CheckCanSee(caller, release));
  if (release.requester() != governance_->PersonId(caller)) {
    return absl::PermissionDeniedError("only the requester withdraws a release");
  }
  ASSIGN_OR_RETURN(release, Apply(caller, release_id, ReleaseAction::kWithdraw, reason));
  return ViewFor(caller, std::move(release));
}

absl::StatusOr<Release> Releases::Revoke(const auth::Principal& caller,
                                         const std::string& release_id, const std::string& reason) {
  if (reason.empty()) return absl::InvalidArgumentError("reason: say why the release is revoked");
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Release release, Apply(caller, release_id, ReleaseAction::kRevoke, reason));
  for (const auto& file : release.files()) {
    if (file.withheld()) continue;  // never copied out
    RETURN_IF_ERROR(objects_->Delete(EgressObjectKey(release.id(), file.name())));
    // Stored until now: that time is charged.
    if (storage_ != nullptr) {
      RETURN_IF_ERROR(storage_->Removed(EgressObjectKey(release.id(), file.name()), clock_()));
    }
  }
  return ViewFor(caller, std::move(release));
}

absl::StatusOr<Releases::DownloadTarget> Releases::StartDownload(const auth::Principal& caller,
                                                                 const std::string& release_id,
                                                                 const std::string& file_name) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Release release, store_->Get(release_id));
  RETURN_IF_ERROR(CheckCanSee(caller, release));
  int index = -1;
  for (int i = 0; i < release.files_size(); ++i) {
    if (release.files(i).name() == file_name) index = i;
  }
  if (index < 0) {
    return absl::NotFoundError(absl::StrCat("release ", release_id, " has no file ", file_name));
  }
  if (!Is(caller, trenode::v1::ROLE_RESEARCHER)) {
    // Checkers read the file under review; it is not a download from the TRE.
    std::string person = governance_->PersonId(caller);
    if (person == release.requester()) {
      return absl::PermissionDeniedError(absl::StrCat(
          person, " requested release ", release_id, " and may not read its review copies"));
    }
    RETURN_IF_ERROR(governance_->CheckIndependent(person, release.project_id(),
                                                  "read its releases' review copies"));
    if (release.state() == trenode::v1::RELEASE_STATE_WITHDRAWN ||
        release.state() == trenode::v1::RELEASE_STATE_DRAFT) {
      return absl::FailedPreconditionError(
          absl::StrCat("release ", release_id, " is ", StateName(release.state()),
                       "; only submitted releases are read by output checkers"));
    }
    // No hash in the record: researchers read their project's events, and a
    // hash of a file nobody released would give a short file away.
    if (events_ != nullptr) {
      log::ActivityEvent event;
      event.action = "release.inspect";
      event.object = absl::StrCat(Object(release), "/", file_name);
      event.outcome = "success";
      event.project = release.project_id();
      RETURN_IF_ERROR(events_->Record(caller, std::move(event)));
    }
    DownloadTarget inspection;  // the node's own work: no egress
    inspection.key = ReviewObjectKey(release_id, file_name);
    inspection.sha256 = release.files(index).sha256();
    return inspection;
  }
  RETURN_IF_ERROR(CheckRequesterAccess(release, "be downloaded"));
  ASSIGN_OR_RETURN(trenode::v1::Analysis analysis, analyses_->Get(release.analysis_id()));
  if (!analysis.federated_part_of().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "release ", release_id, " is this node's part of federated analysis ",
        analysis.federated_part_of(), "; it leaves only pooled, through that analysis's release"));
  }
  if (release.state() == trenode::v1::RELEASE_STATE_REVOKED) {
    return absl::FailedPreconditionError(
        absl::StrCat("release ", release_id, " was revoked: ", release.state_reason()));
  }
  if (release.state() != trenode::v1::RELEASE_STATE_RELEASED) {
    return absl::FailedPreconditionError(absl::StrCat("release ", release_id, " is ",
                                                      StateName(release.state()),
                                                      "; only released files can be downloaded"));
  }
  auto* file = release.mutable_files(index);
  if (file->withheld()) {
    return absl::FailedPreconditionError(absl::StrCat(file_name, " was withheld from release ",
                                                      release_id, ": ", file->withheld_reason()));
  }
  if (file->downloads() >= options_.max_downloads) {
    return absl::ResourceExhaustedError(
        absl::StrCat(file_name, " has been downloaded ", file->downloads(), " times, the limit"));
  }
  // The count and the record are one unit, made before any byte is served.
  file->set_downloads(file->downloads() + 1);
  log::ActivityEvent event = log::ChangeEvent("release.download",
                                              absl::StrCat(Object(release), "/", file_name),
                                              release.project_id());
  event.hashes.push_back(absl::StrCat("sha256:", file->sha256()));
  RETURN_IF_ERROR(log::RecordedChange(events_, caller, std::move(event),
                                      [&] { return store_->Update(release, release.state()); }));
  return DownloadTarget{.key = EgressObjectKey(release_id, file_name),
                        .sha256 = file->sha256(),
                        .project_id = release.project_id(),
                        .release_id = release_id,
                        .file = file_name,
                        .egress = true};
}

absl::Status Releases::FinishDownload(const auth::Principal& caller, const DownloadTarget& target,
                                      int64_t bytes_sent) {
  if (!target.egress || storage_ == nullptr || bytes_sent <= 0) return absl::OkStatus();
  charging::EgressRecord record;
  record.project_id = target.project_id;
  record.release_id = target.release_id;
  record.file = target.file;
  record.downloader = governance_->PersonId(caller);
  record.bytes = bytes_sent;
  record.at = clock_();
  return log::RecordedChange(
      events_, caller,
      log::ChangeEvent("usage.egress",
                       absl::StrCat("release/", target.release_id, "/", target.file),
                       target.project_id, absl::StrCat(bytes_sent, " bytes sent")),
      [&] { return storage_->Egress(record); });
}

absl::StatusOr<Release> Releases::Apply(const auth::Principal& actor, const std::string& release_id,
                                        ReleaseAction action, const std::string& reason,
                                        const std::function<absl::Status(Release&)>& change) {
  if (reason.size() > kMaxText) {
    return absl::InvalidArgumentError(absl::StrCat("reason: at most ", kMaxText, " bytes"));
  }
  ASSIGN_OR_RETURN(Release release, store_->Get(release_id));
  ReleaseState from = release.state();
  std::optional<ReleaseState> to = NextReleaseState(from, action);
  if (!to) {
    return absl::FailedPreconditionError(absl::StrCat(
        "release ", release_id, " is ", StateName(from), "; it cannot ", ActionName(action)));
  }
  if (change) RETURN_IF_ERROR(change(release));
  if (action == ReleaseAction::kSubmit) *release.mutable_submitted() = ToTimestamp(clock_());
  release.set_state(*to);
  release.set_state_reason(reason);
  *release.mutable_updated() = ToTimestamp(clock_());
  bool made = false;
  absl::Status changed = log::RecordedChange(
      events_, actor,
      log::ChangeEvent(absl::StrCat("release.", ActionName(action)), Object(release),
                       release.project_id(), reason),
      [&] { return store_->Update(release, from); }, &made);
  // Made even if its record waits in the outbox. A crash before this leaves
  // the cells pending: the audit then counts them as published.
  if (made &&
      (*to == trenode::v1::RELEASE_STATE_WITHDRAWN || *to == trenode::v1::RELEASE_STATE_REJECTED)) {
    RETURN_IF_ERROR(ledger_->MarkClosed(release.id()));
  }
  RETURN_IF_ERROR(changed);
  return release;
}

}  // namespace trenode::releases
