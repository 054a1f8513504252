#include "node/ingest/csv_reader.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/common/status_macros.h"
#include "node/common/text.h"

namespace trenode::ingest {
namespace {
constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kMaxFieldBytes = 1 << 20;
constexpr size_t kMaxFields = 2000;
}  // namespace

CsvReader::CsvReader(std::unique_ptr<adapters::ObjectReader> input, std::string file_name)
    : input_(std::move(input)), file_name_(std::move(file_name)) {}

absl::Status CsvReader::Error(int64_t line, int64_t column, absl::string_view problem) const {
  return absl::InvalidArgumentError(
      absl::StrCat(file_name_, " line ", line, " character ", column, ": ", problem));
}

absl::StatusOr<int> CsvReader::Get() {
  if (position_ == buffer_.size()) {
    if (at_end_) return -1;
    consumed_before_buffer_ += static_cast<int64_t>(buffer_.size());
    ASSIGN_OR_RETURN(buffer_, input_->Read(kReadChunk));
    position_ = 0;
    if (buffer_.empty()) {
      at_end_ = true;
      return -1;
    }
  }
  return static_cast<unsigned char>(buffer_[position_++]);
}

absl::Status CsvReader::EndField(CsvRecord& record, int64_t line, int64_t column) {
  const std::string& field = record.fields[fields_];
  // Nearly every field is ASCII: one branch-free sweep, then the full check
  // only for a field with a byte above 0x7F.
  unsigned char high = 0;
  for (char c : field) high |= static_cast<unsigned char>(c);
  if (high >= 0x80) {
    if (size_t bad = FirstInvalidUtf8(field); bad != std::string::npos) {
      return Error(line, column + static_cast<int64_t>(bad),
                   absl::StrFormat("byte 0x%02X is not valid UTF-8; save the file as UTF-8",
                                   static_cast<unsigned char>(field[bad])));
    }
  }
  if (fields_ >= kMaxFields) {
    return Error(line, column, absl::StrCat("a record has more than ", kMaxFields, " fields"));
  }
  ++fields_;
  return absl::OkStatus();
}

std::string& CsvReader::Field(CsvRecord& record) {
  if (record.fields.size() <= fields_) record.fields.resize(fields_ + 1);
  return record.fields[fields_];
}

void CsvReader::TakeRun(std::string& field, absl::string_view stops) {
  size_t end = position_;
  while (end < buffer_.size() && stops.find(buffer_[end]) == absl::string_view::npos) ++end;
  field.append(buffer_, position_, end - position_);
  column_ += static_cast<int64_t>(end - position_);
  position_ = end;
}

absl::StatusOr<bool> CsvReader::Next(CsvRecord& record) {
  // The record's strings are reused (their capacity kept): a caller that
  // passes the same record each time allocates nothing per field.
  fields_ = 0;
  record.blank = false;
  record.line = line_;
  if (!started_) {
    started_ = true;
    // Skip a UTF-8 byte order mark.
    ASSIGN_OR_RETURN(int first, Get());
    if (first == 0xEF) {
      ASSIGN_OR_RETURN(int b2, Get());
      ASSIGN_OR_RETURN(int b3, Get());
      if (b2 != 0xBB || b3 != 0xBF) return Error(1, 1, "file starts with an invalid byte");
    } else if (first != -1) {
      --position_;
    }
  }

  Field(record).clear();
  bool quoted = false;      // inside a quoted field
  bool was_quoted = false;  // the current field was quoted and has closed
  bool any = false;         // anything read for this record
  int64_t field_column = 1;
  column_ = 0;
  while (true) {
    ASSIGN_OR_RETURN(int c, Get());
    ++column_;
    if (c == -1) {
      if (quoted)
        return Error(line_, field_column, "quoted field is not closed before the end of the file");
      if (!any) {
        record.fields.clear();
        return false;
      }
      RETURN_IF_ERROR(EndField(record, line_, field_column));
      record.fields.resize(fields_);
      record.end_byte = consumed_before_buffer_ + static_cast<int64_t>(position_);
      return true;
    }
    any = true;
    std::string& field = record.fields[fields_];
    if (quoted) {
      if (c == '"') {
        ASSIGN_OR_RETURN(int next, Get());
        if (next == '"') {
          field += '"';
          ++column_;
        } else {
          quoted = false;
          was_quoted = true;
          if (next != -1) --position_;
        }
      } else {
        if (c == '\n') {
          ++line_;
          column_ = 0;
        }
        field += static_cast<char>(c);
        TakeRun(field, "\"\n");
      }
    } else if (c == ',') {
      RETURN_IF_ERROR(EndField(record, line_, field_column));
      Field(record).clear();
      was_quoted = false;
      field_column = column_ + 1;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r') {
        ASSIGN_OR_RETURN(int next, Get());
        if (next != '\n' && next != -1) --position_;
      }
      record.blank = fields_ == 0 && field.empty() && !was_quoted;
      RETURN_IF_ERROR(EndField(record, line_, field_column));
      record.fields.resize(fields_);
      record.end_byte = consumed_before_buffer_ + static_cast<int64_t>(position_);
      ++line_;
      return true;
    } else if (c == '"') {
      if (!field.empty() || was_quoted) {
        return Error(
            line_, column_,
            "a quote inside an unquoted field (quote the whole field and double the quote)");
      }
      quoted = true;
    } else {
      if (was_quoted) return Error(line_, column_, "text after the closing quote of a field");
      field += static_cast<char>(c);
      TakeRun(field, ",\n\r\"");
    }
    if (record.fields[fields_].size() > kMaxFieldBytes)
      return Error(line_, field_column, "field is longer than 1 MiB");
  }
}

namespace {
// Serves `text` (owned) in pieces of at most `max_bytes`.
class StringReader : public adapters::ObjectReader {
 public:
  explicit StringReader(std::string text) : text_(std::move(text)) {}
  absl::StatusOr<std::string> Read(size_t max_bytes) override {
    std::string piece = text_.substr(position_, max_bytes);
    position_ += piece.size();
    return piece;
  }

 private:
  std::string text_;
  size_t position_ = 0;
};
}  // namespace

CsvReader CsvReaderOf(absl::string_view text, std::string file_name) {
  return CsvReader(std::make_unique<StringReader>(std::string(text)), std::move(file_name));
}

}  // namespace trenode::ingest
