#include "federation/coordinator.h"

#include <cctype>
#include <map>
#include <set>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "federation/pooling.h"
#include "node/charging/site_costs.h"
#include "node/analyses/analysis_state.h"
#include "node/common/dates.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"
#include "node/log/merkle.h"
#include "node/releases/differencing_guard.h"

namespace trenode::federation {
namespace {
using trenode::v1::Analysis;
using trenode::v1::Contribution;
using trenode::v1::SiteStatus;

bool IsFinalSite(SiteStatus::State state) {
  return state != SiteStatus::STATE_SENDING && state != SiteStatus::STATE_PENDING &&
         state != SiteStatus::STATE_HELD_FOR_REVIEW;
}

std::string SiteStateName(SiteStatus::State state) {
  std::string name = SiteStatus::State_Name(state);
  name = name.substr(std::string("STATE_").size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// The most of one visible file kept in the analysis record.
constexpr size_t kMaxVisibleBytes = 64 << 10;

// Sites move through these in order; final states rank last.
int Rank(SiteStatus::State state) {
  switch (state) {
    case SiteStatus::STATE_SENDING:
      return 0;
    case SiteStatus::STATE_PENDING:
      return 1;
    case SiteStatus::STATE_HELD_FOR_REVIEW:
      return 2;
    default:
      return 3;
  }
}

// A node's words (its refusal, its reason), as one printable line of valid
// UTF-8, bounded: they are the node's bytes, stored in this node's records.
std::string Words(absl::string_view text) { return PrintableText(text, 1000); }
std::string ReasonOf(const absl::Status& status) { return Words(status.message()); }

// The questions of the files the nodes released, for the differencing
// guard to read only the releases of analyses asking one of them.
std::set<std::string> VisibleQuestions(const Analysis& analysis,
                                       const std::vector<SiteRelease>& released) {
  std::vector<std::string> files;
  for (const SiteRelease& site : released) {
    for (const auto& [name, content] : site.files) files.push_back(name);
  }
  return releases::StandingOutputs::QuestionsOf(analysis.query(), files);
}

// No answer: asked again on a later pass.
bool Unreached(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         absl::IsCancelled(status);
}

}  // namespace

SiteStatus::State SiteStateOf(trenode::v1::ContributionState state) {
  switch (state) {
    case trenode::v1::CONTRIBUTION_STATE_HELD_FOR_REVIEW:
      return SiteStatus::STATE_HELD_FOR_REVIEW;
    case trenode::v1::CONTRIBUTION_STATE_RELEASED:
      return SiteStatus::STATE_ANSWERED;
    case trenode::v1::CONTRIBUTION_STATE_REFUSED:
      return SiteStatus::STATE_REFUSED;
    case trenode::v1::CONTRIBUTION_STATE_FAILED:
      return SiteStatus::STATE_FAILED;
    case trenode::v1::CONTRIBUTION_STATE_CANCELLED:
      return SiteStatus::STATE_CANCELLED;
    default:
      return SiteStatus::STATE_PENDING;
  }
}

std::string ContributionKey(const std::string& analysis_id, const std::string& node_id,
                            const std::string& file) {
  return absl::StrCat("federation/", analysis_id, "/", node_id, "/", file);
}

Coordinator::Coordinator(std::string node_id, analyses::Analyses* analyses,
                         analyses::AnalysisStore* store, releases::ReleaseStore* releases,
                         const PartnerDirectory* partners,
                         PartnerCaller* caller, Contributions* here, adapters::ObjectStore* objects,
                         Options options)
    : node_id_(std::move(node_id)),
      analyses_(analyses),
      store_(store),
      releases_(releases),
      partners_(partners),
      caller_(caller),
      here_(here),
      objects_(objects),
      options_(options) {
  analyses_->AddCancelHook([this](const Analysis& analysis) {
    if (analysis.nodes_size() == 0) return;
    absl::MutexLock lock(&mu_);
    to_cancel_.push_back(analysis);
  });
  analyses_->AddChangeHook([this](const Analysis& analysis) {
    if (analysis.nodes_size() == 0) return;
    federated_changed_ = true;
    if (analysis.state() == trenode::v1::ANALYSIS_STATE_QUEUED) {
      absl::MutexLock lock(&mu_);
      queued_ = true;
    }
  });
}

absl::Status Coordinator::CheckSites(const std::vector<std::string>& nodes) const {
  for (const std::string& node : nodes) {
    if (node != node_id_ && !partners_->IsPartner(node)) {
      return absl::InvalidArgumentError(
          absl::StrCat("nodes: \"", node.substr(0, 64), "\" is neither this node (", node_id_,
                       ") nor one of its partners (trectl federation peers lists them)"));
    }
  }
  return absl::OkStatus();
}

void Coordinator::Start() {
  // Cancellations the nodes were not yet told of when the node last stopped.
  if (absl::StatusOr<std::vector<Analysis>> cancelled =
          store_->InStates({trenode::v1::ANALYSIS_STATE_CANCELLED});
      cancelled.ok()) {
    absl::MutexLock lock(&mu_);
    for (Analysis& analysis : *cancelled) {
      bool untold = false;
      for (const SiteStatus& site : analysis.sites()) untold = untold || !IsFinalSite(site.state());
      if (untold) to_cancel_.push_back(std::move(analysis));
    }
  }
  worker_ = std::thread([this] {
    constexpr auto kFederated = analyses::Analyses::Changes::kFederated;
    int64_t generation = analyses_->generation(kFederated);
    while (!stopping_) {
      {
        absl::MutexLock lock(&mu_);
        queued_ = false;
      }
      Step();
      {
        // Woken by a federated analysis's change, but never asking nodes
        // in a tight loop: at most every 2 ms, unless an analysis was
        // queued here meanwhile, whose nodes are sent it at once.
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&queued_), absl::Milliseconds(2));
      }
      generation = analyses_->WaitForChange(generation, options_.poll, kFederated);
    }
  });
}

void Coordinator::Stop() {
  stopping_ = true;
  if (worker_.joinable()) worker_.join();
  for (auto& [id, asker] : askers_) asker->thread.join();
  askers_.clear();
}

auth::Principal Coordinator::Researcher(const Analysis& analysis) const {
  auth::Principal person;
  const std::string& submitter = analysis.submitter();
  person.subject = submitter.substr(0, submitter.rfind('@'));
  person.kind = auth::Principal::Kind::kPerson;
  person.role = trenode::v1::ROLE_RESEARCHER;
  return person;
}

void Coordinator::Step() {
  CollectAskers();
  std::vector<Analysis> cancelled;
  {
    absl::MutexLock lock(&mu_);
    cancelled.swap(to_cancel_);
  }
  for (Analysis& analysis : cancelled) {
    if (askers_.contains(analysis.id())) {
      // Told once its nodes' answers are in, on a later pass.
      absl::MutexLock lock(&mu_);
      to_cancel_.push_back(std::move(analysis));
      continue;
    }
    CancelAt(analysis);
  }
  absl::Time now = absl::Now();
  if (!federated_changed_.exchange(false)) {
    // Nothing federated changed here: only analyses due to be asked need
    // their records read again (a node's answer is no change here).
    bool due = false;
    for (const auto& [id, pace] : pace_) due = due || (now >= pace.next && !askers_.contains(id));
    if (!due) return;
  }
  absl::StatusOr<std::vector<Analysis>> live =
      store_->InStates({trenode::v1::ANALYSIS_STATE_QUEUED, trenode::v1::ANALYSIS_STATE_RUNNING});
  if (!live.ok()) {
    federated_changed_ = true;  // retried on the next pass
    return;
  }
  std::map<std::string, Pace> still_running;
  for (const Analysis& analysis : *live) {
    if (stopping_) return;
    if (analysis.nodes_size() == 0) continue;
    if (analysis.state() == trenode::v1::ANALYSIS_STATE_QUEUED) {
      // Its nodes are sent it at once.
      std::optional<Analysis> started = Begin(analysis);
      if (started && askers_.size() < kAtOnce) StartAsking(*started);
      if (started) still_running[analysis.id()] = Pace{absl::Now() + options_.poll, options_.poll};
      continue;
    }
    Pace pace = pace_[analysis.id()];
    if (now >= pace.next && !askers_.contains(analysis.id()) && askers_.size() < kAtOnce) {
      // Asked about in parallel, so that nodes slow to answer one analysis
      // (or holding their answers) do not hold up the others.
      StartAsking(analysis);
    }
    still_running[analysis.id()] = pace;
  }
  // Analyses being asked about keep their pace until their askers are done.
  for (const auto& [id, asker] : askers_) {
    if (!still_running.contains(id) && pace_.contains(id)) still_running[id] = pace_[id];
  }
  pace_.swap(still_running);
}

void Coordinator::StartAsking(const Analysis& analysis) {
  auto asker = std::make_unique<Asker>();
  asker->analysis = analysis;
  Asker* raw = asker.get();
  asker->thread = std::thread([this, raw] {
    raw->changed = Progress(raw->analysis);
    raw->done = true;
  });
  askers_[analysis.id()] = std::move(asker);
}

void Coordinator::CollectAskers() {
  for (auto it = askers_.begin(); it != askers_.end();) {
    Asker& asker = *it->second;
    if (!asker.done) {
      ++it;
      continue;
    }
    asker.thread.join();
    const Analysis& analysis = asker.analysis;
    Pace& pace = pace_[analysis.id()];
    pace.wait = asker.changed
                    ? options_.poll
                    : std::min(absl::Seconds(5), std::max(options_.poll, pace.wait * 3 / 2));
    // Never past the deadline, when the analysis ends.
    pace.next = std::min(absl::Now() + pace.wait,
                         FromTimestamp(analysis.federation_started()) +
                             absl::Seconds(analysis.federation_deadline_seconds()));
    it = askers_.erase(it);
  }
}

std::optional<Analysis> Coordinator::Begin(const Analysis& analysis) {
  if (absl::Status gate = analyses_->CheckStartGate(analysis); !gate.ok()) {
    (void)analyses_->Advance(analysis.id(), analyses::AnalysisAction::kFail,
                             absl::StrCat("refused at start: ", gate.message()));
    return std::nullopt;
  }
  absl::Time now = absl::Now();
  absl::StatusOr<Analysis> started =
      analyses_->Advance(analysis.id(), analyses::AnalysisAction::kStart, "", [&](Analysis& a) {
        *a.mutable_federation_started() = ToTimestamp(now);
        a.clear_sites();
        for (const std::string& node : a.nodes()) {
          SiteStatus* site = a.add_sites();
          site->set_node_id(node);
          site->set_state(SiteStatus::STATE_SENDING);
          *site->mutable_updated() = ToTimestamp(now);
        }
      });
  if (!started.ok()) return std::nullopt;
  return *std::move(started);
}

SiteStatus Coordinator::Ask(const Analysis& analysis, const SiteStatus& site,
                            absl::Duration deadline, Files* arrived) {
  SiteStatus next = site;
  auth::Principal person = Researcher(analysis);
  absl::StatusOr<Contribution> answer;
  const bool here = site.node_id() == node_id_;
  std::optional<trenode::v1::Partner> partner;
  if (!here) {
    partner = partners_->Find(site.node_id());
    if (!partner) {
      next.set_state(SiteStatus::STATE_UNREACHABLE);
      next.set_reason("no longer a partner of this node");
      return next;
    }
  }
  if (site.state() == SiteStatus::STATE_SENDING) {
    trenode::v1::SubmitContributionRequest request;
    request.set_subject(person.subject);
    request.set_project_id(analysis.project_id());
    request.set_request_id(PartRequestId(analysis, site.node_id()));
    *request.mutable_query() = analysis.query();
    request.set_purpose(analysis.purpose());
    answer = here ? here_->Submit(person, request, &analysis)
                  : caller_->SubmitContribution(*partner, request, deadline);
  } else {
    trenode::v1::ContributionRef ref;
    ref.set_subject(person.subject);
    ref.set_request_id(PartRequestId(analysis, site.node_id()));
    // The node holds its answer until the part moves on (or a while).
    absl::Duration wait = std::min(options_.hold, deadline - absl::Milliseconds(300));
    if (wait > absl::ZeroDuration()) {
      ref.set_known_state(site.state() == SiteStatus::STATE_HELD_FOR_REVIEW
                              ? trenode::v1::CONTRIBUTION_STATE_HELD_FOR_REVIEW
                              : trenode::v1::CONTRIBUTION_STATE_PENDING);
      ref.set_wait_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(wait)));
    }
    answer = here ? here_->Get(person, ref.request_id(), ref.known_state(), wait)
                  : caller_->GetContribution(*partner, ref, deadline);
  }
  if (!answer.ok()) {
    if (Unreached(answer.status())) {
      // Asked again next pass; the deadline decides.
      next.set_reason(ReasonOf(answer.status()));
      return next;
    }
    next.set_state(site.state() == SiteStatus::STATE_SENDING ? SiteStatus::STATE_REFUSED
                                                             : SiteStatus::STATE_FAILED);
    next.set_reason(ReasonOf(answer.status()));
    return next;
  }
  next.set_remote_analysis_id(PrintableText(answer->analysis_id(), 64));
  next.set_state(SiteStateOf(answer->state()));
  next.set_visible(!here && answer->visible());
  next.set_reason(Words(answer->reason()));
  // A partner's own charge for its part, checked (spec/charging.md); this
  // node's own part is an analysis of its own, on its statement already.
  if (!here && answer->has_cost()) {
    if (std::optional<trenode::v1::Cost> cost = charging::ReportedCost(answer->cost())) {
      *next.mutable_reported_cost() = *std::move(cost);
    }
  }
  if (next.state() == SiteStatus::STATE_ANSWERED) {
    absl::StatusOr<Files> checked = Check(analysis, site.node_id(), *answer);
    if (checked.ok()) {
      *arrived = *std::move(checked);
    } else {
      next.set_state(SiteStatus::STATE_FAILED);
      next.set_reason(ReasonOf(checked.status()));
    }
  }
  return next;
}

