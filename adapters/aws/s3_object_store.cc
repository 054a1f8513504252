#include "adapters/aws/s3_object_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "adapters/aws/sigv4.h"
#include "adapters/cloud/digest.h"
#include "adapters/cloud/url.h"
#include "adapters/cloud/xml.h"
#include "node/common/status_macros.h"

namespace trenode::adapters::aws {
namespace {

using cloud::HttpHeader;
using cloud::HttpRequest;
using cloud::HttpResponse;

std::string PayloadHash(absl::string_view body) { return cloud::Hex(cloud::Sha256(body)); }

int64_t ContentLength(const std::optional<std::string>& value) {
  int64_t length = -1;
  if (!value || !absl::SimpleAtoi(*value, &length)) return -1;
  return length;
}

absl::Status ValidateOptions(const S3Options& o) {
  // Bucket names: 3-63 of [a-z0-9.-] (S3's rules, less the rarer ones).
  bool bucket_ok = o.bucket.size() >= 3 && o.bucket.size() <= 63 &&
                   std::all_of(o.bucket.begin(), o.bucket.end(), [](char c) {
                     return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
                   });
  if (!bucket_ok) {
    return absl::InvalidArgumentError(absl::StrCat(
        "s3.bucket \"", o.bucket, "\" is not a bucket name (3 to 63 of a-z, 0-9, '.', '-')"));
  }
  if (o.region.empty()) return absl::InvalidArgumentError("s3.region is required");
  if (!o.endpoint.empty() && !cloud::IsHttpsOrLocalHttp(o.endpoint)) {
    // Datasets must not cross a network in clear.
    return absl::InvalidArgumentError(absl::StrCat(
        "s3.endpoint \"", o.endpoint, "\" must be https:// (plain http only to this host)"));
  }
  if (!o.key_prefix.empty()) {
    if (!absl::EndsWith(o.key_prefix, "/") ||
        !ValidateObjectKey(o.key_prefix.substr(0, o.key_prefix.size() - 1)).ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "s3.key_prefix \"", o.key_prefix, "\" must be key segments ending with '/'"));
    }
  }
  if (o.server_side_encryption != "" && o.server_side_encryption != "AES256" &&
      o.server_side_encryption != "aws:kms") {
    return absl::InvalidArgumentError(absl::StrCat("s3.server_side_encryption \"",
                                                   o.server_side_encryption,
                                                   "\" must be AES256 or aws:kms"));
  }
  if (!o.kms_key_id.empty() && o.server_side_encryption != "aws:kms") {
    return absl::InvalidArgumentError("s3.kms_key_id needs server_side_encryption aws:kms");
  }
  if (o.part_size < (1 << 20) || o.part_size > (int64_t{5} << 30)) {
    return absl::InvalidArgumentError("s3 part size must be 1 MiB to 5 GiB");
  }
  if (o.list_page_size < 1 || o.list_page_size > 1000) {
    return absl::InvalidArgumentError("s3 list page size must be 1 to 1000");
  }
  return absl::OkStatus();
}

