// Checks on catalogue metadata supplied by stewards. Each failure is
// InvalidArgument naming the field (as a proto path) and what is wrong.
#ifndef TRENODE_NODE_CATALOGUE_DATASET_VALIDATION_H_
#define TRENODE_NODE_CATALOGUE_DATASET_VALIDATION_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::catalogue {

// [a-z0-9][a-z0-9-]{1,62}
absl::Status ValidateDatasetId(absl::string_view id);

// [a-z][a-z0-9_]{0,62}; `field` names the field in the message.
absl::Status ValidateSqlName(absl::string_view name, absl::string_view field);

// The descriptive fields a steward supplies: id, title (required), contact,
// dates (YYYY-MM-DD, start <= end), tables and columns (valid unique names,
// typed), person_table (names a table with exactly one person key column;
// every other table has at most one), and no more than 64 keywords/themes.
absl::Status ValidateDescriptiveMetadata(const trenode::v1::Dataset& dataset);

}  // namespace trenode::catalogue

#endif  // TRENODE_NODE_CATALOGUE_DATASET_VALIDATION_H_