absl::StatusOr<Coordinator::Files> Coordinator::Check(const Analysis& analysis,
                                                      const std::string& node_id,
                                                      const Contribution& answer) {
  std::set<std::string> expected;
  for (const auto& output : analysis.query().outputs()) expected.insert(output.name() + ".csv");
  SiteRelease site{node_id, {}};
  for (const auto& file : answer.files()) {
    if (!expected.contains(file.name()) || site.files.contains(file.name())) {
      return absl::FailedPreconditionError(
          absl::StrCat("the node sent a file the query did not ask for: \"",
                       PrintableText(file.name(), 64), "\""));
    }
    std::string digest = absl::BytesToHexString(log::HashBytes(log::Sha256(file.content())));
    if (digest != file.sha256()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the node's ", file.name(), " does not match the hash it gave"));
    }
    site.files[file.name()] = file.content();
  }
  // Files that would not pool fail this node alone, not the analysis.
  if (absl::Status shape = PoolReleased(analysis.query(), {site}).status(); !shape.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the node's released files cannot be pooled: ", shape.message()));
  }
  return std::move(site.files);
}

absl::Status Coordinator::Keep(const Analysis& analysis, const std::string& node_id,
                               const Files& files) {
  for (const auto& [name, content] : files) {
    RETURN_IF_ERROR(
        adapters::WriteObject(*objects_, ContributionKey(analysis.id(), node_id, name), content));
  }
  return absl::OkStatus();
}

