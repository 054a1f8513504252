#include "node/catalogue/catalogue.h"

#include <set>

#include "absl/strings/match.h"
#include "adapters/memory/memory_object_store.h"
#include "gtest/gtest.h"
#include "node/catalogue/sqlite_catalogue_store.h"
#include "node/storage/node_schema.h"
#include "tests/testutil/datasets.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::catalogue {
namespace {
using trenode::v1::Dataset;

const auth::Principal kSteward{"steward@site", trenode::v1::ROLE_DATA_STEWARD};
const auth::Principal kResearcher{"ada@site", trenode::v1::ROLE_RESEARCHER};
const auth::Principal kPeer{"node-b", trenode::v1::ROLE_PEER_NODE};

class CatalogueTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    catalogue_.reset();
    store_.reset();
    pool_.reset();
    pool_ = *storage::SqlitePool::Open(dir_.File("node.db"), 2, storage::NodeSchemaMigrations());
    store_ = std::make_unique<SqliteCatalogueStore>(pool_.get());
    catalogue_ = std::make_unique<Catalogue>(store_.get(), &objects_, [this] { return now_; });
  }

  Dataset RegisterSample(const std::string& id, const std::string& title,
                         const std::string& description = "") {
    Dataset d = testing::SampleDataset(id, title, description);
    EXPECT_TRUE(adapters::WriteObject(objects_, d.steward().storage_location(), "data").ok());
    auto registered = catalogue_->Register(kSteward, d);
    EXPECT_TRUE(registered.ok()) << registered.status();
    return registered.ok() ? *registered : Dataset();
  }

  std::vector<std::string> SearchIds(const std::string& query) {
    trenode::v1::SearchDatasetsRequest request;
    request.set_query(query);
    auto response = catalogue_->Search(kResearcher, request);
    EXPECT_TRUE(response.ok()) << response.status();
    std::vector<std::string> ids;
    if (response.ok()) {
      for (const auto& hit : response->hits()) ids.push_back(hit.dataset().id());
    }
    return ids;
  }

  testing::TempDir dir_;
  adapters::MemoryObjectStore objects_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::unique_ptr<storage::SqlitePool> pool_;
  std::unique_ptr<SqliteCatalogueStore> store_;
  std::unique_ptr<Catalogue> catalogue_;
};

