#include "node/ingest/csv_reader.h"
#include "node/ingest/read_ahead_csv_reader.h"

#include "adapters/memory/memory_object_store.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trenode::ingest {
namespace {

absl::StatusOr<std::vector<CsvRecord>> ReadAll(const std::string& text) {
  adapters::MemoryObjectStore store;
  EXPECT_TRUE(adapters::WriteObject(store, "t.csv", text).ok());
  CsvReader reader(*store.OpenRead("t.csv"), "t.csv");
  std::vector<CsvRecord> records;
  CsvRecord record;
  while (true) {
    absl::StatusOr<bool> more = reader.Next(record);
    if (!more.ok()) return more.status();
    if (!*more) return records;
    records.push_back(record);
  }
}

TEST(CsvReaderTest, ReadsQuotedFieldsAndLineNumbers) {
  auto records = ReadAll(
      "\xEF\xBB\xBF"
      "a,b,c\r\n1,\"x, \"\"y\"\"\",\r\n2,\"multi\nline\",z\n3,,\n");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 4u);
  EXPECT_EQ((*records)[0].fields, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ((*records)[1].fields, (std::vector<std::string>{"1", "x, \"y\"", ""}));
  EXPECT_EQ((*records)[1].line, 2);
  EXPECT_EQ((*records)[2].fields, (std::vector<std::string>{"2", "multi\nline", "z"}));
  EXPECT_EQ((*records)[2].line, 3);
  EXPECT_EQ((*records)[3].line, 5);
  EXPECT_EQ((*records)[3].fields, (std::vector<std::string>{"3", "", ""}));
}

// end_byte counts the input through each record's line end (the byte order
// mark, CRLF and quoted line breaks included), across read buffers.
TEST(CsvReaderTest, EndByteIsTheInputReadThroughEachRecord) {
  const std::string small = "\xEF\xBB\xBF" "a,b\r\n1,\"x\ny\"\r\n2,z";
  auto records = ReadAll(small);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 3u);
  EXPECT_EQ((*records)[0].end_byte, 3 + 5);
  EXPECT_EQ((*records)[1].end_byte, 3 + 5 + 9);
  EXPECT_EQ((*records)[2].end_byte, static_cast<int64_t>(small.size()));

  std::string large = "id,text\n";
  std::vector<int64_t> ends = {static_cast<int64_t>(large.size())};
  for (int i = 0; large.size() < (3u << 20); ++i) {
    absl::StrAppend(&large, i, ",", std::string(i % 300, 'x'), "\n");
    ends.push_back(static_cast<int64_t>(large.size()));
  }
  records = ReadAll(large);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), ends.size());
  for (size_t i = 0; i < ends.size(); ++i) {
    ASSERT_EQ((*records)[i].end_byte, ends[i]) << "record " << i;
  }
}

TEST(CsvReaderTest, LastLineWithoutNewline) {
  auto records = ReadAll("a,b\n1,2");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[1].fields, (std::vector<std::string>{"1", "2"}));
}

TEST(CsvReaderTest, MalformedQuotingNamesLineAndCharacter) {
  EXPECT_EQ(ReadAll("a\n\"open").status().message(),
            "t.csv line 2 character 1: quoted field is not closed before the end of the file");
  EXPECT_EQ(ReadAll("a,b\n1,x\"y\n").status().message(),
            "t.csv line 2 character 4: a quote inside an unquoted field (quote the whole field "
            "and double the quote)");
  EXPECT_EQ(ReadAll("a,b\n\"1\"x,2\n").status().message(),
            "t.csv line 2 character 4: text after the closing quote of a field");
}

TEST(CsvReaderTest, FieldsLargerThanAChunkAreWhole) {
  std::string big((1 << 20) - 1, 'q');  // spans the reader's 1 MiB chunks
  auto records = ReadAll("a\n" + big + "\n");
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ((*records)[1].fields[0], big);
  EXPECT_EQ(ReadAll("a\n" + big + "qq\n").status().message(),
            "t.csv line 2 character 1: field is longer than 1 MiB");
}

