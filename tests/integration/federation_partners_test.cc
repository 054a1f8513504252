// Partners over real mutual TLS between real nodes on loopback: who is
// served (listed partners of the pinned CA only), what a node tells about
// itself, what a node's people see of its partners, and that removing a
// partner takes effect at once.
#include <algorithm>
#include <chrono>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/log/signed_note.h"
#include "node/storage/sqlite.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/activity_log.grpc.pb.h"
#include "trenode/v1/catalogue.grpc.pb.h"
#include "trenode/v1/federation.grpc.pb.h"

namespace trenode {
namespace {
using testing::AddPartner;
using testing::TestNode;
using trenode::v1::PartnerStatus;

pki::KeyAndCertificate FederationCa() {
  return *pki::CreateCa("test federation", pki::ValidFor(2));
}

std::map<std::string, PartnerStatus> PartnersSeenFrom(const TestNode& node) {
  trenode::v1::ListPartnersResponse listed;
  grpc::Status status = trenode::v1::Federation::NewStub(node.Channel())
                            ->ListPartners(node.As("researcher").get(), {}, &listed);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::map<std::string, PartnerStatus> by_id;
  for (const auto& partner : listed.partners()) by_id[partner.node_id()] = partner;
  return by_id;
}

TEST(FederationPartnersTest, AListedPartnerIsAnsweredWithTheNodesDescription) {
  auto ca = FederationCa();
  TestNode b("site-b", ca, [](trenode::v1::NodeConfig& config) {
    config.set_institution("University B");
    AddPartner(config, "site-a");
  });
  testing::ImportSyntheticSite(b, {3, 200});
  TestNode a("site-a", ca,
             [&](trenode::v1::NodeConfig& config) { AddPartner(config, "site-b", b.address()); });

  std::map<std::string, PartnerStatus> seen = PartnersSeenFrom(a);
  ASSERT_EQ(seen.size(), 1u);
  const PartnerStatus& status = seen["site-b"];
  ASSERT_EQ(status.reachability(), PartnerStatus::REACHABILITY_ANSWERED) << status.detail();
  EXPECT_EQ(status.address(), b.address());
  const trenode::v1::NodeInfo& info = status.info();
  EXPECT_EQ(info.node_id(), "site-b");
  EXPECT_EQ(info.institution(), "University B");
  EXPECT_EQ(info.interface_version(), "trenode.v1");
  EXPECT_EQ(info.log_verifier_key(), b.log_key().VerifierKey());
  std::vector<std::string> themes(info.dataset_themes().begin(), info.dataset_themes().end());
  EXPECT_EQ(themes, (std::vector<std::string>{"Cardiovascular", "Health records"}));
  std::vector<std::string> capabilities(info.capabilities().begin(), info.capabilities().end());
  EXPECT_NE(std::find(capabilities.begin(), capabilities.end(), "aggregate_queries"),
            capabilities.end());
  // No compute backend is configured: no script jobs claimed.
  EXPECT_EQ(std::find(capabilities.begin(), capabilities.end(), "script_jobs"), capabilities.end());

  // The log key B gives matches the one that signs its checkpoints.
  trenode::v1::Checkpoint checkpoint;
  ASSERT_TRUE(trenode::v1::ActivityLog::NewStub(b.Channel())
                  ->GetCheckpoint(b.As("auditor").get(), {}, &checkpoint)
                  .ok());
  EXPECT_EQ(checkpoint.verifier_key(), info.log_verifier_key());
}

TEST(FederationPartnersTest, EachFailureIsReportedForWhatItIs) {
  auto ca = FederationCa();
  // C is of the federation but does not list A.
  TestNode c("site-c", ca);
  // F is a node of another federation: A cannot verify its certificate.
  TestNode f("site-f", FederationCa());
  TestNode a("site-a", ca, [&](trenode::v1::NodeConfig& config) {
    AddPartner(config, "site-c", c.address());
    AddPartner(config, "site-f", f.address());
    // Nothing listens here.
    AddPartner(config, "site-d", "127.0.0.1:1");
    // C's address under another partner's name: C's certificate does not
    // name site-e, so nothing is sent.
    AddPartner(config, "site-e", c.address());
  });
  std::map<std::string, PartnerStatus> seen = PartnersSeenFrom(a);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen["site-c"].reachability(), PartnerStatus::REACHABILITY_REFUSED);
  EXPECT_NE(seen["site-c"].detail().find("\"site-a\" is not a partner"), std::string::npos)
      << seen["site-c"].detail();
  for (const char* unreachable : {"site-d", "site-e", "site-f"}) {
    EXPECT_EQ(seen[unreachable].reachability(), PartnerStatus::REACHABILITY_UNREACHABLE)
        << unreachable;
    EXPECT_FALSE(seen[unreachable].has_info()) << unreachable;
  }
}

TEST(FederationPartnersTest, APartnerRemovedIsRefusedFromTheNextCallAndTheChangeIsLogged) {
  auto ca = FederationCa();
  TestNode b("site-b", ca, [](trenode::v1::NodeConfig& config) { AddPartner(config, "site-a"); });
  TestNode a("site-a", ca,
             [&](trenode::v1::NodeConfig& config) { AddPartner(config, "site-b", b.address()); });
  ASSERT_EQ(PartnersSeenFrom(a)["site-b"].reachability(), PartnerStatus::REACHABILITY_ANSWERED);

  trenode::v1::NodeConfig without_a = b.config();
  without_a.clear_federation();
  auto changed = b.server().ReloadPartners(without_a);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, "partners added [] removed [site-a] readdressed []");
  // The same channel, already connected: refused at once.
  PartnerStatus after = PartnersSeenFrom(a)["site-b"];
  EXPECT_EQ(after.reachability(), PartnerStatus::REACHABILITY_REFUSED) << after.detail();

