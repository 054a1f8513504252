// The overlap ledger on a real SQLite file and the overlap audit over it:
// repeats of the same cell are read once, and nothing is missed for it.
#include "node/releases/ledger_store.h"

#include <map>
#include <numeric>
#include <random>
#include <set>

#include "gtest/gtest.h"
#include "node/releases/overlap_audit.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::releases {
namespace {

query::PersonSet Range(uint32_t from, uint32_t to) {
  query::PersonSet persons(to - from);
  std::iota(persons.begin(), persons.end(), from);
  return persons;
}

LedgerCell Cell(const std::string& release, const std::string& cell, query::PersonSet persons) {
  LedgerCell recorded;
  recorded.release_id = release;
  recorded.file = "by_sex.csv";
  recorded.cell = cell;
  recorded.persons = std::move(persons);
  return recorded;
}

// The real store, counting the persons it is asked to read.
class CountingLedger : public LedgerStore {
 public:
  explicit CountingLedger(LedgerStore& store) : store_(store) {}
  absl::Status Record(const std::string& project_id, const std::string& dataset_id,
                      const std::vector<LedgerCell>& cells) override {
    return store_.Record(project_id, dataset_id, cells);
  }
  absl::StatusOr<std::vector<LedgerEntry>> Standing(const std::string& dataset_id,
                                                    const std::string& except) override {
    return store_.Standing(dataset_id, except);
  }
  absl::StatusOr<std::vector<LedgerCell>> OfRelease(const std::string& release_id) override {
    return store_.OfRelease(release_id);
  }
  absl::StatusOr<query::PersonSet> Persons(int64_t id) override {
    ++persons_read;
    return store_.Persons(id);
  }
  absl::Status MarkSubmitted(const std::string& release_id) override {
    return store_.MarkSubmitted(release_id);
  }
  absl::Status MarkReleased(const std::string& release_id,
                            const std::set<std::string>& files) override {
    return store_.MarkReleased(release_id, files);
  }
  absl::Status MarkClosed(const std::string& release_id) override {
    return store_.MarkClosed(release_id);
  }
  int persons_read = 0;

 private:
  LedgerStore& store_;
};

class LedgerStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pool = storage::SqlitePool::Open(dir_.File("node.db"), 2,
                                          storage::NodeSchemaMigrations());
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = std::move(*pool);
    store_ = std::make_unique<SqliteLedgerStore>(pool_.get());
  }

  // Records `cells` as one release of dataset "d" and releases its file.
  void Release(const std::string& release, std::vector<LedgerCell> cells) {
    for (LedgerCell& cell : cells) cell.release_id = release;
    ASSERT_TRUE(store_->Record("p", "d", cells).ok());
    ASSERT_TRUE(store_->MarkReleased(release, {"by_sex.csv"}).ok());
  }

  std::vector<OverlapFinding> Audit(LedgerStore& ledger, const std::string& release) {
    auto cells = ledger.OfRelease(release);
    EXPECT_TRUE(cells.ok()) << cells.status();
    auto findings =
        AuditOverlap(ledger, "d", *cells, /*threshold=*/10, WithinRelease::kMagnitudes);
    EXPECT_TRUE(findings.ok()) << findings.status();
    return findings.ok() ? *findings : std::vector<OverlapFinding>{};
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::SqlitePool> pool_;
  std::unique_ptr<SqliteLedgerStore> store_;
};

TEST_F(LedgerStoreTest, EqualSetsHaveEqualDigestsAndOthersDoNot) {
  EXPECT_EQ(PersonsDigest(Range(0, 100)), PersonsDigest(Range(0, 100)));
  EXPECT_NE(PersonsDigest(Range(0, 100)), PersonsDigest(Range(0, 99)));
  EXPECT_NE(PersonsDigest(Range(0, 100)), PersonsDigest(Range(1, 101)));
  EXPECT_EQ(PersonsDigest(Range(0, 100)).size(), 32u);
}

