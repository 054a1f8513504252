#include "node/catalogue/dataset_validation.h"

#include <functional>

#include "gtest/gtest.h"
#include "tests/testutil/datasets.h"

namespace trenode::catalogue {
namespace {
using trenode::v1::Dataset;

void ExpectInvalid(const std::function<void(Dataset&)>& spoil, const std::string& expected) {
  Dataset d = testing::SampleDataset("ok-id", "A title");
  ASSERT_TRUE(ValidateDescriptiveMetadata(d).ok());
  spoil(d);
  absl::Status status = ValidateDescriptiveMetadata(d);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << expected;
  EXPECT_NE(status.message().find(expected), absl::string_view::npos) << status.message();
}

TEST(DatasetValidationTest, NamesTheOffendingField) {
  ExpectInvalid([](Dataset& d) { d.set_id("Bad_Id"); }, "dataset.id");
  ExpectInvalid([](Dataset& d) { d.set_id("x"); }, "dataset.id");
  ExpectInvalid([](Dataset& d) { d.set_id("-lead"); }, "dataset.id");
  ExpectInvalid([](Dataset& d) { d.clear_title(); }, "dataset.title: is required");
  ExpectInvalid([](Dataset& d) { d.mutable_custodian()->set_email("nobody"); },
                "dataset.custodian.email");
  ExpectInvalid([](Dataset& d) { d.mutable_temporal_coverage()->set_start_date("2020-13-01"); },
                "dataset.temporal_coverage.start_date");
  ExpectInvalid(
      [](Dataset& d) {
        d.mutable_temporal_coverage()->set_start_date("2021-01-01");
        d.mutable_temporal_coverage()->set_end_date("2020-01-01");
      },
      "start_date is after end_date");
  ExpectInvalid([](Dataset& d) { d.mutable_tables(1)->set_name("person"); }, "appears twice");
  ExpectInvalid([](Dataset& d) { d.mutable_tables(1)->set_name("drop table;"); },
                "dataset.tables[1].name");
  ExpectInvalid([](Dataset& d) { d.mutable_tables(1)->mutable_columns(1)->set_name("person_id"); },
                "column \"person_id\" appears twice");
  ExpectInvalid([](Dataset& d) { d.mutable_tables(0)->mutable_columns(1)->clear_type(); },
                "dataset.tables[0].columns[1].type: is required");
  ExpectInvalid(
      [](Dataset& d) { d.mutable_tables(0)->mutable_columns(0)->set_is_person_key(false); },
      "must mark its person key column");
  ExpectInvalid([](Dataset& d) { d.set_person_table("people"); }, "dataset.person_table");
  ExpectInvalid([](Dataset& d) { d.mutable_tables(1)->clear_columns(); }, "has no columns");
  ExpectInvalid([](Dataset& d) { d.mutable_tables(0)->set_name("sqlite_master"); },
                "not start with sqlite_");
}

TEST(DatasetValidationTest, MetadataOnlyDatasetWithoutTablesIsValid) {
  Dataset d = testing::SampleDataset("no-tables", "Catalogue-only entry");
  d.clear_tables();
  d.clear_person_table();
  EXPECT_TRUE(ValidateDescriptiveMetadata(d).ok());
}

}  // namespace
}  // namespace trenode::catalogue