class S3Reader : public ObjectReader {
 public:
  S3Reader(S3ObjectStore* store, std::string key, std::unique_ptr<cloud::HttpBodyStream> stream,
           std::string etag, int64_t size)
      : store_(store), key_(std::move(key)), stream_(std::move(stream)), etag_(std::move(etag)),
        size_(size) {}

  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    if (max_bytes == 0 || offset_ >= size_) return std::string();
    while (true) {
      absl::StatusOr<std::string> bytes =
          stream_ ? stream_->Read(max_bytes) : absl::UnavailableError("no stream");
      if (bytes.ok() && !bytes->empty()) {
        offset_ += static_cast<int64_t>(bytes->size());
        return bytes;
      }
      if (!bytes.ok() && !absl::IsUnavailable(bytes.status())) return bytes.status();
      // The stream ended or broke before the object's end: resume where it
      // stopped, from the same version of the object only.
      if (++resumes_ >= std::max(1, store_->options().retry.max_attempts)) {
        return absl::UnavailableError(absl::StrCat(
            "reading s3://", store_->options().bucket, "/", key_, " failed at byte ", offset_,
            bytes.ok() ? ": the stream ended early" : absl::StrCat(": ", bytes.status().message())));
      }
      absl::SleepFor(cloud::RetryDelay(store_->options().retry, resumes_));
      absl::StatusOr<std::unique_ptr<cloud::HttpBodyStream>> resumed = store_->OpenStream(
          store_->ObjectPath(key_),
          {{"Range", absl::StrCat("bytes=", offset_, "-")}, {"If-Match", etag_}});
      if (!resumed.ok()) {
        stream_.reset();
        continue;
      }
      int status = (*resumed)->status();
      if (status == 412) {
        return absl::AbortedError(absl::StrCat("s3://", store_->options().bucket, "/", key_,
                                               " was replaced while being read; read it again"));
      }
      if (status != 206) {
        HttpResponse response{status, (*resumed)->headers(), ""};
        return store_->ErrorFor("GET", key_, response);
      }
      // Not every S3-compatible store honours If-Match or Range: check both.
      if ((*resumed)->Header("etag").value_or("") != etag_ ||
          !absl::StartsWith((*resumed)->Header("content-range").value_or(""),
                            absl::StrCat("bytes ", offset_, "-"))) {
        return absl::AbortedError(absl::StrCat(
            "s3://", store_->options().bucket, "/", key_,
            " answered a resumed read with another version or range; read it again"));
      }
      stream_ = *std::move(resumed);
    }
  }

 private:
  S3ObjectStore* store_;
  std::string key_;
  std::unique_ptr<cloud::HttpBodyStream> stream_;
  std::string etag_;
  int64_t size_;
  int64_t offset_ = 0;
  int resumes_ = 0;
};

class S3Writer : public ObjectWriter {
 public:
  S3Writer(S3ObjectStore* store, std::string key) : store_(store), key_(std::move(key)) {}

  ~S3Writer() override {
    if (!committed_ && !upload_id_.empty()) {
      (void)store_->Call("DELETE", absl::StrCat(store_->ObjectPath(key_), "?uploadId=",
                                                cloud::PercentEncode(upload_id_, false)));
    }
  }