TEST_F(LedgerStoreTest, StandingListsEachDistinctSetOnceFirstRecordedFirst) {
  for (int i = 0; i < 5; ++i) {
    Release(absl::StrCat("r-", i), {Cell("", "F", Range(0, 100)), Cell("", "M", Range(100, 180))});
  }
  Release("r-other", {Cell("", "F", Range(0, 95))});
  auto standing = store_->Standing("d", "r-new");
  ASSERT_TRUE(standing.ok()) << standing.status();
  ASSERT_EQ(standing->size(), 3u);
  // By size; each repeated set named by its first release.
  EXPECT_EQ((*standing)[0].cell, "M");
  EXPECT_EQ((*standing)[0].release_id, "r-0");
  EXPECT_EQ((*standing)[1].release_id, "r-other");
  EXPECT_EQ((*standing)[2].cell, "F");
  EXPECT_EQ((*standing)[2].release_id, "r-0");
  EXPECT_EQ((*standing)[2].digest, PersonsDigest(Range(0, 100)));
  // Leaving out the first release names the next one with the same set.
  auto without_first = store_->Standing("d", "r-0");
  ASSERT_TRUE(without_first.ok());
  ASSERT_EQ(without_first->size(), 3u);
  EXPECT_EQ((*without_first)[0].release_id, "r-1");
  // Closed releases do not stand.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->MarkClosed(absl::StrCat("r-", i)).ok());
  auto closed = store_->Standing("d", "r-new");
  ASSERT_TRUE(closed.ok());
  ASSERT_EQ(closed->size(), 1u);
  EXPECT_EQ((*closed)[0].release_id, "r-other");
}

TEST_F(LedgerStoreTest, ARepeatedCellIsNotReadAndATrackerOfItIsStillFound) {
  for (int i = 0; i < 20; ++i) Release(absl::StrCat("r-", i), {Cell("", "F", Range(0, 100))});
  ASSERT_TRUE(store_->Record("p", "d", {Cell("r-same", "F", Range(0, 100))}).ok());
  ASSERT_TRUE(store_->Record("p", "d", {Cell("r-tracker", "F", Range(0, 97))}).ok());
  CountingLedger counting(*store_);

  EXPECT_TRUE(Audit(counting, "r-same").empty());
  EXPECT_EQ(counting.persons_read, 0) << "the same set needs no reading";

  std::vector<OverlapFinding> findings = Audit(counting, "r-tracker");
  ASSERT_EQ(findings.size(), 1u) << "twenty releases of one set: one finding";
  EXPECT_EQ(findings[0].other_release, "r-0");
  EXPECT_EQ(findings[0].difference, 3);
  EXPECT_EQ(counting.persons_read, 1);
}

TEST_F(LedgerStoreTest, CellsRecordedWithoutADigestAreStillCompared) {
  Release("r-old-1", {Cell("", "F", Range(0, 100))});
  Release("r-old-2", {Cell("", "F", Range(0, 100))});
  ASSERT_TRUE(store_->Record("p", "d", {Cell("r-tracker", "F", Range(0, 98))}).ok());
  // As recorded before digests were kept.
  ASSERT_TRUE(pool_->Acquire()->Exec("UPDATE release_ledger SET digest = NULL").ok());
  auto standing = store_->Standing("d", "r-tracker");
  ASSERT_TRUE(standing.ok());
  EXPECT_EQ(standing->size(), 2u) << "without digests nothing is taken for the same";
  std::vector<OverlapFinding> findings = Audit(*store_, "r-tracker");
  ASSERT_EQ(findings.size(), 2u);
  EXPECT_EQ(findings[0].difference, 2);
}

