// Bundle proposals on a real node over TLS: every upload of a bundle for a
// project is listed for stewards (ListBundles, the review queue), a
// researcher sees only their own uploads and nothing of other projects'.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil/bundles.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/analyses.grpc.pb.h"

namespace trenode {
namespace {
using trenode::v1::Bundle;
using trenode::v1::BundleProposal;
using trenode::v1::ListBundlesRequest;
using trenode::v1::ListBundlesResponse;

constexpr char kDataset[] = "synth-ehr-4";

class BundleProposalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::ImportSyntheticSite(node_, {4, 300});
    testing::ApproveProjectWithTrainedResearcher(node_, "p-ada", kDataset, "ada");
    testing::ApproveProjectWithTrainedResearcher(node_, "p-bea", kDataset, "bea");
  }

  std::unique_ptr<grpc::ClientContext> As(const std::string& subject, const std::string& role) {
    return testing::WithToken(node_.Token(subject, {role}));
  }

  Bundle Upload(const std::string& subject, const std::string& project,
                const std::string& archive) {
    Bundle bundle;
    auto context = As(subject, "researcher");
    auto writer = stub_->UploadBundle(context.get(), &bundle);
    trenode::v1::UploadBundleRequest header;
    header.mutable_header()->set_project_id(project);
    writer->Write(header);
    trenode::v1::UploadBundleRequest chunk;
    chunk.set_chunk(archive);
    writer->Write(chunk);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    EXPECT_TRUE(status.ok()) << status.error_message();
    return bundle;
  }

  grpc::Status List(const std::string& subject, const std::string& role,
                    const ListBundlesRequest& request, ListBundlesResponse* reply) {
    return stub_->ListBundles(As(subject, role).get(), request, reply);
  }

  // (sha256 prefix, project, proposer, approved) of each entry, in order.
  static std::vector<std::string> Entries(const ListBundlesResponse& reply) {
    std::vector<std::string> entries;
    for (const BundleProposal& p : reply.proposals()) {
      entries.push_back(p.bundle().sha256().substr(0, 8) + " " + p.project_id() + " " +
                        p.proposed_by() + (p.approved() ? " approved" : " awaiting"));
    }
    return entries;
  }

  testing::TestNode node_;
  std::unique_ptr<trenode::v1::Analyses::Stub> stub_ =
      trenode::v1::Analyses::NewStub(node_.Channel());
  const std::string counts_ =
      testing::ScriptBundle("run.py", "print(1)\n", {kDataset}, {"counts.csv"});
  const std::string means_ =
      testing::ScriptBundle("run.py", "print(2)\n", {kDataset}, {"means.csv"});
};

TEST_F(BundleProposalsTest, StewardsSeeEveryUploadAsAQueueUntilApproved) {
  const Bundle x = Upload("ada", "p-ada", counts_);
  const Bundle x_again = Upload("bea", "p-bea", counts_);  // the same bytes, another project
  const Bundle y = Upload("ada", "p-ada", means_);
  ASSERT_EQ(x.sha256(), x_again.sha256());
  const std::string xs = x.sha256().substr(0, 8), ys = y.sha256().substr(0, 8);

  ListBundlesRequest awaiting;
  awaiting.set_awaiting_approval(true);
  ListBundlesResponse queue;
  ASSERT_TRUE(List("sam", "data_steward", awaiting, &queue).ok());
  EXPECT_EQ(Entries(queue),
            (std::vector<std::string>{xs + " p-ada ada@test-node awaiting",
                                      xs + " p-bea bea@test-node awaiting",
                                      ys + " p-ada ada@test-node awaiting"}));
  EXPECT_EQ(queue.proposals(0).bundle().manifest().entry_point(), "run.py");

  // Repeating one's own upload proposes nothing new.
  Upload("ada", "p-ada", counts_);
  ListBundlesResponse again;
  ASSERT_TRUE(List("sam", "data_steward", awaiting, &again).ok());
  EXPECT_EQ(again.proposals_size(), 3);

  trenode::v1::ApproveBundleRequest approve;
  approve.set_project_id("p-ada");
  approve.set_sha256(x.sha256());
  Bundle approved;
  ASSERT_TRUE(stub_->ApproveBundle(As("sam", "data_steward").get(), approve, &approved).ok());

  ListBundlesResponse after;
  ASSERT_TRUE(List("sam", "data_steward", awaiting, &after).ok());
  EXPECT_EQ(Entries(after), (std::vector<std::string>{xs + " p-bea bea@test-node awaiting",
                                                      ys + " p-ada ada@test-node awaiting"}));
  ListBundlesRequest of_ada;
  of_ada.set_project_id("p-ada");
  ListBundlesResponse ada_project;
  ASSERT_TRUE(List("olu", "auditor", of_ada, &ada_project).ok());
  EXPECT_EQ(Entries(ada_project), (std::vector<std::string>{xs + " p-ada ada@test-node approved",
                                                            ys + " p-ada ada@test-node awaiting"}));
}

