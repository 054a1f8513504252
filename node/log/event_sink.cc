#include "node/log/event_sink.h"

#include "absl/strings/str_cat.h"

namespace trenode::log {

absl::Status RecordChange(EventSink* sink, const auth::Principal& actor, std::string action,
                          std::string object, std::string project, std::string reason) {
  if (sink == nullptr) return absl::OkStatus();
  ActivityEvent event;
  event.action = std::move(action);
  event.object = std::move(object);
  event.outcome = "success";
  event.project = std::move(project);
  event.reason = std::move(reason);
  absl::Status status = sink->Record(actor, std::move(event));
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat(
        "the change was made but could not be written to the activity log: ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace trenode::log
