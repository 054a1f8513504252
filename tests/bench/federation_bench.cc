// trenode-federation-bench: federated count-by-group latency over real nodes
// on loopback (mutual TLS between nodes), as a ratio to a batch of parallel
// bare echo calls, one to each node, measured in the same run.
//
// usage: trenode-federation-bench [--nodes N] [--persons P] [--queries Q]
//                                  [--breakdown 1]
//   N nodes (default 8) each import a synthetic site of P persons (default
//   1000); a researcher of the first asks all N, Q times (default 30), one
//   query after another; every part is auto-released at its node. Prints
//   p50 and p99 of each, queries per second, and the ratio of the p50s. One
//   query more is asked first and reported alone: the first after import,
//   in which each node builds the dataset's person codes.
//   With --breakdown 1, also the activity-log entries each node wrote per
//   query, the median time of each stage at the first partner (from its
//   log), and, for the slowest and the median query, the home node's and the
//   first partner's entries with their times since the query was submitted:
//   the stages (accepted, run, released, pooled) as the nodes logged them.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "node/analyses/analysis_state.h"
#include "tests/bench/bench_flags.h"
#include "node/log/activity_event.h"
#include "tests/bench/echo.grpc.pb.h"
#include "tests/testutil/test_node.h"
#include "tests/testutil/test_site.h"
#include "trenode/v1/activity_log.grpc.pb.h"
#include "trenode/v1/analyses.grpc.pb.h"

