#include "adapters/azure/connection_string.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace trenode::adapters::azure {
namespace {

// Fields named by their canonical spelling; lookups ignore case.
const std::set<std::string>& KnownFields() {
  static const auto* fields = new std::set<std::string>{
      "DefaultEndpointsProtocol", "AccountName", "AccountKey", "BlobEndpoint", "EndpointSuffix",
      "SharedAccessSignature", "UseDevelopmentStorage",
      // Other services' endpoints: allowed, not used.
      "QueueEndpoint", "TableEndpoint", "FileEndpoint"};
  return *fields;
}

absl::Status Bad(absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("Azure Storage connection string: ", message));
}

}  // namespace

absl::StatusOr<AzureStorageAccount> ParseConnectionString(absl::string_view connection_string) {
  std::map<std::string, std::string> fields;  // canonical name -> value
  for (absl::string_view part : absl::StrSplit(connection_string, ';', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    size_t equals = part.find('=');
    if (equals == absl::string_view::npos || equals == 0) {
      return Bad(absl::StrCat("\"", part.substr(0, 40), "\" is not Name=value"));
    }
    absl::string_view name = absl::StripAsciiWhitespace(part.substr(0, equals));
    std::string canonical;
    for (const std::string& known : KnownFields()) {
      if (absl::EqualsIgnoreCase(known, name)) canonical = known;
    }
    if (canonical.empty()) {
      return Bad(absl::StrCat("unknown field ", name, " (known: ",
                              absl::StrJoin(KnownFields(), ", "), ")"));
    }
    if (!fields.emplace(canonical, std::string(absl::StripAsciiWhitespace(part.substr(equals + 1))))
             .second) {
      return Bad(absl::StrCat(canonical, " is given twice"));
    }
  }
  auto field = [&](const char* name) -> std::string {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };

  AzureStorageAccount account;
  if (fields.count("UseDevelopmentStorage")) {
    if (!absl::EqualsIgnoreCase(field("UseDevelopmentStorage"), "true")) {
      return Bad("UseDevelopmentStorage must be true if given");
    }
    if (fields.size() > 1) return Bad("UseDevelopmentStorage=true takes no other fields");
    account.blob_endpoint = absl::StrCat("http://127.0.0.1:10000/", kDevelopmentAccountName);
    account.account_name = kDevelopmentAccountName;
    account.account_key = kDevelopmentAccountKey;
    return account;
  }

  account.account_name = field("AccountName");
  account.account_key = field("AccountKey");
  account.sas = std::string(absl::StripPrefix(field("SharedAccessSignature"), "?"));
  if (account.account_key.empty() && account.sas.empty()) {
    return Bad("has neither AccountKey nor SharedAccessSignature; give one");
  }
  if (!account.account_key.empty() && !account.sas.empty()) {
    return Bad("has both AccountKey and SharedAccessSignature; give one");
  }
  if (std::string ignored; !account.account_key.empty() &&
                           !absl::Base64Unescape(account.account_key, &ignored)) {
    return Bad("AccountKey is not base64");
  }
  if (!account.account_key.empty() && account.account_name.empty()) {
    return Bad("AccountKey needs AccountName");
  }
  if (!account.sas.empty() && !absl::StrContains(account.sas, "sig=")) {
    return Bad("SharedAccessSignature has no sig= field");
  }

  std::string protocol = field("DefaultEndpointsProtocol");
  if (protocol.empty()) protocol = "https";
  if (protocol != "https" && protocol != "http") {
    return Bad(absl::StrCat("DefaultEndpointsProtocol must be https or http, not ", protocol));
  }
  std::string endpoint = field("BlobEndpoint");
  if (!endpoint.empty()) {
    if (!absl::StartsWith(endpoint, "https://") && !absl::StartsWith(endpoint, "http://")) {
      return Bad(absl::StrCat("BlobEndpoint must start with https:// or http://, not ", endpoint));
    }
    absl::string_view trimmed = endpoint;
    while (absl::ConsumeSuffix(&trimmed, "/")) {
    }
    account.blob_endpoint = std::string(trimmed);
    return account;
  }
  if (account.account_name.empty()) return Bad("needs AccountName or BlobEndpoint");
  std::string suffix = field("EndpointSuffix");
  if (suffix.empty()) suffix = "core.windows.net";
  account.blob_endpoint = absl::StrCat(protocol, "://", account.account_name, ".blob.", suffix);
  return account;
}

}  // namespace trenode::adapters::azure
