#include "node/releases/differencing_guard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "node/common/deterministic_bytes.h"
#include "node/common/status_macros.h"
#include "node/log/merkle.h"

namespace trenode::releases {
namespace {
using trenode::v1::Analysis;
using trenode::v1::Release;
using trenode::v1::SiteStatus;

bool Standing(trenode::v1::ReleaseState state) {
  return state == trenode::v1::RELEASE_STATE_IN_REVIEW ||
         state == trenode::v1::RELEASE_STATE_APPROVED ||
         state == trenode::v1::RELEASE_STATE_RELEASED;
}

}  // namespace

namespace {
// Clears in `message`, recursively, what names a result's columns but does
// not change its numbers (GroupBy.label); true if an age is used in it.
bool ClearLabels(google::protobuf::Message& message) {
  bool age = message.GetDescriptor() == trenode::v1::AgeVariable::descriptor();
  if (message.GetDescriptor() == trenode::v1::GroupBy::descriptor()) {
    static_cast<trenode::v1::GroupBy&>(message).clear_label();
  }
  const google::protobuf::Reflection* reflection = message.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
        age = ClearLabels(*reflection->MutableRepeatedMessage(&message, field, i)) || age;
      }
    } else {
      age = ClearLabels(*reflection->MutableMessage(&message, field)) || age;
    }
  }
  return age;
}
}  // namespace

std::vector<std::string> QuestionsOfFile(const trenode::v1::AggregateQuery& query,
                                         const std::string& file) {
  for (const auto& output : query.outputs()) {
    if (absl::StrCat(output.name(), ".csv") != file) continue;
    // The question: cohort, index date (only if an age uses it) and output,
    // whatever the output's name, its column headings or the dataset.
    trenode::v1::AggregateQuery common = query;
    common.clear_dataset_id();
    common.clear_outputs();
    trenode::v1::QueryOutput unnamed = output;
    unnamed.clear_name();
    const bool cohort_age = ClearLabels(common);
    const bool output_age = ClearLabels(unnamed);
    if (!output_age && !cohort_age) common.clear_index_date();
    // Every file publishes the cohort's totals (a counts or crosstab's
    // margins, a summary's or a fit's n), so the cohort alone is a question
    // too, whatever the output.
    trenode::v1::AggregateQuery cohort;
    *cohort.mutable_cohort() = common.cohort();
    if (cohort_age) cohort.set_index_date(common.index_date());
    return {log::HashBytes(log::Sha256(absl::StrCat("output\n", DeterministicBytes(common), "\n",
                                                    DeterministicBytes(unnamed)))),
            log::HashBytes(log::Sha256(absl::StrCat("cohort\n", DeterministicBytes(cohort))))};
  }
  return {};
}

bool KnownToRequester(const Release& release, const trenode::v1::ReleaseFile& file) {
  if (file.withheld()) return false;
  if (Standing(release.state())) return true;
  return release.state() == trenode::v1::RELEASE_STATE_REVOKED && file.downloads() > 0;
}

std::set<std::string> StandingOutputs::QuestionsOf(const trenode::v1::AggregateQuery& query,
                                                   const std::vector<std::string>& files) {
  std::set<std::string> questions;
  for (const std::string& file : files) {
    for (std::string& question : QuestionsOfFile(query, file)) {
      questions.insert(std::move(question));
    }
  }
  return questions;
}

absl::StatusOr<StandingOutputs> StandingOutputs::Gather(ReleaseStore& releases,
                                                        analyses::AnalysisStore& analyses,
                                                        const Scope& scope) {
  StandingReader reader(releases, analyses);
  return reader.Gather(scope);
}

namespace {
// Entries kept by a StandingReader, of each kind, before it starts afresh.
constexpr size_t kMaxFacts = 100000;
}  // namespace

const std::vector<std::string>& StandingReader::AnalysisFacts::QuestionsOf(
    const std::string& file) const {
  static const std::vector<std::string> kNone;
  auto found = questions.find(file);
  return found == questions.end() ? kNone : found->second;
}