TEST_F(LedgerStoreTest, ACellReadBackCarriesItsPersonsDigestAndSketchThroughStatusChanges) {
  const query::PersonSet big = Range(1000, 101000);
  ASSERT_TRUE(
      store_->Record("p", "d", {Cell("r-1", "F", big), Cell("r-1", "M", Range(0, 50))}).ok());
  ASSERT_TRUE(store_->MarkSubmitted("r-1").ok());
  ASSERT_TRUE(store_->MarkReleased("r-1", {"by_sex.csv"}).ok());
  auto cells = store_->OfRelease("r-1");
  ASSERT_TRUE(cells.ok()) << cells.status();
  ASSERT_EQ(cells->size(), 2u);
  EXPECT_EQ((*cells)[0].persons, big);
  EXPECT_EQ((*cells)[0].digest, PersonsDigest(big));
  ASSERT_TRUE((*cells)[0].sketch.has_value());
  EXPECT_EQ(*(*cells)[0].sketch, query::SketchOf(big));
  EXPECT_EQ((*cells)[1].persons, Range(0, 50));
  auto persons = store_->Persons((*cells)[0].id);
  ASSERT_TRUE(persons.ok()) << persons.status();
  EXPECT_EQ(*persons, big);
  // The cells' rows hold no sets: a change of status rewrites a few bytes.
  auto count = [&](const char* sql) -> int64_t {
    auto db = pool_->Acquire();
    auto select = db->Prepare(sql);
    EXPECT_TRUE(select.ok()) << select.status();
    if (!select.ok() || !select->Step().value_or(false)) return -1;
    return select->Int64(0);
  };
  EXPECT_LT(count("SELECT max(length(sketch) + length(digest) + length(cell)) FROM release_ledger"),
            200);
  // Recording the release again replaces its sets, leaving none behind.
  ASSERT_TRUE(store_->Record("p", "d", {Cell("r-1", "F", Range(0, 20))}).ok());
  EXPECT_EQ(count("SELECT count(*) FROM release_ledger_persons"), 1);
}

