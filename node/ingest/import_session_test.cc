#include "node/ingest/import_session.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "adapters/memory/memory_object_store.h"
#include "adapters/onprem/posix_object_store.h"
#include "adapters/testing/faulty_object_store.h"
#include "gtest/gtest.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::ingest {
namespace {

const auth::Principal kSteward{"steward", trenode::v1::ROLE_DATA_STEWARD};

class ImportSessionTest : public ::testing::Test {
 protected:
  trenode::v1::ImportDatasetHeader Header(const std::string& id, int64_t expected_version = 0) {
    trenode::v1::ImportDatasetHeader header;
    header.mutable_dataset()->set_id(id);
    header.mutable_dataset()->set_title("Synthetic cohort");
    header.set_expected_version(expected_version);
    return header;
  }
  static trenode::v1::ImportFileChunk Chunk(const std::string& file, const std::string& data) {
    trenode::v1::ImportFileChunk chunk;
    chunk.set_file_name(file);
    chunk.set_data(data);
    return chunk;
  }
  absl::StatusOr<std::unique_ptr<ImportSession>> Start(const trenode::v1::ImportDatasetHeader& h,
                                                       ImportLimits limits = {}) {
    return ImportSession::Start(kSteward, h, &catalogue_, &datasets_, dir_.path() / "work", limits);
  }
  bool WorkDirIsEmpty() {
    auto imports = dir_.path() / "work" / "imports";
    return !std::filesystem::exists(imports) || std::filesystem::is_empty(imports);
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::SqlitePool> pool_ =
      *storage::SqlitePool::Open(dir_.File("node.db"), 2, storage::NodeSchemaMigrations());
  catalogue::SqliteCatalogueStore store_{pool_.get()};
  adapters::MemoryObjectStore datasets_;
  catalogue::Catalogue catalogue_{&store_, &datasets_};
};

TEST_F(ImportSessionTest, ImportsChunkedFilesAndPublishes) {
  auto session = Start(Header("synth-a"));
  ASSERT_TRUE(session.ok()) << session.status();
  ASSERT_TRUE((*session)->AddChunk(Chunk("person.csv", "person_id,year_of_birth\nP1,19")).ok());
  ASSERT_TRUE((*session)->AddChunk(Chunk("person.csv", "50\nP2,1960\n")).ok());
  ASSERT_TRUE((*session)->AddChunk(Chunk("measurement.csv", "person_id,lvef\nP1,35.5\n")).ok());
  auto dataset = (*session)->Finish();
  ASSERT_TRUE(dataset.ok()) << dataset.status();
  EXPECT_EQ(dataset->version(), 1);
  EXPECT_EQ(dataset->steward().exact_person_count(), 2);
  EXPECT_EQ(dataset->population().label(), "fewer than 100");
  EXPECT_EQ(dataset->tables(1).columns(1).type(), trenode::v1::COLUMN_TYPE_REAL);
  EXPECT_TRUE(datasets_.Stat(dataset->steward().storage_location()).ok());
  session->reset();
  EXPECT_TRUE(WorkDirIsEmpty());
}

TEST_F(ImportSessionTest, FailedImportLeavesNothingBehind) {
  {
    auto session = *Start(Header("synth-b"));
    ASSERT_TRUE(session->AddChunk(Chunk("person.csv", "person_id\nP1\nP1\n")).ok());
    EXPECT_EQ(session->Finish().status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(datasets_.List("")->empty());
  EXPECT_EQ(catalogue_.Get(kSteward, "synth-b", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(WorkDirIsEmpty());
}

TEST_F(ImportSessionTest, SecondImportNeedsTheExpectedVersion) {
  auto first = *Start(Header("synth-c"));
  ASSERT_TRUE(first->AddChunk(Chunk("person.csv", "person_id\nP1\n")).ok());
  auto v1 = first->Finish();
  ASSERT_TRUE(v1.ok());

  auto again = Start(Header("synth-c"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(again.status().message().find("set expected_version to 1"), absl::string_view::npos);
  EXPECT_EQ(Start(Header("absent", 1)).status().code(), absl::StatusCode::kNotFound);

  auto second = *Start(Header("synth-c", 1));
  ASSERT_TRUE(second->AddChunk(Chunk("person.csv", "person_id\nP1\nP2\nP3\n")).ok());
  auto v2 = second->Finish();
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version(), 2);
  EXPECT_EQ(v2->steward().exact_person_count(), 3);
  EXPECT_NE(v2->steward().storage_location(), v1->steward().storage_location());
  // The first version's data is kept with it.
  EXPECT_TRUE(datasets_.Stat(v1->steward().storage_location()).ok());
}

TEST_F(ImportSessionTest, RefusesBadFilesAndOversizedImports) {
  auto session = *Start(Header("synth-d"));
  EXPECT_EQ(session->AddChunk(Chunk("../person.csv", "x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(session->AddChunk(Chunk("person.txt", "x")).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(session->AddChunk(Chunk("person.csv", "person_id\n")).ok());
  ASSERT_TRUE(session->AddChunk(Chunk("visit.csv", "person_id\n")).ok());
  EXPECT_EQ(session->AddChunk(Chunk("person.csv", "P1\n")).code(),
            absl::StatusCode::kInvalidArgument);

  ImportLimits small;
  small.max_total_bytes = 10;
  auto capped = *Start(Header("synth-e"), small);
  EXPECT_EQ(capped->AddChunk(Chunk("person.csv", "person_id\nP1\nP2\n")).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(ImportSessionTest, StorageFailuresLeaveNothingBehind) {
  // The dataset store fails while the data file is being stored.
  adapters::FaultyObjectStore faulty(&datasets_);
  faulty.fail_commits = true;
  {
    auto session = *ImportSession::Start(kSteward, Header("synth-f"), &catalogue_, &faulty,
                                         dir_.path() / "work", {});
    ASSERT_TRUE(session->AddChunk(Chunk("person.csv", "person_id\nP1\n")).ok());
    auto result = session->Finish();
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(result.status().message().find("injected failure: commit"), absl::string_view::npos);
  }
  EXPECT_TRUE(datasets_.List("")->empty());
  EXPECT_EQ(catalogue_.Get(kSteward, "synth-f", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(WorkDirIsEmpty());
}

TEST_F(ImportSessionTest, APublishFailureRemovesTheStoredDataFile) {
  // The catalogue refuses the entry (a taken id, registered meanwhile) after
  // the data file was stored: the file must go again.
  auto session = *ImportSession::Start(kSteward, Header("synth-g"), &catalogue_, &datasets_,
                                       dir_.path() / "work", {});
  ASSERT_TRUE(session->AddChunk(Chunk("person.csv", "person_id\nP1\n")).ok());
  {
    auto rival = *ImportSession::Start(kSteward, Header("synth-g"), &catalogue_, &datasets_,
                                       dir_.path() / "work", {});
    ASSERT_TRUE(rival->AddChunk(Chunk("person.csv", "person_id\nQ1\nQ2\n")).ok());
    ASSERT_TRUE(rival->Finish().ok());
  }
  EXPECT_EQ(session->Finish().status().code(), absl::StatusCode::kAlreadyExists);
  auto objects = datasets_.List("");
  ASSERT_TRUE(objects.ok());
  ASSERT_EQ(objects->size(), 1u);  // only the rival's file
  EXPECT_EQ((*objects)[0].key,
            catalogue_.Get(kSteward, "synth-g", 0)->steward().storage_location());
}

TEST_F(ImportSessionTest, HeaderIsCheckedBeforeAnyData) {
  auto header = Header("Bad Id");
  EXPECT_EQ(Start(header).status().code(), absl::StatusCode::kInvalidArgument);
  header = Header("no-title");
  header.mutable_dataset()->clear_title();
  EXPECT_EQ(Start(header).status().code(), absl::StatusCode::kInvalidArgument);
}

// An import killed (SIGKILL, as a crash or an out-of-memory kill) in the
// middle of `phase`, in a child process with its own connections to the same
// node database and a real on-disk object store: the import's child blocks in
// its progress sink when `phase` begins, and is killed there.
class KilledImportTest : public ImportSessionTest,
                         public ::testing::WithParamInterface<trenode::v1::ImportProgress::Phase> {
 protected:
  std::filesystem::path Objects() { return dir_.path() / "objects"; }

  void ImportAndKill(trenode::v1::ImportProgress::Phase phase) {
    int ready[2], never[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(never), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(ready[0]);
      close(never[1]);
      auto pool = storage::SqlitePool::Open(dir_.File("node.db"), 2,
                                            storage::NodeSchemaMigrations());
      auto objects = adapters::PosixObjectStore::Open(Objects());
      if (!pool.ok() || !objects.ok()) _exit(2);
      catalogue::SqliteCatalogueStore store((*pool).get());
      catalogue::Catalogue catalogue(&store, objects->get());
      auto session = ImportSession::Start(kSteward, Header("killed"), &catalogue, objects->get(),
                                          dir_.path() / "work", {});
      if (!session.ok()) _exit(3);
      std::string person = "person_id,year_of_birth\n", events = "person_id,code\n";
      for (int i = 0; i < 2000; ++i) {
        absl::StrAppend(&person, "P", i, ",", 1930 + i % 70, "\n");
        absl::StrAppend(&events, "P", i, ",I", i % 9, "\n");
      }
      if (!(*session)->AddChunk(Chunk("person.csv", person)).ok() ||
          !(*session)->AddChunk(Chunk("measurement.csv", events)).ok()) {
        _exit(4);
      }
      (void)(*session)->Finish([&](const trenode::v1::ImportProgress& p) {
        if (p.phase() != phase) return;
        char byte = 'x';
        if (write(ready[1], &byte, 1) != 1) _exit(5);
        if (read(never[0], &byte, 1) >= 0) _exit(6);  // blocks until killed
      });
      _exit(7);  // the phase never came
    }
    close(ready[1]);
    close(never[0]);
    char byte;
    ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the import never reached the phase";
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFSIGNALED(status));
    close(ready[0]);
    close(never[1]);
  }
};

TEST_P(KilledImportTest, LeavesNoDatasetAndItsLeftoversAreRemovedAtStart) {
  ImportAndKill(GetParam());
  // The half-done import is on disk...
  ASSERT_FALSE(WorkDirIsEmpty()) << "the test killed nothing half way";
  // ...but is no dataset, at any version.
  auto objects = *adapters::PosixObjectStore::Open(Objects());
  catalogue::Catalogue after(&store_, objects.get());
  EXPECT_EQ(after.Get(kSteward, "killed", 0).status().code(), absl::StatusCode::kNotFound);

  // The node's next start removes it, and the same id imports afresh.
  auto removed = ImportSession::RemoveLeftovers(dir_.path() / "work");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_TRUE(WorkDirIsEmpty());
  EXPECT_EQ(*ImportSession::RemoveLeftovers(dir_.path() / "work"), 0);
  auto again = *ImportSession::Start(kSteward, Header("killed"), &after, objects.get(),
                                     dir_.path() / "work", {});
  ASSERT_TRUE(again->AddChunk(Chunk("person.csv", "person_id\nP1\n")).ok());
  auto published = again->Finish();
  ASSERT_TRUE(published.ok()) << published.status();
  EXPECT_EQ(published->version(), 1);
}

// Killed while loading rows, while building an index (the person table in
// the file, the others not), and between storing the file and publishing.
INSTANTIATE_TEST_SUITE_P(Phases, KilledImportTest,
                         ::testing::Values(trenode::v1::ImportProgress::PHASE_LOADING,
                                           trenode::v1::ImportProgress::PHASE_INDEXING,
                                           trenode::v1::ImportProgress::PHASE_PUBLISHING));

}  // namespace
}  // namespace trenode::ingest
