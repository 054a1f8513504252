#include "node/catalogue/catalogue.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "adapters/object_files.h"
#include "google/protobuf/util/time_util.h"
#include "node/catalogue/dataset_validation.h"
#include "node/catalogue/page_token.h"
#include "node/catalogue/population_band.h"
#include "node/common/dates.h"
#include "node/common/status_macros.h"

namespace trenode::catalogue {
namespace {

// Who is searching, as the store keeps rankings for: a person of this node,
// a person of a partner (subject@home), a node or a service.
std::string SearcherOf(const auth::Principal& caller) {
  return absl::StrCat(static_cast<int>(caller.kind), ":", caller.subject, "@", caller.home_node);
}
using google::protobuf::util::TimeUtil;
using trenode::v1::Dataset;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kMaxSearchWords = 20;
constexpr size_t kMaxWordBytes = 64;
constexpr size_t kMaxReasonBytes = 2000;

bool IsSteward(const auth::Principal& caller) {
  return caller.role == trenode::v1::ROLE_DATA_STEWARD;
}

Dataset VisibleTo(const auth::Principal& caller, Dataset dataset) {
  if (!IsSteward(caller)) dataset.clear_steward();
  return dataset;
}

absl::StatusOr<int> PageSize(int requested) {
  if (requested == 0) return kDefaultPageSize;
  if (requested < 0 || requested > kMaxPageSize) {
    return absl::InvalidArgumentError(absl::StrCat("page_size ", requested,
                                                   " is out of range: use 1 to ", kMaxPageSize,
                                                   ", or 0 for ", kDefaultPageSize));
  }
  return requested;
}

absl::Status CheckIncludeRetired(const auth::Principal& caller, bool include_retired) {
  if (include_retired && !IsSteward(caller)) {
    return absl::PermissionDeniedError("include_retired is for data stewards only");
  }
  return absl::OkStatus();
}

// Clears what the node assigns and fills defaults, so that what is stored
// depends only on what the steward said.
void NormalizeInput(Dataset& dataset) {
  dataset.clear_version();
  dataset.clear_state();
  dataset.clear_population();
  dataset.clear_issued();
  dataset.clear_modified();
  dataset.clear_retirement_reason();
  if (dataset.person_table().empty() && dataset.tables_size() > 0) {
    dataset.set_person_table("person");
  }
}

absl::Status ValidateStewardDetails(const Dataset& dataset) {
  if (!dataset.has_steward() || dataset.steward().storage_location().empty()) {
    return absl::InvalidArgumentError(
        "dataset.steward.storage_location: is required (the object store key of the data)");
  }
  if (absl::Status s = adapters::ValidateObjectKey(dataset.steward().storage_location()); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dataset.steward.storage_location: ", s.message()));
  }
  if (dataset.steward().exact_person_count() < 0) {
    return absl::InvalidArgumentError("dataset.steward.exact_person_count: must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<SearchWord>> ParseSearchQuery(absl::string_view query) {
  std::vector<SearchWord> words;
  size_t i = 0;
  while (i < query.size()) {
    auto is_word_byte = [](unsigned char c) { return absl::ascii_isalnum(c) || c >= 0x80; };
    if (!is_word_byte(query[i])) {
      ++i;
      continue;
    }
    SearchWord word;
    while (i < query.size() && is_word_byte(query[i])) {
      word.text += absl::ascii_tolower(query[i]);
      ++i;
    }
    if (i < query.size() && query[i] == '*') word.prefix = true;
    if (word.text.size() > kMaxWordBytes) {
      return absl::InvalidArgumentError(absl::StrCat("query: the word \"", word.text.substr(0, 20),
                                                     "...\" is longer than ", kMaxWordBytes,
                                                     " bytes"));
    }
    words.push_back(std::move(word));
  }
  if (words.empty()) {
    return absl::InvalidArgumentError("query: has no words to search for");
  }
  if (words.size() > kMaxSearchWords) {
    return absl::InvalidArgumentError(
        absl::StrCat("query: has ", words.size(), " words; at most ", kMaxSearchWords));
  }
  return words;
}

absl::Status Catalogue::RecordDataHash(Dataset& dataset) {
  absl::StatusOr<std::string> sha256 =
      adapters::Sha256OfObject(*objects_, dataset.steward().storage_location());
  if (sha256.status().code() == absl::StatusCode::kNotFound) {
    return absl::FailedPreconditionError(absl::StrCat(
        "dataset.steward.storage_location: no object at \"", dataset.steward().storage_location(),
        "\" in the node's object store; import the data first or correct the location"));
  }
  if (!sha256.ok()) return sha256.status();
  dataset.mutable_steward()->set_sha256(*sha256);
  return absl::OkStatus();
}

absl::StatusOr<Dataset> Catalogue::Register(const auth::Principal& caller, Dataset dataset) {
  return Publish(caller, std::move(dataset), 0);
}

absl::StatusOr<Dataset> Catalogue::Publish(const auth::Principal& caller, Dataset dataset,
                                           int64_t expected_version) {
  if (expected_version != 0) return Update(caller, std::move(dataset), expected_version);
  NormalizeInput(dataset);
  RETURN_IF_ERROR(ValidateDescriptiveMetadata(dataset));
  RETURN_IF_ERROR(ValidateStewardDetails(dataset));
  RETURN_IF_ERROR(RecordDataHash(dataset));
  dataset.set_version(1);
  *dataset.mutable_population() = PopulationBandFor(dataset.steward().exact_person_count());
  *dataset.mutable_issued() = ToTimestamp(clock_());
  *dataset.mutable_modified() = dataset.issued();
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("catalogue.dataset.register", absl::StrCat("dataset/", dataset.id()), "",
                       "version 1"),
      [&] { return store_->Create(dataset); }));
  return Get(caller, dataset.id(), 1);
}

absl::StatusOr<Dataset> Catalogue::Update(const auth::Principal& caller, Dataset dataset,
                                          int64_t expected_version) {
  NormalizeInput(dataset);
  RETURN_IF_ERROR(ValidateDescriptiveMetadata(dataset));
  if (expected_version <= 0) {
    return absl::InvalidArgumentError(
        "expected_version: is required (the version you are replacing, from GetDataset)");
  }
  ASSIGN_OR_RETURN(Dataset current, store_->Get(dataset.id(), 0));
  if (!dataset.has_steward() || dataset.steward().storage_location().empty()) {
    *dataset.mutable_steward() = current.steward();
  } else {
    RETURN_IF_ERROR(ValidateStewardDetails(dataset));
    RETURN_IF_ERROR(RecordDataHash(dataset));
  }
  dataset.set_version(expected_version + 1);
  *dataset.mutable_population() = PopulationBandFor(dataset.steward().exact_person_count());
  *dataset.mutable_modified() = ToTimestamp(clock_());
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("catalogue.dataset.update", absl::StrCat("dataset/", dataset.id()), "",
                       absl::StrCat("version ", dataset.version())),
      [&] { return store_->AddVersion(dataset); }));
  // The same data file as the version it replaces: the same row counts
  // (best effort; without them the first estimate reads the file).
  if (dataset.steward().storage_location() == current.steward().storage_location() &&
      dataset.steward().sha256() == current.steward().sha256()) {
    absl::StatusOr<TableRows> rows = store_->GetTableRows(current.id(), current.version());
    if (rows.ok()) store_->PutTableRows(dataset.id(), dataset.version(), *rows).IgnoreError();
  }
  if (on_dataset_changed_) on_dataset_changed_(dataset.id());
  return Get(caller, dataset.id(), dataset.version());
}