TEST_F(LedgerStoreTest, ACellWhosePersonsAreMissingIsAnErrorNotACellLeftOutOfTheAudit) {
  ASSERT_TRUE(store_->Record("p", "d", {Cell("r-1", "F", Range(0, 100))}).ok());
  ASSERT_TRUE(pool_->Acquire()->Exec("DELETE FROM release_ledger_persons").ok());
  auto cells = store_->OfRelease("r-1");
  ASSERT_FALSE(cells.ok());
  EXPECT_EQ(cells.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(cells.status().message().find("r-1"), std::string::npos) << cells.status();
}

// Standing skips from digest to digest; held here to its definition, read
// straight from the table, over ledgers of repeated sets in every status.
TEST_F(LedgerStoreTest, StandingIsEveryStandingSetsFirstCellAndEveryCellWithoutADigest) {
  std::mt19937 random(20261204);
  const std::vector<query::PersonSet> sets = {Range(0, 30), Range(0, 31), Range(5, 40),
                                              Range(100, 120), Range(7, 8)};
  for (int release = 0; release < 150; ++release) {
    const std::string id = absl::StrCat("r-", release);
    std::vector<LedgerCell> cells;
    for (int i = 0, n = 1 + static_cast<int>(random() % 3); i < n; ++i) {
      LedgerCell cell = Cell(id, absl::StrCat("c", i), sets[random() % sets.size()]);
      cell.file = random() % 2 ? "a.csv" : "b.csv";
      cells.push_back(std::move(cell));
    }
    const std::string dataset = random() % 4 == 0 ? "other" : "d";
    ASSERT_TRUE(store_->Record("p", dataset, cells).ok());
    switch (random() % 5) {
      case 0:
        break;  // drafted
      case 1:
        ASSERT_TRUE(store_->MarkSubmitted(id).ok());
        break;
      case 2:
        ASSERT_TRUE(store_->MarkReleased(id, {"a.csv"}).ok());
        break;
      case 3:
        ASSERT_TRUE(store_->MarkReleased(id, {"a.csv", "b.csv"}).ok());
        break;
      default:
        ASSERT_TRUE(store_->MarkClosed(id).ok());
        break;
    }
    if (random() % 10 == 0) {  // as recorded before digests were kept
      ASSERT_TRUE(pool_->Acquire()
                      ->Exec(absl::StrCat("UPDATE release_ledger SET digest = NULL WHERE "
                                          "release_id = '",
                                          id, "'"))
                      .ok());
    }
  }
  struct Row {
    int64_t id, size;
    std::string release, dataset, digest;
    int64_t status;
    bool has_digest;
  };
  std::vector<Row> rows;
  {
    auto db = pool_->Acquire();
    auto select = db->Prepare(
        "SELECT id, size, release_id, dataset_id, coalesce(digest, ''), status, "
        "digest IS NOT NULL FROM release_ledger");
    ASSERT_TRUE(select.ok());
    while (select->Step().value_or(false)) {
      rows.push_back({select->Int64(0), select->Int64(1), select->Text(2), select->Text(3),
                      select->Blob(4), select->Int64(5), select->Int64(6) != 0});
    }
  }
  std::vector<std::string> excepts = {"r-none"};
  for (int release = 0; release < 150; ++release) excepts.push_back(absl::StrCat("r-", release));
  for (const std::string& except : excepts) {
    std::map<std::string, int64_t> first;  // by digest
    std::set<int64_t> expected;
    for (const Row& row : rows) {
      if (row.dataset != "d" || (row.status != 1 && row.status != 2) || row.release == except) {
        continue;
      }
      if (!row.has_digest) {
        expected.insert(row.id);
      } else if (auto [it, inserted] = first.emplace(row.digest, row.id); !inserted) {
        it->second = std::min(it->second, row.id);
      }
    }
    for (const auto& [digest, id] : first) expected.insert(id);
    auto standing = store_->Standing("d", except);
    ASSERT_TRUE(standing.ok()) << standing.status();
    std::set<int64_t> got;
    for (size_t i = 0; i < standing->size(); ++i) {
      got.insert((*standing)[i].id);
      if (i > 0) {
        EXPECT_LE((*standing)[i - 1].size, (*standing)[i].size) << "by size";
      }
    }
    EXPECT_EQ(got.size(), standing->size()) << "each cell once";
    EXPECT_EQ(got, expected) << "except " << except;
  }
}

TEST(LedgerMigrationTest, CellsRecordedBeforeTheSetsMovedKeepTheirPersons) {
  testing::TempDir dir;
  auto before = storage::NodeSchemaMigrations().first(22);
  {
    auto pool = storage::SqlitePool::Open(dir.File("node.db"), 1, before);
    ASSERT_TRUE(pool.ok()) << pool.status();
    auto db = (*pool)->Acquire();
    auto insert = db->Prepare(
        "INSERT INTO release_ledger(id, project_id, dataset_id, release_id, file, cell, kind, "
        "size, perturbed, status, sketch, persons, digest) "
        "VALUES (7, 'p', 'd', 'r-old', 'by_sex.csv', 'F', 0, 3, 0, 1, ?, ?, ?)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    const query::PersonSet old = {4, 9, 200};
    insert->BindBlob(1, query::EncodeSketch(query::SketchOf(old)))
        .BindBlob(2, query::EncodePersons(old))
        .BindBlob(3, PersonsDigest(old));
    ASSERT_TRUE(insert->Run().ok());
  }
  auto pool = storage::SqlitePool::Open(dir.File("node.db"), 1, storage::NodeSchemaMigrations());
  ASSERT_TRUE(pool.ok()) << pool.status();
  SqliteLedgerStore store(pool->get());
  auto persons = store.Persons(7);
  ASSERT_TRUE(persons.ok()) << persons.status();
  EXPECT_EQ(*persons, (query::PersonSet{4, 9, 200}));
  auto cells = store.OfRelease("r-old");
  ASSERT_TRUE(cells.ok()) << cells.status();
  ASSERT_EQ(cells->size(), 1u);
  EXPECT_EQ((*cells)[0].persons, (query::PersonSet{4, 9, 200}));
  auto standing = store.Standing("d", "r-new");
  ASSERT_TRUE(standing.ok());
  ASSERT_EQ(standing->size(), 1u);
  EXPECT_EQ((*standing)[0].size, 3);
}

}  // namespace
}  // namespace trenode::releases
