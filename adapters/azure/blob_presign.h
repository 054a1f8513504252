// Presigned requests for one blob: the URL carries a blob SAS (sr=b) signed
// with the account key, so that its holder (a batch job with no credentials)
// may read, or create and write, that one blob until the SAS expires.
//
// Thread-safety: the function is thread-safe.
#ifndef TRENODE_ADAPTERS_AZURE_BLOB_PRESIGN_H_
#define TRENODE_ADAPTERS_AZURE_BLOB_PRESIGN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/azure/blob_client.h"
#include "adapters/object_url_signer.h"

namespace trenode::adapters::azure {

// The longest a presigned request may be valid: the runner fetches its
// manifest at once and puts its result within the job's time limit; a week
// bounds what a leaked URL exposes.
inline constexpr absl::Duration kMaxPresignedLifetime = absl::Hours(24 * 7);

// A GET (read) or PUT (create and write a block blob) of `blob_path`
// ("container/name") through `client`'s endpoint, valid from five minutes
// before `now` (for clock skew) until `now` + `valid_for`. The request pins
// x-ms-version; a PUT must also send x-ms-blob-type: BlockBlob, which is in
// its headers. InvalidArgument for another method or a lifetime that is not
// positive or longer than kMaxPresignedLifetime; FailedPrecondition if the
// client has only a SAS, not the account key.
absl::StatusOr<PresignedRequest> PresignBlob(const BlobClient& client, absl::string_view method,
                                             absl::string_view blob_path,
                                             absl::Duration valid_for, absl::Time now);

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_BLOB_PRESIGN_H_
