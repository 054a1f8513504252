// Shared access signatures (SAS) for the Azure Blob service, signed with an
// account key: an account SAS (every container of the account), a service
// SAS for one container, or a service SAS for one blob (a presigned URL). The node can run on a SAS alone instead of the
// account key; the README shows an administrator how to make one, and the
// tests make theirs here.
//
// Thread-safety: the functions are thread-safe.
#ifndef TRENODE_ADAPTERS_AZURE_SAS_H_
#define TRENODE_ADAPTERS_AZURE_SAS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "adapters/azure/shared_key.h"

namespace trenode::adapters::azure {

struct SasPermissions {
  bool read = false;
  bool add = false;
  bool create = false;
  bool write = false;
  bool del = false;
  bool list = false;
};

struct SasGrant {
  SasPermissions permissions;
  absl::Time start = absl::InfinitePast();  // InfinitePast: valid at once
  absl::Time expiry;
  // "https" (the default) or "https,http" (for an emulator on plain HTTP).
  std::string protocol = "https";
};

// An account SAS for the Blob service (ss=b) on service, container and object
// resources (srt=sco), as a query string without the leading '?'.
// InvalidArgument if no permission is granted or the expiry is not after the start.
absl::StatusOr<std::string> MakeAccountSas(const AzureSharedKey& key, const SasGrant& grant);

// A service SAS for `container` (sr=c), as a query string without the '?'.
// InvalidArgument as for MakeAccountSas, or if `container` is empty.
absl::StatusOr<std::string> MakeContainerSas(const AzureSharedKey& key,
                                             absl::string_view container, const SasGrant& grant);

// A service SAS for the one blob `blob` in `container` (sr=b), as a query
// string without the '?': it grants nothing on any other blob. Blobs have no
// list permission. InvalidArgument as for MakeContainerSas, if `blob` is
// empty, or if `list` is asked for.
absl::StatusOr<std::string> MakeBlobSas(const AzureSharedKey& key, absl::string_view container,
                                        absl::string_view blob, const SasGrant& grant);

// "2024-05-01T12:00:00Z", as SAS times are written.
std::string SasTime(absl::Time time);

}  // namespace trenode::adapters::azure

#endif  // TRENODE_ADAPTERS_AZURE_SAS_H_
