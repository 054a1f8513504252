// Calendar dates ("YYYY-MM-DD") and protobuf timestamps, as every domain
// module reads and writes them.
#ifndef TRENODE_NODE_COMMON_DATES_H_
#define TRENODE_NODE_COMMON_DATES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/time_util.h"

namespace trenode {

// OK for a real calendar date "YYYY-MM-DD"; otherwise InvalidArgument
// "<field>: "<date>" is not a date in the form YYYY-MM-DD".
inline absl::Status ValidateDate(absl::string_view date, absl::string_view field) {
  absl::Time parsed;
  std::string error;
  // Digits exactly where they belong: absl::ParseTime alone would take
  // "    1-1-01" (spaces and a short year), which std::stoll then refuses.
  bool shaped = date.size() == 10 && date[4] == '-' && date[7] == '-';
  for (size_t i = 0; shaped && i < date.size(); ++i) {
    shaped = i == 4 || i == 7 || (date[i] >= '0' && date[i] <= '9');
  }
  if (!shaped || !absl::ParseTime("%Y-%m-%d", date, &parsed, &error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", date, "\" is not a date in the form YYYY-MM-DD"));
  }
  return absl::OkStatus();
}

inline google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return google::protobuf::util::TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(google::protobuf::util::TimeUtil::TimestampToMicroseconds(t));
}

}  // namespace trenode

#endif  // TRENODE_NODE_COMMON_DATES_H_
