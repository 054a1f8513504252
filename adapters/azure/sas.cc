#include "adapters/azure/sas.h"

#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "adapters/cloud/digest.h"
#include "adapters/cloud/url.h"

namespace trenode::adapters::azure {
namespace {

// Each kind of SAS lists its permission letters in its own documented order.
std::string AccountPermissions(const SasPermissions& p) {
  return absl::StrCat(p.read ? "r" : "", p.write ? "w" : "", p.del ? "d" : "",
                      p.list ? "l" : "", p.add ? "a" : "", p.create ? "c" : "");
}

std::string ContainerPermissions(const SasPermissions& p) {
  return absl::StrCat(p.read ? "r" : "", p.add ? "a" : "", p.create ? "c" : "",
                      p.write ? "w" : "", p.del ? "d" : "", p.list ? "l" : "");
}

absl::Status CheckGrant(const SasGrant& grant, const std::string& permissions) {
  if (permissions.empty()) return absl::InvalidArgumentError("a SAS must grant some permission");
  if (grant.expiry <= grant.start || grant.expiry == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError("a SAS needs an expiry after its start");
  }
  if (grant.protocol != "https" && grant.protocol != "https,http") {
    return absl::InvalidArgumentError(
        absl::StrCat("SAS protocol must be https or https,http, not ", grant.protocol));
  }
  return absl::OkStatus();
}

std::string Start(const SasGrant& grant) {
  return grant.start == absl::InfinitePast() ? "" : SasTime(grant.start);
}

// `fields` as name=value&..., values percent-encoded, empty ones left out.
std::string QueryString(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : fields) {
    if (!value.empty()) parts.push_back(absl::StrCat(name, "=", cloud::PercentEncode(value, false)));
  }
  return absl::StrJoin(parts, "&");
}

std::string Sign(const AzureSharedKey& key, const std::string& string_to_sign) {
  return absl::Base64Escape(cloud::HmacSha256(key.key, string_to_sign));
}

// A service SAS (version 2020-12-06 and later) on `resource` ("/blob/account/
// container[/blob]") of kind `kind` ("c" or "b").
absl::StatusOr<std::string> ServiceSas(const AzureSharedKey& key, const std::string& resource,
                                       absl::string_view kind, const SasGrant& grant) {
  std::string permissions = ContainerPermissions(grant.permissions);
  if (absl::Status ok = CheckGrant(grant, permissions); !ok.ok()) return ok;
  const std::string start = Start(grant), expiry = SasTime(grant.expiry);
  // Permissions, start, expiry, canonicalized resource, identifier, IP range,
  // protocol, version, resource, snapshot time, encryption scope, then the
  // five response-header overrides.
  std::vector<std::string> fields = {permissions, start, expiry, resource, "", "",
                                     grant.protocol, kAzureStorageVersion, std::string(kind),
                                     "", "", "", "", "", "", ""};
  return QueryString({{"sv", kAzureStorageVersion},
                      {"sr", std::string(kind)},
                      {"sp", permissions},
                      {"st", start},
                      {"se", expiry},
                      {"spr", grant.protocol},
                      {"sig", Sign(key, absl::StrJoin(fields, "\n"))}});
}

}  // namespace

absl::StatusOr<std::string> MakeAccountSas(const AzureSharedKey& key, const SasGrant& grant) {
  std::string permissions = AccountPermissions(grant.permissions);
  if (absl::Status ok = CheckGrant(grant, permissions); !ok.ok()) return ok;
  const std::string start = Start(grant), expiry = SasTime(grant.expiry);
  // Account SAS, version 2020-12-06 and later: the encryption scope is signed
  // (empty here) and the string ends with a newline.
  std::string string_to_sign =
      absl::StrJoin({key.account, permissions, std::string("b"), std::string("sco"), start, expiry,
                     std::string(), grant.protocol, std::string(kAzureStorageVersion),
                     std::string(), std::string()},
                    "\n");
  return QueryString({{"sv", kAzureStorageVersion},
                      {"ss", "b"},
                      {"srt", "sco"},
                      {"sp", permissions},
                      {"st", start},
                      {"se", expiry},
                      {"spr", grant.protocol},
                      {"sig", Sign(key, string_to_sign)}});
}

absl::StatusOr<std::string> MakeContainerSas(const AzureSharedKey& key,
                                             absl::string_view container, const SasGrant& grant) {
  if (container.empty()) return absl::InvalidArgumentError("a container SAS needs a container");
  return ServiceSas(key, absl::StrCat("/blob/", key.account, "/", container), "c", grant);
}

absl::StatusOr<std::string> MakeBlobSas(const AzureSharedKey& key, absl::string_view container,
                                        absl::string_view blob, const SasGrant& grant) {
  if (container.empty() || blob.empty()) {
    return absl::InvalidArgumentError("a blob SAS needs a container and a blob");
  }
  if (grant.permissions.list) return absl::InvalidArgumentError("a blob SAS cannot grant list");
  // The blob's name as it is, not percent-encoded.
  return ServiceSas(key, absl::StrCat("/blob/", key.account, "/", container, "/", blob), "b",
                    grant);
}

std::string SasTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

}  // namespace trenode::adapters::azure
