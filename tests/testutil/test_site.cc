#include "tests/testutil/test_site.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "trenode/v1/governance.grpc.pb.h"

namespace trenode::testing {
using google::protobuf::util::TimeUtil;

std::filesystem::path ImportSyntheticSite(const TestNode& node, const synth::SynthOptions& site) {
  std::filesystem::path dir = node.dir().path() / absl::StrCat("site-", site.seed);
  EXPECT_TRUE(synth::GenerateSite(site, dir.string()).ok());
  auto catalogue = node.Catalogue();
  auto context = WithToken(node.Token("sam", {"data_steward"}));
  trenode::v1::Dataset imported;
  auto writer = catalogue->ImportDataset(context.get(), &imported);
  trenode::v1::ImportDatasetRequest header;
  *header.mutable_header()->mutable_dataset() = synth::SiteMetadata(site);
  writer->Write(header);
  for (const char* table : {"person", "condition_occurrence", "drug_exposure", "measurement"}) {
    trenode::v1::ImportDatasetRequest chunk;
    chunk.mutable_chunk()->set_file_name(absl::StrCat(table, ".csv"));
    chunk.mutable_chunk()->set_data(ReadFile(dir / absl::StrCat(table, ".csv")));
    writer->Write(chunk);
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return std::filesystem::path(node.config().object_store().posix().root()) /
         imported.steward().storage_location();
}

void ApproveProjectWithTrainedResearcher(const TestNode& node, const std::string& project,
                                         const std::string& dataset_id,
                                         const std::string& researcher,
                                         const std::vector<trenode::v1::OutputKind>& preapproved) {
  auto governance = trenode::v1::Governance::NewStub(node.Channel());
  auto steward = [&] { return WithToken(node.Token("sam", {"data_steward"})); };
  trenode::v1::CreateProjectRequest create;
  create.mutable_project()->set_id(project);
  create.mutable_project()->set_title(absl::StrCat("Study ", project));
  create.mutable_project()->set_lay_summary("Finding heart failure that was never diagnosed.");
  create.mutable_project()->add_requested_dataset_ids(dataset_id);
  trenode::v1::Project reply;
  grpc::Status status = governance->CreateProject(
      WithToken(node.Token(researcher, {"researcher"})).get(), create, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  trenode::v1::ApproveProjectRequest approve;
  approve.set_project_id(project);
  approve.set_reference("REC 26/NW/0001");
  *approve.mutable_expires() = TimeUtil::GetCurrentTime() + TimeUtil::HoursToDuration(24 * 365);
  approve.add_dataset_ids(dataset_id);
  for (auto kind : preapproved) approve.add_preapproved_query_kinds(kind);
  status = governance->ApproveProject(steward().get(), approve, &reply);
  ASSERT_TRUE(status.ok()) << status.error_message();
  trenode::v1::RecordTrainingRequest training;
  training.mutable_record()->set_person(absl::StrCat(researcher, "@", node.config().node_id()));
  training.mutable_record()->set_course("Safe Researcher Training");
  training.mutable_record()->set_completed("2026-01-10");
  training.mutable_record()->set_expires("2099-01-10");
  trenode::v1::TrainingRecord recorded;
  status = governance->RecordTraining(steward().get(), training, &recorded);
  ASSERT_TRUE(status.ok()) << status.error_message();
}

bool ApproveProjectForPerson(const TestNode& node, const std::string& project,
                             const std::string& dataset, const std::string& person,
                             const std::vector<trenode::v1::OutputKind>& preapproved,
                             trenode::v1::FederatedResults federated_results) {
  auto governance = trenode::v1::Governance::NewStub(node.Channel());
  auto steward = [&] { return WithToken(node.Token("sam", {"data_steward"})); };
  trenode::v1::CreateProjectRequest create;
  create.mutable_project()->set_id(project);
  create.mutable_project()->set_title(absl::StrCat("Study ", project));
  create.mutable_project()->set_lay_summary("Finding heart failure that was never diagnosed.");
  create.mutable_project()->set_principal_investigator(person);
  create.mutable_project()->add_requested_dataset_ids(dataset);
  trenode::v1::Project reply;
  grpc::Status status = governance->CreateProject(steward().get(), create, &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  if (!status.ok()) return false;
  trenode::v1::ApproveProjectRequest approve;
  approve.set_project_id(project);
  approve.set_reference("REC 26/NW/0042");
  *approve.mutable_expires() = TimeUtil::GetCurrentTime() + TimeUtil::HoursToDuration(24 * 365);
  approve.add_dataset_ids(dataset);
  for (auto kind : preapproved) approve.add_preapproved_query_kinds(kind);
  approve.set_auto_release_owner(absl::StrCat("olu@", node.config().node_id()));
  approve.set_federated_results(federated_results);
  status = governance->ApproveProject(steward().get(), approve, &reply);
  EXPECT_TRUE(status.ok()) << status.error_message();
  if (!status.ok()) return false;
  trenode::v1::RecordTrainingRequest training;
  training.mutable_record()->set_person(person);
  training.mutable_record()->set_course("Safe Researcher Training");
  training.mutable_record()->set_completed("2026-01-10");
  training.mutable_record()->set_expires("2099-01-10");
  trenode::v1::TrainingRecord recorded;
  status = governance->RecordTraining(steward().get(), training, &recorded);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return status.ok();
}

}  // namespace trenode::testing
