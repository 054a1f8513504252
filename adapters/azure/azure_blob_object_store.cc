#include "adapters/azure/azure_blob_object_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "adapters/azure/blob_presign.h"
#include "adapters/azure/blob_writer.h"
#include "adapters/cloud/xml.h"
#include "node/common/status_macros.h"

namespace trenode::adapters::azure {
namespace {

using cloud::HttpBodyStream;
using cloud::HttpResponse;

// The whole body of a stream that is not a success (a small error document).
std::string DrainErrorBody(HttpBodyStream& stream) {
  std::string body;
  while (body.size() < (64 << 10)) {
    absl::StatusOr<std::string> piece = stream.Read(16 << 10);
    if (!piece.ok() || piece->empty()) break;
    body += *piece;
  }
  return body;
}

int64_t ContentLength(const std::vector<cloud::HttpHeader>& headers) {
  for (const cloud::HttpHeader& header : headers) {
    int64_t length = 0;
    if (header.name == "content-length" && absl::SimpleAtoi(header.value, &length)) return length;
  }
  return -1;
}

// One Get Blob response read through; resumed on the same ETag if it drops.
class BlobReader : public ObjectReader {
 public:
  BlobReader(BlobClient* client, BlobCall get, std::unique_ptr<HttpBodyStream> stream)
      : client_(client),
        get_(std::move(get)),
        stream_(std::move(stream)),
        etag_(stream_->Header("etag").value_or("")),
        size_(ContentLength(stream_->headers())) {}

  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    if ((size_ >= 0 && offset_ >= size_) || max_bytes == 0) return std::string();
    for (int failures = 0;;) {
      absl::StatusOr<std::string> piece = stream_ ? stream_->Read(max_bytes)
                                                  : absl::UnavailableError("no stream");
      if (piece.ok() && !piece->empty()) {
        offset_ += static_cast<int64_t>(piece->size());
        return piece;
      }
      if (piece.ok() && size_ < 0) return piece;  // no length given: the end is the end
      if (!piece.ok() && piece.status().code() != absl::StatusCode::kUnavailable) return piece;
      // The stream dropped or ended short of the blob's length: resume.
      if (++failures >= client_->retry_policy().max_attempts) {
        return absl::UnavailableError(absl::StrCat(
            "reading ", client_->account_label(), "/", get_.path, " stopped at byte ", offset_,
            " of ", size_, ": ", piece.ok() ? "the stream ended early" : piece.status().message()));
      }
      RETURN_IF_ERROR(Resume());
    }
  }

 private:
  absl::Status Resume() {
    BlobCall ranged = get_;
    ranged.headers.push_back({"Range", absl::StrCat("bytes=", offset_, "-")});
    ranged.headers.push_back({"If-Match", etag_});
    stream_.reset();
    absl::StatusOr<std::unique_ptr<HttpBodyStream>> stream = client_->Open(ranged);
    if (!stream.ok()) return absl::OkStatus();  // counted as one more failure by Read
    if ((*stream)->status() == 412 || (*stream)->status() == 404) {
      return absl::AbortedError(absl::StrCat(
          client_->account_label(), "/", get_.path,
          " was replaced or deleted while being read; read it again from the start"));
    }
    if ((*stream)->status() != 206) {
      return client_->Error(ranged, (*stream)->status(), (*stream)->headers(),
                            DrainErrorBody(**stream));
    }
    stream_ = std::move(*stream);
    return absl::OkStatus();
  }