StandingReader::AnalysisFacts StandingReader::FactsOf(const trenode::v1::Analysis& analysis,
                                                      int64_t sequence) {
  AnalysisFacts facts;
  facts.sequence = sequence;
  facts.project_id = analysis.project_id();
  // The home node's own part of a federated analysis is read for pooling
  // only, never downloaded: it tells the researcher nothing.
  facts.counted = analysis.has_query() && analysis.federated_part_of().empty();
  if (!facts.counted) return facts;
  facts.local = analysis.nodes_size() == 0;
  for (const auto& site : analysis.sites()) {
    if (site.state() == SiteStatus::STATE_ANSWERED) {
      facts.answered.insert(site.node_id());
      if (!site.visible()) facts.pooled_only.insert(site.node_id());
    }
    // Shown to the submitter (and, in the project, to its members).
    for (const auto& shown : site.visible_files()) facts.shown.emplace_back(shown.name(), site.node_id());
  }
  for (const auto& output : analysis.query().outputs()) {
    std::string file = absl::StrCat(output.name(), ".csv");
    if (facts.questions.contains(file)) continue;
    facts.questions[file] = QuestionsOfFile(analysis.query(), file);
  }
  return facts;
}

absl::StatusOr<const StandingReader::AnalysisFacts*> StandingReader::FactsOfAnalysis(
    const std::string& id, int64_t sequence) {
  auto found = analysis_facts_.find(id);
  if (found != analysis_facts_.end() && found->second.sequence == sequence) return &found->second;
  // Read after listing: if it changed meanwhile, it is kept under the
  // sequence listed, so that the next gather reads it again.
  ASSIGN_OR_RETURN(trenode::v1::Analysis analysis, analyses_.Get(id));
  if (found == analysis_facts_.end() && analysis_facts_.size() >= kMaxFacts) {
    analysis_facts_.clear();
  }
  AnalysisFacts& facts = analysis_facts_[id];
  facts = FactsOf(analysis, sequence);
  return &facts;
}

absl::StatusOr<const StandingReader::ReleaseFacts*> StandingReader::FactsOfRelease(
    const std::string& id, int64_t version) {
  auto found = release_facts_.find(id);
  if (found != release_facts_.end() && found->second.version == version) return &found->second;
  ASSIGN_OR_RETURN(trenode::v1::Release release, releases_.Get(id));
  if (found == release_facts_.end() && release_facts_.size() >= kMaxFacts) release_facts_.clear();
  ReleaseFacts& facts = release_facts_[id];
  facts = ReleaseFacts{version, release.requester(), {}};
  for (const auto& file : release.files()) {
    if (KnownToRequester(release, file)) facts.known_files.push_back(file.name());
  }
  return &facts;
}

bool StandingReader::Asks(const std::string& id, const AnalysisFacts& facts,
                          const StandingOutputs::Scope& scope) {
  if (!facts.counted || id == scope.except) return false;
  // Only an analysis of one of the questions checked can combine with
  // them: the others' releases are not read.
  for (const auto& [file, questions] : facts.questions) {
    for (const std::string& question : questions) {
      if (scope.questions.contains(question)) return true;
    }
  }
  return false;
}

