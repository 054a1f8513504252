#include "node/log/activity_event.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "node/common/status_macros.h"

namespace trenode::log {
namespace {

constexpr char kHeader[] = "trenode-activity-event/1";
constexpr char kTimeFormat[] = "%Y-%m-%d%ET%H:%M:%E6SZ";

std::string Escape(absl::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::string> Unescape(absl::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] != '\\') {
      out += value[i];
      continue;
    }
    if (i + 1 == value.size()) return absl::InvalidArgumentError("a value ends in a backslash");
    char next = value[++i];
    if (next == '\\') {
      out += '\\';
    } else if (next == 'n') {
      out += '\n';
    } else {
      return absl::InvalidArgumentError("a value has an unknown escape");
    }
  }
  return out;
}

// Whether `time` has the one shape the spec allows,
// "YYYY-MM-DDTHH:MM:SS.ffffffZ": absl::ParseTime alone also takes
// "infinite-future", a sign and years past 9999, which format back the same
// way and so pass the canonical check.
bool IsCanonicalTime(absl::string_view time) {
  constexpr absl::string_view kShape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  if (time.size() != kShape.size()) return false;
  for (size_t i = 0; i < time.size(); ++i) {
    bool digit = time[i] >= '0' && time[i] <= '9';
    if (kShape[i] == 'd' ? !digit : time[i] != kShape[i]) return false;
  }
  return true;
}

// The fields after time, in canonical order.
std::vector<std::pair<const char*, std::string ActivityEvent::*>> Fields() {
  return {{"node", &ActivityEvent::node},          {"actor", &ActivityEvent::actor},
          {"role", &ActivityEvent::role},          {"via", &ActivityEvent::via},
          {"action", &ActivityEvent::action},      {"object", &ActivityEvent::object},
          {"outcome", &ActivityEvent::outcome},    {"reason", &ActivityEvent::reason},
          {"request", &ActivityEvent::request_id}, {"project", &ActivityEvent::project}};
}

}  // namespace

std::string CanonicalLeaf(const ActivityEvent& event) {
  std::string leaf = absl::StrCat(
      kHeader, "\n", "time ", absl::FormatTime(kTimeFormat, event.time, absl::UTCTimeZone()), "\n");
  for (const auto& [key, member] : Fields()) {
    absl::StrAppend(&leaf, key, " ", Escape(event.*member), "\n");
  }
  for (const std::string& hash : event.hashes) absl::StrAppend(&leaf, "hash ", Escape(hash), "\n");
  return leaf;
}

absl::StatusOr<ActivityEvent> ParseLeaf(absl::string_view leaf) {
  if (leaf.empty() || leaf.back() != '\n') {
    return absl::InvalidArgumentError("a canonical event ends with a newline");
  }
  std::vector<absl::string_view> lines = absl::StrSplit(leaf.substr(0, leaf.size() - 1), '\n');
  const auto fields = Fields();
  if (lines.size() < 2 + fields.size() || lines[0] != kHeader) {
    return absl::InvalidArgumentError("not a trenode-activity-event/1 record");
  }
  ActivityEvent event;
  auto value_of = [&](size_t line, absl::string_view key) -> absl::StatusOr<std::string> {
    absl::string_view text = lines[line];
    if (!absl::ConsumePrefix(&text, key) || !absl::ConsumePrefix(&text, " ")) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", line + 1, " should be \"", key, "\""));
    }
    return Unescape(text);
  };
  ASSIGN_OR_RETURN(std::string time, value_of(1, "time"));
  std::string error;
  if (!IsCanonicalTime(time) ||
      !absl::ParseTime(kTimeFormat, time, absl::UTCTimeZone(), &event.time, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("bad time: ", time));
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    ASSIGN_OR_RETURN(event.*(fields[i].second), value_of(2 + i, fields[i].first));
  }
  for (size_t line = 2 + fields.size(); line < lines.size(); ++line) {
    ASSIGN_OR_RETURN(std::string hash, value_of(line, "hash"));
    event.hashes.push_back(std::move(hash));
  }
  if (CanonicalLeaf(event) != leaf) return absl::InvalidArgumentError("not in canonical form");
  return event;
}

}  // namespace trenode::log
