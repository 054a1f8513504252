// DifferencingGuard: what a project's standing outputs already tell about
// each node's numbers, question by question, so that a new pooled release, a
// local release or a visible part shown on its own is checked against all of
// them (spec/federation.md, "Differencing"). One implementation, used by
// Releases (on submitting a release) and by the federation coordinator (before
// showing a visible part). Thread-compatible: it only reads its stores.
#ifndef TRENODE_NODE_RELEASES_DIFFERENCING_GUARD_H_
#define TRENODE_NODE_RELEASES_DIFFERENCING_GUARD_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "node/analyses/analysis_store.h"
#include "node/releases/pooled_differencing.h"
#include "node/releases/release_store.h"
#include "trenode/v1/analyses.pb.h"

namespace trenode::releases {

// The keys of the questions an output file ("<output>.csv") of `query`
// answers: its output over its cohort, canonical (its name, column labels,
// dataset and, unless an age uses it, index date left out), and the cohort's
// totals, which every output publishes; each key is the SHA-256 of the
// canonical question (32 bytes). Empty if it names no output.
std::vector<std::string> QuestionsOfFile(const trenode::v1::AggregateQuery& query,
                                         const std::string& file);

// Whether `file` of `release` is known to its requester for the guard: the
// release is in review, approved or released and the file was not withheld,
// or the release was revoked after the file had been downloaded (revoking
// cannot make anyone forget what they downloaded).
bool KnownToRequester(const trenode::v1::Release& release, const trenode::v1::ReleaseFile& file);

// Everything standing for one person in one project, per question: the
// node sets whose sum is known (each pooled release in review, approved or
// released, or revoked after its file was downloaded (KnownToRequester);
// each table shown on its own; each local release, as the home node alone)
// — everyone's in the project (its members share what it releases), and
// the person's own in every other project at this node (one person
// approved for two projects at the same partners must not difference
// across them; spec/federation.md, "Differencing").
class StandingOutputs {
 public:
  // What to gather.
  struct Scope {
    std::string home_node;   // this node
    std::string project_id;  // the project of the output checked
    std::string person;      // its requester (person@home), whose other projects count
    std::string except;      // the analysis checked, left out
    // The questions of the files checked (QuestionsOfFile): only analyses
    // answering one of them have their releases read.
    std::set<std::string> questions;
  };
  // Fails only if a store does. Reads every record concerned: a caller
  // that gathers again and again keeps a StandingReader instead.
  static absl::StatusOr<StandingOutputs> Gather(ReleaseStore& releases,
                                                analyses::AnalysisStore& analyses,
                                                const Scope& scope);
  // The questions of `files` of `query`, for Scope::questions.
  static std::set<std::string> QuestionsOf(const trenode::v1::AggregateQuery& query,
                                           const std::vector<std::string>& files);

  // Where a known node set came from: a release (its id and requester), or
  // empty for a table shown on its own.
  struct Source {
    std::string release_id;
    std::string requester;
    bool operator==(const Source&) const = default;
  };

  // Counts `nodes` as known for each question of `file` of `query`.
  void Add(const trenode::v1::AggregateQuery& query, const std::string& file, const NodeSet& nodes,
           const Source& source);
  // Counts `nodes` as shown pooled only (never to be solved for).
  void Protect(const NodeSet& nodes) { protected_.insert(nodes.begin(), nodes.end()); }

  // Publishing `file` of `query` as the sum of `candidate`'s nodes: the
  // protected nodes it would newly let be worked out (those of `allowed`
  // left out), sorted, and the sources it would be combined with.
  struct Finding {
    std::vector<std::string> revealed;
    std::vector<Source> with;
  };
  Finding Check(const trenode::v1::AggregateQuery& query, const std::string& file,
                const NodeSet& candidate, const NodeSet& allowed) const;

  // Why a finding withholds a file, as shown to `requester`: their own
  // releases are named (in whatever project), anyone else's are "another
  // release in this project".
  static std::string Reason(const Finding& finding, const std::string& requester);

  // Equal when they know the same node sets from the same sources (each
  // set's in the same order), and protect the same nodes.
  bool operator==(const StandingOutputs&) const = default;

 private:
  friend class StandingReader;
  void AddKeys(const std::vector<std::string>& questions, const NodeSet& nodes,
               const Source& source);

  // By question key: each node set whose sum is known, once, with every
  // source that made it known, in the order added (a question released
  // again and again over the same nodes is one set to solve with).
  std::map<std::string, std::map<NodeSet, std::vector<Source>>> known_;
  NodeSet protected_;
};

// Gathers StandingOutputs as StandingOutputs::Gather does, keeping what it
// derived from each analysis by (id, sequence) and from each release by
// (id, version): a gather lists the versions and reads only the records
// that are new or changed since the last. Thread-safe; gathers run one at
// a time.
class StandingReader {
 public:
  StandingReader(ReleaseStore& releases, analyses::AnalysisStore& analyses)
      : releases_(releases), analyses_(analyses) {}
  absl::StatusOr<StandingOutputs> Gather(const StandingOutputs::Scope& scope);

 private:
  // What the guard needs of one analysis.
  struct AnalysisFacts {
    int64_t sequence = 0;
    std::string project_id;
    bool counted = false;  // has a query and is not a home node's own part
    bool local = false;    // no nodes: the home node's table alone
    NodeSet answered;      // federated: the nodes that answered
    NodeSet pooled_only;   // of those, shown only pooled
    std::vector<std::pair<std::string, std::string>> shown;  // (file, node) shown on its own
    std::map<std::string, std::vector<std::string>> questions;  // by output file
    const std::vector<std::string>& QuestionsOf(const std::string& file) const;
  };
  // What the guard needs of one release.
  struct ReleaseFacts {
    int64_t version = 0;
    std::string requester;
    std::vector<std::string> known_files;  // KnownToRequester
  };
  static AnalysisFacts FactsOf(const trenode::v1::Analysis& analysis, int64_t sequence);
  absl::StatusOr<const AnalysisFacts*> FactsOfAnalysis(const std::string& id, int64_t sequence)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<const ReleaseFacts*> FactsOfRelease(const std::string& id, int64_t version)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds what analysis `id` tells `scope.person`; `same_project`: everyone's
  // releases count, otherwise only the person's own.
  // Whether analysis `id` asks one of the questions `scope` checks (its
  // releases then count).
  static bool Asks(const std::string& id, const AnalysisFacts& facts,
                   const StandingOutputs::Scope& scope);
  // `releases`: the versions of the releases of (at least) every analysis
  // that Asks.
  absl::Status Consider(StandingOutputs& standing, const std::string& id,
                        const AnalysisFacts& facts, const StandingOutputs::Scope& scope,
                        bool same_project, const ReleaseStore::VersionsByAnalysis& releases)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ReleaseStore& releases_;
  analyses::AnalysisStore& analyses_;
  absl::Mutex mu_;
  // Bounded: emptied when full (each entry is read again when next needed).
  absl::node_hash_map<std::string, AnalysisFacts> analysis_facts_ ABSL_GUARDED_BY(mu_);
  absl::node_hash_map<std::string, ReleaseFacts> release_facts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trenode::releases

#endif  // TRENODE_NODE_RELEASES_DIFFERENCING_GUARD_H_
