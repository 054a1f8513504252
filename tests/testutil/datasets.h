// Catalogue entries for tests: small, valid, and easy to vary.
#ifndef TRENODE_TESTS_TESTUTIL_DATASETS_H_
#define TRENODE_TESTS_TESTUTIL_DATASETS_H_

#include <string>

#include "trenode/v1/catalogue.pb.h"

namespace trenode::testing {

// A valid dataset with a person table and one event table, its data at
// "datasets/<id>/v1/data.sqlite" (which the test must create if it registers it).
inline trenode::v1::Dataset SampleDataset(const std::string& id, const std::string& title,
                                          const std::string& description = "") {
  trenode::v1::Dataset d;
  d.set_id(id);
  d.set_title(title);
  d.set_description(description);
  d.set_publisher("Example Health Board");
  d.mutable_custodian()->set_name("Data Team");
  d.mutable_custodian()->set_email("data@example.org");
  d.set_sensitivity(trenode::v1::SENSITIVITY_PSEUDONYMISED);
  d.set_person_table("person");
  auto* person = d.add_tables();
  person->set_name("person");
  auto* key = person->add_columns();
  key->set_name("person_id");
  key->set_type(trenode::v1::COLUMN_TYPE_TEXT);
  key->set_is_person_key(true);
  auto* yob = person->add_columns();
  yob->set_name("year_of_birth");
  yob->set_type(trenode::v1::COLUMN_TYPE_INTEGER);
  auto* events = d.add_tables();
  events->set_name("condition_occurrence");
  auto* event_key = events->add_columns();
  event_key->set_name("person_id");
  event_key->set_type(trenode::v1::COLUMN_TYPE_TEXT);
  event_key->set_is_person_key(true);
  auto* code = events->add_columns();
  code->set_name("condition_code");
  code->set_type(trenode::v1::COLUMN_TYPE_TEXT);
  code->set_coding_system(trenode::v1::CODING_SYSTEM_ICD10);
  code->set_description("Diagnosis code");
  d.mutable_steward()->set_storage_location("datasets/" + id + "/v1/data.sqlite");
  d.mutable_steward()->set_exact_person_count(1234);
  return d;
}

}  // namespace trenode::testing

#endif  // TRENODE_TESTS_TESTUTIL_DATASETS_H_
