#include "node/trectl/fhir_audit.h"

#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "node/log/merkle.h"

namespace trenode::trectl {
namespace {
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kActivitySystem[] = "https://trenode.org/activity";
constexpr char kOutcomeSystem[] = "http://terminology.hl7.org/CodeSystem/audit-event-outcome";
constexpr char kInstantFormat[] = "%Y-%m-%d%ET%H:%M:%E6SZ";

Value String(absl::string_view text) {
  Value value;
  value.set_string_value(std::string(text));
  return value;
}

Value Bool(bool flag) {
  Value value;
  value.set_bool_value(flag);
  return value;
}

Value Object(std::initializer_list<std::pair<const char*, Value>> fields) {
  Value value;
  for (const auto& [key, field] : fields)
    (*value.mutable_struct_value()->mutable_fields())[key] = field;
  return value;
}

void Set(Value& object, const char* key, Value field) {
  (*object.mutable_struct_value()->mutable_fields())[key] = std::move(field);
}

void Append(Value& list, Value item) { *list.mutable_list_value()->add_values() = std::move(item); }

Value ListOf(Value item) {
  Value list;
  Append(list, std::move(item));
  return list;
}

// CodeableConcept with text only, and with one Coding.
Value TextConcept(absl::string_view text) { return Object({{"text", String(text)}}); }
Value CodedConcept(absl::string_view system, absl::string_view code) {
  return Object({{"coding", ListOf(Object({{"system", String(system)}, {"code", String(code)}}))}});
}

// A Reference by identifier; one naming nobody known (an empty actor) by display.
Value IdentifiedBy(absl::string_view value) {
  if (value.empty()) return Object({{"display", String("unknown")}});
  return Object({{"identifier", Object({{"value", String(value)}})}});
}

// C(reate), U(pdate) or E(xecute), from the last word of the action.
std::string Crud(const std::string& action) {
  std::string verb = action.substr(action.rfind('.') + 1);
  if (verb == "create" || verb == "register" || verb == "propose" || verb == "record") return "C";
  if (verb == "update" || verb == "approve" || verb == "reject" || verb == "suspend" ||
      verb == "resume" || verb == "close" || verb == "revoke" || verb == "retire") {
    return "U";
  }
  return "E";
}

// Resource.id allows [A-Za-z0-9-.]{1,64}: NODE-INDEX when that fits, else INDEX.
std::string ResourceId(const std::string& node, uint64_t index) {
  std::string id = absl::StrCat(node, "-", index);
  bool fits = id.size() <= 64;
  for (char c : node) fits = fits && (absl::ascii_isalnum(c) || c == '-' || c == '.');
  return fits ? id : absl::StrCat(index);
}

// urn:uuid of a version-8 (RFC 9562, name-based on SHA-256) UUID of the entry.
std::string EntryUrn(const std::string& node, uint64_t index) {
  log::Hash hash = log::Sha256(absl::StrCat("trenode-activity-entry/", node, "/", index));
  hash[6] = static_cast<uint8_t>((hash[6] & 0x0f) | 0x80);
  hash[8] = static_cast<uint8_t>((hash[8] & 0x3f) | 0x80);
  std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(hash.data()), 16));
  return absl::StrCat("urn:uuid:", hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4),
                      "-", hex.substr(16, 4), "-", hex.substr(20, 12));
}

// entity.detail for one "sha256:<hex>" hash: type sha256, the digest as
// base64Binary; anything else is kept whole as a string.
Value HashDetail(const std::string& hash) {
  constexpr absl::string_view kPrefix = "sha256:";
  std::string hex = hash.substr(std::min(hash.size(), kPrefix.size()));
  bool is_hex = absl::StartsWith(hash, kPrefix) && hex.size() == 64;
  for (char c : hex) is_hex = is_hex && absl::ascii_isxdigit(c);
  if (!is_hex) {
    return Object({{"type", CodedConcept(kActivitySystem, "hash")}, {"valueString", String(hash)}});
  }
  return Object({{"type", CodedConcept(kActivitySystem, "sha256")},
                 {"valueBase64Binary", String(absl::Base64Escape(absl::HexStringToBytes(hex)))}});
}

Value Outcome(const log::ActivityEvent& event) {
  const auto& [code, display] = event.outcome == "deny"      ? std::pair{"4", "Minor failure"}
                                : event.outcome == "failure" ? std::pair{"8", "Serious failure"}
                                                             : std::pair{"0", "Success"};
  Value outcome = Object({{"code", Object({{"system", String(kOutcomeSystem)},
                                           {"code", String(code)},
                                           {"display", String(display)}})}});
  if (!event.reason.empty()) Set(outcome, "detail", ListOf(TextConcept(event.reason)));
  return outcome;
}

Value Agents(const log::ActivityEvent& event) {
  Value requestor = Object({{"who", IdentifiedBy(event.actor)}, {"requestor", Bool(true)}});
  if (!event.role.empty()) Set(requestor, "role", ListOf(TextConcept(event.role)));
  Value agents = ListOf(std::move(requestor));
  if (!event.via.empty()) {
    Append(agents, Object({{"who", IdentifiedBy(event.via)}, {"requestor", Bool(false)}}));
  }
  return agents;
}

Value Entities(const log::ActivityEvent& event) {
  Value entities;
  Value object = Object({});
  if (!event.object.empty()) Set(object, "what", IdentifiedBy(event.object));
  if (!event.hashes.empty()) {
    Value details;
    for (const std::string& hash : event.hashes) Append(details, HashDetail(hash));
    Set(object, "detail", std::move(details));
  }
  if (object.struct_value().fields_size() > 0) Append(entities, std::move(object));
  for (const auto& [value, role] :
       {std::pair{&event.project, "project"}, std::pair{&event.request_id, "request"}}) {
    if (value->empty()) continue;
    Append(entities, Object({{"what", IdentifiedBy(*value)}, {"role", TextConcept(role)}}));
  }
  return entities;
}

}  // namespace

Struct AuditEventResource(uint64_t index, const log::ActivityEvent& event) {
  Struct audit;
  auto& f = *audit.mutable_fields();
  f["resourceType"] = String("AuditEvent");
  f["id"] = String(ResourceId(event.node, index));
  f["code"] = CodedConcept(kActivitySystem, event.action);
  f["action"] = String(Crud(event.action));
  f["recorded"] = String(absl::FormatTime(kInstantFormat, event.time, absl::UTCTimeZone()));
  f["outcome"] = Outcome(event);
  f["agent"] = Agents(event);
  f["source"] = Object({{"observer", IdentifiedBy(event.node)}});
  Value entities = Entities(event);
  if (entities.list_value().values_size() > 0) f["entity"] = std::move(entities);
  return audit;
}

Value AuditEventEntry(uint64_t index, const log::ActivityEvent& event) {
  Value resource;
  *resource.mutable_struct_value() = AuditEventResource(index, event);
  return Object({{"fullUrl", String(EntryUrn(event.node, index))}, {"resource", resource}});
}

Struct AuditBundle(absl::Time now) {
  Struct bundle;
  auto& f = *bundle.mutable_fields();
  f["resourceType"] = String("Bundle");
  f["type"] = String("collection");
  f["timestamp"] = String(absl::FormatTime(kInstantFormat, now, absl::UTCTimeZone()));
  return bundle;
}

}  // namespace trenode::trectl
