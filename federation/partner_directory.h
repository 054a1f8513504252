// PartnerDirectory: the nodes this node federates with, as its configuration
// lists them now. A node certificate from the federation CA is not enough to
// be served: its node must be listed here. Replace swaps the whole list at
// once (on SIGHUP), so a partner removed is refused from the next call.
// Thread-safe.
#ifndef TRENODE_FEDERATION_PARTNER_DIRECTORY_H_
#define TRENODE_FEDERATION_PARTNER_DIRECTORY_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "trenode/v1/config.pb.h"

namespace trenode::federation {

class PartnerDirectory {
 public:
  // `config` must have passed config::ValidateNodeConfig.
  explicit PartnerDirectory(const trenode::v1::FederationConfig& config);
  // federation.locked_down as at start (a restart changes it): partners'
  // calls then come only down the streams this node opens.
  bool locked_down() const { return locked_down_; }

  std::optional<trenode::v1::Partner> Find(absl::string_view node_id) const;
  bool IsPartner(absl::string_view node_id) const { return Find(node_id).has_value(); }
  // Every partner, by node id.
  std::vector<trenode::v1::Partner> All() const;

  struct Change {
    std::vector<std::string> added;    // by node id
    std::vector<std::string> removed;  // by node id
    std::vector<std::string> moved;    // same node, another address
    bool empty() const { return added.empty() && removed.empty() && moved.empty(); }
  };
  // Makes `config` the list from now on and says what changed.
  Change Replace(const trenode::v1::FederationConfig& config);

 private:
  static std::map<std::string, trenode::v1::Partner> ById(
      const trenode::v1::FederationConfig& config);
  mutable absl::Mutex mutex_;
  std::map<std::string, trenode::v1::Partner, std::less<>> partners_ ABSL_GUARDED_BY(mutex_);
  const bool locked_down_ = false;
};

}  // namespace trenode::federation

#endif  // TRENODE_FEDERATION_PARTNER_DIRECTORY_H_
