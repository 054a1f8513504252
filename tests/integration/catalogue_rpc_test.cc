// The Catalogue over real gRPC on loopback: roles, imports, errors.
#include <filesystem>

#include "gtest/gtest.h"
#include "tests/testutil/datasets.h"
#include "tests/testutil/test_node.h"

namespace trenode {
namespace {
using testing::TestNode;
using trenode::v1::Dataset;

constexpr char kPerson[] = "person_id,year_of_birth,sex\nP1,1950,F\nP2,1961,M\n";
constexpr char kMeasurement[] = "person_id,measurement_code,value_as_number\nP1,250908004,35.5\n";

struct ImportFile {
  std::string name;
  std::string data;
};

grpc::Status Import(const TestNode& node, const std::string& role, const std::string& id,
                    const std::vector<ImportFile>& files, Dataset* reply,
                    int64_t expected_version = 0) {
  auto context = node.As(role);
  auto stub = node.Catalogue();
  auto writer = stub->ImportDataset(context.get(), reply);
  trenode::v1::ImportDatasetRequest header;
  header.mutable_header()->mutable_dataset()->set_id(id);
  header.mutable_header()->mutable_dataset()->set_title("Echocardiogram cohort " + id);
  header.mutable_header()->set_expected_version(expected_version);
  writer->Write(header);
  for (const ImportFile& file : files) {
    trenode::v1::ImportDatasetRequest chunk;
    chunk.mutable_chunk()->set_file_name(file.name);
    chunk.mutable_chunk()->set_data(file.data);
    writer->Write(chunk);
  }
  writer->WritesDone();
  return writer->Finish();
}

std::vector<std::string> ObjectsUnder(const TestNode& node, const std::string& sub) {
  std::vector<std::string> found;
  std::filesystem::path root = node.config().object_store().posix().root();
  if (!std::filesystem::exists(root / sub)) return found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root / sub)) {
    if (entry.is_regular_file()) found.push_back(entry.path().string());
  }
  return found;
}

TEST(CatalogueRpcTest, StewardImportsResearcherFindsWithoutStorageLocation) {
  TestNode node([](trenode::v1::NodeConfig& config) { testing::AddPartner(config, "partner-b"); });
  Dataset imported;
  grpc::Status status =
      Import(node, "data_steward", "echo-a",
             {{"person.csv", kPerson}, {"measurement.csv", kMeasurement}}, &imported);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(imported.version(), 1);
  EXPECT_FALSE(imported.steward().storage_location().empty());
  EXPECT_EQ(ObjectsUnder(node, "datasets").size(), 1u);

  trenode::v1::GetDatasetRequest get;
  get.set_id("echo-a");
  Dataset seen;
  ASSERT_TRUE(node.Catalogue()->GetDataset(node.As("researcher").get(), get, &seen).ok());
  EXPECT_EQ(seen.title(), "Echocardiogram cohort echo-a");
  EXPECT_FALSE(seen.has_steward());
  EXPECT_EQ(seen.tables_size(), 2);
  // A partner node, authenticated by its federation certificate alone.
  auto partner = *pki::Issue(node.ca(), pki::NodeCertificateRequest("partner-b", pki::ValidFor(1)));
  auto partner_stub = trenode::v1::Catalogue::NewStub(node.Channel(&partner));
  ASSERT_TRUE(partner_stub->GetDataset(node.As("").get(), get, &seen).ok());
  EXPECT_FALSE(seen.has_steward());
  ASSERT_TRUE(node.Catalogue()->GetDataset(node.As("data_steward").get(), get, &seen).ok());
  EXPECT_EQ(seen.steward().storage_location(), imported.steward().storage_location());

  trenode::v1::SearchDatasetsRequest search;
  search.set_query("echocardiogram");
  trenode::v1::SearchDatasetsResponse hits;
  ASSERT_TRUE(node.Catalogue()->SearchDatasets(node.As("researcher").get(), search, &hits).ok());
  ASSERT_EQ(hits.hits_size(), 1);
  EXPECT_FALSE(hits.hits(0).dataset().has_steward());
}

