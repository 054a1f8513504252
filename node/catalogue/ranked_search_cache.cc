#include "node/catalogue/ranked_search_cache.h"

namespace trenode::catalogue {

uint64_t RankedSearchCache::generation() const {
  absl::MutexLock lock(&mu_);
  return generation_;
}

RankedHits RankedSearchCache::Find(const std::string& key) {
  absl::MutexLock lock(&mu_);
  for (auto it = recent_.begin(); it != recent_.end(); ++it) {
    if (it->first != key) continue;
    recent_.splice(recent_.begin(), recent_, it);
    return recent_.front().second;
  }
  return nullptr;
}

void RankedSearchCache::Put(const std::string& key, uint64_t generation,
                            RankedHits hits) {
  absl::MutexLock lock(&mu_);
  if (generation != generation_ || hits == nullptr || hits->size() > max_hits_) return;
  for (auto it = recent_.begin(); it != recent_.end(); ++it) {
    if (it->first != key) continue;
    hits_ -= it->second->size();
    recent_.erase(it);
    break;
  }
  hits_ += hits->size();
  recent_.emplace_front(key, std::move(hits));
  while (recent_.size() > max_searches_ || hits_ > max_hits_) {
    hits_ -= recent_.back().second->size();
    recent_.pop_back();
  }
}

void RankedSearchCache::Invalidate() {
  absl::MutexLock lock(&mu_);
  ++generation_;
  recent_.clear();
  hits_ = 0;
}

}  // namespace trenode::catalogue