  absl::Status Append(absl::string_view data) override {
    if (committed_ || !failed_.ok()) return Finished();
    buffer_.append(data.data(), data.size());
    const size_t part = static_cast<size_t>(store_->options().part_size);
    while (buffer_.size() >= part + 1) {  // the last part may be the whole rest
      std::string piece = buffer_.substr(0, part);
      buffer_.erase(0, part);
      if (absl::Status sent = SendPart(std::move(piece)); !sent.ok()) return Fail(sent);
    }
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    if (committed_ || !failed_.ok()) return Finished();
    if (upload_id_.empty()) {
      absl::StatusOr<HttpResponse> put =
          store_->Call("PUT", store_->ObjectPath(key_), EncryptionHeaders(), std::move(buffer_));
      if (!put.ok()) return Fail(put.status());
      if (put->status != 200) return Fail(store_->ErrorFor("PUT", key_, *put));
      committed_ = true;
      return absl::OkStatus();
    }
    if (!buffer_.empty()) {
      if (absl::Status sent = SendPart(std::move(buffer_)); !sent.ok()) return Fail(sent);
    }
    std::string body = "<CompleteMultipartUpload>";
    for (size_t i = 0; i < etags_.size(); ++i) {
      absl::StrAppend(&body, "<Part><PartNumber>", i + 1, "</PartNumber><ETag>", etags_[i],
                      "</ETag></Part>");
    }
    absl::StrAppend(&body, "</CompleteMultipartUpload>");
    absl::StatusOr<HttpResponse> done = store_->Call(
        "POST", absl::StrCat(store_->ObjectPath(key_), "?uploadId=", cloud::PercentEncode(upload_id_, false)),
        {{"Content-Type", "application/xml"}}, std::move(body), /*idempotent=*/false);
    if (!done.ok() || done->status == 404) {
      // The answer was lost, or the upload is gone: it may have completed.
      if (CompletedAlready()) {
        committed_ = true;
        return absl::OkStatus();
      }
      if (!done.ok()) return Fail(done.status());
    }
    // S3 may answer 200 and put its error in the body.
    if (done->status != 200 || absl::StrContains(done->body, "<Error>")) {
      return Fail(store_->ErrorFor("CompleteMultipartUpload", key_, *done));
    }
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  absl::Status Finished() const {
    if (!failed_.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the write of ", key_, " already failed: ", failed_.message()));
    }
    return absl::FailedPreconditionError(absl::StrCat(key_, " was already committed"));
  }

  absl::Status Fail(absl::Status status) {
    failed_ = status;
    buffer_.clear();
    return status;
  }

  std::vector<HttpHeader> EncryptionHeaders() const {
    std::vector<HttpHeader> headers;
    const S3Options& o = store_->options();
    if (!o.server_side_encryption.empty()) {
      headers.push_back({"x-amz-server-side-encryption", o.server_side_encryption});
    }
    if (!o.kms_key_id.empty()) {
      headers.push_back({"x-amz-server-side-encryption-aws-kms-key-id", o.kms_key_id});
    }
    return headers;
  }

  // Whether the object at the key is the one this upload would complete: its
  // ETag is S3's multipart ETag of these parts (MD5 of their MD5s, "-N").
  bool CompletedAlready() {
    absl::StatusOr<HttpResponse> head = store_->Call("HEAD", store_->ObjectPath(key_));
    if (!head.ok() || head->status != 200) return false;
    std::string digests;
    for (const std::string& etag : etags_) {
      digests += cloud::Unhex(absl::StripSuffix(absl::StripPrefix(etag, "\""), "\""));
    }
    std::string expected =
        absl::StrCat("\"", cloud::Hex(cloud::Md5(digests)), "-", etags_.size(), "\"");
    return head->Header("etag").value_or("") == expected;
  }

  absl::Status SendPart(std::string piece) {
    if (upload_id_.empty()) {
      absl::StatusOr<HttpResponse> created =
          store_->Call("POST", absl::StrCat(store_->ObjectPath(key_), "?uploads="),
                       EncryptionHeaders(), "", /*idempotent=*/false);
      if (!created.ok()) return created.status();
      if (created->status != 200) return store_->ErrorFor("CreateMultipartUpload", key_, *created);
      absl::StatusOr<cloud::XmlElement> xml = cloud::ParseXml(created->body);
      std::optional<std::string> id;
      if (xml.ok() && xml->name == "InitiateMultipartUploadResult") id = xml->ChildText("UploadId");
      if (!id || id->empty()) {
        return absl::UnavailableError(
            absl::StrCat("S3 started no multipart upload for ", key_, ": no UploadId"));
      }
      upload_id_ = *id;
    }
    absl::StatusOr<HttpResponse> uploaded = store_->Call(
        "PUT",
        absl::StrCat(store_->ObjectPath(key_), "?partNumber=", etags_.size() + 1,
                     "&uploadId=", cloud::PercentEncode(upload_id_, false)),
        {}, std::move(piece));
    if (!uploaded.ok()) return uploaded.status();
    std::optional<std::string> etag = uploaded->Header("etag");
    if (uploaded->status != 200 || !etag) return store_->ErrorFor("UploadPart", key_, *uploaded);
    etags_.push_back(*etag);
    return absl::OkStatus();
  }

  S3ObjectStore* store_;
  std::string key_;
  std::string buffer_;
  std::string upload_id_;
  std::vector<std::string> etags_;
  bool committed_ = false;
  absl::Status failed_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<S3ObjectStore>> S3ObjectStore::Open(
    S3Options options, std::shared_ptr<AwsCredentialsProvider> credentials) {
  if (absl::Status valid = ValidateOptions(options); !valid.ok()) return valid;
  if (credentials == nullptr) return absl::InvalidArgumentError("s3: no credentials provider");
  return std::unique_ptr<S3ObjectStore>(new S3ObjectStore(std::move(options), std::move(credentials)));
}

S3ObjectStore::S3ObjectStore(S3Options options, std::shared_ptr<AwsCredentialsProvider> credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)), http_(options_.http) {
  std::string endpoint = options_.endpoint.empty()
                             ? absl::StrCat("https://s3.", options_.region, ".amazonaws.com")
                             : options_.endpoint;
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (options_.path_style) {
    base_url_ = absl::StrCat(endpoint, "/", options_.bucket);
  } else {
    size_t host = endpoint.find("://") + 3;
    base_url_ = absl::StrCat(endpoint.substr(0, host), options_.bucket, ".", endpoint.substr(host));
  }
}

std::string S3ObjectStore::ObjectPath(absl::string_view key) const {
  return absl::StrCat("/", cloud::PercentEncode(absl::StrCat(options_.key_prefix, key), true));
}

absl::StatusOr<PresignedRequest> S3ObjectStore::Presign(const std::string& method,
                                                       absl::string_view key,
                                                       absl::Duration valid_for) {
  RETURN_IF_ERROR(ValidateObjectKey(key));
  if (valid_for < absl::Seconds(1) || valid_for > absl::Hours(24 * 7)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "s3: a presigned URL may be valid for 1 s to 7 days, not ", absl::FormatDuration(valid_for)));
  }
  ASSIGN_OR_RETURN(AwsCredentials credentials, credentials_->Get());
  ASSIGN_OR_RETURN(std::string url, PresignUrl(method, base_url_ + ObjectPath(key), credentials,
                                               {options_.region, "s3"}, absl::Now(), valid_for));
  return PresignedRequest{method, std::move(url), {}};
}

