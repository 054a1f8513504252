// Output release on a real node: analyses' outputs become release requests
// whose files carry automated verdicts; the workflow refuses every path from
// an output to a download that skips the gates, the rules or two distinct
// reviewers, and revocation stops downloads.
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "node/log/activity_event.h"
#include "tests/testutil/bundles.h"
#include "tests/testutil/compute_backends.h"
#include "tests/testutil/heart_failure.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/releases_fixture.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/activity_log.grpc.pb.h"
#include "trenode/v1/analyses.grpc.pb.h"
#include "trenode/v1/governance.grpc.pb.h"
#include "trenode/v1/releases.grpc.pb.h"

namespace trenode {
namespace {
using google::protobuf::util::TimeUtil;
using testing::TestNode;
using trenode::v1::Release;

class ReleasesRpcTest : public testing::ReleasesFixture {};
using testing::kDataset;
using testing::kProject;

TEST_F(ReleasesRpcTest, TwoDistinctCheckersOtherThanTheRequesterMustApprove) {
  Release draft, reply;
  ASSERT_TRUE(Create(CountsAnalysis("q1"), &draft).ok());
  EXPECT_EQ(draft.state(), trenode::v1::RELEASE_STATE_DRAFT);
  ASSERT_EQ(draft.files_size(), 1);
  EXPECT_EQ(draft.files(0).name(), "hf_by_age_sex.csv");
  // The requester learns the checks' verdicts on submission, in words;
  // output checkers see the raw checks, as ACRO's results.json: small cells
  // found and suppressed.
  EXPECT_EQ(draft.files(0).verdict(), "");
  EXPECT_EQ(draft.files(0).verdict_summary(), "checked when the release is submitted");
  EXPECT_EQ(draft.results_json(), "");
  Release checked = ViewAs(draft.id());
  EXPECT_EQ(checked.files(0).verdict(), "pass") << checked.files(0).verdict_summary();
  EXPECT_TRUE(absl::StrContains(checked.files(0).verdict_summary(), "cells suppressed"))
      << checked.files(0).verdict_summary();
  EXPECT_TRUE(absl::StrContains(checked.results_json(), "\"status\": \"fail\""));
  EXPECT_TRUE(absl::StrContains(checked.results_json(), "\"suppressed\": true"));

  std::string bytes;
  EXPECT_EQ(Download(draft, "ada", "researcher", &bytes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  Release submitted;
  ASSERT_TRUE(Submit(draft.id(), &submitted).ok());
  EXPECT_EQ(submitted.state(), trenode::v1::RELEASE_STATE_IN_REVIEW);

  // The requester may not review, not even holding the checker role.
  grpc::Status status = Review(submitted, "ada", trenode::v1::FILE_DECISION_APPROVE, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(status.error_message(),
            absl::StrCat("ada@test-node requested release ", draft.id(), " and may not review it"));
  EXPECT_EQ(Review(submitted, "ada", trenode::v1::FILE_DECISION_APPROVE, &reply, "", "researcher")
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  ASSERT_TRUE(Review(submitted, "olu", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  EXPECT_EQ(reply.state(), trenode::v1::RELEASE_STATE_IN_REVIEW);  // one is not enough
  EXPECT_EQ(Download(reply, "ada", "researcher", &bytes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_FALSE(std::filesystem::exists(ObjectPath(absl::StrCat("egress/", draft.id()))));
  status = Review(submitted, "olu", trenode::v1::FILE_DECISION_APPROVE, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  ASSERT_TRUE(Review(submitted, "kim", trenode::v1::FILE_DECISION_APPROVE, &reply).ok());
  EXPECT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED);
  EXPECT_EQ(absl::StrJoin(reply.approved_by(), ","), "olu@test-node,kim@test-node");

  ASSERT_TRUE(Download(reply, "ada", "researcher", &bytes).ok());
  EXPECT_EQ(static_cast<int64_t>(bytes.size()), reply.files(0).size());
  EXPECT_TRUE(absl::StartsWith(bytes, "age_band,sex,count\n")) << bytes;
  std::string inspected;
  ASSERT_TRUE(Download(reply, "olu", "output_checker", &inspected).ok());
  EXPECT_EQ(inspected, bytes);

  // The released bytes' hash is in the activity log.
  auto log = trenode::v1::ActivityLog::NewStub(node_.Channel());
  trenode::v1::GetEntriesRequest entries;
  entries.set_action("release.file");
  auto context = As("aud", "auditor");
  auto entry_reader = log->GetEntries(context.get(), entries);
  trenode::v1::LogEntry entry;
  std::vector<std::string> hashes;
  while (entry_reader->Read(&entry)) {
    auto event = log::ParseLeaf(entry.leaf());
    ASSERT_TRUE(event.ok());
    hashes.insert(hashes.end(), event->hashes.begin(), event->hashes.end());
  }
  ASSERT_TRUE(entry_reader->Finish().ok());
  EXPECT_EQ(hashes, std::vector<std::string>{absl::StrCat("sha256:", reply.files(0).sha256())});

  // Revoked: no more downloads, and the egress copy is gone.
  trenode::v1::RevokeReleaseRequest revoke;
  revoke.set_release_id(reply.id());
  revoke.set_reason("a small cell was found in the margins");
  ASSERT_TRUE(releases_->RevokeRelease(As("olu", "output_checker").get(), revoke, &reply).ok());
  status = Download(reply, "ada", "researcher", &bytes);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(status.error_message(), absl::StrCat("release ", reply.id(),
                                                 " was revoked: a small cell was found in the "
                                                 "margins"));
  EXPECT_FALSE(std::filesystem::exists(
      ObjectPath(absl::StrCat("egress/", reply.id(), "/hf_by_age_sex.csv"))));
}

TEST_F(ReleasesRpcTest, AutoReleasePolicyReleasesPassingAggregatesAndRecordsItsOwner) {
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  trenode::v1::ApproveProjectRequest approve = Reapproval();
  approve.set_auto_release_owner("olu@test-node");
  trenode::v1::Project project;
  ASSERT_TRUE(governance->ApproveProject(As("sam", "data_steward").get(), approve, &project).ok());
  Release draft, released;
  ASSERT_TRUE(Create(CountsAnalysis("auto"), &draft).ok());
  ASSERT_TRUE(Submit(draft.id(), &released).ok());
  EXPECT_EQ(released.state(), trenode::v1::RELEASE_STATE_RELEASED);
  EXPECT_EQ(absl::StrJoin(released.approved_by(), ","),
            "olu@test-node (auto-release policy owner)");
  std::string bytes;
  EXPECT_TRUE(Download(released, "ada", "researcher", &bytes).ok());

  // Script outputs never skip review, even when their declared counts pass.
  Release script, in_review;
  ASSERT_TRUE(Create(ScriptAnalysis("printf 'sex,n\\nF,120\\nM,130\\n' > "
                                    "/job/outbox/by_sex.counts.csv",
                                    {"by_sex.counts.csv"}),
                     &script)
                  .ok());
  EXPECT_EQ(ViewAs(script.id()).files(0).verdict(), "pass");
  ASSERT_TRUE(Submit(script.id(), &in_review).ok());
  EXPECT_EQ(in_review.state(), trenode::v1::RELEASE_STATE_IN_REVIEW);
  EXPECT_EQ(in_review.files(0).verdict(), "pass");  // the requester's, once submitted
}

TEST_F(ReleasesRpcTest, AProjectsOwnPolicyDecidesItsReleases) {
  auto governance = trenode::v1::Governance::NewStub(node_.Channel());
  trenode::v1::ApproveProjectRequest approve = Reapproval();
  approve.set_disclosure_policy("strict");
  trenode::v1::Project project;
  grpc::Status status =
      governance->ApproveProject(As("sam", "data_steward").get(), approve, &project);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "disclosure_policy: no disclosure policy \"strict\"; presets are acro, cell_key, "
            "opensafely, datashield");
  approve.set_disclosure_policy("acro");
  approve.add_disclosure_policy_overrides("threshold=100000");
  ASSERT_TRUE(governance->ApproveProject(As("sam", "data_steward").get(), approve, &project).ok());
  Release draft;
  ASSERT_TRUE(Create(CountsAnalysis("strict"), &draft).ok());
  EXPECT_EQ(draft.policy(), "acro (threshold=100000)");
  // Every cell and the total are under the threshold: the total cannot be
  // published either, so the file fails.
  EXPECT_EQ(ViewAs(draft.id()).files(0).verdict(), "fail");
  Release submitted;
  ASSERT_TRUE(Submit(draft.id(), &submitted).ok());
  EXPECT_EQ(submitted.files(0).verdict(), "fail");
  EXPECT_EQ(submitted.files(0).verdict_summary(),
            "fails the disclosure rules: a published total fails the rules (totals)");
  EXPECT_TRUE(absl::StartsWith(ViewAs(draft.id()).files(0).verdict_summary(),
                               "fail; published totals fail the rules: Total ("))
      << ViewAs(draft.id()).files(0).verdict_summary();
}

TEST_F(ReleasesRpcTest, ScriptOutputsPassHardGatesAndNeedExplainedApproval) {
  // Row-level data with identifiers: blocked.
  Release rows, blocked;
  ASSERT_TRUE(Create(ScriptAnalysis("printf 'person_id,lvef\\nP1,30\\n' > /job/outbox/rows.csv",
                                    {"rows.csv"}),
                     &rows)
                  .ok());
  EXPECT_EQ(absl::StrJoin(ViewAs(rows.id()).files(0).gate_failures(), ";"),
            "column \"person_id\" looks like a person identifier");
  ASSERT_TRUE(Submit(rows.id(), &blocked).ok());
  EXPECT_EQ(absl::StrJoin(blocked.files(0).gate_failures(), ";"),
            "column \"person_id\" looks like a person identifier");
  EXPECT_EQ(blocked.state(), trenode::v1::RELEASE_STATE_BLOCKED);
  Release reply;
  EXPECT_EQ(Review(blocked, "olu", trenode::v1::FILE_DECISION_APPROVE, &reply, "fine").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  // A text file nobody can check automatically: approving needs a reason.
  Release notes, in_review;
  ASSERT_TRUE(
      Create(ScriptAnalysis("echo 'mean LVEF 31.2' > /job/outbox/notes.txt", {"notes.txt"}), &notes)
          .ok());
  EXPECT_EQ(ViewAs(notes.id()).files(0).verdict(), "review");
  ASSERT_TRUE(Submit(notes.id(), &in_review).ok());
  grpc::Status status = Review(in_review, "olu", trenode::v1::FILE_DECISION_APPROVE, &reply);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(),
            "explanation: required to approve notes.txt, whose automated verdict is review");
  ASSERT_TRUE(Review(in_review, "olu", trenode::v1::FILE_DECISION_APPROVE, &reply,
                     "a single mean over 200 persons")
                  .ok());
  ASSERT_TRUE(Review(in_review, "kim", trenode::v1::FILE_DECISION_REJECT, &reply,
                     "mean of a small subgroup")
                  .ok());
  EXPECT_EQ(reply.state(), trenode::v1::RELEASE_STATE_REJECTED);
  std::string bytes;
  EXPECT_EQ(Download(reply, "ada", "researcher", &bytes).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ReleasesRpcTest, AFileACheckerRejectsIsWithheldAndTheOthersAreReleased) {
  Release draft, in_review, reply;
  ASSERT_TRUE(Create(ScriptAnalysis("echo 'mean LVEF 31.2 (n=200)' > /job/outbox/summary.txt; "
                                    "echo 'LVEF by ward, 3 wards under 10' > "
                                    "/job/outbox/wards.txt",
                                    {"summary.txt", "wards.txt"}),
                     &draft)
                  .ok());
  ASSERT_EQ(draft.files_size(), 2);
  ASSERT_TRUE(Submit(draft.id(), &in_review).ok());
  ASSERT_TRUE(ReviewEach(in_review, "olu",
                         {Decide("summary.txt", true, "one mean over 200 persons"),
                          Decide("wards.txt", false, "wards with under 10 persons")},
                         &reply)
                  .ok());
  EXPECT_EQ(reply.state(), trenode::v1::RELEASE_STATE_IN_REVIEW);  // the quorum is 2
  ASSERT_TRUE(ReviewEach(in_review, "kim",
                         {Decide("summary.txt", true, "fine"), Decide("wards.txt", true, "fine")},
                         &reply)
                  .ok());
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED) << reply.state_reason();
  EXPECT_EQ(reply.state_reason(), "1 of 2 files copied to the egress area; withheld: wards.txt");
  EXPECT_EQ(absl::StrJoin(reply.approved_by(), ","), "olu@test-node,kim@test-node");
  EXPECT_FALSE(reply.files(0).withheld());
  EXPECT_TRUE(reply.files(1).withheld());
  EXPECT_EQ(reply.files(1).withheld_reason(),
            "rejected by olu@test-node: wards with under 10 persons");

  std::string bytes;
  ASSERT_TRUE(Download(reply, "ada", "researcher", &bytes, "summary.txt").ok());
  EXPECT_EQ(bytes, "mean LVEF 31.2 (n=200)\n");
  grpc::Status withheld = Download(reply, "ada", "researcher", &bytes, "wards.txt");
  EXPECT_EQ(withheld.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(withheld.error_message(),
            absl::StrCat("wards.txt was withheld from release ", reply.id(),
                         ": rejected by olu@test-node: wards with under 10 persons"));
  EXPECT_TRUE(
      std::filesystem::exists(ObjectPath(absl::StrCat("egress/", reply.id(), "/summary.txt"))));
  EXPECT_FALSE(
      std::filesystem::exists(ObjectPath(absl::StrCat("egress/", reply.id(), "/wards.txt"))));
  trenode::v1::RevokeReleaseRequest revoke;
  revoke.set_release_id(reply.id());
  revoke.set_reason("the summary's n was wrong");
  Release revoked;
  ASSERT_TRUE(releases_->RevokeRelease(As("kim", "output_checker").get(), revoke, &revoked).ok());
  EXPECT_EQ(revoked.state(), trenode::v1::RELEASE_STATE_REVOKED);
  EXPECT_FALSE(
      std::filesystem::exists(ObjectPath(absl::StrCat("egress/", reply.id(), "/summary.txt"))));

  // Rejections that together cover every file reject the release at once.
  Release second;
  ASSERT_TRUE(Create(ScriptAnalysis("echo 'a' > /job/outbox/a.txt; echo 'b' > /job/outbox/b.txt",
                                    {"a.txt", "b.txt"}),
                     &draft)
                  .ok());
  ASSERT_TRUE(Submit(draft.id(), &second).ok());
  ASSERT_TRUE(
      ReviewEach(second, "olu", {Decide("a.txt", true, "ok"), Decide("b.txt", false, "")}, &reply)
          .ok());
  EXPECT_EQ(reply.state(), trenode::v1::RELEASE_STATE_IN_REVIEW);
  ASSERT_TRUE(ReviewEach(second, "kim",
                         {Decide("a.txt", false, "a small cell"), Decide("b.txt", true, "ok")},
                         &reply)
                  .ok());
  EXPECT_EQ(reply.state(), trenode::v1::RELEASE_STATE_REJECTED);
  EXPECT_EQ(reply.state_reason(), "every file was rejected by kim@test-node and earlier reviewers");
  EXPECT_EQ(reply.files(0).withheld_reason(), "rejected by kim@test-node: a small cell");
  EXPECT_EQ(reply.files(1).withheld_reason(), "rejected by olu@test-node");
  EXPECT_EQ(Download(reply, "ada", "researcher", &bytes, "a.txt").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ReleasesRpcTest, AFailedJobsLogsLeaveOnlyThroughReview) {
  std::string failed =
      ScriptAnalysis("echo 'reading the cohort'; echo 'error: no column lvef' >&2; exit 3",
                     {"never.csv"}, trenode::v1::ANALYSIS_STATE_FAILED);
  Release draft, in_review, reply;
  grpc::Status refused = Create(failed, &draft);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(refused.error_message(),
            absl::StrCat("analysis ", failed,
                         " is failed; only a succeeded analysis's outputs, or a finished script "
                         "job's logs (include_logs), can be released"));

  ASSERT_TRUE(Create(failed, &draft, /*include_logs=*/true).ok());
  ASSERT_EQ(draft.files_size(), 2);
  EXPECT_EQ(draft.files(0).name(), "job-stdout.txt");
  EXPECT_EQ(draft.files(1).name(), "job-stderr.txt");
  EXPECT_EQ(ViewAs(draft.id()).files(1).verdict(), "review");
  EXPECT_EQ(ViewAs(draft.id()).files(1).verdict_summary(),
            "the job's standard error (its first 64 KiB): no automated check; read it for data");
  ASSERT_TRUE(Submit(draft.id(), &in_review).ok());
  EXPECT_EQ(in_review.state(), trenode::v1::RELEASE_STATE_IN_REVIEW);
  ASSERT_TRUE(ReviewEach(in_review, "olu",
                         {Decide("job-stdout.txt", true, "a progress line"),
                          Decide("job-stderr.txt", true, "an error message, no data")},
                         &reply)
                  .ok());
  ASSERT_TRUE(ReviewEach(in_review, "kim",
                         {Decide("job-stdout.txt", false, "not needed"),
                          Decide("job-stderr.txt", true, "no data")},
                         &reply)
                  .ok());
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED) << reply.state_reason();
  std::string bytes;
  ASSERT_TRUE(Download(reply, "ada", "researcher", &bytes, "job-stderr.txt").ok());
  EXPECT_EQ(bytes, "error: no column lvef\n");

  // Aggregate queries have no job logs.
  EXPECT_EQ(Create(CountsAnalysis("no-logs"), &draft, true).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(ReleasesRpcTest, AFileFailingAHardGateIsWithheldAndTheOthersStillGoToReview) {
  Release draft, in_review, reply;
  ASSERT_TRUE(Create(ScriptAnalysis("printf 'person_id,lvef\\nP1,30\\n' > /job/outbox/rows.csv; "
                                    "echo 'mean LVEF 31.2 (n=200)' > /job/outbox/summary.txt",
                                    {"rows.csv", "summary.txt"}),
                     &draft)
                  .ok());
  ASSERT_TRUE(Submit(draft.id(), &in_review).ok());
  ASSERT_EQ(in_review.state(), trenode::v1::RELEASE_STATE_IN_REVIEW) << in_review.state_reason();
  EXPECT_EQ(in_review.state_reason(), "needs 2 output checker approvals; withheld: rows.csv");
  EXPECT_TRUE(in_review.files(0).withheld());
  EXPECT_EQ(in_review.files(0).withheld_reason(),
            "failed a hard gate: column \"person_id\" looks like a person identifier");
  EXPECT_FALSE(in_review.files(1).withheld());

  // Checkers decide on the files still in play; the withheld one cannot be approved.
  EXPECT_EQ(
      ReviewEach(in_review, "olu",
                 {Decide("rows.csv", true, "fine"), Decide("summary.txt", true, "fine")}, &reply)
          .error_code(),
      grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(
      ReviewEach(in_review, "olu", {Decide("summary.txt", true, "one mean over 200")}, &reply)
          .ok());
  ASSERT_TRUE(
      ReviewEach(in_review, "kim", {Decide("summary.txt", true, "one mean over 200")}, &reply)
          .ok());
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED) << reply.state_reason();
  EXPECT_EQ(reply.state_reason(), "1 of 2 files copied to the egress area; withheld: rows.csv");
  std::string bytes;
  EXPECT_EQ(Download(reply, "ada", "researcher", &bytes, "rows.csv").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Download(reply, "ada", "researcher", &bytes, "summary.txt").ok());
  EXPECT_EQ(bytes, "mean LVEF 31.2 (n=200)\n");

  // Once the rest is rejected too, nothing is left: the release is rejected.
  Release second;
  ASSERT_TRUE(Create(ScriptAnalysis("printf 'person_id\\nP1\\n' > /job/outbox/ids.csv; "
                                    "echo 'n=3' > /job/outbox/n.txt",
                                    {"ids.csv", "n.txt"}),
                     &draft)
                  .ok());
  ASSERT_TRUE(Submit(draft.id(), &second).ok());
  ASSERT_TRUE(ReviewEach(second, "olu", {Decide("n.txt", false, "a count of 3")}, &reply).ok());
  EXPECT_EQ(reply.state(), trenode::v1::RELEASE_STATE_REJECTED);
  EXPECT_EQ(reply.state_reason(), "every file was rejected by olu@test-node or failed a hard gate");
}

TEST_F(ReleasesRpcTest, WithdrawingBeforeAnyReviewFreesTheAnalysisForANewRelease) {
  std::string analysis = ScriptAnalysis(
      "echo 'mean LVEF 31.2' > /job/outbox/notes.txt; echo 'read 200 persons'", {"notes.txt"});
  Release first, second, reply;
  ASSERT_TRUE(Create(analysis, &first).ok());
  EXPECT_EQ(Create(analysis, &second, /*include_logs=*/true).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  auto withdraw = [&](const Release& release) {
    trenode::v1::ReleaseIdRequest request;
    request.set_release_id(release.id());
    request.set_reason("I want the job's log too");
    return releases_->WithdrawRelease(As("ada", "researcher").get(), request, &reply);
  };
  ASSERT_TRUE(withdraw(first).ok());

  // Withdrawn unreviewed: a new request, this time with the job's log.
  ASSERT_TRUE(Create(analysis, &second, /*include_logs=*/true).ok());
  EXPECT_NE(second.id(), first.id());
  ASSERT_EQ(second.files_size(), 2);
  EXPECT_EQ(second.files(1).name(), "job-stdout.txt");

  // Withdrawn after a checker reviewed it: the same outputs are not put to others.
  Release in_review, third;
  ASSERT_TRUE(Submit(second.id(), &in_review).ok());
  ASSERT_TRUE(ReviewEach(in_review, "olu",
                         {Decide("notes.txt", false, "too detailed"),
                          Decide("job-stdout.txt", true, "a progress line")},
                         &reply)
                  .ok());
  ASSERT_TRUE(withdraw(second).ok());
  grpc::Status refused = Create(analysis, &third);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(refused.error_message(),
            absl::StrCat("analysis ", analysis, "'s release ", second.id(),
                         " was reviewed by olu@test-node before it was withdrawn; its outputs are "
                         "not offered for review again"));
}

// A declared magnitude table leaves as the sums the rules judged; its
// contributions (per-person values) never do, not even once approved.
TEST_F(ReleasesRpcTest, AReleasedMagnitudeTableHoldsOnlyItsAggregates) {
  Release draft, in_review, reply;
  ASSERT_TRUE(Create(ScriptAnalysis("printf 'ward,los\\nA,30;12;11;10;9;8;7;6;5;4;3;2\\n"
                                    "B,5;5;5;5;5;5;5;5;5;5;5;7.25\\n' > "
                                    "/job/outbox/stay.magnitude.csv",
                                    {"stay.magnitude.csv"}),
                     &draft)
                  .ok());
  ASSERT_EQ(draft.files_size(), 1);
  ASSERT_TRUE(Submit(draft.id(), &in_review).ok());
  for (const char* checker : {"olu", "kim"}) {
    ASSERT_TRUE(Review(in_review, checker, trenode::v1::FILE_DECISION_APPROVE, &reply,
                       "sums over 12 stays each")
                    .ok());
  }
  ASSERT_EQ(reply.state(), trenode::v1::RELEASE_STATE_RELEASED) << reply.state_reason();
  std::string bytes;
  ASSERT_TRUE(Download(reply, "ada", "researcher", &bytes, "stay.magnitude.csv").ok());
  EXPECT_EQ(bytes, "ward,los (sum)\nA,107\nB,62.25\n");
  EXPECT_EQ(bytes.find(';'), std::string::npos);
  EXPECT_EQ(reply.files(0).size(), static_cast<int64_t>(bytes.size()));
}

}  // namespace
}  // namespace trenode
