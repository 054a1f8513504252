// The Catalogue over real gRPC on loopback: roles, imports, errors.
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"

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

using ProgressStream =
    grpc::ClientReaderWriter<trenode::v1::ImportDatasetRequest, trenode::v1::ImportDatasetEvent>;

// Sends the header and `files` on ImportDatasetWithProgress and half-closes.
std::unique_ptr<ProgressStream> StartImportWithProgress(grpc::ClientContext* context,
                                                        trenode::v1::Catalogue::Stub& stub,
                                                        const std::string& id,
                                                        const std::vector<ImportFile>& files) {
  auto stream = stub.ImportDatasetWithProgress(context);
  trenode::v1::ImportDatasetRequest header;
  header.mutable_header()->mutable_dataset()->set_id(id);
  header.mutable_header()->mutable_dataset()->set_title("Progress " + id);
  stream->Write(header);
  for (const ImportFile& file : files) {
    trenode::v1::ImportDatasetRequest chunk;
    chunk.mutable_chunk()->set_file_name(file.name);
    chunk.mutable_chunk()->set_data(file.data);
    stream->Write(chunk);
  }
  stream->WritesDone();
  return stream;
}

// A site of `persons` persons and two measurements each.
std::vector<ImportFile> Site(int persons) {
  std::string person = "person_id,year_of_birth,sex\n";
  std::string measurement = "person_id,measurement_code,value_as_number\n";
  for (int i = 0; i < persons; ++i) {
    absl::StrAppend(&person, "P", i, ",", 1930 + i % 70, ",", i % 2 ? "F" : "M", "\n");
    absl::StrAppend(&measurement, "P", i, ",250908004,", 20 + i % 50, ".5\n");
    absl::StrAppend(&measurement, "P", i, ",271649006,", 90 + i % 90, ".0\n");
  }
  return {{"person.csv", person}, {"measurement.csv", measurement}};
}

TEST(CatalogueRpcTest, ImportWithProgressReportsEveryPhaseThenTheEntry) {
  TestNode node;
  auto context = node.As("data_steward");
  auto stub = node.Catalogue();
  const std::vector<ImportFile> files = Site(3000);
  auto stream = StartImportWithProgress(context.get(), *stub, "with-progress", files);
  std::vector<trenode::v1::ImportDatasetEvent> events;
  trenode::v1::ImportDatasetEvent event;
  while (stream->Read(&event)) events.push_back(event);
  grpc::Status status = stream->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_GE(events.size(), 2u);
  ASSERT_TRUE(events.back().has_dataset()) << "the entry comes last";
  const Dataset& imported = events.back().dataset();
  EXPECT_EQ(imported.version(), 1);
  EXPECT_EQ(imported.steward().exact_person_count(), 3000);
  std::set<trenode::v1::ImportProgress::Phase> phases;
  int64_t loaded_rows = 0;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    ASSERT_TRUE(events[i].has_progress()) << i;
    phases.insert(events[i].progress().phase());
    if (events[i].progress().phase() == trenode::v1::ImportProgress::PHASE_LOADING) {
      EXPECT_EQ(events[i].progress().rows_total(), 9000);
      EXPECT_GE(events[i].progress().rows_done(), loaded_rows) << "never backwards";
      loaded_rows = events[i].progress().rows_done();
    }
  }
  EXPECT_EQ(loaded_rows, 9000);
  // Every phase, checking to publishing (keys are checked as rows load).
  EXPECT_EQ(phases.size(), 7u);
  EXPECT_FALSE(phases.contains(trenode::v1::ImportProgress::PHASE_CHECKING_KEYS));
  EXPECT_EQ(events[events.size() - 2].progress().phase(),
            trenode::v1::ImportProgress::PHASE_PUBLISHING);

  // The entry is the one the catalogue holds.
  trenode::v1::GetDatasetRequest get;
  get.set_id("with-progress");
  Dataset stored;
  ASSERT_TRUE(node.Catalogue()->GetDataset(node.As("data_steward").get(), get, &stored).ok());
  EXPECT_EQ(stored.SerializeAsString(), imported.SerializeAsString());

  // Its errors are ImportDataset's: a bad row names its place, leaves nothing.
  auto bad_context = node.As("data_steward");
  auto bad = StartImportWithProgress(
      bad_context.get(), *stub, "bad-progress",
      {{"person.csv", kPerson}, {"measurement.csv", "person_id,value\nP1,1\nP1,x,2\n"}});
  while (bad->Read(&event)) EXPECT_FALSE(event.has_dataset());
  status = bad->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "measurement.csv line 3: has 3 fields; the header has 2");
  EXPECT_EQ(ObjectsUnder(node, "datasets").size(), 1u);
}

// A steward whose client goes away once every byte is sent (a dropped
// connection during a long build) still gets the import: it is not stopped
// half way, so it completes, and is found afterwards.
TEST(CatalogueRpcTest, ImportWithProgressCompletesWhenTheClientGoesAwayAfterSending) {
  TestNode node;
  auto context = node.As("data_steward");
  auto stub = node.Catalogue();
  auto stream = StartImportWithProgress(context.get(), *stub, "orphan", Site(20000));
  trenode::v1::ImportDatasetEvent event;
  ASSERT_TRUE(stream->Read(&event));  // the node is building
  ASSERT_TRUE(event.has_progress());
  context->TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);

  trenode::v1::GetDatasetRequest get;
  get.set_id("orphan");
  Dataset stored;
  grpc::Status found;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  do {
    absl::SleepFor(absl::Milliseconds(50));
    found = node.Catalogue()->GetDataset(node.As("data_steward").get(), get, &stored);
  } while (!found.ok() && absl::Now() < deadline);
  ASSERT_TRUE(found.ok()) << found.error_message();
  EXPECT_EQ(stored.steward().exact_person_count(), 20000);
  EXPECT_EQ(ObjectsUnder(node, "datasets").size(), 1u);
  while (absl::Now() < deadline && !ObjectsUnder(node, "../work/imports").empty()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(ObjectsUnder(node, "../work/imports").empty()) << "staging removed";
}

TEST(CatalogueRpcTest, ImportWithProgressCancelledWhileSendingImportsNothing) {
  TestNode node;
  auto context = node.As("data_steward");
  auto stub = node.Catalogue();
  auto stream = stub->ImportDatasetWithProgress(context.get());
  trenode::v1::ImportDatasetRequest header;
  header.mutable_header()->mutable_dataset()->set_id("half-progress");
  header.mutable_header()->mutable_dataset()->set_title("Half");
  ASSERT_TRUE(stream->Write(header));
  trenode::v1::ImportDatasetRequest chunk;
  chunk.mutable_chunk()->set_file_name("person.csv");
  chunk.mutable_chunk()->set_data(kPerson);  // a complete, valid table
  ASSERT_TRUE(stream->Write(chunk));
  context->TryCancel();
  trenode::v1::ImportDatasetEvent event;
  EXPECT_FALSE(stream->Read(&event));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline && !ObjectsUnder(node, "../work/imports").empty()) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  trenode::v1::GetDatasetRequest get;
  get.set_id("half-progress");
  Dataset reply;
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
