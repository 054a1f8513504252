// The ranked matches of recent catalogue searches, so that paging through a
// search, or repeating a popular one, ranks its matches once: ranking (bm25
// over every match) costs far more than reading the page it returns. Every
// change to the catalogue clears it (the store calls Invalidate after each
// commit), and a ranking read before a change is never kept after it.
// Rankings are kept by a key the store chooses (the searcher and the
// words). Thread-safe.
#ifndef TRENODE_NODE_CATALOGUE_RANKED_SEARCH_CACHE_H_
#define TRENODE_NODE_CATALOGUE_RANKED_SEARCH_CACHE_H_

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace trenode::catalogue {

struct RankedHit {
  int64_t row = 0;  // the dataset's rowid in the datasets table
  std::string dataset_id;
  int64_t state = 0;
  double score = 0;  // higher is better
};
// In rank order: score descending, then dataset id ascending (bytewise).
using RankedHits = std::shared_ptr<const std::vector<RankedHit>>;

class RankedSearchCache {
 public:
  // Keeps at most `max_searches` rankings and `max_hits` hits in all
  // (a ranking longer than that is not kept).
  explicit RankedSearchCache(size_t max_searches = 64, size_t max_hits = 200000)
      : max_searches_(max_searches), max_hits_(max_hits) {}

  // Read before ranking; pass to Put.
  uint64_t generation() const ABSL_LOCKS_EXCLUDED(mu_);
  // The ranking of `key`, if kept; nullptr otherwise.
  RankedHits Find(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);
  // Keeps `hits` for `key`, unless the catalogue changed since
  // `generation` was read.
  void Put(const std::string& key, uint64_t generation, RankedHits hits)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The catalogue changed: forgets every ranking.
  void Invalidate() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t max_searches_;
  const size_t max_hits_;
  mutable absl::Mutex mu_;
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  size_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  std::list<std::pair<std::string, RankedHits>> recent_ ABSL_GUARDED_BY(mu_);  // most recent first
};

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_RANKED_SEARCH_CACHE_H_