  // Direct calls with A's certificate are refused too.
  trenode::v1::NodeInfo info;
  grpc::ClientContext context;
  EXPECT_EQ(trenode::v1::Federation::NewStub(b.Channel(&a.node_certificate()))
                ->GetNodeInfo(&context, {}, &info)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // B's log says who changed what.
  trenode::v1::GetEntriesRequest request;
  auto auditor = b.As("auditor");
  auto reader = trenode::v1::ActivityLog::NewStub(b.Channel())->GetEntries(auditor.get(), request);
  trenode::v1::LogEntry entry;
  bool logged = false;
  while (reader->Read(&entry)) {
    if (entry.leaf().find("federation.partners") != std::string::npos &&
        entry.leaf().find("removed [site-a]") != std::string::npos) {
      logged = true;
    }
  }
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_TRUE(logged);

  // Listed again: served again.
  ASSERT_TRUE(b.server().ReloadPartners(b.config()).ok());
  EXPECT_EQ(PartnersSeenFrom(a)["site-b"].reachability(), PartnerStatus::REACHABILITY_ANSWERED);
}

TEST(FederationPartnersTest, APartnerMayAskWhoWeAreButNotListOurPartners) {
  auto ca = FederationCa();
  TestNode a("site-a", ca, [](trenode::v1::NodeConfig& config) { AddPartner(config, "site-b"); });
  auto b_certificate = *pki::Issue(ca, pki::NodeCertificateRequest("site-b", pki::ValidFor(1)));
  trenode::v1::ListPartnersResponse listed;
  grpc::ClientContext context;
  EXPECT_EQ(trenode::v1::Federation::NewStub(a.Channel(&b_certificate))
                ->ListPartners(&context, {}, &listed)
                .error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  trenode::v1::NodeInfo info;
  grpc::ClientContext as_peer;
  EXPECT_TRUE(trenode::v1::Federation::NewStub(a.Channel(&b_certificate))
                  ->GetNodeInfo(&as_peer, {}, &info)
                  .ok());
  EXPECT_EQ(info.node_id(), "site-a");
}

TEST(FederationPartnersTest, OneSearchOfEveryCatalogueMergedByRankWithEachNodesStatus) {
  auto ca = FederationCa();
  TestNode b("site-b", ca, [](trenode::v1::NodeConfig& config) { AddPartner(config, "site-a"); });
  TestNode c("site-c", ca);  // does not list site-a
  testing::ImportSyntheticSite(b, {32, 200});
  TestNode a("site-a", ca, [&](trenode::v1::NodeConfig& config) {
    AddPartner(config, "site-b", b.address());
    AddPartner(config, "site-c", c.address());
    AddPartner(config, "site-d", "127.0.0.1:1");
  });
  testing::ImportSyntheticSite(a, {31, 200});
  auto stub = trenode::v1::Federation::NewStub(a.Channel());
  trenode::v1::SearchFederationRequest request;
  request.set_query("cardiovascular");
  trenode::v1::SearchFederationResponse found;
  grpc::Status status = stub->SearchFederation(a.As("researcher").get(), request, &found);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(found.hits_size(), 2);
  EXPECT_EQ(found.hits(0).node_id(), "site-a");
  EXPECT_EQ(found.hits(0).dataset().id(), "synth-ehr-31");
  EXPECT_EQ(found.hits(1).node_id(), "site-b");
  EXPECT_EQ(found.hits(1).dataset().id(), "synth-ehr-32");
  EXPECT_EQ(found.hits(1).rank(), 1);
  // B shows a partner what it shows a partner: no storage location.
  EXPECT_FALSE(found.hits(1).dataset().has_steward());
  ASSERT_EQ(found.nodes_size(), 4);
  std::map<std::string, trenode::v1::NodeSearchStatus> nodes;
  for (const auto& node : found.nodes()) nodes[node.node_id()] = node;
  EXPECT_EQ(found.nodes(0).node_id(), "site-a");
  EXPECT_EQ(nodes["site-b"].reachability(), PartnerStatus::REACHABILITY_ANSWERED);
  EXPECT_EQ(nodes["site-b"].hits(), 1);
  EXPECT_EQ(nodes["site-c"].reachability(), PartnerStatus::REACHABILITY_REFUSED);
  EXPECT_EQ(nodes["site-d"].reachability(), PartnerStatus::REACHABILITY_UNREACHABLE);

  // The query is checked here first; a bad one is the caller's to fix.
  request.set_per_node(101);
  EXPECT_EQ(stub->SearchFederation(a.As("researcher").get(), request, &found).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_per_node(0);
  request.set_query("");
  EXPECT_EQ(stub->SearchFederation(a.As("researcher").get(), request, &found).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// Attack (review, partner-facing errors): a fault of this node used to
// reach a partner calling GetNodeInfo, Catalogue.SearchDatasets or
// AddCosignature directly with this node's own text (what was written for
// its staff: storage errors, paths), and a storage fault in AddCosignature
// was counted as the partner's refusal. Now every direct call's failure is
// written for a partner in one place (rpc::ForCaller), as down a stream.
TEST(FederationPartnersTest, AFaultHereReachesAPartnerOnlyAsAFixedPhrase) {
  auto ca = FederationCa();
  TestNode b("site-b", ca, [](trenode::v1::NodeConfig& config) { AddPartner(config, "site-a"); });
  testing::ImportSyntheticSite(b, {33, 200});
  trenode::v1::Checkpoint genuine;
  ASSERT_TRUE(trenode::v1::ActivityLog::NewStub(b.Channel())
                  ->GetCheckpoint(b.As("auditor").get(), {}, &genuine)
                  .ok());
  // B's stored rows are damaged: every read of them is a storage fault.
  {
    auto db = storage::SqliteDb::Open(b.config().database_path(),
                                      storage::SqliteDb::Mode::kReadWrite);
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec("UPDATE dataset_versions SET metadata = x'ff';"
                            "INSERT INTO cosignatures(witness, cosigned) VALUES ('site-a', x'ff')")
                    .ok());
  }
  auto a_certificate = *pki::Issue(ca, pki::NodeCertificateRequest("site-a", pki::ValidFor(1)));
  auto expect_fixed_phrase = [](const grpc::Status& status, const std::string& method) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INTERNAL) << method;
    EXPECT_EQ(status.error_message(),
              "this node failed to answer (a fault here, its staff have the detail)")
        << method;
  };

  grpc::ClientContext info_context;
  trenode::v1::NodeInfo info;
  expect_fixed_phrase(trenode::v1::Federation::NewStub(b.Channel(&a_certificate))
                          ->GetNodeInfo(&info_context, {}, &info),
                      "GetNodeInfo");
  trenode::v1::SearchDatasetsRequest search;
  search.set_query("cardiovascular");
  trenode::v1::SearchDatasetsResponse found;
  grpc::ClientContext search_context;
  expect_fixed_phrase(trenode::v1::Catalogue::NewStub(b.Channel(&a_certificate))
                          ->SearchDatasets(&search_context, search, &found),
                      "SearchDatasets");
  // A well-formed cosignature of B's own checkpoint, by a key that B finds
  // stored (damaged) for site-a.
  log::NoteSigner witness =
      log::NoteSigner::Generate("site-a")->DeriveCosigner("site-a/witness").value();
  trenode::v1::AddCosignatureRequest cosign;
  cosign.set_checkpoint(genuine.note());
  cosign.set_cosignature(
      *witness.Cosign(genuine.note().substr(0, genuine.note().find("\n\n") + 1), 1700000000));
  cosign.set_witness_key(witness.VerifierKey());
  trenode::v1::AddCosignatureResponse cosigned;
  grpc::ClientContext cosign_context;
  expect_fixed_phrase(trenode::v1::Federation::NewStub(b.Channel(&a_certificate))
                          ->AddCosignature(&cosign_context, cosign, &cosigned),
                      "AddCosignature");

  // B's own people are told what happened, as before.
  grpc::Status own = b.Catalogue()->SearchDatasets(b.As("researcher").get(), search, &found);
  EXPECT_EQ(own.error_code(), grpc::StatusCode::DATA_LOSS) << own.error_message();
  EXPECT_NE(own.error_message().find("does not parse"), std::string::npos) << own.error_message();
}

// Every leaf of `node`'s activity log, as an auditor reads them.
std::vector<std::string> LeavesOf(const TestNode& node) {
  auto auditor = node.As("auditor");
  auto reader = trenode::v1::ActivityLog::NewStub(node.Channel())->GetEntries(auditor.get(), {});
  std::vector<std::string> leaves;
  trenode::v1::LogEntry entry;
  while (reader->Read(&entry)) leaves.push_back(entry.leaf());
  EXPECT_TRUE(reader->Finish().ok());
  return leaves;
}

// Attack (review M4): a listed partner loops malformed calls as fast as it
// can. Each used to write an auth.allow (and a refusal) to B's log, which
// is never pruned. Now every call of a partner is rate limited, a request
// that names no one is refused before anything is logged, and the
// refusals are one summary per partner.
TEST(FederationPartnersTest, APartnerFloodingCallsIsThrottledAndSummarised) {
  auto ca = FederationCa();
  TestNode b("site-b", ca, [](trenode::v1::NodeConfig& config) {
    AddPartner(config, "site-a");
    config.mutable_federation()->set_partner_calls_per_second(2);
    config.mutable_federation()->set_partner_call_burst(10);
  });
  auto a_certificate = *pki::Issue(ca, pki::NodeCertificateRequest("site-a", pki::ValidFor(1)));
  auto as_a = trenode::v1::Federation::NewStub(b.Channel(&a_certificate));
  auto count_a = [](const std::vector<std::string>& leaves) {
    return std::count_if(leaves.begin(), leaves.end(), [](const std::string& leaf) {
      return leaf.find("site-a") != std::string::npos;
    });
  };
  const std::vector<std::string>::difference_type before = count_a(LeavesOf(b));

  constexpr int kCalls = 60;
  std::map<grpc::StatusCode, int> codes;
  std::string throttled;
  for (int i = 0; i < kCalls; ++i) {
    grpc::ClientContext submit_context;
    trenode::v1::SubmitContributionRequest submit;  // subject "": names no one
    submit.set_request_id("flood");
    trenode::v1::Contribution contribution;
    grpc::Status submitted = as_a->SubmitContribution(&submit_context, submit, &contribution);
    ++codes[submitted.error_code()];
    if (submitted.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      throttled = submitted.error_message();
    }
    grpc::ClientContext cosign_context;
    trenode::v1::AddCosignatureRequest cosign;
    cosign.set_checkpoint("not a checkpoint");
    cosign.set_cosignature("nonsense\n");
    trenode::v1::AddCosignatureResponse cosigned;
    ++codes[as_a->AddCosignature(&cosign_context, cosign, &cosigned).error_code()];
  }
  // Each call is refused for what it is, or throttled; none goes through.
  EXPECT_EQ(codes[grpc::StatusCode::INVALID_ARGUMENT] + codes[grpc::StatusCode::RESOURCE_EXHAUSTED],
            2 * kCalls);
  EXPECT_GE(codes[grpc::StatusCode::INVALID_ARGUMENT], 1);
  EXPECT_GT(codes[grpc::StatusCode::RESOURCE_EXHAUSTED], 0);
  EXPECT_NE(throttled.find("retry in"), std::string::npos) << throttled;
  // Nothing of it in B's log yet: no allow, no refusal one by one.
  EXPECT_EQ(count_a(LeavesOf(b)), before);

  // An honest call passes once the partner slows down (polled, not timed).
  trenode::v1::NodeInfo info;
  grpc::Status answered;
  int refused = 2 * kCalls;
  for (int attempt = 0; attempt < 100; ++attempt) {
    grpc::ClientContext context;
    answered = as_a->GetNodeInfo(&context, {}, &info);
    if (answered.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) break;
    ++refused;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(answered.ok()) << answered.error_message();
  EXPECT_EQ(info.node_id(), "site-b");

  // The refusals are summarised, once, when the summary is due (at the
  // latest when the node stops).
  b.Restart();
  std::vector<std::string> leaves = LeavesOf(b);
  std::vector<std::string> about_a;
  for (const auto& leaf : leaves) {
    if (leaf.find("site-a") != std::string::npos) about_a.push_back(leaf);
  }
  ASSERT_EQ(about_a.size(), static_cast<size_t>(before + 1));
  const std::string& summary = about_a.back();
  EXPECT_NE(summary.find("auth.deny.summary"), std::string::npos) << summary;
  EXPECT_NE(summary.find("node/site-a"), std::string::npos) << summary;
  EXPECT_NE(summary.find(absl::StrCat(refused, " calls of the partner refused")), std::string::npos)
      << summary;
  EXPECT_NE(summary.find("SubmitContribution: subject: must be"), std::string::npos) << summary;
}

}  // namespace
}  // namespace trenode