absl::StatusOr<Dataset> Catalogue::Retire(const auth::Principal& caller, const std::string& id,
                                          const std::string& reason) {
  RETURN_IF_ERROR(ValidateDatasetId(id));
  if (reason.empty()) return absl::InvalidArgumentError("reason: is required");
  if (reason.size() > kMaxReasonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason: is ", reason.size(), " bytes; at most ", kMaxReasonBytes));
  }
  RETURN_IF_ERROR(log::RecordedChange(
      events_, caller,
      log::ChangeEvent("catalogue.dataset.retire", absl::StrCat("dataset/", id), "", reason),
      [&] { return store_->Retire(id, reason, clock_()); }));
  if (on_dataset_changed_) on_dataset_changed_(id);
  return Get(caller, id, 0);
}

absl::StatusOr<Dataset> Catalogue::Get(const auth::Principal& caller, const std::string& id,
                                       int64_t version) {
  RETURN_IF_ERROR(ValidateDatasetId(id));
  if (version < 0) return absl::InvalidArgumentError("version: must be 0 (latest) or positive");
  ASSIGN_OR_RETURN(Dataset dataset, store_->Get(id, version));
  if (dataset.state() == trenode::v1::DATASET_STATE_RETIRED && !IsSteward(caller)) {
    return absl::NotFoundError(absl::StrCat("no dataset \"", id, "\""));
  }
  return VisibleTo(caller, std::move(dataset));
}

absl::StatusOr<trenode::v1::ListDatasetsResponse> Catalogue::List(
    const auth::Principal& caller, const trenode::v1::ListDatasetsRequest& request) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  RETURN_IF_ERROR(CheckIncludeRetired(caller, request.include_retired()));
  std::string after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(after, DecodeListToken(request.page_token(), request.include_retired()));
  }
  // One extra row tells whether another page follows.
  ASSIGN_OR_RETURN(std::vector<Dataset> rows,
                   store_->List(after, request.include_retired(), page_size + 1));
  trenode::v1::ListDatasetsResponse response;
  bool more = static_cast<int>(rows.size()) > page_size;
  if (more) rows.pop_back();
  for (Dataset& dataset : rows) *response.add_datasets() = VisibleTo(caller, std::move(dataset));
  if (more) {
    response.set_next_page_token(
        EncodeListToken(request.include_retired(), response.datasets().rbegin()->id()));
  }
  return response;
}

absl::StatusOr<trenode::v1::SearchDatasetsResponse> Catalogue::Search(
    const auth::Principal& caller, const trenode::v1::SearchDatasetsRequest& request) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  RETURN_IF_ERROR(CheckIncludeRetired(caller, request.include_retired()));
  ASSIGN_OR_RETURN(std::vector<SearchWord> words, ParseSearchQuery(request.query()));
  std::string fingerprint = request.include_retired() ? "r" : "a";
  for (const SearchWord& word : words)
    absl::StrAppend(&fingerprint, " ", word.text, word.prefix ? "*" : "");
  std::optional<SearchCursor> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(after, DecodeSearchToken(request.page_token(), fingerprint));
  }
  ASSIGN_OR_RETURN(std::vector<ScoredDataset> rows,
                   store_->Search(SearcherOf(caller), words, request.include_retired(), after,
                                  page_size + 1));
  trenode::v1::SearchDatasetsResponse response;
  bool more = static_cast<int>(rows.size()) > page_size;
  if (more) rows.pop_back();
  for (ScoredDataset& row : rows) {
    auto* hit = response.add_hits();
    *hit->mutable_dataset() = VisibleTo(caller, std::move(row.dataset));
    hit->set_score(row.score);
  }
  if (more) {
    response.set_next_page_token(EncodeSearchToken(
        fingerprint, {rows.back().score, response.hits().rbegin()->dataset().id()}));
  }
  return response;
}

}  // namespace trenode::catalogue
