// trenode-federation-bench: federated count-by-group latency over real nodes
// on loopback (mutual TLS between nodes), as a ratio to a batch of parallel
// bare echo calls, one to each node, measured in the same run.
//
// usage: trenode-federation-bench [--nodes N] [--persons P] [--queries Q]
//   N nodes (default 8) each import a synthetic site of P persons (default
//   1000); a researcher of the first asks all N, Q times (default 30), one
//   query after another; every part is auto-released at its node. Prints
//   p50 and p99 of each, queries per second, and the ratio of the p50s.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "node/analyses/analysis_state.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/echo.grpc.pb.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/analyses.grpc.pb.h"

namespace {
using trenode::testing::TestNode;
using trenode::testing::WithToken;

constexpr char kUsage[] =
    "usage: trenode-federation-bench [--nodes N] [--persons P] [--queries Q]\n"
    "  N nodes (2-16, default 8) with P persons each (default 1000); Q federated\n"
    "  count-by-sex queries (default 30), against parallel echo calls to every node.\n";

class EchoService final : public trenode::bench::BenchEcho::Service {
  grpc::Status Echo(grpc::ServerContext*, const trenode::bench::EchoMessage* request,
                    trenode::bench::EchoMessage* reply) override {
    reply->set_text(request->text());
    return grpc::Status::OK;
  }
};

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  size_t index = static_cast<size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(index, values.size() - 1)];
}

bool Fail(const std::string& what) {
  std::cerr << "trenode-federation-bench: " << what << "\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 8, persons = 1000, queries = 30;
  if (auto exit_status = trenode::bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--nodes", &nodes, 2, 16}, {"--persons", &persons}, {"--queries", &queries}})) {
    return *exit_status;
  }

  EchoService echo;
  auto ca = *trenode::pki::CreateCa("bench federation", trenode::pki::ValidFor(2));
  std::vector<std::unique_ptr<TestNode>> partners;
  std::unique_ptr<TestNode> home;
  absl::Time setup = absl::Now();
  try {
    for (int n = 2; n <= nodes; ++n) {
      partners.push_back(std::make_unique<TestNode>(
          absl::StrCat("node-", n), ca,
          [](trenode::v1::NodeConfig& config) { trenode::testing::AddPartner(config, "node-1"); },
          std::vector<grpc::Service*>{&echo}));
    }
    home = std::make_unique<TestNode>(
        "node-1", ca,
        [&](trenode::v1::NodeConfig& config) {
          for (const auto& partner : partners) {
            trenode::testing::AddPartner(config, partner->config().node_id(), partner->address());
          }
        },
        std::vector<grpc::Service*>{&echo});
  } catch (const std::exception& e) {
    std::cerr << "trenode-federation-bench: " << e.what() << "\n";
    return 1;
  }
  std::vector<TestNode*> all = {home.get()};
  for (const auto& partner : partners) all.push_back(partner.get());
  for (size_t n = 0; n < all.size(); ++n) {
    uint64_t seed = 100 + n;
    trenode::testing::ImportSyntheticSite(*all[n], {seed, persons});
    // Counts pre-approved, passing outputs released without review.
    if (!trenode::testing::ApproveProjectForPerson(*all[n], "bench",
                                                   absl::StrCat("synth-ehr-", seed), "ada@node-1",
                                                   {trenode::v1::OUTPUT_KIND_COUNTS})) {
      return 1;
    }
  }
  std::printf("%d nodes with %d persons each ready in %.1f s\n", nodes, persons,
              absl::ToDoubleSeconds(absl::Now() - setup));

  // Baseline: one bare echo call to every node at once, over kept channels.
  std::vector<std::unique_ptr<trenode::bench::BenchEcho::Stub>> echo_stubs;
  for (TestNode* node : all)
    echo_stubs.push_back(trenode::bench::BenchEcho::NewStub(node->Channel()));
  std::vector<double> echo_ms;
  for (int round = 0; round < queries + 5; ++round) {
    absl::Time start = absl::Now();
    std::vector<std::thread> callers;
    std::atomic<bool> failed{false};
    for (auto& stub : echo_stubs) {
      callers.emplace_back([&, s = stub.get()] {
        grpc::ClientContext context;
        trenode::bench::EchoMessage request, reply;
        request.set_text("ping");
        if (!s->Echo(&context, request, &reply).ok()) failed = true;
      });
    }
    for (auto& caller : callers) caller.join();
    if (failed) {
      Fail("an echo call failed");
      return 1;
    }
    if (round >= 5) echo_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }

  auto analyses = trenode::v1::Analyses::NewStub(home->Channel());
  const std::string token = home->Token("ada", {"researcher"});
  std::vector<double> federated_ms;
  absl::Time first = absl::Now();
  for (int q = 0; q < queries; ++q) {
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id("bench");
    request.set_request_id(absl::StrCat("q", q));
    request.mutable_query()->set_dataset_id("synth-ehr-100");
    auto* output = request.mutable_query()->add_outputs();
    output->set_name("by_sex");
    output->mutable_counts()->add_group_by()->mutable_variable()->set_column("sex");
    for (TestNode* node : all) request.add_nodes(node->config().node_id());
    absl::Time start = absl::Now();
    trenode::v1::Analysis submitted;
    grpc::Status status = analyses->SubmitAnalysis(WithToken(token).get(), request, &submitted);
    if (!status.ok()) {
      Fail(status.error_message());
      return 1;
    }
    trenode::v1::WatchAnalysisRequest watch;
    watch.set_analysis_id(submitted.id());
    auto context = WithToken(token);
    auto reader = analyses->WatchAnalysis(context.get(), watch);
    trenode::v1::AnalysisEvent event;
    trenode::v1::AnalysisState last = trenode::v1::ANALYSIS_STATE_UNSPECIFIED;
    while (reader->Read(&event)) last = event.state();
    reader->Finish();
    federated_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    if (last != trenode::v1::ANALYSIS_STATE_SUCCEEDED) {
      Fail(absl::StrCat("query ", q, " ended ", trenode::analyses::StateName(last)));
      return 1;
    }
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - first);
  double echo_p50 = Percentile(echo_ms, 0.5), federated_p50 = Percentile(federated_ms, 0.5);
  std::printf("parallel echo to %d nodes:  p50 %8.2f ms  p99 %8.2f ms\n", nodes, echo_p50,
              Percentile(echo_ms, 0.99));
  std::printf("federated count by sex:     p50 %8.2f ms  p99 %8.2f ms  %.2f queries/s\n",
              federated_p50, Percentile(federated_ms, 0.99), queries / seconds);
  std::printf("ratio (federated p50 / echo p50): %.1f\n", federated_p50 / echo_p50);
  return 0;
}