  BlobClient* const client_;
  const BlobCall get_;
  std::unique_ptr<HttpBodyStream> stream_;
  const std::string etag_;
  const int64_t size_;  // -1 if the service gave no length
  int64_t offset_ = 0;
};

absl::Status ValidatePrefix(absl::string_view prefix) {
  if (prefix.empty()) return absl::OkStatus();
  if (!absl::EndsWith(prefix, "/") || !ValidateObjectKey(prefix.substr(0, prefix.size() - 1)).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Azure Blob key prefix \"", prefix, "\" must be a valid object key followed by '/'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<AzureBlobObjectStore>> AzureBlobObjectStore::Open(
    const AzureStorageAccount& account, AzureBlobStoreOptions options) {
  if (options.container.empty()) return absl::InvalidArgumentError("Azure Blob container is empty");
  RETURN_IF_ERROR(ValidatePrefix(options.prefix));
  if (options.block_size == 0 || options.list_page_size <= 0) {
    return absl::InvalidArgumentError("Azure Blob block size and list page size must be positive");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<BlobClient> client, BlobClient::Create(account, options.client));
  BlobCall probe{"GET",
                 options.container,
                 {{"restype", "container"}, {"comp", "list"}, {"maxresults", "1"}},
                 {},
                 ""};
  ASSIGN_OR_RETURN(HttpResponse response, client->Send(probe));
  if (response.status != 200) return client->Error(probe, response);
  return std::unique_ptr<AzureBlobObjectStore>(
      new AzureBlobObjectStore(std::move(client), std::move(options)));
}

std::string AzureBlobObjectStore::BlobPath(absl::string_view key) const {
  return absl::StrCat(options_.container, "/", options_.prefix, key);
}

absl::StatusOr<std::unique_ptr<ObjectReader>> AzureBlobObjectStore::OpenRead(
    absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  BlobCall get{"GET", BlobPath(key), {}, {}, ""};
  ASSIGN_OR_RETURN(std::unique_ptr<HttpBodyStream> stream, client_->Open(get));
  if (stream->status() != 200) {
    return client_->Error(get, stream->status(), stream->headers(), DrainErrorBody(*stream));
  }
  return std::make_unique<BlobReader>(client_.get(), std::move(get), std::move(stream));
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> AzureBlobObjectStore::OpenWrite(
    absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  return std::make_unique<BlobWriter>(client_.get(), BlobPath(key), options_.block_size);
}

absl::StatusOr<ObjectInfo> AzureBlobObjectStore::Stat(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  BlobCall head{"HEAD", BlobPath(key), {}, {}, ""};
  ASSIGN_OR_RETURN(HttpResponse response, client_->Send(head));
  if (response.status != 200) return client_->Error(head, response);
  return ObjectInfo{std::string(key), ContentLength(response.headers)};
}

absl::StatusOr<std::vector<ObjectInfo>> AzureBlobObjectStore::List(absl::string_view prefix) {
  std::vector<ObjectInfo> found;
  std::string marker;
  do {
    BlobCall list{"GET",
                  options_.container,
                  {{"restype", "container"},
                   {"comp", "list"},
                   {"prefix", absl::StrCat(options_.prefix, prefix)},
                   {"maxresults", absl::StrCat(options_.list_page_size)}},
                  {},
                  ""};
    if (!marker.empty()) list.query.push_back({"marker", marker});
    ASSIGN_OR_RETURN(HttpResponse response, client_->Send(list));
    if (response.status != 200) return client_->Error(list, response);
    absl::StatusOr<cloud::XmlElement> page = cloud::ParseXml(response.body);
    if (!page.ok()) {
      return absl::UnavailableError(absl::StrCat("Azure Blob listing of ", client_->account_label(),
                                                 "/", options_.container,
                                                 " is unreadable: ", page.status().message()));
    }
    if (const cloud::XmlElement* blobs = page->Child("Blobs")) {
      for (const cloud::XmlElement& blob : blobs->children) {
        if (blob.name != "Blob") continue;
        const std::string name = blob.ChildText("Name");
        absl::string_view key = name;
        if (!absl::ConsumePrefix(&key, options_.prefix)) continue;
        // A blob some other writer named outside the ObjectStore's key rules
        // cannot be opened through it, so it is not listed either.
        if (!ValidateObjectKey(key).ok()) continue;
        int64_t size = -1;
        if (const cloud::XmlElement* properties = blob.Child("Properties")) {
          (void)absl::SimpleAtoi(properties->ChildText("Content-Length"), &size);
        }
        found.push_back({std::string(key), size});
      }
    }
    marker = page->ChildText("NextMarker");
  } while (!marker.empty());
  std::sort(found.begin(), found.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return found;
}

absl::Status AzureBlobObjectStore::Delete(absl::string_view key) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  BlobCall del{"DELETE", BlobPath(key), {}, {}, ""};
  ASSIGN_OR_RETURN(HttpResponse response, client_->Send(del));
  if (response.status != 202) return client_->Error(del, response);
  return absl::OkStatus();
}

absl::Status AzureBlobObjectStore::Copy(absl::string_view from, absl::string_view to) {
  RETURN_IF_ERROR(ValidateObjectKey(from));
  RETURN_IF_ERROR(ValidateObjectKey(to));
  BlobCall copy{"PUT", BlobPath(to), {}, {{"x-ms-copy-source", client_->Url(BlobPath(from))}}, ""};
  ASSIGN_OR_RETURN(HttpResponse response, client_->Send(copy));
  if (response.status != 202) return client_->Error(copy, response);
  std::string status = response.Header("x-ms-copy-status").value_or("");
  if (status == "success") return absl::OkStatus();
  if (status == "pending") return WaitForCopy(copy, response.Header("x-ms-copy-id").value_or(""));
  return absl::AbortedError(absl::StrCat("Azure Blob copy to ", client_->account_label(), "/",
                                         copy.path, " ended ", status));
}

absl::Status AzureBlobObjectStore::WaitForCopy(const BlobCall& copy, const std::string& copy_id) {
  absl::Time deadline = absl::Now() + options_.copy_timeout;
  BlobCall head{"HEAD", copy.path, {}, {}, ""};
  while (absl::Now() < deadline) {
    absl::SleepFor(options_.copy_poll_interval);
    ASSIGN_OR_RETURN(HttpResponse response, client_->Send(head));
    if (response.status != 200) return client_->Error(head, response);
    if (response.Header("x-ms-copy-id").value_or("") != copy_id) {
      return absl::AbortedError(absl::StrCat("Azure Blob copy to ", client_->account_label(), "/",
                                             copy.path, " was overtaken by another write"));
    }
    std::string status = response.Header("x-ms-copy-status").value_or("");
    if (status == "success") return absl::OkStatus();
    if (status != "pending") {
      return absl::AbortedError(absl::StrCat(
          "Azure Blob copy to ", client_->account_label(), "/", copy.path, " ended ", status, ": ",
          response.Header("x-ms-copy-status-description").value_or("(no description)")));
    }
  }
  return absl::DeadlineExceededError(absl::StrCat("Azure Blob copy to ", client_->account_label(),
                                                  "/", copy.path, " still pending after ",
                                                  absl::FormatDuration(options_.copy_timeout)));
}

absl::StatusOr<PresignedRequest> AzureBlobObjectStore::PresignGet(absl::string_view key,
                                                                 absl::Duration valid_for) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  return PresignBlob(*client_, "GET", BlobPath(key), valid_for, absl::Now());
}

absl::StatusOr<PresignedRequest> AzureBlobObjectStore::PresignPut(absl::string_view key,
                                                                 absl::Duration valid_for) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  return PresignBlob(*client_, "PUT", BlobPath(key), valid_for, absl::Now());
}

}  // namespace trenode::adapters::azure