absl::StatusOr<PresignedRequest> S3ObjectStore::PresignGet(absl::string_view key,
                                                           absl::Duration valid_for) {
  return Presign("GET", key, valid_for);
}

absl::StatusOr<PresignedRequest> S3ObjectStore::PresignPut(absl::string_view key,
                                                           absl::Duration valid_for) {
  return Presign("PUT", key, valid_for);
}

absl::StatusOr<HttpRequest> S3ObjectStore::Signed(const std::string& method,
                                                  const std::string& path_and_query,
                                                  std::vector<HttpHeader> headers,
                                                  std::string body) {
  absl::StatusOr<AwsCredentials> credentials = credentials_->Get();
  if (!credentials.ok()) {
    return absl::Status(credentials.status().code(),
                        absl::StrCat("no AWS credentials for S3 (", credentials_->Source(),
                                     "): ", credentials.status().message()));
  }
  HttpRequest request{method, base_url_ + path_and_query, std::move(headers), std::move(body)};
  request.headers.push_back({"x-amz-content-sha256", PayloadHash(request.body)});
  absl::StatusOr<SigV4Parts> signed_parts =
      SignRequest(request, *credentials, {options_.region, "s3"}, absl::Now(), {.s3_paths = true});
  if (!signed_parts.ok()) return signed_parts.status();
  return request;
}

absl::StatusOr<HttpResponse> S3ObjectStore::Call(const std::string& method,
                                                 const std::string& path_and_query,
                                                 std::vector<HttpHeader> headers,
                                                 std::string body, bool idempotent) {
  if (idempotent) {
    return cloud::SendWithRetries(http_, options_.retry, [&] {
      return Signed(method, path_and_query, headers, body);
    });
  }
  absl::StatusOr<HttpResponse> response;
  for (int attempt = 0; attempt < std::max(1, options_.retry.max_attempts); ++attempt) {
    if (attempt > 0) absl::SleepFor(cloud::RetryDelay(options_.retry, attempt));
    absl::StatusOr<HttpRequest> request = Signed(method, path_and_query, headers, body);
    if (!request.ok()) return request.status();
    request->fresh_connection = true;
    response = http_.Send(*request);
    if (!response.ok() || !cloud::IsRetryableStatus(response->status)) break;
  }
  return response;
}

absl::StatusOr<std::unique_ptr<cloud::HttpBodyStream>> S3ObjectStore::OpenStream(
    const std::string& path_and_query, std::vector<HttpHeader> headers) {
  absl::StatusOr<HttpRequest> request = Signed("GET", path_and_query, std::move(headers), "");
  if (!request.ok()) return request.status();
  return http_.Open(*request);
}