TEST_F(BundleProposalsTest, PagesWalkTheWholeListAndForeignTokensAreRefused) {
  Upload("ada", "p-ada", counts_);
  Upload("bea", "p-bea", counts_);
  Upload("ada", "p-ada", means_);
  ListBundlesRequest request;
  request.set_page_size(1);
  std::vector<std::string> walked;
  for (int page = 0; page < 10; ++page) {
    ListBundlesResponse reply;
    ASSERT_TRUE(List("sam", "data_steward", request, &reply).ok());
    for (const std::string& entry : Entries(reply)) walked.push_back(entry);
    if (reply.next_page_token().empty()) break;
    request.set_page_token(reply.next_page_token());
  }
  ListBundlesResponse whole;
  ASSERT_TRUE(List("sam", "data_steward", ListBundlesRequest(), &whole).ok());
  EXPECT_EQ(walked, Entries(whole));
  EXPECT_EQ(walked.size(), 3u);

  for (const std::string token : {"abc", "0", "-4", "12x"}) {
    ListBundlesRequest forged;
    forged.set_page_token(token);
    ListBundlesResponse reply;
    grpc::Status status = List("sam", "data_steward", forged, &reply);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_EQ(status.error_message(), "page_token: not one this node gave") << token;
  }
  ListBundlesRequest negative;
  negative.set_page_size(-1);
  ListBundlesResponse reply;
  EXPECT_EQ(List("sam", "data_steward", negative, &reply).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// A researcher who uploads bytes another researcher uploaded first learns
// neither who that was nor which other projects approved them.
TEST_F(BundleProposalsTest, AResearcherSeesOnlyTheirOwnUploadsAndNothingOfOtherProjects) {
  const Bundle x = Upload("ada", "p-ada", counts_);
  const Bundle y = Upload("ada", "p-ada", means_);
  const Bundle x_by_bea = Upload("bea", "p-bea", counts_);
  EXPECT_TRUE(x_by_bea.uploaded_by().empty()) << x_by_bea.uploaded_by();
  trenode::v1::ApproveBundleRequest approve;
  approve.set_project_id("p-ada");
  approve.set_sha256(x.sha256());
  Bundle approved;
  ASSERT_TRUE(stub_->ApproveBundle(As("sam", "data_steward").get(), approve, &approved).ok());

  ListBundlesResponse bea;
  ASSERT_TRUE(List("bea", "researcher", ListBundlesRequest(), &bea).ok());
  ASSERT_EQ(bea.proposals_size(), 1);
  EXPECT_EQ(bea.proposals(0).project_id(), "p-bea");
  EXPECT_FALSE(bea.proposals(0).approved());
  EXPECT_TRUE(bea.proposals(0).bundle().uploaded_by().empty());
  EXPECT_EQ(bea.proposals(0).bundle().approvals_size(), 0);  // p-ada's approval is not hers

  // Asking for another project's queue lists nothing of it.
  ListBundlesRequest of_ada;
  of_ada.set_project_id("p-ada");
  ListBundlesResponse none;
  ASSERT_TRUE(List("bea", "researcher", of_ada, &none).ok());
  EXPECT_EQ(none.proposals_size(), 0);

  trenode::v1::GetBundleRequest get;
  get.set_sha256(x.sha256());
  Bundle seen;
  ASSERT_TRUE(stub_->GetBundle(As("bea", "researcher").get(), get, &seen).ok());
  EXPECT_TRUE(seen.uploaded_by().empty());
  EXPECT_EQ(seen.approvals_size(), 0);
  get.set_sha256(y.sha256());
  EXPECT_EQ(stub_->GetBundle(As("bea", "researcher").get(), get, &seen).error_code(),
            grpc::StatusCode::NOT_FOUND);

  // The first uploader still sees their name and their project's approval.
  ListBundlesResponse ada;
  ASSERT_TRUE(List("ada", "researcher", ListBundlesRequest(), &ada).ok());
  ASSERT_EQ(ada.proposals_size(), 2);
  EXPECT_EQ(ada.proposals(0).bundle().uploaded_by(), "ada@test-node");
  EXPECT_TRUE(ada.proposals(0).approved());
  ASSERT_EQ(ada.proposals(0).bundle().approvals_size(), 1);
  EXPECT_EQ(ada.proposals(0).bundle().approvals(0).project_id(), "p-ada");
}

}  // namespace
}  // namespace trenode
