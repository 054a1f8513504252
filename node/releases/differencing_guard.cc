#include "node/releases/differencing_guard.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "node/common/deterministic_bytes.h"
#include "node/common/status_macros.h"

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

// The answered nodes of a federated analysis.
NodeSet Answered(const Analysis& analysis) {
  NodeSet nodes;
  for (const auto& site : analysis.sites()) {
    if (site.state() == SiteStatus::STATE_ANSWERED) nodes.insert(site.node_id());
  }
  return nodes;
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
    return {absl::StrCat("output\n", DeterministicBytes(common), "\n", DeterministicBytes(unnamed)),
            absl::StrCat("cohort\n", DeterministicBytes(cohort))};
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

absl::Status StandingOutputs::Consider(ReleaseStore& releases, const Analysis& other,
                                       const Scope& scope, bool same_project) {
  // The home node's own part of a federated analysis is read for pooling
  // only, never downloaded: it tells the researcher nothing.
  if (!other.has_query() || !other.federated_part_of().empty()) return absl::OkStatus();
  const bool local = other.nodes_size() == 0;
  const NodeSet nodes = local ? NodeSet{scope.home_node} : Answered(other);
  for (const auto& site : other.sites()) {
    if (site.state() == SiteStatus::STATE_ANSWERED && !site.visible()) {
      protected_.insert(site.node_id());
    }
    // Shown to the submitter (and, in the project, to its members).
    for (const auto& shown : site.visible_files()) {
      Add(other.query(), shown.name(), {site.node_id()}, Source{});
    }
  }
  if (other.id() == scope.except) return absl::OkStatus();
  // Only an analysis of one of the questions checked can combine with
  // them: the others' releases are not read.
  bool asks = false;
  for (const auto& output : other.query().outputs()) {
    for (const std::string& question :
         QuestionsOfFile(other.query(), absl::StrCat(output.name(), ".csv"))) {
      asks = asks || scope.questions.contains(question);
    }
  }
  if (!asks) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<Release> of_other, releases.ForAnalysis(other.id()));
  for (const Release& earlier : of_other) {
    if (!same_project && earlier.requester() != scope.person) continue;
    for (const auto& file : earlier.files()) {
      if (!KnownToRequester(earlier, file)) continue;
      Add(other.query(), file.name(), nodes, Source{earlier.id(), earlier.requester()});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<StandingOutputs> StandingOutputs::Gather(ReleaseStore& releases,
                                                        analyses::AnalysisStore& analyses,
                                                        const Scope& scope) {
  StandingOutputs standing;
  // The project's analyses (everyone's), then the person's in other
  // projects; each read by its index ((project_id, id), (submitter, id)).
  for (const bool same_project : {true, false}) {
    if (!same_project && scope.person.empty()) break;
    analyses::AnalysisFilter filter;
    if (same_project) {
      filter.project_id = scope.project_id;
    } else {
      filter.submitter = scope.person;
    }
    std::string after;
    while (true) {
      bool cut = false;
      ASSIGN_OR_RETURN(std::vector<Analysis> page,
                       analyses.List(filter, after, 200, 32 << 20, &cut));
      for (const Analysis& other : page) {
        if (!same_project && other.project_id() == scope.project_id) continue;
        RETURN_IF_ERROR(standing.Consider(releases, other, scope, same_project));
      }
      if (page.empty() || (!cut && page.size() < 200)) break;
      after = page.back().id();
    }
  }
  return standing;
}

void StandingOutputs::Add(const trenode::v1::AggregateQuery& query, const std::string& file,
                          const NodeSet& nodes, const Source& source) {
  for (std::string& question : QuestionsOfFile(query, file)) {
    known_[std::move(question)].push_back(Known{nodes, source});
  }
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
    for (const Known& k : known->second) sets.push_back(k.nodes);
    std::vector<std::string> found = NewlyRevealed(sets, candidate, guarded);
    if (found.empty()) continue;
    revealed.insert(found.begin(), found.end());
    for (const Known& k : known->second) finding.with.push_back(k.source);
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
