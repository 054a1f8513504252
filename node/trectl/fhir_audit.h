// The activity log as FHIR R5: each event an AuditEvent and the export a
// `collection` Bundle of them, element by element as spec/activity-log.md's
// mapping table says. Pure functions of the events; thread-safe.
#ifndef TRENODE_NODE_TRECTL_FHIR_AUDIT_H_
#define TRENODE_NODE_TRECTL_FHIR_AUDIT_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "node/log/activity_event.h"

namespace trenode::trectl {

// The AuditEvent for the event at `index` of its node's log. Empty fields
// leave their elements out (FHIR allows no empty strings).
google::protobuf::Struct AuditEventResource(uint64_t index, const log::ActivityEvent& event);

// A Bundle.entry holding that AuditEvent, with a fullUrl (urn:uuid) that is
// the same in every export of the same entry of the same node's log.
google::protobuf::Value AuditEventEntry(uint64_t index, const log::ActivityEvent& event);

// A collection Bundle assembled at `now`, with no entry element yet: add
// entries to its "entry" list as they come (a bundle of none has none, as
// FHIR allows no empty arrays).
google::protobuf::Struct AuditBundle(absl::Time now);

}  // namespace trenode::trectl

#endif  // TRENODE_NODE_TRECTL_FHIR_AUDIT_H_
