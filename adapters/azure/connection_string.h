// Azure Storage connection strings, the form the Azure portal and CLI give an
// administrator: "DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...;
// EndpointSuffix=core.windows.net", or "BlobEndpoint=...;SharedAccessSignature=...",
// or "UseDevelopmentStorage=true" (Azurite on its default port).
//
// Thread-safety: the functions are thread-safe.
#ifndef TRENODE_ADAPTERS_AZURE_CONNECTION_STRING_H_
#define TRENODE_ADAPTERS_AZURE_CONNECTION_STRING_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace trenode::adapters::azure {

// Where the account's Blob service is and how to authorize with it: exactly
// one of account_key and sas is set.
struct AzureStorageAccount {
  std::string blob_endpoint;  // "https://acct.blob.core.windows.net", no trailing '/'
  std::string account_name;   // may be empty with a SAS and an explicit BlobEndpoint
  std::string account_key;    // base64, as the portal shows it
  std::string sas;            // a SAS query string without the leading '?'
};

// The well-known development account Azurite serves.
inline constexpr char kDevelopmentAccountName[] = "devstoreaccount1";
inline constexpr char kDevelopmentAccountKey[] =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

// InvalidArgument naming the field that is missing, repeated, unknown or bad
// (never quoting a key or signature).
absl::StatusOr<AzureStorageAccount> ParseConnectionString(absl::string_view connection_string);

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_CONNECTION_STRING_H_
