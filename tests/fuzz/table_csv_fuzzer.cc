// Disclosure tables in CSV, as `trectl disclosure check` and the release of a
// script's *.counts.csv / *.magnitude.csv read them; each input is read both
// as counts and as magnitudes, then checked against the ACRO policy as every
// caller does next. A parsed table is rectangular, has rows, no "Total" row,
// counts >= 0, and one contribution per contributor; and the release's
// results.json built from it is JSON in UTF-8.

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "node/disclosure/acro_results.h"
#include "node/disclosure/policy.h"
#include "node/disclosure/table.h"
#include "node/releases/table_csv.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/utf8.h"

namespace {

void Check(absl::string_view csv, bool magnitude) {
  static const trenode::disclosure::Policy* acro =
      new trenode::disclosure::Policy(*trenode::disclosure::Preset("acro"));
  absl::StatusOr<trenode::disclosure::Table> table =
      trenode::releases::ParseTableCsv(csv, magnitude, "fuzz.csv");
  if (!table.ok()) {
    FUZZ_CHECK(table.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  FUZZ_CHECK(!table->row_labels.empty() && !table->column_labels.empty());
  FUZZ_CHECK(table->cells.size() == table->row_labels.size() * table->column_labels.size());
  for (const std::string& row : table->row_labels) FUZZ_CHECK(row != "Total");
  for (const trenode::disclosure::CellFacts& cell : table->cells) {
    FUZZ_CHECK(cell.magnitude == magnitude);
    FUZZ_CHECK(cell.contributors >= 0);
    if (magnitude) {
      FUZZ_CHECK(static_cast<size_t>(cell.contributors) == cell.largest.size());
    }
  }
  trenode::disclosure::TableVerdict verdict = trenode::disclosure::CheckTable(*table, *acro);
  FUZZ_CHECK(verdict.cells.size() == table->cells.size());
  std::string json = trenode::disclosure::AcroResultsJson(
      {{"output_0", "table", "fuzz.csv", &*table, &verdict}}, absl::UnixEpoch());
  FUZZ_CHECK(trenode::fuzz::IsUtf8(json));
  google::protobuf::Struct parsed;
  FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(json, &parsed).ok());
}

}  // namespace

TRENODE_FUZZ_TARGET(table_csv) {
  absl::string_view csv(reinterpret_cast<const char*>(data), size);
  Check(csv, /*magnitude=*/false);
  Check(csv, /*magnitude=*/true);
  return 0;
}