absl::Status S3ObjectStore::ErrorFor(const std::string& operation, absl::string_view key,
                                     const HttpResponse& response) const {
  std::string code, message;
  if (absl::StatusOr<cloud::XmlElement> xml = cloud::ParseXml(response.body);
      xml.ok() && xml->name == "Error") {
    code = xml->ChildText("Code");
    message = xml->ChildText("Message");
  }
  std::string what = absl::StrCat("S3 refused ", operation, " s3://", options_.bucket, "/",
                                  options_.key_prefix, key, ": ", response.status,
                                  code.empty() ? "" : " ", code,
                                  message.empty() ? "" : ": ", message);
  switch (response.status) {
    case 404:
      if (code == "NoSuchBucket") {
        return absl::FailedPreconditionError(
            absl::StrCat("the S3 bucket ", options_.bucket, " does not exist (", what, ")"));
      }
      return absl::NotFoundError(absl::StrCat("no object ", key));
    case 403:
      return absl::PermissionDeniedError(what);
    case 400:
      return absl::InvalidArgumentError(what);
    case 409:
    case 412:
      return absl::FailedPreconditionError(what);
    default:
      if (cloud::IsRetryableStatus(response.status)) return absl::UnavailableError(what);
      return absl::UnknownError(what);
  }
}

absl::Status S3ObjectStore::CreateBucket() {
  std::string body;
  if (options_.region != "us-east-1") {
    body = absl::StrCat(
        "<CreateBucketConfiguration><LocationConstraint>", options_.region,
        "</LocationConstraint></CreateBucketConfiguration>");
  }
  absl::StatusOr<HttpResponse> created = Call("PUT", options_.path_style ? "" : "/", {}, body);
  if (!created.ok()) return created.status();
  if (created->status == 200 || created->status == 409) return absl::OkStatus();
  return ErrorFor("CreateBucket", "", *created);
}

absl::StatusOr<std::unique_ptr<ObjectReader>> S3ObjectStore::OpenRead(absl::string_view key) {
  if (absl::Status valid = ValidateObjectKey(key); !valid.ok()) return valid;
  absl::StatusOr<std::unique_ptr<cloud::HttpBodyStream>> stream;
  for (int attempt = 0; attempt < std::max(1, options_.retry.max_attempts); ++attempt) {
    if (attempt > 0) absl::SleepFor(cloud::RetryDelay(options_.retry, attempt));
    stream = OpenStream(ObjectPath(key), {});
    if (stream.ok() && !cloud::IsRetryableStatus((*stream)->status())) break;
    if (!stream.ok() && !absl::IsUnavailable(stream.status())) break;
  }
  if (!stream.ok()) return stream.status();
  if ((*stream)->status() != 200) {
    HttpResponse response{(*stream)->status(), (*stream)->headers(), ""};
    while (true) {  // an error body is small
      absl::StatusOr<std::string> more = (*stream)->Read(1 << 16);
      if (!more.ok() || more->empty() || response.body.size() > (1 << 20)) break;
      response.body += *more;
    }
    return ErrorFor("GET", key, response);
  }
  int64_t size = ContentLength((*stream)->Header("content-length"));
  std::string etag = (*stream)->Header("etag").value_or("");
  if (size < 0 || etag.empty()) {
    return absl::UnavailableError(
        absl::StrCat("S3 answered GET ", key, " without Content-Length or ETag"));
  }
  return std::make_unique<S3Reader>(this, std::string(key), *std::move(stream), etag, size);
}

absl::StatusOr<std::unique_ptr<ObjectWriter>> S3ObjectStore::OpenWrite(absl::string_view key) {
  if (absl::Status valid = ValidateObjectKey(key); !valid.ok()) return valid;
  return std::make_unique<S3Writer>(this, std::string(key));
}

absl::StatusOr<ObjectInfo> S3ObjectStore::Stat(absl::string_view key) {
  if (absl::Status valid = ValidateObjectKey(key); !valid.ok()) return valid;
  absl::StatusOr<HttpResponse> head = Call("HEAD", ObjectPath(key));
  if (!head.ok()) return head.status();
  if (head->status != 200) return ErrorFor("HEAD", key, *head);
  int64_t size = ContentLength(head->Header("content-length"));
  if (size < 0) return absl::UnavailableError(absl::StrCat("S3 gave no size for ", key));
  return ObjectInfo{std::string(key), size};
}

