#include "adapters/azure/blob_writer.h"

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trenode::adapters::azure {
namespace {

std::string RandomWriterId() {
  thread_local std::mt19937_64 random(std::random_device{}());
  return absl::StrFormat("%016x", random());
}

}  // namespace

BlobWriter::BlobWriter(BlobClient* client, std::string blob_path, size_t block_size)
    : client_(client),
      blob_path_(std::move(blob_path)),
      block_size_(block_size),
      writer_id_(RandomWriterId()) {}

absl::Status BlobWriter::Failed(absl::Status status) {
  failure_ = status;
  buffer_.clear();
  return status;
}

absl::Status BlobWriter::Append(absl::string_view data) {
  if (committed_) return absl::FailedPreconditionError("Append after Commit");
  if (!failure_.ok()) return failure_;
  buffer_.append(data.data(), data.size());
  size_t sent = 0;
  while (buffer_.size() - sent > block_size_) {
    if (absl::Status put = PutBlock(absl::string_view(buffer_).substr(sent, block_size_));
        !put.ok()) {
      return Failed(put);
    }
    sent += block_size_;
  }
  buffer_.erase(0, sent);
  return absl::OkStatus();
}

absl::Status BlobWriter::PutBlock(absl::string_view data) {
  // Every id of a blob must have the same length: writer id, then a counter.
  std::string id = absl::Base64Escape(
      absl::StrFormat("%s-%06d", writer_id_, static_cast<int>(block_ids_.size())));
  BlobCall call{"PUT", blob_path_, {{"comp", "block"}, {"blockid", id}}, {}, std::string(data)};
  absl::StatusOr<cloud::HttpResponse> response = client_->Send(call);
  if (!response.ok()) return response.status();
  if (response->status != 201) return client_->Error(call, *response);
  block_ids_.push_back(std::move(id));
  return absl::OkStatus();
}

absl::Status BlobWriter::Commit() {
  if (committed_) return absl::FailedPreconditionError(absl::StrCat(blob_path_, " is committed"));
  if (!failure_.ok()) return failure_;
  BlobCall call;
  if (block_ids_.empty()) {
    call = {"PUT", blob_path_, {}, {{"x-ms-blob-type", "BlockBlob"}}, std::move(buffer_)};
  } else {
    if (!buffer_.empty()) {
      if (absl::Status put = PutBlock(buffer_); !put.ok()) return Failed(put);
    }
    std::string list = R"(<?xml version="1.0" encoding="utf-8"?><BlockList>)";
    for (const std::string& id : block_ids_) absl::StrAppend(&list, "<Latest>", id, "</Latest>");
    absl::StrAppend(&list, "</BlockList>");
    call = {"PUT", blob_path_, {{"comp", "blocklist"}}, {}, std::move(list)};
  }
  buffer_.clear();
  absl::StatusOr<cloud::HttpResponse> response = client_->Send(call);
  if (!response.ok()) return Failed(response.status());
  if (response->status != 201) return Failed(client_->Error(call, *response));
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace trenode::adapters::azure
