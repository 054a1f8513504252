// A hostile researcher against a real node, after issue 11's hardening:
// each test is one attack found in review. Each asserts the SAFE outcome
// (the attacker does not recover the target, or the step is refused), so a
// test that fails today is a confirmed leak; its failure message prints what
// was recovered next to the truth.
//
// Where an attacker would need outside knowledge (which combination of
// attributes picks out one person; a set of exactly 9 persons, which the
// draft-verdict oracle itself finds by bisection), the test takes it from an
// independent output checker's view of a query's true counts, and says so.
#include <algorithm>
#include <cmath>
#include <tuple>
#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/testutil/releases_fixture.h"

namespace trenode {
namespace {
using testing::kDataset;
using testing::kProject;
using trenode::v1::Release;

constexpr char kI50[] =
    R"pb(events { filter { table: "condition_occurrence" code_column: "condition_code"
                           code_prefixes: "I50" } })pb";
// The attribute the attacker wants to learn about the target: hypertension.
constexpr char kHypertension[] =
    R"pb(events { filter { table: "condition_occurrence" code_column: "condition_code"
                           codes: "I10" } })pb";
constexpr char kHasMeasurement[] = R"pb(events { filter { table: "measurement" } })pb";
constexpr char kMaxMeasurement[] =
    R"pb(event_feature { filter { table: "measurement" } aggregate: FEATURE_AGGREGATE_MAX
                         value_column: "value_as_number" })pb";

std::string TextIs(const std::string& column, const std::string& value) {
  return absl::StrCat(R"pb(person { variable { column: ")pb", column,
                      R"pb(" } comparison: COMPARISON_EQ values { text: ")pb", value, R"pb(" } })pb");
}
std::string NumberIs(const std::string& column, int64_t value) {
  return absl::StrCat(R"pb(person { variable { column: ")pb", column,
                      R"pb(" } comparison: COMPARISON_EQ values { number: )pb", value, " } }");
}
std::string AllOf(const std::vector<std::string>& criteria) {
  std::string text = "all_of { ";
  for (const std::string& c : criteria) absl::StrAppend(&text, "criteria { ", c, " } ");
  return absl::StrCat(text, "}");
}
std::string AnyOf(const std::vector<std::string>& criteria) {
  std::string text = "any_of { ";
  for (const std::string& c : criteria) absl::StrAppend(&text, "criteria { ", c, " } ");
  return absl::StrCat(text, "}");
}
std::string NoneOf(const std::string& criterion) { return absl::StrCat("none_of { ", criterion, " }"); }
std::string Cohort(const std::string& criterion) { return absl::StrCat("cohort { ", criterion, " } "); }

// RFC 4180 lines (the node quotes labels such as "[1930,1940)").
std::vector<std::vector<std::string>> ParseCsv(const std::string& bytes) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (quoted) {
      if (c == '"' && i + 1 < bytes.size() && bytes[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(field);
      field.clear();
    } else if (c == '\n') {
      row.push_back(field);
      field.clear();
      rows.push_back(row);
      row.clear();
    } else {
      field += c;
    }
  }
  return rows;
}

// A published number; NaN for a cell left empty (suppressed), which
// recovers nothing.
double Number(const std::string& text) {
  double value = std::nan("");
  if (text.empty()) return value;
  EXPECT_TRUE(absl::SimpleAtod(text, &value)) << "\"" << text << "\"";
  return value;
}

// One person the attacker can describe (here found with a checker's eyes):
// heart failure, female, with a measurement, in `region`, born in `yob`.
struct Target {
  std::string region;
  int64_t yob = 0;
  std::string criteria;
  // The other (year of birth, region) cells of the same description, with
  // their true counts: material for a pad of known size.
  std::vector<std::tuple<int64_t, std::string, int64_t>> others;
};

std::string Described(int64_t yob, const std::string& region) {
  return AllOf({kI50, TextIs("sex", "F"), kHasMeasurement, TextIs("region", region),
                NumberIs("year_of_birth", yob)});
}

class ReviewAttacksTest : public testing::ReleasesFixture {
 protected:
  std::unique_ptr<grpc::ClientContext> ActingAs(const std::string& subject,
                                                const std::vector<std::string>& roles,
                                                const std::string& role) {
    auto context = testing::WithToken(node_.Token(subject, roles));
    context->AddMetadata("x-trenode-role", role);
    return context;
  }