bool Coordinator::Progress(const Analysis& analysis) {
  absl::Time due = FromTimestamp(analysis.federation_started()) +
                   absl::Seconds(analysis.federation_deadline_seconds());
  absl::Duration left = due - absl::Now();
  std::vector<SiteStatus> sites(analysis.sites().begin(), analysis.sites().end());
  std::vector<SiteStatus> next = sites;
  std::vector<Files> arrived(sites.size());
  if (left > absl::ZeroDuration()) {
    std::vector<std::thread> askers;
    for (size_t i = 0; i < sites.size(); ++i) {
      if (IsFinalSite(sites[i].state())) continue;
      askers.emplace_back([&, i] {
        // A node whose part moves on without ending (accepted, held for
        // review) is asked again at once rather than after the others: at
        // most three asks, since a site only moves forward.
        SiteStatus site = sites[i];
        while (true) {
          absl::Duration time_left = due - absl::Now();
          if (time_left <= absl::ZeroDuration()) break;
          SiteStatus answer =
              Ask(analysis, site, std::min(options_.call_deadline, time_left), &arrived[i]);
          const bool moved_on = Rank(answer.state()) > Rank(site.state());
          site = std::move(answer);
          if (!moved_on || IsFinalSite(site.state())) break;
        }
        next[i] = std::move(site);
      });
    }
    for (std::thread& asker : askers) asker.join();
  }
  // A site only moves forward (sending, pending, held for review, final):
  // a node that flips back and forth cannot make this node write a note
  // on every pass.
  for (size_t i = 0; i < sites.size(); ++i) {
    if (Rank(next[i].state()) < Rank(sites[i].state())) next[i] = sites[i];
  }
  bool all_final = true;
  for (const SiteStatus& site : next) all_final = all_final && IsFinalSite(site.state());
  const bool ends = all_final || absl::Now() >= due;
  std::map<std::string, Files> answered_now;
  for (size_t i = 0; i < sites.size(); ++i) {
    if (next[i].state() != SiteStatus::STATE_ANSWERED ||
        sites[i].state() == SiteStatus::STATE_ANSWERED) {
      continue;
    }
    if (ends) {
      answered_now[next[i].node_id()] = std::move(arrived[i]);
      continue;
    }
    // Recorded as answered below only once its files are kept, since a
    // later pass (or the node after a restart) pools them from the store.
    if (absl::Status kept = Keep(analysis, next[i].node_id(), arrived[i]); !kept.ok()) {
      // This node's storage: asked again on a later pass.
      next[i] = sites[i];
      next[i].set_reason(ReasonOf(kept));
    }
  }
  absl::Time now = absl::Now();
  std::vector<std::string> changes;
  for (size_t i = 0; i < sites.size(); ++i) {
    if (next[i].state() != sites[i].state()) {
      *next[i].mutable_updated() = ToTimestamp(now);
      changes.push_back(absl::StrCat(next[i].node_id(), " ", SiteStateName(next[i].state())));
    }
  }
  if (ends) {
    Finish(analysis, std::move(next), answered_now);
    return true;
  }
  if (changes.empty()) return false;
  (void)analyses_->Annotate(analysis.id(), absl::StrJoin(changes, "; "), [&](Analysis& a) {
    a.clear_sites();
    for (const SiteStatus& site : next) *a.add_sites() = site;
  });
  return true;
}

