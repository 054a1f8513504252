#include "node/trectl/args.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace trenode::trectl {

absl::StatusOr<Args> Args::Parse(const std::vector<std::string>& words,
                                 const std::set<std::string>& boolean_flags) {
  Args args;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (word == "-h") {
      args.flags_["help"] = "true";
      continue;
    }
    if (word.size() < 3 || word.rfind("--", 0) != 0) {
      args.positional_.push_back(word);
      continue;
    }
    std::string name = word.substr(2);
    size_t equals = name.find('=');
    if (equals != std::string::npos) {
      args.flags_[name.substr(0, equals)] = name.substr(equals + 1);
    } else if (boolean_flags.contains(name)) {
      args.flags_[name] = "true";
    } else if (i + 1 < words.size()) {
      args.flags_[name] = words[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
  }
  return args;
}

Args Args::Shift(size_t n) const {
  Args shifted = *this;
  shifted.positional_.erase(shifted.positional_.begin(),
                            shifted.positional_.begin() + std::min(n, positional_.size()));
  return shifted;
}

std::optional<std::string> Args::Get(const std::string& flag) const {
  auto it = flags_.find(flag);
  if (it == flags_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<int64_t> Args::GetInt(const std::string& flag, int64_t fallback) const {
  std::optional<std::string> text = Get(flag);
  if (!text) return fallback;
  int64_t value;
  if (!absl::SimpleAtoi(*text, &value)) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, " \"", *text, "\" is not a number"));
  }
  return value;
}

std::vector<std::string> Args::Unknown(const std::set<std::string>& known) const {
  std::vector<std::string> unknown;
  for (const auto& [name, value] : flags_) {
    if (!known.contains(name)) unknown.push_back("--" + name);
  }
  return unknown;
}

}  // namespace trenode::trectl
