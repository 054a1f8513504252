// The writer of AzureBlobObjectStore (see azure_blob_object_store.h for how
// it keeps writes all-or-nothing). Belongs to one thread at a time.
#ifndef TRENODE_ADAPTERS_AZURE_BLOB_WRITER_H_
#define TRENODE_ADAPTERS_AZURE_BLOB_WRITER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "adapters/azure/blob_client.h"
#include "adapters/object_store.h"

namespace trenode::adapters::azure {

class BlobWriter : public ObjectWriter {
 public:
  // Writes the block blob at `blob_path` ("container/name") through `client`,
  // which must outlive the writer.
  BlobWriter(BlobClient* client, std::string blob_path, size_t block_size);

  // Buffers `data`, uploading whole blocks as they fill. Once an upload has
  // failed, every later call returns that failure.
  absl::Status Append(absl::string_view data) override;
  // Publishes the blob (Put Blob, or Put Block List after the last block).
  absl::Status Commit() override;

 private:
  absl::Status PutBlock(absl::string_view data);
  absl::Status Failed(absl::Status status);

  BlobClient* const client_;
  const std::string blob_path_;
  const size_t block_size_;
  const std::string writer_id_;  // random: this writer's block ids are its own
  std::string buffer_;
  std::vector<std::string> block_ids_;  // base64, in order
  absl::Status failure_;
  bool committed_ = false;
};

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_BLOB_WRITER_H_
