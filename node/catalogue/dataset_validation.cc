#include "node/catalogue/dataset_validation.h"

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "node/common/dates.h"
#include "node/common/status_macros.h"

namespace trenode::catalogue {
namespace {
using trenode::v1::Dataset;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// An optional date: empty, or a valid one.
absl::Status ValidateOptionalDate(absl::string_view date, absl::string_view field) {
  return date.empty() ? absl::OkStatus() : ValidateDate(date, field);
}

absl::Status ValidateText(absl::string_view text, absl::string_view field, size_t max) {
  if (text.size() > max) {
    return Invalid(field, absl::StrCat("is ", text.size(), " bytes; at most ", max, " allowed"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateDatasetId(absl::string_view id) {
  if (id.size() < 2 || id.size() > 63 || !IsLowerAlnum(id.front())) {
    return Invalid("dataset.id", absl::StrCat("\"", id,
                                              "\" must be 2 to 63 characters of "
                                              "[a-z0-9-], starting with a letter or digit"));
  }
  for (char c : id) {
    if (!IsLowerAlnum(c) && c != '-') {
      return Invalid("dataset.id", absl::StrCat("\"", id, "\" may contain only a-z, 0-9 and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateSqlName(absl::string_view name, absl::string_view field) {
  bool ok = !name.empty() && name.size() <= 63 && name.front() >= 'a' && name.front() <= 'z';
  for (char c : name) ok = ok && (IsLowerAlnum(c) || c == '_');
  if (!ok || absl::StartsWith(name, "sqlite_")) {
    return Invalid(field, absl::StrCat("\"", name,
                                       "\" must be 1 to 63 characters of [a-z0-9_], "
                                       "starting with a letter, and not start with sqlite_"));
  }
  return absl::OkStatus();
}

absl::Status ValidateDescriptiveMetadata(const Dataset& dataset) {
  RETURN_IF_ERROR(ValidateDatasetId(dataset.id()));
  if (dataset.title().empty()) return Invalid("dataset.title", "is required");
  RETURN_IF_ERROR(ValidateText(dataset.title(), "dataset.title", 300));
  RETURN_IF_ERROR(ValidateText(dataset.description(), "dataset.description", 20000));
  RETURN_IF_ERROR(ValidateText(dataset.access_conditions(), "dataset.access_conditions", 20000));
  const std::string& email = dataset.custodian().email();
  if (!email.empty() &&
      (email.find('@') == std::string::npos || email.front() == '@' || email.back() == '@')) {
    return Invalid("dataset.custodian.email", absl::StrCat("\"", email, "\" is not an address"));
  }
  if (dataset.keywords_size() > 64) return Invalid("dataset.keywords", "at most 64 allowed");
  if (dataset.themes_size() > 64) return Invalid("dataset.themes", "at most 64 allowed");
  const auto& coverage = dataset.temporal_coverage();
  RETURN_IF_ERROR(
      ValidateOptionalDate(coverage.start_date(), "dataset.temporal_coverage.start_date"));
  RETURN_IF_ERROR(ValidateOptionalDate(coverage.end_date(), "dataset.temporal_coverage.end_date"));
  if (!coverage.start_date().empty() && !coverage.end_date().empty() &&
      coverage.start_date() > coverage.end_date()) {
    return Invalid("dataset.temporal_coverage", "start_date is after end_date");
  }

  std::set<std::string> tables;
  bool person_table_found = false;
  for (int t = 0; t < dataset.tables_size(); ++t) {
    const auto& table = dataset.tables(t);
    std::string table_field = absl::StrCat("dataset.tables[", t, "]");
    RETURN_IF_ERROR(ValidateSqlName(table.name(), absl::StrCat(table_field, ".name")));
    if (!tables.insert(table.name()).second) {
      return Invalid(table_field, absl::StrCat("table \"", table.name(), "\" appears twice"));
    }
    if (table.columns_size() == 0) {
      return Invalid(table_field, absl::StrCat("table \"", table.name(), "\" has no columns"));
    }
    std::set<std::string> columns;
    int person_keys = 0;
    for (int c = 0; c < table.columns_size(); ++c) {
      const auto& column = table.columns(c);
      std::string column_field = absl::StrCat(table_field, ".columns[", c, "]");
      RETURN_IF_ERROR(ValidateSqlName(column.name(), absl::StrCat(column_field, ".name")));
      if (!columns.insert(column.name()).second) {
        return Invalid(column_field, absl::StrCat("column \"", column.name(),
                                                  "\" appears twice in "
                                                  "table \"",
                                                  table.name(), "\""));
      }
      if (column.type() == trenode::v1::COLUMN_TYPE_UNSPECIFIED) {
        return Invalid(absl::StrCat(column_field, ".type"), "is required");
      }
      if (column.is_person_key()) ++person_keys;
    }
    if (person_keys > 1) {
      return Invalid(table_field, absl::StrCat("table \"", table.name(),
                                               "\" marks more than one person key column"));
    }
    if (table.name() == dataset.person_table()) {
      person_table_found = true;
      if (person_keys != 1) {
        return Invalid(table_field, absl::StrCat("person table \"", table.name(),
                                                 "\" must mark its person key column"));
      }
    }
  }
  if (dataset.tables_size() > 0 && !person_table_found) {
    return Invalid("dataset.person_table",
                   absl::StrCat("\"", dataset.person_table(), "\" is not one of the tables"));
  }
  return absl::OkStatus();
}

}  // namespace trenode::catalogue
