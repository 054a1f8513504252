// The Azure Batch JSON: Get Task answers (shaped as the REST reference's
// examples) read as BatchJobs, and the Add Task body read back.
#include "adapters/azure/batch_json.h"

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace trenode::adapters::azure {
namespace {

using cloud::BatchPhase;

TEST(BatchJsonTest, StatesMapToPhases) {
  EXPECT_EQ(ParseTask(R"({"id":"t","state":"active"})")->phase, BatchPhase::kWaiting);
  EXPECT_EQ(ParseTask(R"({"id":"t","state":"preparing"})")->phase, BatchPhase::kWaiting);
  EXPECT_EQ(ParseTask(R"({"id":"t","state":"running"})")->phase, BatchPhase::kRunning);
  EXPECT_EQ(ParseTask(R"({"id":"t","state":"sleeping"})").status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ParseTask("<html>").status().code(), absl::StatusCode::kUnavailable);
}

TEST(BatchJsonTest, CompletedTasksSayHowTheyEnded) {
  auto ok = ParseTask(
      R"({"state":"completed","executionInfo":{"exitCode":0,"result":"success"}})");
  EXPECT_EQ(ok->phase, BatchPhase::kSucceeded);
  EXPECT_EQ(ok->exit_code, 0);
  auto failed = ParseTask(R"({"state":"completed","executionInfo":{"exitCode":3,
      "result":"failure","failureInfo":{"category":"usererror","code":"FailureExitCode",
      "message":"The task exited with an exit code representing a failure"}}})");
  EXPECT_EQ(failed->phase, BatchPhase::kFailed);
  EXPECT_EQ(failed->exit_code, 3);
  EXPECT_EQ(failed->reason,
            "The task exited with an exit code representing a failure (FailureExitCode)");
  auto ended = ParseTask(R"({"state":"completed","executionInfo":{"result":"failure",
      "failureInfo":{"category":"usererror","code":"TaskEnded",
      "message":"Task Was Ended by User Request"}}})");
  EXPECT_EQ(ended->phase, BatchPhase::kFailed);
  EXPECT_EQ(ended->exit_code, -1);
}

TEST(BatchJsonTest, AddTaskBodyCarriesTheSubmission) {
  cloud::BatchSubmission submission;
  submission.name = "job-1";
  submission.environment = {{"TRENODE_MANIFEST_URL", "https://x/y?sig=a%2Bb"}};
  submission.timeout = absl::Minutes(90);
  google::protobuf::Struct body;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  AddTaskBody(submission, {"img:1", "/opt/trenode/trenode-job-runner"}), &body)
                  .ok());
  const auto& fields = body.fields();
  EXPECT_EQ(fields.at("id").string_value(), "job-1");
  EXPECT_EQ(fields.at("commandLine").string_value(), "/opt/trenode/trenode-job-runner");
  EXPECT_EQ(fields.at("containerSettings").struct_value().fields().at("imageName").string_value(),
            "img:1");
  const auto& setting = fields.at("environmentSettings").list_value().values(0).struct_value();
  EXPECT_EQ(setting.fields().at("value").string_value(), "https://x/y?sig=a%2Bb");
  const auto& constraints = fields.at("constraints").struct_value().fields();
  EXPECT_EQ(constraints.at("maxWallClockTime").string_value(), "PT5400S");
  EXPECT_EQ(constraints.at("maxTaskRetryCount").number_value(), 0);
}

TEST(BatchJsonTest, ErrorsGiveTheirCodeAndFirstLine) {
  BatchServiceError error = ParseError(
      R"({"odata.metadata":"https://a.b.batch.azure.com/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element",
          "code":"TaskExists","message":{"lang":"en-US",
          "value":"The specified task already exists.\nRequestId:1\nTime:2024-01-01T00:00:00Z"}})");
  EXPECT_EQ(error.code, "TaskExists");
  EXPECT_EQ(error.message, "The specified task already exists.");
  EXPECT_EQ(ParseError("").code, "(no error code)");
}

}  // namespace
}  // namespace trenode::adapters::azure