TEST(CatalogueRpcTest, RolesAreEnforcedAndMissingIdentityIsUnauthenticated) {
  TestNode node;
  trenode::v1::ListDatasetsRequest list;
  trenode::v1::ListDatasetsResponse listed;
  EXPECT_EQ(node.Catalogue()->ListDatasets(node.As("").get(), list, &listed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // A valid token whose role claim names nothing this node knows: no role,
  // so no acceptable identity here.
  EXPECT_EQ(node.Catalogue()->ListDatasets(node.As("superuser").get(), list, &listed).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(node.Catalogue()->ListDatasets(node.As("auditor").get(), list, &listed).ok());

  for (const char* role : {"researcher", "output_checker", "auditor", "node_admin"}) {
    trenode::v1::RegisterDatasetRequest request;
    *request.mutable_dataset() = testing::SampleDataset("x-data", "X");
    Dataset reply;
    grpc::Status status = node.Catalogue()->RegisterDataset(node.As(role).get(), request, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << role;
    Dataset imported;
    EXPECT_EQ(Import(node, role, "y-data", {{"person.csv", kPerson}}, &imported).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << role;
    trenode::v1::RetireDatasetRequest retire;
    retire.set_id("x-data");
    retire.set_reason("r");
    EXPECT_EQ(node.Catalogue()->RetireDataset(node.As(role).get(), retire, &reply).error_code(),
              grpc::StatusCode::PERMISSION_DENIED)
        << role;
  }
  EXPECT_TRUE(ObjectsUnder(node, "datasets").empty());
}

TEST(CatalogueRpcTest, MalformedCsvIsRejectedWithItsPlaceAndLeavesNothing) {
  TestNode node;
  Dataset reply;
  grpc::Status status = Import(
      node, "data_steward", "bad-data",
      {{"person.csv", kPerson}, {"measurement.csv", "person_id,value\nP1,1\nP7,2\n"}}, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "measurement.csv line 3 field 1 (person_id): unknown person key \"P7\": not in the "
            "person table");
  EXPECT_TRUE(ObjectsUnder(node, "datasets").empty());
  EXPECT_TRUE(ObjectsUnder(node, "../work/imports").empty());
  trenode::v1::GetDatasetRequest get;
  get.set_id("bad-data");
  EXPECT_EQ(node.Catalogue()->GetDataset(node.As("data_steward").get(), get, &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST(CatalogueRpcTest, CancelledImportImportsNothing) {
  TestNode node;
  Dataset reply;
  auto context = node.As("data_steward");
  auto stub = node.Catalogue();
  auto writer = stub->ImportDataset(context.get(), &reply);
  trenode::v1::ImportDatasetRequest header;
  header.mutable_header()->mutable_dataset()->set_id("half-data");
  header.mutable_header()->mutable_dataset()->set_title("Half");
  ASSERT_TRUE(writer->Write(header));
  trenode::v1::ImportDatasetRequest chunk;
  chunk.mutable_chunk()->set_file_name("person.csv");
  chunk.mutable_chunk()->set_data(kPerson);  // a complete, valid table
  ASSERT_TRUE(writer->Write(chunk));
  context->TryCancel();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);

  // The server may still be finishing the cancelled call; poll with a deadline.
  trenode::v1::GetDatasetRequest get;
  get.set_id("half-data");
  auto deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && !ObjectsUnder(node, "../work/imports").empty()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(node.Catalogue()->GetDataset(node.As("data_steward").get(), get, &reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(ObjectsUnder(node, "datasets").empty());
}

TEST(CatalogueRpcTest, ImportMustStartWithAHeader) {
  TestNode node;
  Dataset reply;
  auto context = node.As("data_steward");
  auto stub = node.Catalogue();
  auto writer = stub->ImportDataset(context.get(), &reply);
  trenode::v1::ImportDatasetRequest chunk;
  chunk.mutable_chunk()->set_file_name("person.csv");
  chunk.mutable_chunk()->set_data(kPerson);
  writer->Write(chunk);
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "the first message of ImportDataset must be the header");
}

TEST(CatalogueRpcTest, ReimportMakesANewVersionAndKeepsTheOld) {
  TestNode node;
  Dataset v1, v2;
  ASSERT_TRUE(Import(node, "data_steward", "echo-b", {{"person.csv", kPerson}}, &v1).ok());
  grpc::Status conflict = Import(node, "data_steward", "echo-b", {{"person.csv", kPerson}}, &v2);
  EXPECT_EQ(conflict.error_code(), grpc::StatusCode::ALREADY_EXISTS);
  ASSERT_TRUE(
      Import(node, "data_steward", "echo-b", {{"person.csv", "person_id\nA\nB\nC\n"}}, &v2, 1)
          .ok());
  EXPECT_EQ(v2.version(), 2);
  EXPECT_EQ(v2.steward().exact_person_count(), 3);
  EXPECT_EQ(ObjectsUnder(node, "datasets").size(), 2u);
  trenode::v1::GetDatasetRequest get;
  get.set_id("echo-b");
  get.set_version(1);
  Dataset old;
  ASSERT_TRUE(node.Catalogue()->GetDataset(node.As("data_steward").get(), get, &old).ok());
  EXPECT_EQ(old.steward().exact_person_count(), 2);
}

// A request that does not parse is the caller's error, named as such: a
// string field holding bytes that are not UTF-8 is INVALID_ARGUMENT with a
// message, never an empty INTERNAL (analyses_rpc_test: nesting too deep).
TEST(CatalogueRpcTest, RequestsThatDoNotParseAreInvalidArguments) {
  TestNode node;
  trenode::v1::GetDatasetRequest get;
  get.set_id("caf\xe9");
  Dataset reply;
  grpc::Status status = node.Catalogue()->GetDataset(node.As("auditor").get(), get, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "the request to /trenode.v1.Catalogue/GetDataset is not a valid message: malformed "
            "protobuf, text that is not valid UTF-8, or messages nested more than 100 deep");
}

}  // namespace
}  // namespace trenode