  // Re-approves the test project with every query kind pre-approved and
  // auto-release under `policy`.
  void AutoRelease(const std::string& policy = "acro") {
    auto governance = trenode::v1::Governance::NewStub(node_.Channel());
    trenode::v1::ApproveProjectRequest approve = Reapproval();
    approve.add_preapproved_query_kinds(trenode::v1::OUTPUT_KIND_CROSSTAB);
    approve.add_preapproved_query_kinds(trenode::v1::OUTPUT_KIND_REGRESSION);
    approve.add_preapproved_query_kinds(trenode::v1::OUTPUT_KIND_SUMMARY);
    approve.set_auto_release_owner("olu@test-node");
    approve.set_disclosure_policy(policy);
    trenode::v1::Project project;
    grpc::Status status =
        governance->ApproveProject(As("sam", "data_steward").get(), approve, &project);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string Query(const std::string& request_id, const std::string& cohort,
                    const std::string& outputs, const std::string& project = kProject) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id(project);
    request.set_request_id(request_id);
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
        absl::StrCat("dataset_id: \"synth-ehr-4\" index_date: \"2024-01-01\" ", cohort, outputs),
        request.mutable_query()))
        << cohort << outputs;
    trenode::v1::Analysis analysis;
    grpc::Status status =
        analyses_->SubmitAnalysis(As("ada", "researcher").get(), request, &analysis);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return WaitForAnalysis(analysis.id()).id();
  }

  trenode::v1::AggregateResult TruthOf(const std::string& analysis_id) {
    trenode::v1::GetAnalysisRequest get;
    get.set_analysis_id(analysis_id);
    trenode::v1::Analysis analysis;
    EXPECT_TRUE(analyses_->GetAnalysis(As("olu", "output_checker").get(), get, &analysis).ok());
    return analysis.result();
  }

  // The true number of persons matching `criterion` (a checker's view).
  int64_t TrueCount(const std::string& id, const std::string& criterion) {
    return TruthOf(Query(id, Cohort(criterion), R"pb(outputs { name: "n" counts {} })pb"))
        .tables(0)
        .cells(0)
        .count();
  }

  Release CreateAndSubmit(const std::string& analysis_id) {
    Release draft, submitted;
    grpc::Status status = Create(analysis_id, &draft);
    EXPECT_TRUE(status.ok()) << status.error_message();
    status = Submit(draft.id(), &submitted);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return submitted;
  }

  std::vector<std::vector<std::string>> Csv(const Release& release, const std::string& file) {
    std::string bytes;
    grpc::Status status = Download(release, "ada", "researcher", &bytes, file);
    EXPECT_TRUE(status.ok()) << file << ": " << status.error_message();
    return ParseCsv(bytes);
  }

  // A region and sex holding 1 to 9 persons with heart failure (checker's eyes).
  std::pair<std::string, std::string> SmallHeartFailureGroup(int64_t& small) {
    std::string by_group = Query("groups", Cohort(kI50), R"pb(
      outputs { name: "g" crosstab { rows { variable { column: "region" } }
                                     columns { variable { column: "sex" } } } })pb");
    trenode::v1::AggregateResult truth = TruthOf(by_group);
    for (const auto& cell : truth.tables(0).cells()) {
      if (!cell.margin() && cell.count() > 0 && cell.count() < 10) {
        small = cell.count();
        return {cell.group(0), cell.group(1)};
      }
    }
    return {};
  }

  static std::string InGroup(const std::pair<std::string, std::string>& group) {
    return AllOf({kI50, TextIs("region", group.first), TextIs("sex", group.second)});
  }

  std::optional<Target> FindTarget() {
    std::string boundaries;
    for (int year = 1920; year <= 2010; ++year) {
      absl::StrAppend(&boundaries, year == 1920 ? "" : ", ", year);
    }
    std::string found = Query(
        "find-target", Cohort(AllOf({kI50, TextIs("sex", "F"), kHasMeasurement})),
        absl::StrCat(R"pb(outputs { name: "c" crosstab {
          rows { variable { column: "year_of_birth" } binning { boundaries: [)pb",
                     boundaries, R"pb(] } }
          columns { variable { column: "region" } } } })pb"));
    std::optional<Target> target;
    std::vector<std::tuple<int64_t, std::string, int64_t>> cells;
    trenode::v1::AggregateResult truth = TruthOf(found);
    for (const auto& cell : truth.tables(0).cells()) {
      if (cell.margin() || cell.count() == 0 || cell.group(0)[0] != '[') continue;
      int64_t yob = 0;
      std::string label = cell.group(0);
      EXPECT_TRUE(absl::SimpleAtoi(label.substr(1, label.find(',') - 1), &yob)) << label;
      if (!target && cell.count() == 1) {
        target = Target{cell.group(1), yob, Described(yob, cell.group(1)), {}};
      } else {
        cells.emplace_back(yob, cell.group(1), cell.count());
      }
    }
    if (target) target->others = std::move(cells);
    return target;
  }
};

