// Command-line arguments for trectl: positional words plus --name VALUE and
// --name (boolean) flags, in any order.
#ifndef TRENODE_NODE_TRECTL_ARGS_H_
#define TRENODE_NODE_TRECTL_ARGS_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace trenode::trectl {

class Args {
 public:
  // `boolean_flags` take no value; every other --flag takes the next word
  // (or the part after '='); -h is --help. InvalidArgument for a flag
  // missing its value.
  static absl::StatusOr<Args> Parse(const std::vector<std::string>& words,
                                    const std::set<std::string>& boolean_flags);

  const std::vector<std::string>& positional() const { return positional_; }
  // A copy without the first `n` positional words (a subcommand's view).
  Args Shift(size_t n) const;
  bool Has(const std::string& flag) const { return flags_.contains(flag); }
  std::optional<std::string> Get(const std::string& flag) const;
  // InvalidArgument if present but not an integer.
  absl::StatusOr<int64_t> GetInt(const std::string& flag, int64_t fallback) const;
  // Flags given but not in `known`, for "unknown flag" errors.
  std::vector<std::string> Unknown(const std::set<std::string>& known) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> flags_;
};

}  // namespace trenode::trectl

#endif  // TRENODE_NODE_TRECTL_ARGS_H_
