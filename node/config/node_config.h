// Reading and checking the node's configuration (trenode.v1.NodeConfig in
// text format). Every error names the file and the field, or the line and
// column of a syntax error, so that one line tells the operator what to fix.
#ifndef TRENODE_NODE_CONFIG_NODE_CONFIG_H_
#define TRENODE_NODE_CONFIG_NODE_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "trenode/v1/config.pb.h"

namespace trenode::config {

// Parses `path`, fills defaults, makes relative paths absolute against the
// file's directory, and validates. InvalidArgument "FILE: ..." on any error;
// NotFound if the file cannot be read.
absl::StatusOr<trenode::v1::NodeConfig> LoadNodeConfig(const std::string& path);

// The checks LoadNodeConfig applies, on an already-parsed config.
absl::Status ValidateNodeConfig(const trenode::v1::NodeConfig& config);

}  // namespace trenode::config

#endif  // TRENODE_NODE_CONFIG_NODE_CONFIG_H_
