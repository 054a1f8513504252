// QuietObjectStore: a cloud ObjectStore as the rest of the node sees it.
// Every failure keeps its status code (NotFound is still NotFound) but its
// message becomes one that names only the operation, so that no bucket,
// account, endpoint, key layout or service error text reaches a researcher
// or partner through an RPC that read or wrote the store; the full message
// goes to the node's log (stderr) once, with a reference that the short
// message repeats, so an operator can find it.
//
// Also an ObjectUrlSigner when the wrapped store is one.
//
// Thread-safety: as the wrapped store.
#ifndef TRENODE_ADAPTERS_QUIET_OBJECT_STORE_H_
#define TRENODE_ADAPTERS_QUIET_OBJECT_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "adapters/object_store.h"
#include "adapters/object_url_signer.h"

namespace trenode::adapters {

class QuietObjectStore : public ObjectStore, public ObjectUrlSigner {
 public:
  explicit QuietObjectStore(std::unique_ptr<ObjectStore> inner);

  absl::StatusOr<std::unique_ptr<ObjectReader>> OpenRead(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<ObjectWriter>> OpenWrite(absl::string_view key) override;
  absl::StatusOr<ObjectInfo> Stat(absl::string_view key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view key) override;
  absl::Status Copy(absl::string_view from, absl::string_view to) override;

  // FailedPrecondition if the wrapped store cannot presign.
  absl::StatusOr<PresignedRequest> PresignGet(absl::string_view key,
                                              absl::Duration valid_for) override;
  absl::StatusOr<PresignedRequest> PresignPut(absl::string_view key,
                                              absl::Duration valid_for) override;

  // `status` with its message replaced as above (OK stays OK); `operation`
  // is e.g. "read".
  static absl::Status Quieted(absl::string_view operation, const absl::Status& status);

 private:
  std::unique_ptr<ObjectStore> inner_;
  ObjectUrlSigner* signer_;  // inner_ as a signer, or null
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_QUIET_OBJECT_STORE_H_