absl::StatusOr<std::vector<ObjectInfo>> S3ObjectStore::List(absl::string_view prefix) {
  std::vector<ObjectInfo> objects;
  std::string token;
  const std::string full_prefix = absl::StrCat(options_.key_prefix, prefix);
  for (int page = 0;; ++page) {
    std::string query = absl::StrCat("list-type=2&max-keys=", options_.list_page_size,
                                     "&prefix=", cloud::PercentEncode(full_prefix, false));
    if (!token.empty()) absl::StrAppend(&query, "&continuation-token=", cloud::PercentEncode(token, false));
    absl::StatusOr<HttpResponse> listed =
        Call("GET", absl::StrCat(options_.path_style ? "" : "/", "?", query));
    if (!listed.ok()) return listed.status();
    if (listed->status != 200) return ErrorFor("ListObjectsV2", prefix, *listed);
    absl::StatusOr<cloud::XmlElement> xml = cloud::ParseXml(listed->body);
    if (!xml.ok() || xml->name != "ListBucketResult") {
      return absl::UnavailableError("S3 answered a listing that is not a ListBucketResult");
    }
    for (const cloud::XmlElement& contents : xml->children) {
      if (contents.name != "Contents") continue;
      std::string listed_key = contents.ChildText("Key");
      int64_t size = 0;
      absl::string_view key = listed_key;
      if (!absl::ConsumePrefix(&key, options_.key_prefix) ||
          !absl::StartsWith(key, prefix) ||
          !absl::SimpleAtoi(contents.ChildText("Size"), &size) || size < 0 ||
          !ValidateObjectKey(key).ok()) {
        continue;  // not an object of this listing that this store could have written
      }
      objects.push_back({std::string(key), size});
    }
    std::string truncated = xml->ChildText("IsTruncated");
    std::string previous = token;
    token = xml->ChildText("NextContinuationToken");
    if (truncated == "true" && token == previous) {
      return absl::UnavailableError("S3 repeated a listing's continuation token");
    }
    if (truncated != "true") break;
    if (token.empty()) return absl::UnavailableError("S3 cut a listing short without a token");
  }
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return objects;
}

absl::Status S3ObjectStore::Delete(absl::string_view key) {
  // S3 deletes absent keys silently; the contract says NotFound.
  if (absl::StatusOr<ObjectInfo> found = Stat(key); !found.ok()) return found.status();
  absl::StatusOr<HttpResponse> deleted = Call("DELETE", ObjectPath(key));
  if (!deleted.ok()) return deleted.status();
  if (deleted->status != 204 && deleted->status != 200) return ErrorFor("DELETE", key, *deleted);
  return absl::OkStatus();
}

absl::Status S3ObjectStore::Copy(absl::string_view from, absl::string_view to) {
  if (absl::Status valid = ValidateObjectKey(from); !valid.ok()) return valid;
  if (absl::Status valid = ValidateObjectKey(to); !valid.ok()) return valid;
  ASSIGN_OR_RETURN(ObjectInfo source, Stat(from));
  if (source.size > options_.max_copy_object_bytes) {
    // CopyObject takes at most 5 GiB: a larger object streams through a
    // reader into a multipart writer (all-or-nothing, as every write).
    return ObjectStore::Copy(from, to);
  }
  std::vector<HttpHeader> headers = {
      {"x-amz-copy-source", absl::StrCat("/", options_.bucket, ObjectPath(from))}};
  if (!options_.server_side_encryption.empty()) {
    headers.push_back({"x-amz-server-side-encryption", options_.server_side_encryption});
  }
  if (!options_.kms_key_id.empty()) {
    headers.push_back({"x-amz-server-side-encryption-aws-kms-key-id", options_.kms_key_id});
  }
  absl::StatusOr<HttpResponse> copied = Call("PUT", ObjectPath(to), headers);
  if (!copied.ok()) return copied.status();
  if (copied->status == 404) return absl::NotFoundError(absl::StrCat("no object ", from));
  if (copied->status != 200 || absl::StrContains(copied->body, "<Error>")) {
    return ErrorFor("CopyObject", to, *copied);
  }
  return absl::OkStatus();
}

}  // namespace trenode::adapters::aws