void Coordinator::Finish(const Analysis& analysis, std::vector<SiteStatus> sites,
                         const std::map<std::string, Files>& arrived) {
  absl::Time now = absl::Now();
  std::vector<SiteRelease> released;
  bool partial = false;
  for (SiteStatus& site : sites) {
    if (site.state() == SiteStatus::STATE_SENDING) {
      site.set_state(SiteStatus::STATE_UNREACHABLE);
      site.set_reason(absl::StrCat("not reached by the deadline", site.reason().empty() ? "" : ": ",
                                   site.reason()));
      *site.mutable_updated() = ToTimestamp(now);
    } else if (site.state() == SiteStatus::STATE_PENDING ||
               site.state() == SiteStatus::STATE_HELD_FOR_REVIEW) {
      site.set_reason(absl::StrCat("no final answer by the deadline (", SiteStateName(site.state()),
                                   ": ", site.reason(), ")"));
      site.set_state(SiteStatus::STATE_TIMED_OUT);
      *site.mutable_updated() = ToTimestamp(now);
    }
    if (site.state() != SiteStatus::STATE_ANSWERED) {
      partial = true;
      continue;
    }
    SiteRelease files;
    files.node_id = site.node_id();
    if (auto in_memory = arrived.find(site.node_id()); in_memory != arrived.end()) {
      files.files = in_memory->second;
      released.push_back(std::move(files));
      continue;
    }
    for (const auto& output : analysis.query().outputs()) {
      std::string name = output.name() + ".csv";
      absl::StatusOr<std::string> content =
          adapters::ReadObject(*objects_, ContributionKey(analysis.id(), site.node_id(), name));
      if (content.ok()) files.files[name] = *std::move(content);
    }
    released.push_back(std::move(files));
  }
  // A part pooling sets aside (one that cannot be honest, or that would
  // make a pooled number infinite with the others') fails that node alone,
  // as a part that would not pool does when it arrives: the others pool
  // without it and the result is partial.
  absl::StatusOr<Pooled> pooled =
      released.size() < 2 ? absl::StatusOr<Pooled>(absl::FailedPreconditionError("not pooled"))
                          : PoolReleased(analysis.query(), released);
  if (pooled.ok()) {
    for (const Refusal& refusal : pooled->refused) {
      for (SiteStatus& site : sites) {
        if (site.node_id() != refusal.node_id) continue;
        site.set_state(SiteStatus::STATE_FAILED);
        site.set_reason(
            Words(absl::StrCat("the node's released files cannot be pooled: ", refusal.reason)));
        *site.mutable_updated() = ToTimestamp(now);
      }
      std::erase_if(released,
                    [&](const SiteRelease& files) { return files.node_id == refusal.node_id; });
      partial = true;
    }
  }
  // Visible parts are shown only now, and only if the pooled result less
  // them is not one pooled-only node's numbers.
  int pooled_only = 0;
  for (const SiteStatus& site : sites) {
    pooled_only += site.state() == SiteStatus::STATE_ANSWERED && !site.visible();
  }
  const bool show_visible = released.size() < 2 || pooled_only != 1;
  // Nor if, with what stands in the project (pooled releases, local ones,
  // tables shown before), the table alone would let a pooled-only node be
  // worked out: each shown table is the node set {node} to the same guard
  // as releases, and counts against the tables shown after it. If what
  // stands cannot be read, nothing is shown.
  absl::StatusOr<releases::StandingOutputs> standing =
      show_visible ? standing_.Gather({node_id_, analysis.project_id(), analysis.submitter(),
                                       analysis.id(), VisibleQuestions(analysis, released)})
                   : absl::StatusOr<releases::StandingOutputs>(absl::CancelledError());
  if (standing.ok()) {
    for (const SiteStatus& site : sites) {
      if (site.state() == SiteStatus::STATE_ANSWERED && !site.visible()) {
        standing->Protect({site.node_id()});
      }
    }
  }
  for (SiteStatus& site : sites) {
    site.clear_visible_files();
    if (!show_visible || !site.visible() || site.state() != SiteStatus::STATE_ANSWERED) continue;
    if (!standing.ok()) {
      site.set_reason(absl::StrCat("not shown on its own: the project's other outputs could not "
                                   "be read to check it (",
                                   standing.status().message(), ")"));
      continue;
    }
    for (const SiteRelease& files : released) {
      if (files.node_id != site.node_id()) continue;
      for (const auto& [name, content] : files.files) {
        releases::StandingOutputs::Finding finding =
            standing->Check(analysis.query(), name, {site.node_id()}, {site.node_id()});
        if (!finding.revealed.empty()) {
          site.set_reason(Words(absl::StrCat(
              site.reason(), site.reason().empty() ? "" : "; ", name, " not shown on its own: ",
              releases::StandingOutputs::Reason(finding, analysis.submitter()))));
          continue;
        }
        standing->Add(analysis.query(), name, {site.node_id()}, {});
        auto* shown = site.add_visible_files();
        shown->set_name(name);
        shown->set_content(
            content.size() <= kMaxVisibleBytes
                ? content
                : absl::StrCat("(", content.size(), " bytes: too large to show here)\n"));
      }
    }
  }
  auto set_sites = [&](Analysis& a) {
    a.clear_sites();
    for (const SiteStatus& site : sites) *a.add_sites() = site;
    a.set_partial_result(partial);
  };
  if (released.size() < 2) {
    // One node's numbers are not released as a pooled result.
    (void)analyses_->Advance(
        analysis.id(), analyses::AnalysisAction::kFail,
        absl::StrCat(released.size(), " of ", sites.size(),
                     " nodes released a contribution; a pooled result needs at least two "
                     "(see each node's status)"),
        set_sites);
  } else if (!pooled.ok()) {
    (void)analyses_->Fail(analysis.id(), "the contributions could not be pooled",
                          pooled.status().message(), set_sites);
  } else {
    (void)analyses_->Advance(
        analysis.id(), analyses::AnalysisAction::kSucceed,
        partial ? "pooled the contributions of the nodes that answered; some did not"
                : "pooled every node's contribution",
        [&](Analysis& a) {
          set_sites(a);
          *a.mutable_result() = pooled->result;
          for (const std::string& note : pooled->notes) a.add_pooling_notes(note);
        });
  }
  // Parts still running somewhere are not wanted any more.
  bool unfinished = false;
  for (const SiteStatus& site : sites) {
    unfinished = unfinished || site.state() == SiteStatus::STATE_TIMED_OUT ||
                 site.state() == SiteStatus::STATE_UNREACHABLE;
  }
  if (unfinished) {
    absl::MutexLock lock(&mu_);
    to_cancel_.push_back(analysis);
  }
}

