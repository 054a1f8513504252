#include "node/ingest/csv_reader.h"

#include "absl/strings/str_cat.h"
#include "node/common/status_macros.h"

namespace trenode::ingest {
namespace {
constexpr size_t kReadChunk = 1 << 20;
constexpr size_t kMaxFieldBytes = 1 << 20;
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
    ASSIGN_OR_RETURN(buffer_, input_->Read(kReadChunk));
    position_ = 0;
    if (buffer_.empty()) {
      at_end_ = true;
      return -1;
    }
  }
  return static_cast<unsigned char>(buffer_[position_++]);
}

absl::StatusOr<bool> CsvReader::Next(CsvRecord& record) {
  record.fields.clear();
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

  std::string field;
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
      if (!any) return false;
      record.fields.push_back(std::move(field));
      return true;
    }
    any = true;
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
      }
    } else if (c == ',') {
      record.fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
      field_column = column_ + 1;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r') {
        ASSIGN_OR_RETURN(int next, Get());
        if (next != '\n' && next != -1) --position_;
      }
      ++line_;
      record.blank = record.fields.empty() && field.empty() && !was_quoted;
      record.fields.push_back(std::move(field));
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
    }
    if (field.size() > kMaxFieldBytes)
      return Error(line_, field_column, "field is longer than 1 MiB");
  }
}

}  // namespace trenode::ingest
