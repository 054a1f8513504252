// ObjectUrlSigner: lets a holder of a URL (a cloud batch job, which has no
// credentials of its own) read or write exactly one object of an
// ObjectStore, until the URL expires. S3 presigns with SigV4 query
// parameters; Azure Blob with a blob SAS.
//
// Thread-safe.
#ifndef TRENODE_ADAPTERS_OBJECT_URL_SIGNER_H_
#define TRENODE_ADAPTERS_OBJECT_URL_SIGNER_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace trenode::adapters {

// A request its holder may send as is: the URL carries the authorization;
// `headers` must be sent with it (e.g. Azure's x-ms-blob-type on a PUT).
struct PresignedRequest {
  std::string method;  // "GET" or "PUT"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
};

class ObjectUrlSigner {
 public:
  virtual ~ObjectUrlSigner() = default;
  // GET of the object at `key` (which need not exist yet), valid for
  // `valid_for` from now. InvalidArgument for a bad key or a lifetime the
  // service does not allow; FailedPrecondition if the store's credentials
  // cannot sign (e.g. an Azure SAS in place of the account key).
  virtual absl::StatusOr<PresignedRequest> PresignGet(absl::string_view key,
                                                      absl::Duration valid_for) = 0;
  // PUT of a whole object at `key` (creating or replacing it), as above.
  virtual absl::StatusOr<PresignedRequest> PresignPut(absl::string_view key,
                                                      absl::Duration valid_for) = 0;
};

}  // namespace trenode::adapters

#endif  // TRENODE_ADAPTERS_OBJECT_URL_SIGNER_H_
