// An ObjectStore on one Azure Blob Storage container (and an optional key
// prefix within it): each object is a block blob named prefix + key.
//
// How the ObjectStore contract is kept:
// - all-or-nothing writes: a writer buffers up to one block; a small object is
//   one Put Blob at Commit, a larger one is staged as uncommitted blocks (Put
//   Block, invisible to every reader and listing) and published by one Put
//   Block List at Commit. A writer dropped before Commit leaves only
//   uncommitted blocks, which the service discards (after a week at most).
// - replacement is atomic for open readers: a reader is one Get Blob response,
//   which the service serves from one version of the blob however slowly it
//   is read; if that stream drops, the reader resumes with a ranged Get Blob
//   on the same ETag (If-Match), so it never mixes two versions: if the blob
//   was replaced meanwhile, the read fails with Aborted instead.
// - List pages through List Blobs with markers and returns keys sorted.
// - As an ObjectUrlSigner it presigns with a blob SAS (adapters/azure/
//   blob_presign.h), which needs the account key: a store opened on a SAS
//   answers FailedPrecondition.
//
// Errors carry BlobClient::Error's codes and messages. 5xx and throttling
// are retried with jittered backoff (BlobClientOptions::retry).
//
// Thread-safety: as ObjectStore.
#ifndef TRENODE_ADAPTERS_AZURE_AZURE_BLOB_OBJECT_STORE_H_
#define TRENODE_ADAPTERS_AZURE_AZURE_BLOB_OBJECT_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "adapters/azure/blob_client.h"
#include "adapters/object_store.h"
#include "adapters/object_url_signer.h"

namespace trenode::adapters::azure {

struct AzureBlobStoreOptions {
  std::string container;
  // Prepended to every key: "" or a valid key followed by '/', e.g. "node-a/".
  std::string prefix;
  // A writer uploads a block whenever more than this is buffered; an object
  // no larger is one Put Blob. 8 MiB: a blob may have 50,000 blocks, so up
  // to 390 GiB, with one block of memory per open writer.
  size_t block_size = 8 << 20;
  int list_page_size = 5000;  // the service's maximum
  absl::Duration copy_poll_interval = absl::Milliseconds(200);
  absl::Duration copy_timeout = absl::Minutes(30);
  BlobClientOptions client;
};

class AzureBlobObjectStore : public ObjectStore, public ObjectUrlSigner {
 public:
  // Checks the options and that the container can be listed: InvalidArgument
  // for bad options or credentials, NotFound if the container does not exist,
  // PermissionDenied if the key or SAS is refused, Unavailable if the service
  // cannot be reached.
  static absl::StatusOr<std::unique_ptr<AzureBlobObjectStore>> Open(
      const AzureStorageAccount& account, AzureBlobStoreOptions options);

  absl::StatusOr<std::unique_ptr<ObjectReader>> OpenRead(absl::string_view key) override;
  absl::StatusOr<std::unique_ptr<ObjectWriter>> OpenWrite(absl::string_view key) override;
  absl::StatusOr<ObjectInfo> Stat(absl::string_view key) override;
  absl::StatusOr<std::vector<ObjectInfo>> List(absl::string_view prefix) override;
  absl::Status Delete(absl::string_view key) override;
  // Copy Blob within the account, server-side; waits for a pending copy.
  // Aborted if the service reports the copy failed or was aborted.
  absl::Status Copy(absl::string_view from, absl::string_view to) override;

  // ObjectUrlSigner: InvalidArgument for a bad key, as well as PresignBlob's codes.
  absl::StatusOr<PresignedRequest> PresignGet(absl::string_view key,
                                              absl::Duration valid_for) override;
  absl::StatusOr<PresignedRequest> PresignPut(absl::string_view key,
                                              absl::Duration valid_for) override;

 private:
  AzureBlobObjectStore(std::unique_ptr<BlobClient> client, AzureBlobStoreOptions options)
      : client_(std::move(client)), options_(std::move(options)) {}
  // "container/prefix/key"
  std::string BlobPath(absl::string_view key) const;
  absl::Status WaitForCopy(const BlobCall& copy, const std::string& copy_id);

  const std::unique_ptr<BlobClient> client_;
  const AzureBlobStoreOptions options_;
};

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_AZURE_BLOB_OBJECT_STORE_H_