namespace {
using trenode::testing::TestNode;
using trenode::testing::WithToken;

constexpr char kUsage[] =
    "usage: trenode-federation-bench [--nodes N] [--persons P] [--queries Q] [--breakdown 1]\n"
    "  N nodes (2-16, default 8) with P persons each (default 1000); Q federated\n"
    "  count-by-sex queries (default 30), against parallel echo calls to every node;\n"
    "  --breakdown 1 prints each node's log entries per query and two queries' stages.\n";

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

// The size of `node`'s activity log, asked as an auditor; 0 if it fails.
uint64_t LogSize(const TestNode& node) {
  auto log = trenode::v1::ActivityLog::NewStub(node.Channel());
  trenode::v1::Checkpoint checkpoint;
  auto context = node.As("auditor");
  if (!log->GetCheckpoint(context.get(), {}, &checkpoint).ok()) return 0;
  return checkpoint.size();
}

// `node`'s entries [begin, end), parsed.
std::vector<trenode::log::ActivityEvent> Entries(const TestNode& node, uint64_t begin,
                                                 uint64_t end) {
  auto log = trenode::v1::ActivityLog::NewStub(node.Channel());
  trenode::v1::GetEntriesRequest request;
  request.set_start(begin);
  request.set_end(end);
  auto context = node.As("auditor");
  auto reader = log->GetEntries(context.get(), request);
  std::vector<trenode::log::ActivityEvent> events;
  trenode::v1::LogEntry entry;
  while (reader->Read(&entry)) {
    absl::StatusOr<trenode::log::ActivityEvent> event = trenode::log::ParseLeaf(entry.leaf());
    if (event.ok()) events.push_back(*std::move(event));
  }
  reader->Finish();
  return events;
}

// `node`'s entries [begin, end), each as "+ms action object", the time
// counted from `start`.
void PrintEntries(const TestNode& node, uint64_t begin, uint64_t end, absl::Time start) {
  for (const trenode::log::ActivityEvent& event : Entries(node, begin, end)) {
    std::printf("  %-7s %+9.2f ms  %-28s %s %s\n", node.config().node_id().c_str(),
                absl::ToDoubleMilliseconds(event.time - start), event.action.c_str(),
                event.object.c_str(), event.outcome.c_str());
  }
}

// The time of the last entry of `action` in `events`, if any.
std::optional<absl::Time> LastOf(const std::vector<trenode::log::ActivityEvent>& events,
                                 const std::string& action) {
  std::optional<absl::Time> last;
  for (const auto& event : events) {
    if (event.action == action) last = event.time;
  }
  return last;
}

bool Fail(const std::string& what) {
  std::cerr << "trenode-federation-bench: " << what << "\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = 8, persons = 1000, queries = 30, breakdown = 0;
  if (auto exit_status = trenode::bench::ParseBenchFlags(
          argc, argv, kUsage,
          {{"--nodes", &nodes, 2, 16}, {"--persons", &persons}, {"--queries", &queries},
           {"--breakdown", &breakdown, 0, 1}})) {
    return *exit_status;
  }
  // The nodes run in this process: as the trenode daemon does (main.cc),
  // without Abseil's mutex deadlock detection, which tests keep on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

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
  // Per query: its start and each node's log size before it (--breakdown).
  std::vector<absl::Time> starts;
  std::vector<std::vector<uint64_t>> sizes;
  auto log_sizes = [&] {
    std::vector<uint64_t> now;
    for (TestNode* node : all) now.push_back(LogSize(*node));
    sizes.push_back(std::move(now));
  };
  // Query -1 is the first after import, which builds each node's person
  // codes for the dataset: reported on its own, not in the percentiles.
  double first_query_ms = 0;
  absl::Time first = absl::Now();
  for (int q = -1; q < queries; ++q) {
    if (q == 0) first = absl::Now();
    trenode::v1::SubmitAnalysisRequest request;
    request.set_project_id("bench");
    request.set_request_id(absl::StrCat("q", q));
    request.mutable_query()->set_dataset_id("synth-ehr-100");
    auto* output = request.mutable_query()->add_outputs();
    output->set_name("by_sex");
    output->mutable_counts()->add_group_by()->mutable_variable()->set_column("sex");
    for (TestNode* node : all) request.add_nodes(node->config().node_id());
    if (breakdown && q >= 0) log_sizes();
    absl::Time start = absl::Now();
    if (q >= 0) starts.push_back(start);
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
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    if (q >= 0) {
      federated_ms.push_back(ms);
    } else {
      first_query_ms = ms;
    }
    if (last != trenode::v1::ANALYSIS_STATE_SUCCEEDED) {
      Fail(absl::StrCat("query ", q, " ended ", trenode::analyses::StateName(last)));
      return 1;
    }
  }
  double seconds = absl::ToDoubleSeconds(absl::Now() - first);
  if (breakdown) {
    log_sizes();
    std::printf("activity-log entries per query (mean over %d queries):", queries);
    for (size_t n = 0; n < all.size(); ++n) {
      std::printf(" %s %.1f", all[n]->config().node_id().c_str(),
                  static_cast<double>(sizes.back()[n] - sizes.front()[n]) / queries);
    }
    std::printf("\n");
    std::vector<size_t> order(federated_ms.size());
    for (size_t q = 0; q < order.size(); ++q) order[q] = q;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return federated_ms[a] < federated_ms[b]; });
    // Stages of every query, as the home node and the first partner logged
    // them: medians over the queries.
    const char* kStages[] = {"home: submitted -> partner accepted",
                             "partner: accepted -> data access",
                             "partner: query run (data access -> succeeded)",
                             "partner: release (succeeded -> released)",
                             "partner: released -> files sent",
                             "home: files sent -> pooled result (succeeded)"};
    std::vector<std::vector<double>> stages(6);
    for (int q = 0; q < queries; ++q) {
      auto home_events = Entries(*all[0], sizes[q][0], sizes[q + 1][0]);
      auto partner = Entries(*all[1], sizes[q][1], sizes[q + 1][1]);
      std::optional<absl::Time> marks[] = {
          starts[q],
          LastOf(partner, "auth.allow"),
          LastOf(partner, "analysis.data_access"),
          LastOf(partner, "analysis.succeed"),
          LastOf(partner, "release.release"),
          LastOf(partner, "release.download"),
          LastOf(home_events, "analysis.succeed")};
      for (int s = 0; s < 6; ++s) {
        if (marks[s] && marks[s + 1]) {
          stages[s].push_back(absl::ToDoubleMilliseconds(*marks[s + 1] - *marks[s]));
        }
      }
    }
    std::printf("stages at %s (median over the queries; log times, set when each record is queued):\n",
                all[1]->config().node_id().c_str());
    for (int s = 0; s < 6; ++s) {
      if (!stages[s].empty()) {
        std::printf("  %-48s %8.2f ms\n", kStages[s], Percentile(stages[s], 0.5));
      }
    }
    for (size_t q : {order[order.size() / 2], order.back()}) {
      std::printf("query %zu (%.2f ms), entries since its submission:\n", q, federated_ms[q]);
      PrintEntries(*all[0], sizes[q][0], sizes[q + 1][0], starts[q]);
      PrintEntries(*all[1], sizes[q][1], sizes[q + 1][1], starts[q]);
    }
  }
  double echo_p50 = Percentile(echo_ms, 0.5), federated_p50 = Percentile(federated_ms, 0.5);
  std::printf("parallel echo to %d nodes:  p50 %8.2f ms  p99 %8.2f ms\n", nodes, echo_p50,
              Percentile(echo_ms, 0.99));
  std::printf("federated count by sex:     p50 %8.2f ms  p99 %8.2f ms  %.2f queries/s\n",
              federated_p50, Percentile(federated_ms, 0.99), queries / seconds);
  std::printf("ratio (federated p50 / echo p50): %.1f\n", federated_p50 / echo_p50);
  std::printf("first query after import (each node builds its person codes): %.2f ms\n",
              first_query_ms);
  return 0;
}
