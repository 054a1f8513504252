#include "node/releases/differencing_guard.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace trenode::releases {
namespace {

// Counts by sex of dataset d1, in output "by_sex".
trenode::v1::AggregateQuery CountsBySex() {
  trenode::v1::AggregateQuery query;
  query.set_dataset_id("d1");
  auto* output = query.add_outputs();
  output->set_name("by_sex");
  output->mutable_counts()->add_group_by()->mutable_variable()->set_column("sex");
  return query;
}

// The refusal names the requester's own releases only: a colleague's
// release (of an analysis NOT_FOUND to the requester) is "another release".
TEST(DifferencingGuardTest, TheGuardDoesNotNameAColleaguesRelease) {
  StandingOutputs::Finding finding;
  finding.revealed = {"site-c"};
  finding.with = {{"rel-mine", "ada@site-a"}, {"rel-bobs", "bob@site-a"}};
  std::string reason = StandingOutputs::Reason(finding, "ada@site-a");
  EXPECT_NE(reason.find("rel-mine"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("rel-bobs"), std::string::npos) << reason;
  EXPECT_NE(reason.find("another release in this project"), std::string::npos) << reason;
  EXPECT_NE(reason.find("site-c"), std::string::npos) << reason;
  reason = StandingOutputs::Reason(finding, "bob@site-a");
  EXPECT_EQ(reason.find("rel-mine"), std::string::npos) << reason;
  EXPECT_NE(reason.find("rel-bobs"), std::string::npos) << reason;
}

// Labels and an unused index date do not make another question; an output
// over the same cohort shares the cohort's totals.
TEST(DifferencingGuardTest, QuestionsAreCanonical) {
  trenode::v1::AggregateQuery query = CountsBySex();
  trenode::v1::AggregateQuery other = query;
  other.set_dataset_id("d2");
  other.set_index_date("2001-01-01");
  other.mutable_outputs(0)->set_name("renamed");
  other.mutable_outputs(0)->mutable_counts()->mutable_group_by(0)->set_label("sex2");
  EXPECT_EQ(QuestionsOfFile(query, "by_sex.csv"), QuestionsOfFile(other, "renamed.csv"));
  // With an age, the index date changes the numbers.
  for (auto* q : {&query, &other}) {
    q->mutable_outputs(0)
        ->mutable_counts()
        ->mutable_group_by(0)
        ->mutable_variable()
        ->mutable_age()
        ->set_birth_column("year_of_birth");
  }
  query.set_index_date("2024-01-01");
  std::vector<std::string> dated = QuestionsOfFile(query, "by_sex.csv");
  std::vector<std::string> redated = QuestionsOfFile(other, "renamed.csv");
  ASSERT_EQ(dated.size(), 2u);
  ASSERT_EQ(redated.size(), 2u);
  EXPECT_NE(dated[0], redated[0]);
  EXPECT_EQ(dated[1], redated[1]) << "the cohort uses no age";
  EXPECT_TRUE(QuestionsOfFile(query, "nothing.csv").empty());
}

// A revoked release still counts for the files downloaded before it was
// revoked: pooled(A,B,C), downloaded then revoked, less pooled(A,B) is C.
TEST(DifferencingGuardTest, ARevokedReleaseCountsForWhatWasDownloaded) {
  trenode::v1::Release release;
  trenode::v1::ReleaseFile fetched, never;
  fetched.set_downloads(1);
  for (auto state : {trenode::v1::RELEASE_STATE_IN_REVIEW, trenode::v1::RELEASE_STATE_APPROVED,
                     trenode::v1::RELEASE_STATE_RELEASED}) {
    release.set_state(state);
    EXPECT_TRUE(KnownToRequester(release, never)) << state;
  }
  release.set_state(trenode::v1::RELEASE_STATE_REVOKED);
  EXPECT_TRUE(KnownToRequester(release, fetched));
  EXPECT_FALSE(KnownToRequester(release, never));
  for (auto state : {trenode::v1::RELEASE_STATE_REJECTED, trenode::v1::RELEASE_STATE_WITHDRAWN,
                     trenode::v1::RELEASE_STATE_BLOCKED}) {
    release.set_state(state);
    EXPECT_FALSE(KnownToRequester(release, never)) << state;
  }
  release.set_state(trenode::v1::RELEASE_STATE_RELEASED);
  fetched.set_withheld(true);
  EXPECT_FALSE(KnownToRequester(release, fetched)) << "a withheld file never left";
}

// A question released again and again over the same nodes is one set to
// solve with, and every release that made it known is still named.
TEST(DifferencingGuardTest, RepeatsOfOneNodeSetAreSolvedOnceAndEveryReleaseIsNamed) {
  trenode::v1::AggregateQuery query = CountsBySex();
  StandingOutputs standing;
  const NodeSet all = {"site-a", "site-b", "site-c"};
  for (int i = 0; i < 50; ++i) {
    standing.Add(query, "by_sex.csv", all,
                 {absl::StrCat("rel-", i), i % 2 == 0 ? "ada@site-a" : "bob@site-a"});
  }
  standing.Protect({"site-c"});
  StandingOutputs::Finding finding =
      standing.Check(query, "by_sex.csv", {"site-a", "site-b"}, /*allowed=*/{});
  EXPECT_EQ(finding.revealed, (std::vector<std::string>{"site-c"}));
  std::set<std::string> named;
  for (const auto& source : finding.with) named.insert(source.release_id);
  EXPECT_EQ(named.size(), 50u) << "every release that made the set known";
  // The same set again reveals nothing new.
  EXPECT_TRUE(standing.Check(query, "by_sex.csv", all, {}).revealed.empty());
}

}  // namespace
}  // namespace trenode::releases