std::string Coordinator::PartRequestId(const Analysis& analysis, const std::string& node_id) const {
  return node_id == node_id_ ? absl::StrCat(analysis.request_id(), analyses::kHereSuffix)
                             : analysis.request_id();
}

absl::StatusOr<Contribution> Coordinator::CancelPart(const Analysis& analysis,
                                                     const auth::Principal& person,
                                                     const std::string& node_id) {
  std::string request_id = PartRequestId(analysis, node_id);
  if (node_id == node_id_) return here_->Cancel(person, request_id);
  std::optional<trenode::v1::Partner> partner = partners_->Find(node_id);
  if (!partner) return absl::UnavailableError("no longer a partner of this node");
  trenode::v1::ContributionRef ref;
  ref.set_subject(person.subject);
  ref.set_request_id(request_id);
  return caller_->CancelContribution(*partner, ref, options_.call_deadline);
}

void Coordinator::CancelAt(const Analysis& analysis) {
  absl::StatusOr<Analysis> current = store_->Get(analysis.id());
  if (!current.ok()) return;
  std::vector<SiteStatus> sites(current->sites().begin(), current->sites().end());
  auth::Principal person = Researcher(*current);
  std::vector<std::thread> cancellers;
  for (size_t i = 0; i < sites.size(); ++i) {
    const bool unfinished = sites[i].state() == SiteStatus::STATE_UNREACHABLE ||
                            sites[i].state() == SiteStatus::STATE_TIMED_OUT;
    if (IsFinalSite(sites[i].state()) && !unfinished) continue;
    cancellers.emplace_back([&, i, unfinished] {
      SiteStatus& site = sites[i];
      absl::StatusOr<Contribution> answer = CancelPart(*current, person, site.node_id());
      if (unfinished) {
        // Ended here without it: the node is told to stop; the status stays.
        if (answer.ok()) site.set_reason(absl::StrCat(site.reason(), "; cancelled there"));
        return;
      }
      if (answer.ok()) {
        site.set_state(SiteStateOf(answer->state()));
        site.set_reason(Words(answer->reason()));
      } else if (absl::IsNotFound(answer.status())) {
        site.set_state(SiteStatus::STATE_CANCELLED);
        site.set_reason("cancelled before the node accepted it");
      } else {
        site.set_state(SiteStatus::STATE_CANCELLED);
        site.set_reason(
            absl::StrCat("cancelled here; the node was not told: ", ReasonOf(answer.status())));
      }
      *site.mutable_updated() = ToTimestamp(absl::Now());
    });
  }
  for (std::thread& canceller : cancellers) canceller.join();
  (void)analyses_->Annotate(current->id(), "told the nodes of the cancellation", [&](Analysis& a) {
    a.clear_sites();
    for (const SiteStatus& site : sites) *a.add_sites() = site;
  });
}

}  // namespace trenode::federation