TEST_F(CatalogueTest, RegisterAssignsVersionStateBandAndTimes) {
  Dataset d = RegisterSample("hf-cohort", "Heart failure cohort");
  EXPECT_EQ(d.version(), 1);
  EXPECT_EQ(d.state(), trenode::v1::DATASET_STATE_ACTIVE);
  EXPECT_EQ(d.population().label(), "1,000 to 9,999");
  EXPECT_EQ(d.issued().seconds(), 1'800'000'000);
  EXPECT_EQ(d.modified().seconds(), 1'800'000'000);
  EXPECT_EQ(d.steward().storage_location(), "datasets/hf-cohort/v1/data.sqlite");
}

TEST_F(CatalogueTest, NodeAssignedFieldsInTheRequestAreIgnored) {
  Dataset d = testing::SampleDataset("sneaky", "Sneaky");
  ASSERT_TRUE(adapters::WriteObject(objects_, d.steward().storage_location(), "x").ok());
  d.set_version(99);
  d.set_state(trenode::v1::DATASET_STATE_RETIRED);
  d.mutable_population()->set_label("exactly 7");
  auto registered = catalogue_->Register(kSteward, d);
  ASSERT_TRUE(registered.ok());
  EXPECT_EQ(registered->version(), 1);
  EXPECT_EQ(registered->state(), trenode::v1::DATASET_STATE_ACTIVE);
  EXPECT_EQ(registered->population().label(), "1,000 to 9,999");
}

TEST_F(CatalogueTest, StorageLocationIsForStewardsOnly) {
  RegisterSample("hf-cohort", "Heart failure cohort");
  for (const auth::Principal& viewer : {kResearcher, kPeer}) {
    auto seen = catalogue_->Get(viewer, "hf-cohort", 0);
    ASSERT_TRUE(seen.ok());
    EXPECT_FALSE(seen->has_steward()) << viewer.subject;
    EXPECT_EQ(seen->title(), "Heart failure cohort");
    trenode::v1::ListDatasetsRequest list;
    EXPECT_FALSE(catalogue_->List(viewer, list)->datasets(0).has_steward());
    trenode::v1::SearchDatasetsRequest search;
    search.set_query("heart");
    EXPECT_FALSE(catalogue_->Search(viewer, search)->hits(0).dataset().has_steward());
  }
  EXPECT_EQ(catalogue_->Get(kSteward, "hf-cohort", 0)->steward().exact_person_count(), 1234);
}

TEST_F(CatalogueTest, RegisterRefusesMissingDataTakenIdsAndBadMetadata) {
  Dataset d = testing::SampleDataset("no-data", "No data yet");
  auto missing = catalogue_->Register(kSteward, d);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(missing.status().message().find("no object at \"datasets/no-data/v1/data.sqlite\""),
            absl::string_view::npos);

  RegisterSample("taken", "First");
  EXPECT_EQ(
      catalogue_->Register(kSteward, testing::SampleDataset("taken", "Second")).status().code(),
      absl::StatusCode::kAlreadyExists);

  Dataset escaping = testing::SampleDataset("escape", "Escape");
  escaping.mutable_steward()->set_storage_location("../../etc/passwd");
  EXPECT_EQ(catalogue_->Register(kSteward, escaping).status().code(),
            absl::StatusCode::kInvalidArgument);
  Dataset untitled = testing::SampleDataset("untitled", "");
  EXPECT_EQ(catalogue_->Register(kSteward, untitled).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CatalogueTest, UpdateAddsAVersionAndKeepsTheOldOne) {
  Dataset v1 = RegisterSample("hf-cohort", "Heart failure cohort");
  now_ += absl::Hours(1);
  Dataset changed = v1;
  changed.set_title("Heart failure cohort (2024 refresh)");
  changed.clear_steward();  // keep the current location
  auto v2 = catalogue_->Update(kSteward, changed, 1);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->version(), 2);
  EXPECT_EQ(v2->issued().seconds(), 1'800'000'000);
  EXPECT_EQ(v2->modified().seconds(), 1'800'003'600);
  EXPECT_EQ(v2->steward().storage_location(), v1.steward().storage_location());

  EXPECT_EQ(catalogue_->Get(kResearcher, "hf-cohort", 1)->title(), "Heart failure cohort");
  EXPECT_EQ(catalogue_->Get(kResearcher, "hf-cohort", 0)->title(),
            "Heart failure cohort (2024 refresh)");
  EXPECT_EQ(catalogue_->Get(kResearcher, "hf-cohort", 3).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(CatalogueTest, ConcurrentEditorsCannotOverwriteEachOther) {
  Dataset v1 = RegisterSample("hf-cohort", "Heart failure cohort");
  ASSERT_TRUE(catalogue_->Update(kSteward, v1, 1).ok());
  auto stale = catalogue_->Update(kSteward, v1, 1);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_NE(stale.status().message().find("is at version 2, not 1"), absl::string_view::npos);
  EXPECT_EQ(catalogue_->Update(kSteward, v1, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(catalogue_->Update(kSteward, testing::SampleDataset("absent", "x"), 1).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(CatalogueTest, RetiredDatasetsAreHiddenFromAllButStewards) {
  RegisterSample("old-data", "Old heart data");
  RegisterSample("new-data", "New heart data");
  EXPECT_EQ(catalogue_->Retire(kSteward, "old-data", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto retired = catalogue_->Retire(kSteward, "old-data", "superseded by new-data");
  ASSERT_TRUE(retired.ok());
  EXPECT_EQ(retired->state(), trenode::v1::DATASET_STATE_RETIRED);
  EXPECT_EQ(retired->retirement_reason(), "superseded by new-data");

  EXPECT_EQ(catalogue_->Get(kResearcher, "old-data", 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(SearchIds("heart"), std::vector<std::string>{"new-data"});
  trenode::v1::ListDatasetsRequest list;
  EXPECT_EQ(catalogue_->List(kResearcher, list)->datasets_size(), 1);
  list.set_include_retired(true);
  EXPECT_EQ(catalogue_->List(kResearcher, list).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(catalogue_->List(kSteward, list)->datasets_size(), 2);

  EXPECT_EQ(catalogue_->Retire(kSteward, "old-data", "again").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      catalogue_->Update(kSteward, testing::SampleDataset("old-data", "x"), 1).status().code(),
      absl::StatusCode::kFailedPrecondition);
}

// StateOf, read on every analysis and release, says what Get says of the
// state through registration, a new version and retirement.
TEST_F(CatalogueTest, StateOfIsTheStateGetGives) {
  EXPECT_EQ(store_->StateOf("later").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->StateOf("later").status().message(),
            store_->Get("later", 0).status().message());
  RegisterSample("later", "Later heart data");
  auto state_and_get = [&] {
    absl::StatusOr<trenode::v1::DatasetState> state = store_->StateOf("later");
    absl::StatusOr<Dataset> got = store_->Get("later", 0);
    EXPECT_TRUE(state.ok() && got.ok());
    return std::make_pair(*state, got->state());
  };
  auto [active, active_get] = state_and_get();
  EXPECT_EQ(active, trenode::v1::DATASET_STATE_ACTIVE);
  EXPECT_EQ(active, active_get);
  ASSERT_TRUE(
      catalogue_->Update(kSteward, testing::SampleDataset("later", "Later heart data, v2"), 1)
          .ok());
  EXPECT_EQ(state_and_get().first, trenode::v1::DATASET_STATE_ACTIVE);
  ASSERT_TRUE(catalogue_->Retire(kSteward, "later", "withdrawn by its source").ok());
  auto [retired, retired_get] = state_and_get();
  EXPECT_EQ(retired, trenode::v1::DATASET_STATE_RETIRED);
  EXPECT_EQ(retired, retired_get);
}

TEST_F(CatalogueTest, ListingPagesVisitEveryDatasetOnceInIdOrder) {
  std::vector<std::string> expected;
  for (int i = 0; i < 23; ++i) {
    std::string id = absl::StrCat("ds-", 100 - i);
    RegisterSample(id, absl::StrCat("Dataset ", i));
    expected.push_back(id);
  }
  std::sort(expected.begin(), expected.end());
  std::vector<std::string> seen;
  trenode::v1::ListDatasetsRequest request;
  request.set_page_size(5);
  int pages = 0;
  do {
    auto page = catalogue_->List(kResearcher, request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& d : page->datasets()) seen.push_back(d.id());
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty());
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(pages, 5);
}

TEST_F(CatalogueTest, BadPagingInputIsRefused) {
  RegisterSample("a-data", "A");
  RegisterSample("b-data", "B");
  trenode::v1::ListDatasetsRequest request;
  request.set_page_size(501);
  EXPECT_EQ(catalogue_->List(kResearcher, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_page_size(-1);
  EXPECT_EQ(catalogue_->List(kResearcher, request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.set_page_size(1);
  request.set_page_token("not-a-token");
  EXPECT_EQ(catalogue_->List(kResearcher, request).status().code(),
            absl::StatusCode::kInvalidArgument);

  request.clear_page_token();
  std::string token = catalogue_->List(kSteward, request)->next_page_token();
  ASSERT_FALSE(token.empty());
  request.set_page_token(token);
  request.set_include_retired(true);
  EXPECT_EQ(catalogue_->List(kSteward, request).status().code(),
            absl::StatusCode::kInvalidArgument);

  trenode::v1::SearchDatasetsRequest search;
  search.set_query("a");
  search.set_page_token(token);  // a listing token is not a search token
  EXPECT_EQ(catalogue_->Search(kResearcher, search).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CatalogueTest, SearchRanksTitleAboveDescriptionAboveSchema) {
  RegisterSample("in-schema", "Primary care records", "General practice events.");
  RegisterSample("in-description", "Hospital episodes", "Includes echocardiogram reports.");
  RegisterSample("in-title", "Echocardiogram registry", "National audit data.");
  RegisterSample("unrelated", "Prescriptions", "Dispensed medicines.");
  // Give "in-schema" a column described as an echocardiogram measure.
  Dataset d = *catalogue_->Get(kSteward, "in-schema", 0);
  auto* column = d.mutable_tables(1)->add_columns();
  column->set_name("lvef");
  column->set_type(trenode::v1::COLUMN_TYPE_REAL);
  column->set_description("Left ventricular ejection fraction from echocardiogram");
  ASSERT_TRUE(catalogue_->Update(kSteward, d, 1).ok());

  EXPECT_EQ(SearchIds("echocardiogram"),
            (std::vector<std::string>{"in-title", "in-description", "in-schema"}));
  EXPECT_EQ(SearchIds("lvef"), std::vector<std::string>{"in-schema"});
  EXPECT_EQ(SearchIds("echocardio*"),
            (std::vector<std::string>{"in-title", "in-description", "in-schema"}));
  // Every word must match.
  EXPECT_EQ(SearchIds("echocardiogram audit"), std::vector<std::string>{"in-title"});
  // Coding systems and keywords are searchable.
  EXPECT_EQ(SearchIds("ICD-10").size(), 4u);
  EXPECT_TRUE(SearchIds("nothing-matches-this").empty());
}

// Rankings are kept between searches (RankedSearchCache): every change to
// the catalogue shows in the very next search, of the same words.
TEST_F(CatalogueTest, SearchSeesEveryChangeAtOnce) {
  RegisterSample("first", "Echocardiogram registry", "National audit data.");
  EXPECT_EQ(SearchIds("echocardiogram"), std::vector<std::string>{"first"});
  RegisterSample("second", "Hospital episodes", "Includes echocardiogram reports.");
  EXPECT_EQ(SearchIds("echocardiogram"), (std::vector<std::string>{"first", "second"}));
  // A new version moves the word from the title to nowhere: "first" drops out.
  Dataset changed = *catalogue_->Get(kSteward, "first", 0);
  changed.set_title("Cardiac registry");
  changed.set_description("National audit data.");
  ASSERT_TRUE(catalogue_->Update(kSteward, changed, 1).ok());
  EXPECT_EQ(SearchIds("echocardiogram"), std::vector<std::string>{"second"});
  EXPECT_EQ(SearchIds("cardiac"), std::vector<std::string>{"first"});
  ASSERT_TRUE(catalogue_->Retire(kSteward, "second", "withdrawn by its source").ok());
  EXPECT_TRUE(SearchIds("echocardiogram").empty());
}

TEST_F(CatalogueTest, SearchInputIsNeverReadAsQuerySyntax) {
  RegisterSample("hf", "Heart failure", "NEAR the \"quoted\" OR text");
  for (const char* query : {"\"", "NEAR(heart", "heart OR", "heart -failure", "col:heart", "^heart",
                            "heart)", "(((", "*"}) {
    trenode::v1::SearchDatasetsRequest request;
    request.set_query(query);
    auto response = catalogue_->Search(kResearcher, request);
    EXPECT_TRUE(response.ok() || response.status().code() == absl::StatusCode::kInvalidArgument)
        << query << ": " << response.status();
  }
  trenode::v1::SearchDatasetsRequest empty;
  empty.set_query("  ,; ");
  EXPECT_EQ(catalogue_->Search(kResearcher, empty).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(CatalogueTest, SearchPagingIsStableAcrossTies) {
  std::set<std::string> expected;
  for (int i = 0; i < 17; ++i) {
    std::string id = absl::StrCat("tie-", i);
    RegisterSample(id, "Identical title about diabetes");
    expected.insert(id);
  }
  trenode::v1::SearchDatasetsRequest request;
  request.set_query("diabetes");
  request.set_page_size(4);
  std::vector<std::string> seen;
  do {
    auto page = catalogue_->Search(kResearcher, request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& hit : page->hits()) seen.push_back(hit.dataset().id());
    request.set_page_token(page->next_page_token());
  } while (!request.page_token().empty());
  EXPECT_EQ(seen.size(), 17u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));  // equal scores: by id
}

TEST_F(CatalogueTest, ReopeningAnExistingDatabaseKeepsTheCatalogue) {
  RegisterSample("hf-cohort", "Heart failure cohort");
  Open();  // migrations run again on the existing file
  EXPECT_EQ(catalogue_->Get(kResearcher, "hf-cohort", 0)->title(), "Heart failure cohort");
  EXPECT_EQ(SearchIds("heart"), std::vector<std::string>{"hf-cohort"});
  auto db = *storage::SqliteDb::Open(dir_.File("node.db"));
  EXPECT_EQ(*storage::SchemaVersion(*db), static_cast<int>(storage::NodeSchemaMigrations().size()));
}

TEST_F(CatalogueTest, TableRowCountsAreKeptPerVersionApartFromTheEntry) {
  Dataset d = RegisterSample("hf-cohort", "Heart failure cohort");
  EXPECT_EQ(store_->GetTableRows("hf-cohort", 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(catalogue_->KeepTableRows("hf-cohort", 2, {{"person", 4321}}).code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(catalogue_->KeepTableRows("hf-cohort", 1, {{"person", 4321}, {"visit", 98765}}).ok());
  ASSERT_TRUE(catalogue_->KeepTableRows("hf-cohort", 1, {{"person", 4322}}).ok());  // replaces
  Open();
  absl::StatusOr<TableRows> rows = store_->GetTableRows("hf-cohort", 1);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, (TableRows{{"person", 4322}}));
  // Never part of the entry anyone reads.
  for (const auth::Principal& who : {kSteward, kResearcher}) {
    absl::StatusOr<Dataset> got = catalogue_->Get(who, "hf-cohort", 1);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_FALSE(absl::StrContains(got->DebugString(), "4322"));
  }
  // A metadata-only update has the same data file, so the same counts.
  Dataset changed = d;
  changed.set_title("Heart failure cohort (retitled)");
  changed.clear_steward();
  ASSERT_TRUE(catalogue_->Update(kSteward, changed, 1).ok());
  rows = store_->GetTableRows("hf-cohort", 2);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(*rows, (TableRows{{"person", 4322}}));
}

}  // namespace
}  // namespace trenode::catalogue