absl::Status StandingReader::Consider(StandingOutputs& standing, const std::string& id,
                                      const AnalysisFacts& facts,
                                      const StandingOutputs::Scope& scope, bool same_project,
                                      const ReleaseStore::VersionsByAnalysis& releases) {
  if (!facts.counted) return absl::OkStatus();
  standing.protected_.insert(facts.pooled_only.begin(), facts.pooled_only.end());
  for (const auto& [file, node] : facts.shown) {
    standing.AddKeys(facts.QuestionsOf(file), {node}, StandingOutputs::Source{});
  }
  if (!Asks(id, facts, scope)) return absl::OkStatus();
  auto versions = releases.find(id);
  if (versions == releases.end()) return absl::OkStatus();
  const NodeSet nodes = facts.local ? NodeSet{scope.home_node} : facts.answered;
  for (const auto& [release_id, version] : versions->second) {
    ASSIGN_OR_RETURN(const ReleaseFacts* release, FactsOfRelease(release_id, version));
    if (!same_project && release->requester != scope.person) continue;
    for (const std::string& file : release->known_files) {
      standing.AddKeys(facts.QuestionsOf(file), nodes, {release_id, release->requester});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StandingOutputs> StandingReader::Gather(const StandingOutputs::Scope& scope) {
  absl::MutexLock lock(&mu_);
  StandingOutputs standing;
  // The project's analyses (everyone's), then the person's in other
  // projects; each listed by its index ((project_id, id), (submitter, id)).
  for (const bool same_project : {true, false}) {
    if (!same_project && scope.person.empty()) break;
    analyses::AnalysisFilter filter;
    if (same_project) {
      filter.project_id = scope.project_id;
    } else {
      filter.submitter = scope.person;
    }
    ASSIGN_OR_RETURN(auto versions, analyses_.Versions(filter));
    // The releases of those asking a question checked, listed in one read.
    std::vector<std::string> asking;
    for (const auto& [id, sequence] : versions) {
      ASSIGN_OR_RETURN(const AnalysisFacts* facts, FactsOfAnalysis(id, sequence));
      if (!same_project && facts->project_id == scope.project_id) continue;
      if (Asks(id, *facts, scope)) asking.push_back(id);
    }
    ASSIGN_OR_RETURN(ReleaseStore::VersionsByAnalysis releases, releases_.VersionsOf(asking));
    for (const auto& [id, sequence] : versions) {
      // Kept by the loop above (or read again if the cache was emptied).
      ASSIGN_OR_RETURN(const AnalysisFacts* facts, FactsOfAnalysis(id, sequence));
      if (!same_project && facts->project_id == scope.project_id) continue;
      RETURN_IF_ERROR(Consider(standing, id, *facts, scope, same_project, releases));
    }
  }
  return standing;
}

void StandingOutputs::Add(const trenode::v1::AggregateQuery& query, const std::string& file,
                          const NodeSet& nodes, const Source& source) {
  AddKeys(QuestionsOfFile(query, file), nodes, source);
}

void StandingOutputs::AddKeys(const std::vector<std::string>& questions, const NodeSet& nodes,
                              const Source& source) {
  for (const std::string& question : questions) known_[question][nodes].push_back(source);
}

StandingOutputs::Finding StandingOutputs::Check(const trenode::v1::AggregateQuery& query,
                                                const std::string& file, const NodeSet& candidate,
                                                const NodeSet& allowed) const {
  Finding finding;
  NodeSet guarded;
  for (const std::string& node : protected_) {
    if (!allowed.contains(node)) guarded.insert(node);
  }
  NodeSet revealed;
  for (const std::string& question : QuestionsOfFile(query, file)) {
    auto known = known_.find(question);
    if (known == known_.end()) continue;
    std::vector<NodeSet> sets;
    for (const auto& [nodes, sources] : known->second) sets.push_back(nodes);
    std::vector<std::string> found = NewlyRevealed(sets, candidate, guarded);
    if (found.empty()) continue;
    revealed.insert(found.begin(), found.end());
    for (const auto& [nodes, sources] : known->second) {
      finding.with.insert(finding.with.end(), sources.begin(), sources.end());
    }
  }
  finding.revealed.assign(revealed.begin(), revealed.end());
  return finding;
}

std::string StandingOutputs::Reason(const Finding& finding, const std::string& requester) {
  // A colleague's release is not the requester's to know of (their
  // analyses are NOT_FOUND to them): it is only "another release".
  std::set<std::string> from;
  bool shown = false;
  bool others = false;
  for (const Source& source : finding.with) {
    if (source.release_id.empty()) {
      shown = true;
    } else if (source.requester == requester) {
      from.insert(source.release_id);
    } else {
      others = true;
    }
  }
  std::vector<std::string> parts(from.begin(), from.end());
  if (others) parts.push_back("another release in this project");
  if (shown) parts.push_back("tables shown on their own");
  const size_t n = finding.revealed.size();
  return absl::StrCat("with the outputs of the same question already released or in review (",
                      absl::StrJoin(parts, ", "), ") it would let the numbers of ",
                      absl::StrJoin(finding.revealed, ", "), " be worked out, which ",
                      n == 1 ? "lets its part" : "let their parts", " be shown only pooled");
}

}  // namespace trenode::releases