TEST(CsvReaderTest, BlankLinesAreMarked) {
  auto records = ReadAll("a\n\n\"\"\n");
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 3u);
  EXPECT_TRUE((*records)[1].blank);
  EXPECT_FALSE((*records)[2].blank);  // a quoted empty field is data
}

// A Latin-1 export is refused where it first goes wrong, so no text that
// protobuf cannot carry ever reaches a dataset (issue 12: "caf\xe9" in sex).
TEST(CsvReaderTest, TextThatIsNotUtf8IsRefusedWithItsPlace) {
  auto records = ReadAll("person_id,sex\nP1,F\nP2,caf\xe9\n");
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().message(),
            "t.csv line 3 character 7: byte 0xE9 is not valid UTF-8; save the file as UTF-8");
  EXPECT_TRUE(ReadAll("a\n\"caf\xc3\xa9\"\n").ok());
}

// One line of millions of commas is refused as soon as it has too many
// fields, not after parsing them all.
TEST(CsvReaderTest, ARecordOfTooManyFieldsIsRefused) {
  auto records = ReadAll(std::string(100000, ','));
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().message(),
            "t.csv line 1 character 2001: a record has more than 2000 fields");
}

// Plain runs of a field are taken at once: fields longer than the reader's
// read chunk (1 MiB), quoted or not, and lines and columns still counted
// across them.
TEST(CsvReaderTest, LongFieldsSpanReadChunks) {
  std::string big(400000, 'x');
  auto records = ReadAll(absl::StrCat(big, ",\"", big, "\n", big, "\"\nend,\"a\"b\n"));
  ASSERT_FALSE(records.ok());
  EXPECT_EQ(records.status().message(),
            "t.csv line 3 character 8: text after the closing quote of a field");
  records = ReadAll(absl::StrCat(big, ",\"", big, "\n", big, "\"\nend\n"));
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].fields[0], big);
  EXPECT_EQ((*records)[0].fields[1], absl::StrCat(big, "\n", big));
  EXPECT_EQ((*records)[1].line, 3);
}

std::string ManyLines(int lines) {
  std::string text;
  for (int i = 0; i < lines; ++i) absl::StrAppend(&text, "P", i, ",\"a,", i, "\"\n");
  return text;
}

// Read ahead on a thread: the same records, in order, as read directly, over
// many batches; an error after them comes after every good record.
TEST(ReadAheadCsvReaderTest, GivesExactlyWhatTheReaderGives) {
  const int lines = 3 * static_cast<int>(ReadAheadCsvReader::kBatchRecords) + 17;
  for (const std::string& text : {ManyLines(lines), ManyLines(lines) + "bad\"quote\n"}) {
    CsvReader direct = CsvReaderOf(text, "t.csv");
    ReadAheadCsvReader ahead(CsvReaderOf(text, "t.csv"));
    CsvRecord expected, got;
    int records = 0;
    while (true) {
      absl::StatusOr<bool> want = direct.Next(expected);
      absl::StatusOr<bool> have = ahead.Next(got);
      ASSERT_EQ(want.status(), have.status());
      if (!want.ok() || !*want) {
        ASSERT_EQ(want.ok() && !*want, have.ok() && !*have);
        break;
      }
      ASSERT_TRUE(*have);
      ASSERT_EQ(got.fields, expected.fields);
      ASSERT_EQ(got.line, expected.line);
      ++records;
    }
    EXPECT_EQ(records, lines);
  }
}

// A caller that stops early (the first bad row) does not wait for the rest.
TEST(ReadAheadCsvReaderTest, StopsWhenTheCallerStops) {
  ReadAheadCsvReader ahead(CsvReaderOf(ManyLines(200000), "t.csv"));
  CsvRecord record;
  ASSERT_TRUE(*ahead.Next(record));
  EXPECT_EQ(record.fields[0], "P0");
}

}  // namespace
}  // namespace trenode::ingest