// 1. Two count outputs of one query whose cells differ by a small group:
// counts by "has I50" and by "has I50 and is not in group G". No cell is
// small, so nothing is suppressed, the joint audit has no target, and the
// overlap audit never compares count cells of one release: both auto-release
// and their difference is |G|.
TEST_F(ReviewAttacksTest, TwoUnsuppressedCountsInOneReleaseDifferToASmallGroup) {
  AutoRelease();
  int64_t small = 0;
  auto group = SmallHeartFailureGroup(small);
  ASSERT_FALSE(group.first.empty());
  Release release = CreateAndSubmit(Query(
      "one-release-diff", "",
      absl::StrCat(R"pb(outputs { name: "a" counts { group_by { variable { indicator { )pb", kI50,
                   R"pb( } } label: "a" } } }
                   outputs { name: "b" counts { group_by { variable { indicator { )pb",
                   AllOf({kI50, NoneOf(InGroup(group))}), R"pb( } } label: "b" } } })pb")));
  bool released = release.state() == trenode::v1::RELEASE_STATE_RELEASED;
  int64_t recovered = -1;
  if (released) {
    double a = 0, b = 0;
    for (const auto& row : Csv(release, "a.csv")) if (row[0] == "1") a = Number(row[1]);
    for (const auto& row : Csv(release, "b.csv")) if (row[0] == "1") b = Number(row[1]);
    recovered = static_cast<int64_t>(a - b);
  }
  EXPECT_FALSE(released && recovered == small)
      << "auto-released; |G| recovered as " << recovered << ", truth " << small;
}

// 1b. The same in a single crosstab: rows "has I50", columns "has I50 and
// is not in G". The cell (no, yes) is empty by construction, which the
// attacker knows and the audit does not: suppression hides the cells, but
// column total "0" less row total "0" is |G|.
TEST_F(ReviewAttacksTest, StructuralZeroOfTwoIndicatorsDefeatsSuppression) {
  AutoRelease();
  int64_t small = 0;
  auto group = SmallHeartFailureGroup(small);
  ASSERT_FALSE(group.first.empty());
  Release release = CreateAndSubmit(Query(
      "structural-zero", "",
      absl::StrCat(R"pb(outputs { name: "x" crosstab { rows { variable { indicator { )pb", kI50,
                   R"pb( } } label: "a" } columns { variable { indicator { )pb",
                   AllOf({kI50, NoneOf(InGroup(group))}), R"pb( } } label: "b" } } })pb")));
  bool released = release.state() == trenode::v1::RELEASE_STATE_RELEASED;
  int64_t recovered = -1;
  std::string table;
  if (released) {
    auto rows = Csv(release, "x.csv");  // header; a=0; a=1; Total
    for (const auto& row : rows) absl::StrAppend(&table, absl::StrJoin(row, ","), "\n");
    recovered = static_cast<int64_t>(Number(rows[3][1]) - Number(rows[1][3]));
  }
  EXPECT_FALSE(released && recovered == small)
      << "auto-released; |G| = column total 0 - row total 0 = " << recovered << ", truth "
      << small << "\n" << table;
}

// 3. Summaries of indicators: the sum of a 0/1 value is a count. With n in
// the thousands, 3 or more ones pass the dominance and p% rules, and the
// ledger records the persons with a value (everyone) rather than the ones,
// so two summaries over the same cohort never differ for the overlap audit:
// sum(pad or G) - sum(pad) = |G|, sum(pad or (T and P)) - sum(pad) = P(T).
TEST_F(ReviewAttacksTest, SummaryOfAnIndicatorPublishesExactSmallCounts) {
  AutoRelease();
  int64_t small = 0;
  auto group = SmallHeartFailureGroup(small);
  ASSERT_FALSE(group.first.empty());
  std::optional<Target> target = FindTarget();
  ASSERT_TRUE(target.has_value()) << "the site should have a person alone in their cell";
  int64_t truth_p = TrueCount("truth-p", AllOf({target->criteria, kHypertension}));
  std::string pad = AllOf({kI50, NoneOf(TextIs("region", group.first))});
  std::string pad_t = AllOf({kI50, NoneOf(TextIs("region", target->region))});
  auto summary = [](const std::string& name, const std::string& indicator) {
    return absl::StrCat(R"pb(outputs { name: ")pb", name,
                        R"pb(" summary { value { indicator { )pb", indicator, " } } } } ");
  };
  Release release = CreateAndSubmit(Query(
      "indicator-sums", "",
      absl::StrCat(summary("pad", pad), summary("pad_or_g", AnyOf({pad, InGroup(group)})),
                   summary("pad_t", pad_t),
                   summary("pad_t_or_tp", AnyOf({pad_t, AllOf({target->criteria, kHypertension})})))));
  bool released = release.state() == trenode::v1::RELEASE_STATE_RELEASED;
  double g = -1, bit = -1;
  if (released) {
    auto sum = [&](const std::string& file) { return Number(Csv(release, file)[1][3]); };
    g = sum("pad_or_g.csv") - sum("pad.csv");
    bit = sum("pad_t_or_tp.csv") - sum("pad_t.csv");
  }
  EXPECT_FALSE(released && g == small)
      << "auto-released; |G| recovered as " << g << ", truth " << small;
  EXPECT_FALSE(released && bit == truth_p)
      << "auto-released; the target's hypertension recovered as " << bit << ", truth " << truth_p;
}

// 4. Regressions: (a) an indicator outcome on an intercept alone: the
// coefficient is |G| / n and n is published; no predictor, so the levels
// rule has nothing to check. (b) two indicators A and "A but not T", each
// held by thousands at both values: the span holds the indicator of T, so
// the fitted value of T's group - intercept + coefficient of A - is T's
// outcome exactly.
TEST_F(ReviewAttacksTest, RegressionsGiveAwayACountAndOnePersonsValue) {
  AutoRelease();
  int64_t small = 0;
  auto group = SmallHeartFailureGroup(small);
  ASSERT_FALSE(group.first.empty());
  std::optional<Target> target = FindTarget();
  ASSERT_TRUE(target.has_value());
  double truth_y =
      TruthOf(Query("truth-y", Cohort(target->criteria),
                    absl::StrCat(R"pb(outputs { name: "y" summary { value { )pb", kMaxMeasurement,
                                 " } } }")))
          .tables(0)
          .cells(0)
          .sum();
  std::string a = AllOf({TextIs("sex", "F"), TextIs("region", target->region)});
  Release release = CreateAndSubmit(Query(
      "regressions", "",
      absl::StrCat(R"pb(outputs { name: "share" regression { outcome { indicator { )pb",
                   InGroup(group), R"pb( } } } }
                   outputs { name: "value" regression { outcome { )pb", kMaxMeasurement,
                   R"pb( } predictors { indicator { )pb", a,
                   R"pb( } } predictors { indicator { )pb", AllOf({a, NoneOf(target->criteria)}),
                   " } } } }")));
  bool released = release.state() == trenode::v1::RELEASE_STATE_RELEASED;
  int64_t count = -1;
  double value = std::nan("");
  if (released) {
    auto share = Csv(release, "share.csv");  // intercept, n, residual_dof
    count = std::llround(Number(share[1][1]) * Number(share[2][1]));
    auto fit = Csv(release, "value.csv");  // intercept, indicator, indicator, n, dof
    value = Number(fit[1][1]) + Number(fit[2][1]);
  }
  EXPECT_FALSE(released && count == small)
      << "auto-released; |G| recovered as " << count << ", truth " << small;
  EXPECT_FALSE(released && std::fabs(value - truth_y) < 1e-6)
      << "auto-released; the target's largest measurement recovered as " << value << ", truth "
      << truth_y;
}

// 5. The overlap audit as an oracle: after "has I50" is released, "has I50
// and not (T and P)" is the same set of persons if T lacks P (auto-released)
// and differs by one if T has P (review, and the requester is told
// "overlap"). The requester reads the verdict and withdraws before any
// checker looks; the analysis is free for the next question.
TEST_F(ReviewAttacksTest, OverlapVerdictTellsTheRequesterWhetherTheTargetHasP) {
  AutoRelease();
  std::optional<Target> target = FindTarget();
  ASSERT_TRUE(target.has_value());
  int64_t truth_p = TrueCount("truth-p", AllOf({target->criteria, kHypertension}));
  Release base = CreateAndSubmit(Query("base", Cohort(kI50), R"pb(outputs { name: "n" counts {} })pb"));
  ASSERT_EQ(base.state(), trenode::v1::RELEASE_STATE_RELEASED) << base.state_reason();
  auto ask = [&](const std::string& id, const std::string& p) {
    return CreateAndSubmit(Query(id, Cohort(AllOf({kI50, NoneOf(AllOf({target->criteria, p}))})),
                                 R"pb(outputs { name: "n" counts {} })pb"));
  };
  Release if_p = ask("if-p", kHypertension);
  Release if_not_p = ask("if-not-p", NoneOf(kHypertension));
  auto overlap = [](const Release& r) {
    return absl::StrContains(r.files(0).verdict_summary(), "(overlap)");
  };
  bool guess = overlap(if_p);
  EXPECT_FALSE(overlap(if_p) != overlap(if_not_p) && guess == (truth_p == 1))
      << "the requester's views differ: \"" << if_p.files(0).verdict_summary() << "\" vs \""
      << if_not_p.files(0).verdict_summary() << "\"; guessed P = " << guess
      << ", truth " << truth_p;
  // Withdrawn before a checker reviewed it, it leaves no trace a checker must act on.
  Release in_review = guess ? if_p : if_not_p;
  if (in_review.state() == trenode::v1::RELEASE_STATE_IN_REVIEW) {
    trenode::v1::ReleaseIdRequest id;
    id.set_release_id(in_review.id());
    Release withdrawn;
    EXPECT_TRUE(releases_->WithdrawRelease(As("ada", "researcher").get(), id, &withdrawn).ok());
  }
}

// 6. The draft verdict as a threshold oracle: with a pad of exactly 9
// persons (found by bisecting nested cohorts with this same oracle; here
// with a checker's eyes), "pad or (T and P)" has 10 persons (pass) or 9
// (fail: a total under the threshold). Drafts are never submitted, so no
// checker ever sees them.
TEST_F(ReviewAttacksTest, DraftVerdictIsAThresholdOracle) {
  AutoRelease();
  std::optional<Target> target = FindTarget();
  ASSERT_TRUE(target.has_value());
  int64_t truth_p = TrueCount("truth-p", AllOf({target->criteria, kHypertension}));
  std::vector<std::string> pad;
  int64_t size = 0;
  auto others = target->others;
  std::sort(others.begin(), others.end(),
            [](const auto& x, const auto& y) { return std::get<2>(x) < std::get<2>(y); });
  for (const auto& [yob, region, count] : others) {
    if (size + count > 9) continue;
    pad.push_back(Described(yob, region));
    size += count;
  }
  ASSERT_EQ(size, 9);
  auto draft = [&](const std::string& id, const std::string& p) {
    Release created;
    grpc::Status status =
        Create(Query(id, Cohort(AnyOf({AnyOf(pad), AllOf({target->criteria, p})})),
                     R"pb(outputs { name: "n" counts {} })pb"),
               &created);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return created;
  };
  Release if_p = draft("pad-p", kHypertension);
  Release if_not_p = draft("pad-not-p", NoneOf(kHypertension));
  bool guess = if_p.files(0).verdict() == "pass";
  EXPECT_FALSE(if_p.files(0).verdict() != if_not_p.files(0).verdict() &&
               guess == (truth_p == 1))
      << "drafts: \"" << if_p.files(0).verdict_summary() << "\" vs \""
      << if_not_p.files(0).verdict_summary() << "\"; guessed P = " << guess << ", truth "
      << truth_p;
}

// 7. Cell-key perturbation keyed on the set of persons: a row total and the
// row's "indicator = 0" cell are the same set (same key, same published
// value) exactly when nobody in the row has the indicator; zeros are never
// perturbed. Crosstabs of ten shifted year-of-birth bandings against the
// indicator of (T and P) settle P in one auto-released query.
TEST_F(ReviewAttacksTest, CellKeyIsAMembershipOracleInOneAutoReleasedQuery) {
  AutoRelease("cell_key");
  std::optional<Target> target = FindTarget();
  ASSERT_TRUE(target.has_value());
  int64_t truth_p = TrueCount("truth-p", AllOf({target->criteria, kHypertension}));
  std::string outputs;
  for (int j = 0; j < 10; ++j) {
    std::string boundaries;
    for (int i = 0; i < 8; ++i) absl::StrAppend(&boundaries, i ? ", " : "", 1930 + 10 * i + j);
    const std::vector<std::pair<std::string, std::string>> families = {
        {"p", kHypertension}, {"q", NoneOf(kHypertension)}};
    for (const auto& [name, p] : families) {
      absl::StrAppend(&outputs, R"pb(outputs { name: ")pb", name, j,
                      R"pb(" crosstab { rows { variable { column: "year_of_birth" }
                                              binning { boundaries: [)pb",
                      boundaries, R"pb(] } label: "yob" }
                      columns { variable { indicator { )pb",
                      AllOf({target->criteria, p}), R"pb( } } label: "t" } } } )pb");
    }
  }
  Release release = CreateAndSubmit(Query("cell-key", "", outputs));
  bool released = release.state() == trenode::v1::RELEASE_STATE_RELEASED;
  std::map<std::string, bool> seen = {{"p", false}, {"q", false}};
  if (released) {
    for (int j = 0; j < 10; ++j) {
      for (const std::string& name : {std::string("p"), std::string("q")}) {
        for (const auto& row : Csv(release, absl::StrCat(name, j, ".csv"))) {
          if (row.size() != 4 || row[0] == "Total" || absl::StrContains(row[0], "\\")) continue;
          // A person with the indicator shows as a non-zero "1" cell, or as a
          // total that is not the "0" cell.
          if (row[2] != "0" || row[3] != row[1]) seen[name] = true;
        }
      }
    }
  }
  EXPECT_FALSE(released && seen["p"] == (truth_p == 1) && seen["q"] == (truth_p == 0))
      << "auto-released; P read as " << seen["p"] << " and not-P as " << seen["q"]
      << ", truth P = " << truth_p;
}

// 8a. A project member who also holds data_steward resumes the project a
// colleague suspended: ResumeProject checks no independence.
TEST_F(ReviewAttacksTest, InvolvedStewardResumesTheirOwnSuspendedProject) {
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  trenode::v1::ProjectDecisionRequest request;
  request.set_project_id(kProject);
  request.set_reason("ethics review");
  trenode::v1::Project project;
  ASSERT_TRUE(governance->SuspendProject(As("sam", "data_steward").get(), request, &project).ok());
  grpc::Status resumed = governance->ResumeProject(
      ActingAs("ada", {"researcher", "data_steward"}, "data_steward").get(), request, &project);
  EXPECT_EQ(resumed.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << "ada, the project's PI, resumed it as a data steward: state " << project.state();
}

// 8b. The requester, also an output checker, revokes their own released
// release and the reply is the checker's view: results.json cell by cell.
TEST_F(ReviewAttacksTest, InvolvedRevokerGetsTheCheckersViewOfTheirOwnRelease) {
  Release draft, submitted, reply;
  ASSERT_TRUE(Create(CountsAnalysis("revoke-view"), &draft).ok());
  ASSERT_TRUE(Submit(draft.id(), &submitted).ok());
  ASSERT_TRUE(Review(ViewAs(draft.id()), "olu", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_TRUE(Review(ViewAs(draft.id()), "kim", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED);
  ASSERT_FALSE(absl::StrContains(ViewAs(draft.id(), "ada", "researcher").results_json(), "\"sdc\""));
  trenode::v1::RevokeReleaseRequest revoke;
  revoke.set_release_id(draft.id());
  revoke.set_reason("mine");
  Release revoked;
  grpc::Status status = releases_->RevokeRelease(
      ActingAs("ada", {"researcher", "output_checker"}, "output_checker").get(), revoke, &revoked);
  EXPECT_FALSE(status.ok() && absl::StrContains(revoked.results_json(), "\"threshold\": [["))
      << "the requester read which cells failed which rule:\n"
      << revoked.results_json().substr(0, 600);
}

// 8c. A member who is also a data steward revokes their own membership
// (RevokeMember has no self or independence check) and is then
// "independent": they re-approve their project with a policy of their
// choosing.
TEST_F(ReviewAttacksTest, StewardMemberRevokesOwnMembershipThenApprovesTheProject) {
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  trenode::v1::ProposeMemberRequest propose;
  propose.set_project_id(kProject);
  propose.set_person("bea@test-node");
  trenode::v1::Membership membership;
  ASSERT_TRUE(governance->ProposeMember(As("ada", "researcher").get(), propose, &membership).ok());
  trenode::v1::MemberDecisionRequest decide;
  decide.set_project_id(kProject);
  decide.set_person("bea@test-node");
  ASSERT_TRUE(governance->ApproveMember(As("sam", "data_steward").get(), decide, &membership).ok());
  const std::vector<std::string> roles = {"researcher", "data_steward"};
  decide.set_reason("stepping aside");
  grpc::Status left =
      governance->RevokeMember(ActingAs("bea", roles, "data_steward").get(), decide, &membership);
  trenode::v1::ApproveProjectRequest approve = Reapproval();
  approve.set_disclosure_policy("acro");
  approve.add_disclosure_policy_overrides("threshold=1");
  approve.add_disclosure_policy_overrides("overlap_threshold=0");
  approve.set_auto_release_owner("bea@test-node");
  trenode::v1::Project project;
  grpc::Status approved =
      governance->ApproveProject(ActingAs("bea", roles, "data_steward").get(), approve, &project);
  EXPECT_FALSE(left.ok() && approved.ok())
      << "bea left her project by her own hand and re-approved it with threshold=1, "
         "auto-released by herself";
}

// 9. Under the opensafely (and datashield) presets the regression rules
// have no threshold (threshold 0): an indicator of one person passes and the
// fit gives that person's value.
TEST_F(ReviewAttacksTest, OpensafelyRegressionOnOnePersonAutoReleases) {
  AutoRelease("opensafely");
  std::optional<Target> target = FindTarget();
  ASSERT_TRUE(target.has_value());
  double truth_y =
      TruthOf(Query("truth-y", Cohort(target->criteria),
                    absl::StrCat(R"pb(outputs { name: "y" summary { value { )pb", kMaxMeasurement,
                                 " } } }")))
          .tables(0)
          .cells(0)
          .sum();
  Release release = CreateAndSubmit(Query(
      "one-person-fit", "",
      absl::StrCat(R"pb(outputs { name: "fit" regression { outcome { )pb", kMaxMeasurement,
                   R"pb( } predictors { indicator { )pb", target->criteria, " } } } }")));
  bool released = release.state() == trenode::v1::RELEASE_STATE_RELEASED;
  double value = std::nan("");
  if (released) {
    auto fit = Csv(release, "fit.csv");
    value = Number(fit[1][1]) + Number(fit[2][1]);
  }
  EXPECT_FALSE(released && std::fabs(value - truth_y) < 1e-6)
      << "auto-released; the target's value recovered as " << value << ", truth " << truth_y
      << " (" << release.files(0).verdict_summary() << ")";
}

// 10. The ledger is per project: the same researcher (or two colluding
// ones) releases "I50" in one project and "I50 but not G" in another, both
// approved for the same dataset; neither audit sees the other release.
TEST_F(ReviewAttacksTest, DifferencingAcrossTwoProjectsOfOneResearcher) {
  AutoRelease();
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  trenode::v1::CreateProjectRequest create;
  create.mutable_project()->set_id("hf-other");
  create.mutable_project()->set_title("Another study");
  create.mutable_project()->set_lay_summary("Another question about heart failure.");
  create.mutable_project()->add_requested_dataset_ids(kDataset);
  trenode::v1::Project project;
  ASSERT_TRUE(governance->CreateProject(As("ada", "researcher").get(), create, &project).ok());
  trenode::v1::ApproveProjectRequest approve = Reapproval();
  approve.set_project_id("hf-other");
  approve.set_auto_release_owner("olu@test-node");
  approve.set_disclosure_policy("acro");
  grpc::Status approved =
      governance->ApproveProject(As("sam", "data_steward").get(), approve, &project);
  ASSERT_TRUE(approved.ok()) << approved.error_message();

  int64_t small = 0;
  auto group = SmallHeartFailureGroup(small);
  ASSERT_FALSE(group.first.empty());
  Release first =
      CreateAndSubmit(Query("all", Cohort(kI50), R"pb(outputs { name: "n" counts {} })pb"));
  Release second = CreateAndSubmit(Query("all-but", Cohort(AllOf({kI50, NoneOf(InGroup(group))})),
                                         R"pb(outputs { name: "n" counts {} })pb", "hf-other"));
  bool released = first.state() == trenode::v1::RELEASE_STATE_RELEASED &&
                  second.state() == trenode::v1::RELEASE_STATE_RELEASED;
  int64_t recovered = -1;
  if (released) {
    recovered = static_cast<int64_t>(Number(Csv(first, "n.csv")[1][0]) -
                                     Number(Csv(second, "n.csv")[1][0]));
  }
  EXPECT_FALSE(released && recovered == small)
      << "both auto-released in different projects; |G| = " << recovered << ", truth " << small;
}

// 11. The overlap audit runs once, at submission, against releases already
// released. Two differencing requests submitted together to a project
// without auto-release are both in review with no finding; checkers judging
// each on its own approve both, and the difference is |G|.
TEST_F(ReviewAttacksTest, TwoDifferencingRequestsInReviewTogetherCarryNoFinding) {
  int64_t small = 0;
  auto group = SmallHeartFailureGroup(small);
  ASSERT_FALSE(group.first.empty());
  Release first =
      CreateAndSubmit(Query("all", Cohort(kI50), R"pb(outputs { name: "n" counts {} })pb"));
  Release second = CreateAndSubmit(Query("all-but", Cohort(AllOf({kI50, NoneOf(InGroup(group))})),
                                         R"pb(outputs { name: "n" counts {} })pb"));
  ASSERT_EQ(first.state(), trenode::v1::RELEASE_STATE_IN_REVIEW) << first.state_reason();
  ASSERT_EQ(second.state(), trenode::v1::RELEASE_STATE_IN_REVIEW) << second.state_reason();
  int notes = ViewAs(first.id()).files(0).checker_notes_size() +
              ViewAs(second.id()).files(0).checker_notes_size();
  Release reply;
  // Checkers approve both (explaining themselves where a file needs review):
  // what matters is whether they were shown the finding.
  for (const Release& r : {first, second}) {
    ASSERT_TRUE(
        Review(ViewAs(r.id()), "olu", trenode::v1::FILE_DECISION_APPROVE, &reply, "seen").ok());
    ASSERT_TRUE(
        Review(ViewAs(r.id()), "kim", trenode::v1::FILE_DECISION_APPROVE, &reply, "seen").ok());
  }
  Release a = ViewAs(first.id(), "ada", "researcher"), b = ViewAs(second.id(), "ada", "researcher");
  bool released = a.state() == trenode::v1::RELEASE_STATE_RELEASED &&
                  b.state() == trenode::v1::RELEASE_STATE_RELEASED;
  int64_t recovered = -1;
  if (released) {
    recovered =
        static_cast<int64_t>(Number(Csv(a, "n.csv")[1][0]) - Number(Csv(b, "n.csv")[1][0]));
  }
  EXPECT_FALSE(notes == 0 && released && recovered == small)
      << "checkers saw no overlap finding on either; both released; |G| = " << recovered
      << ", truth " << small;
}

// 12. Rounding (opensafely) in one release: count cells of one query are
// never compared by the overlap audit and linked tables are not audited
// under rounding. "Counts by year-of-birth band" beside "counts by band and
// the indicator of (T and P)": the band holding T has the same persons in
// both (same rounding) unless T has P; over 16 bandings a one-person
// difference crosses a rounding boundary somewhere.
TEST_F(ReviewAttacksTest, RoundingInOneReleaseIsAMembershipOracle) {
  AutoRelease("opensafely");
  std::optional<Target> target = FindTarget();
  ASSERT_TRUE(target.has_value());
  int64_t truth_p = TrueCount("truth-p", AllOf({target->criteria, kHypertension}));
  std::map<std::string, bool> seen;
  bool all_released = true;
  // One query (a second one, "not P", would itself meet the cross-release
  // overlap audit; it is not needed: the sets compared are identical, and
  // so rounded identically, whenever T lacks the attribute).
  const std::vector<std::pair<std::string, std::string>> families = {{"p", kHypertension}};
  std::string states;
  for (const auto& [family, p] : families) {
    std::string outputs;
    for (int j = 0; j < 16; ++j) {
      int width = 10 + j / 4, offset = j % 4 * 3;
      std::string boundaries;
      for (int b = 1925 + offset, i = 0; b < 2010; b += width, ++i) {
        absl::StrAppend(&boundaries, i ? ", " : "", b);
      }
      std::string band = absl::StrCat(R"pb(variable { column: "year_of_birth" } binning { boundaries: [)pb",
                                      boundaries, R"pb(] } label: "yob")pb");
      absl::StrAppend(&outputs, R"pb(outputs { name: "a)pb", j, R"pb(" counts { group_by { )pb",
                      band, R"pb( } } } outputs { name: "b)pb", j,
                      R"pb(" counts { group_by { )pb", band,
                      R"pb( } group_by { variable { indicator { )pb",
                      AllOf({target->criteria, p}), R"pb( } } label: "t" } } } )pb");
    }
    Release release = CreateAndSubmit(Query(absl::StrCat("rounding-", family), "", outputs));
    all_released = all_released && release.state() == trenode::v1::RELEASE_STATE_RELEASED;
    absl::StrAppend(&states, family, ": ", release.state_reason(), "; ");
    if (release.state() != trenode::v1::RELEASE_STATE_RELEASED) continue;
    seen[family] = false;
    for (int j = 0; j < 16; ++j) {
      std::map<std::string, std::string> a, b0;
      for (const auto& row : Csv(release, absl::StrCat("a", j, ".csv"))) {
        if (row.size() == 2) a[row[0]] = row[1];
      }
      for (const auto& row : Csv(release, absl::StrCat("b", j, ".csv"))) {
        if (row.size() == 3 && row[1] == "0") b0[row[0]] = row[2];
      }
      for (const auto& [band, count] : a) {
        if (band != "Total" && band != "yob" && b0.contains(band) && b0[band] != count) {
          seen[family] = true;
        }
      }
    }
  }
  EXPECT_FALSE(all_released && seen["p"] == (truth_p == 1))
      << "auto-released; P read as " << seen["p"] << ", truth P = " << truth_p << " (" << states
      << ")";
}

}  // namespace
}  // namespace trenode
