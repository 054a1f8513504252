// The mapping of spec/activity-log.md's table, field by field. Whether the
// result is valid FHIR R5 is tested apart, from the R5 definitions, by
// tests/e2e/fhir_r5.py on a real export.
#include "node/trectl/fhir_audit.h"

#include <string>

#include "absl/strings/match.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace trenode::trectl {
namespace {
using google::protobuf::Value;

const Value& At(const Value& value, const std::string& key) {
  static const Value* missing = new Value();
  const auto& fields = value.struct_value().fields();
  auto it = fields.find(key);
  return it == fields.end() ? *missing : it->second;
}

const Value& At(const Value& value, int index) { return value.list_value().values(index); }

std::string Text(const Value& value) { return value.string_value(); }

Value Resource(uint64_t index, const log::ActivityEvent& event) {
  Value value;
  *value.mutable_struct_value() = AuditEventResource(index, event);
  return value;
}

log::ActivityEvent FullEvent() {
  log::ActivityEvent event;
  event.time = absl::FromUnixMicros(1'790'000'000'123'456);
  event.node = "site-a";
  event.actor = "ada@site-b";
  event.role = "researcher";
  event.via = "site-b";
  event.action = "releases.file.download";
  event.object = "release/r-1/file/counts.csv";
  event.outcome = "success";
  event.reason = "downloaded";
  event.request_id = "req-7";
  event.project = "hf-study";
  event.hashes = {"sha256:" + std::string(64, 'a')};
  return event;
}

TEST(FhirAuditTest, EveryFieldWhereTheSpecPutsIt) {
  Value audit = Resource(42, FullEvent());
  EXPECT_EQ(Text(At(audit, "resourceType")), "AuditEvent");
  EXPECT_EQ(Text(At(audit, "id")), "site-a-42");
  EXPECT_EQ(Text(At(audit, "recorded")), "2026-09-21T14:13:20.123456Z");
  const Value& coding = At(At(At(audit, "code"), "coding"), 0);
  EXPECT_EQ(Text(At(coding, "system")), "https://trenode.org/activity");
  EXPECT_EQ(Text(At(coding, "code")), "releases.file.download");
  EXPECT_EQ(Text(At(audit, "action")), "E");
  // outcome.code is a Coding (no "coding" list); the reason its detail's text.
  const Value& outcome = At(audit, "outcome");
  EXPECT_EQ(Text(At(At(outcome, "code"), "code")), "0");
  EXPECT_EQ(Text(At(At(outcome, "code"), "system")),
            "http://terminology.hl7.org/CodeSystem/audit-event-outcome");
  EXPECT_EQ(Text(At(At(At(outcome, "detail"), 0), "text")), "downloaded");
  // agent[0]: the actor, its role a list of CodeableConcepts on the agent.
  const Value& actor = At(At(audit, "agent"), 0);
  EXPECT_EQ(Text(At(At(At(actor, "who"), "identifier"), "value")), "ada@site-b");
  EXPECT_FALSE(At(actor, "who").struct_value().fields().contains("role"));
  EXPECT_EQ(Text(At(At(At(actor, "role"), 0), "text")), "researcher");
  EXPECT_TRUE(At(actor, "requestor").bool_value());
  const Value& relay = At(At(audit, "agent"), 1);
  EXPECT_EQ(Text(At(At(At(relay, "who"), "identifier"), "value")), "site-b");
  EXPECT_FALSE(At(relay, "requestor").bool_value());
  EXPECT_EQ(Text(At(At(At(At(audit, "source"), "observer"), "identifier"), "value")), "site-a");
  // entity: the object with its hashes, then the project and the request.
  const Value& entities = At(audit, "entity");
  ASSERT_EQ(entities.list_value().values_size(), 3);
  const Value& object = At(entities, 0);
  EXPECT_EQ(Text(At(At(At(object, "what"), "identifier"), "value")), "release/r-1/file/counts.csv");
  const Value& hash = At(At(object, "detail"), 0);
  EXPECT_EQ(Text(At(At(At(At(hash, "type"), "coding"), 0), "code")), "sha256");
  // 32 bytes of 0xaa, base64.
  EXPECT_EQ(Text(At(hash, "valueBase64Binary")), "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqo=");
  EXPECT_EQ(Text(At(At(At(At(entities, 1), "what"), "identifier"), "value")), "hf-study");
  EXPECT_EQ(Text(At(At(At(entities, 1), "role"), "text")), "project");
  EXPECT_EQ(Text(At(At(At(At(entities, 2), "what"), "identifier"), "value")), "req-7");
  EXPECT_EQ(Text(At(At(At(entities, 2), "role"), "text")), "request");
}

TEST(FhirAuditTest, OutcomesAndActions) {
  log::ActivityEvent event = FullEvent();
  for (const auto& [outcome, code] : {std::pair{"allow", "0"}, std::pair{"success", "0"},
                                      std::pair{"deny", "4"}, std::pair{"failure", "8"}}) {
    event.outcome = outcome;
    EXPECT_EQ(Text(At(At(At(Resource(1, event), "outcome"), "code"), "code")), code) << outcome;
  }
  for (const auto& [action, crud] :
       {std::pair{"governance.project.create", "C"}, std::pair{"governance.project.approve", "U"},
        std::pair{"auth.deny", "E"}}) {
    event.action = action;
    EXPECT_EQ(Text(At(Resource(1, event), "action")), crud) << action;
  }
}

TEST(FhirAuditTest, EmptyFieldsLeaveTheirElementsOut) {
  log::ActivityEvent event;
  event.time = absl::FromUnixSeconds(1'790'000'000);
  event.node = "site-a";
  event.action = "auth.deny";
  event.outcome = "deny";
  std::string json;
  ASSERT_TRUE(
      google::protobuf::util::MessageToJsonString(AuditEventResource(3, event), &json).ok());
  EXPECT_FALSE(absl::StrContains(json, "\"\"")) << "FHIR allows no empty strings: " << json;
  EXPECT_FALSE(absl::StrContains(json, "[]")) << "FHIR allows no empty arrays: " << json;
  EXPECT_FALSE(absl::StrContains(json, "{}")) << "FHIR allows no empty objects: " << json;
  Value audit = Resource(3, event);
  EXPECT_FALSE(audit.struct_value().fields().contains("entity"));
  EXPECT_EQ(Text(At(At(At(At(audit, "agent"), 0), "who"), "display")), "unknown");
}

TEST(FhirAuditTest, IdsFitFhirAndEntriesHaveStableUuids) {
  log::ActivityEvent event = FullEvent();
  event.node = std::string(63, 'n');
  EXPECT_EQ(Text(At(Resource(12345, event), "id")), "12345") << "NODE-INDEX would pass 64";
  Value first = AuditEventEntry(7, FullEvent());
  Value again = AuditEventEntry(7, FullEvent());
  Value other = AuditEventEntry(8, FullEvent());
  const std::string url = Text(At(first, "fullUrl"));
  EXPECT_EQ(url, Text(At(again, "fullUrl")));
  EXPECT_NE(url, Text(At(other, "fullUrl")));
  ASSERT_EQ(url.size(), std::string("urn:uuid:").size() + 36) << url;
  EXPECT_TRUE(absl::StartsWith(url, "urn:uuid:")) << url;
  EXPECT_EQ(url[9 + 14], '8') << "a version-8 UUID: " << url;
  EXPECT_EQ(Text(At(At(first, "resource"), "resourceType")), "AuditEvent");
}

TEST(FhirAuditTest, BundleIsACollectionWithATimestampAndNoEmptyEntryList) {
  google::protobuf::Struct bundle = AuditBundle(absl::FromUnixSeconds(1'790'000'000));
  EXPECT_EQ(bundle.fields().at("resourceType").string_value(), "Bundle");
  EXPECT_EQ(bundle.fields().at("type").string_value(), "collection");
  EXPECT_EQ(bundle.fields().at("timestamp").string_value(), "2026-09-21T14:13:20.000000Z");
  EXPECT_FALSE(bundle.fields().contains("entry"));
}

}  // namespace
}  // namespace trenode::trectl
