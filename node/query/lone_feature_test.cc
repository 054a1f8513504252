// LoneFeatureReader against SQLite's own MIN and MAX over the same rows:
// integers and reals mixed (equal ones, ones a double cannot tell apart),
// text, one row or many per person.
#include "node/query/lone_feature.h"

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/storage/sqlite.h"

namespace trenode::query {
namespace {

using storage::SqliteDb;
using storage::SqliteStatement;

std::unique_ptr<SqliteDb> EventsDb() {
  auto db = SqliteDb::Open(":memory:", SqliteDb::Mode::kReadWriteCreate);
  EXPECT_TRUE(db.ok()) << db.status();
  // No declared type: each value keeps the storage class it was given.
  EXPECT_TRUE((*db)->Exec("CREATE TABLE e (p INTEGER NOT NULL, v)").ok());
  return std::move(db).value();
}

// Every person's value from the reader and from SQLite's GROUP BY, alike.
void ExpectAsSqlite(SqliteDb& db, bool max) {
  auto grouped = db.Prepare(absl::StrCat("SELECT p, ", max ? "MAX" : "MIN",
                                         "(v) FROM e WHERE v IS NOT NULL GROUP BY p ORDER BY p"));
  ASSERT_TRUE(grouped.ok()) << grouped.status();
  auto rows = db.Prepare("SELECT p, v FROM e WHERE v IS NOT NULL ORDER BY p");
  ASSERT_TRUE(rows.ok()) << rows.status();
  LoneFeatureReader reader(std::move(rows).value(), max);
  for (int round = 0; round < 2; ++round) {  // and again after Rewind
    grouped->Rewind();
    reader.Rewind();
    int persons = 0;
    while (true) {
      auto expected = grouped->Step();
      ASSERT_TRUE(expected.ok()) << expected.status();
      auto next = reader.Next();
      ASSERT_TRUE(next.ok()) << next.status();
      ASSERT_EQ(*expected, *next);
      if (!*next) break;
      ++persons;
      EXPECT_EQ(grouped->Int64(0), reader.rowid());
      StoredValue want = ReadStoredValue(*grouped, 1);
      EXPECT_EQ(want.index(), reader.value().index()) << "person " << reader.rowid();
      EXPECT_TRUE(want == reader.value()) << "person " << reader.rowid();
    }
    EXPECT_GT(persons, 0);
  }
}

TEST(LoneFeatureReaderTest, MixedIntegersAndRealsAsSqliteMinAndMax) {
  auto db = EventsDb();
  // 2^53 + 1 is an integer no double holds: as a double it equals 2^53.
  ASSERT_TRUE(db->Exec("INSERT INTO e VALUES "
                       "(1, 5), (1, 5.0), (1, 4.5), "  // equal integer and real
                       "(2, 9007199254740993), (2, 9007199254740992.0), "
                       "(3, -1), (3, NULL), (3, -1.5), "
                       "(4, 7), "
                       "(5, 'text'), (5, 3), "  // text sorts above numbers
                       "(6, NULL), "            // no value: not a row
                       "(7, 2.0), (7, 2), (7, 1e300), (7, -1e300)")
                  .ok());
  ExpectAsSqlite(*db, /*max=*/true);
  ExpectAsSqlite(*db, /*max=*/false);
}

TEST(LoneFeatureReaderTest, RandomRowsInAnyOrderAsSqliteMinAndMax) {
  auto db = EventsDb();
  std::mt19937_64 random(42);
  auto insert = db->Prepare("INSERT INTO e VALUES (?1, ?2)");
  ASSERT_TRUE(insert.ok());
  for (int i = 0; i < 5000; ++i) {
    insert->Rewind();
    insert->Bind(1, static_cast<int64_t>(random() % 700));
    const int64_t whole = static_cast<int64_t>(random() % 50) - 25;
    if (random() % 2) {
      insert->Bind(2, whole);
    } else {
      insert->Bind(2, static_cast<double>(whole) + (random() % 3) * 0.5);
    }
    ASSERT_TRUE(insert->Run().ok());
  }
  ExpectAsSqlite(*db, /*max=*/true);
  ExpectAsSqlite(*db, /*max=*/false);
}

TEST(LoneFeatureReaderTest, RowsOutOfPersonOrderAreAnError) {
  auto db = EventsDb();
  ASSERT_TRUE(db->Exec("INSERT INTO e VALUES (2, 1), (1, 1)").ok());
  auto rows = db->Prepare("SELECT p, v FROM e ORDER BY rowid");
  ASSERT_TRUE(rows.ok());
  LoneFeatureReader reader(std::move(rows).value(), true);
  auto first = reader.Next();
  EXPECT_TRUE(absl::IsInternal(first.status())) << first.status();
}

}  // namespace
}  // namespace trenode::query
