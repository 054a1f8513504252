// trenode-bench: catalogue read throughput over real gRPC on loopback, as a
// ratio to a trivial echo RPC served by the same server in the same run.
//
// usage: see kUsage.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "adapters/object_store.h"
#include "adapters/onprem/posix_object_store.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "node/server/node_server.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/echo.grpc.pb.h"
#include "tests/bench/throughput.h"
#include "tests/testutil/datasets.h"
#include "tests/testutil/temp_dir.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/catalogue.grpc.pb.h"

namespace {
using trenode::bench::Median;
using trenode::v1::Catalogue;

constexpr char kUsage[] =
    "usage: trenode-bench [--datasets N] [--seconds S] [--threads T] [--rounds R]\n"
    "Catalogue reads (get, search, list) per second over gRPC with TLS and tokens, as a\n"
    "ratio to an echo call served by the same node in the same run.\n"
    "  --datasets  datasets in the catalogue [10000]\n"
    "  --seconds   seconds each measurement runs [2]\n"
    "  --threads   client threads [4]\n"
    "  --rounds    rounds; the median is printed [3]\n";

constexpr const char* kConditions[] = {
    "diabetes", "asthma",    "stroke",   "sepsis",    "dementia",  "obesity", "anaemia",
    "glaucoma", "psoriasis", "gout",     "epilepsy",  "migraine",  "angina",  "arthritis",
    "lupus",    "cirrhosis", "melanoma", "pneumonia", "scoliosis", "tinnitus"};

class EchoService final : public trenode::bench::BenchEcho::Service {
  grpc::Status Echo(grpc::ServerContext*, const trenode::bench::EchoMessage* request,
                    trenode::bench::EchoMessage* reply) override {
    reply->set_text(request->text());
    return grpc::Status::OK;
  }
};

struct Options {
  int datasets = 10000;
  double seconds = 2.0;
  int threads = 4;
  int rounds = 3;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (auto exit_status = trenode::bench::ParseBenchFlags(argc, argv, kUsage,
                                                         {{"--datasets", &options.datasets},
                                                          {"--seconds", &options.seconds},
                                                          {"--threads", &options.threads},
                                                          {"--rounds", &options.rounds}})) {
    return *exit_status;
  }

  // The whole node over TLS with bearer tokens, as deployed; the echo
  // baseline shares the server, the TLS channel and the token.
  EchoService echo_service;
  std::unique_ptr<trenode::testing::TestNode> node;
  try {
    node = std::make_unique<trenode::testing::TestNode>([](trenode::v1::NodeConfig&) {},
                                                        std::vector<grpc::Service*>{&echo_service});
  } catch (const std::exception& e) {
    std::cerr << "trenode-bench: " << e.what() << "\n";
    return 1;
  }
  {
    auto objects =
        *trenode::adapters::PosixObjectStore::Open(node->config().object_store().posix().root());
    if (!trenode::adapters::WriteObject(*objects, "datasets/shared.sqlite", "x").ok()) return 1;
  }
  auto catalogue = Catalogue::NewStub(node->Channel());
  const std::string steward_token = node->Token("bench-steward", {"data_steward"});
  const std::string researcher_token = node->Token("bench-researcher", {"researcher"});

  absl::Time load_start = absl::Now();
  for (int i = 0; i < options.datasets; ++i) {
    std::string condition = kConditions[i % std::size(kConditions)];
    trenode::v1::RegisterDatasetRequest request;
    *request.mutable_dataset() = trenode::testing::SampleDataset(
        absl::StrCat("ds-", i), absl::StrCat("Cohort study of ", condition, " number ", i),
        absl::StrCat("Routinely collected records of people with ", condition, "."));
    request.mutable_dataset()->mutable_steward()->set_storage_location("datasets/shared.sqlite");
    trenode::v1::Dataset reply;
    grpc::Status status = catalogue->RegisterDataset(
        trenode::testing::WithToken(steward_token).get(), request, &reply);
    if (!status.ok()) {
      std::cerr << "trenode-bench: register failed: " << status.error_message() << "\n";
      return 1;
    }
  }
  std::printf("loaded %d datasets in %.1f s\n", options.datasets,
              absl::ToDoubleSeconds(absl::Now() - load_start));

  std::vector<std::unique_ptr<Catalogue::Stub>> stubs;
  std::vector<std::unique_ptr<trenode::bench::BenchEcho::Stub>> echo_stubs;
  for (int t = 0; t < options.threads; ++t) {
    auto own = node->Channel();
    stubs.push_back(Catalogue::NewStub(own));
    echo_stubs.push_back(trenode::bench::BenchEcho::NewStub(own));
  }
  auto echo_call = [&](int t, uint64_t) {
    trenode::bench::EchoMessage request, reply;
    request.set_text("ping");
    return echo_stubs[t]
               ->Echo(trenode::testing::WithToken(researcher_token).get(), request, &reply)
               .ok() &&
           reply.text() == "ping";
  };
  auto get_call = [&](int t, uint64_t i) {
    trenode::v1::GetDatasetRequest request;
    request.set_id(absl::StrCat("ds-", (i * 2654435761u) % options.datasets));
    trenode::v1::Dataset reply;
    return stubs[t]
               ->GetDataset(trenode::testing::WithToken(researcher_token).get(), request, &reply)
               .ok() &&
           reply.id() == request.id() && !reply.has_steward();
  };
  auto search_call = [&](int t, uint64_t i) {
    trenode::v1::SearchDatasetsRequest request;
    request.set_query(kConditions[i % std::size(kConditions)]);
    request.set_page_size(20);
    trenode::v1::SearchDatasetsResponse reply;
    return stubs[t]
               ->SearchDatasets(trenode::testing::WithToken(researcher_token).get(), request,
                                &reply)
               .ok() &&
           reply.hits_size() == std::min<int>(20, options.datasets / std::size(kConditions));
  };

  // A query that names one dataset: the common "find that study" case.
  auto selective_call = [&](int t, uint64_t i) {
    trenode::v1::SearchDatasetsRequest request;
    uint64_t n = (i * 2654435761u) % options.datasets;
    request.set_query(absl::StrCat(kConditions[n % std::size(kConditions)], " number ", n));
    trenode::v1::SearchDatasetsResponse reply;
    return stubs[t]
               ->SearchDatasets(trenode::testing::WithToken(researcher_token).get(), request,
                                &reply)
               .ok() &&
           reply.hits_size() >= 1 && reply.hits(0).dataset().id() == absl::StrCat("ds-", n);
  };

  std::vector<double> echo_qps, get_qps, search_qps, selective_qps;
  auto calls_per_second = [&](const std::function<bool(int, uint64_t)>& call) {
    return trenode::bench::CallsPerSecond("trenode-bench", options.threads,
                                          absl::Seconds(options.seconds), call);
  };
  for (int round = 0; round < options.rounds; ++round) {
    echo_qps.push_back(calls_per_second(echo_call));
    get_qps.push_back(calls_per_second(get_call));
    search_qps.push_back(calls_per_second(search_call));
    selective_qps.push_back(calls_per_second(selective_call));
  }
  double echo = Median(echo_qps), get = Median(get_qps), search = Median(search_qps);
  double selective = Median(selective_qps);
  std::printf(
      "catalogue over gRPC with TLS and bearer tokens, %d datasets, %d client threads, median of "
      "%d rounds of %.1f s\n",
      options.datasets, options.threads, options.rounds, options.seconds);
  std::printf("  Echo (baseline)   %10.0f calls/s\n", echo);
  std::printf("  GetDataset        %10.0f calls/s  ratio to echo %.2f (goal >= 0.50)\n", get,
              get / echo);
  std::printf(
      "  SearchDatasets    %10.0f calls/s  ratio to echo %.2f (one word: %zu matches "
      "ranked, top 20 returned; the ranking is kept between calls)\n",
      search, search / echo, options.datasets / std::size(kConditions));
  std::printf(
      "  SearchDatasets    %10.0f calls/s  ratio to echo %.2f (three words naming one "
      "dataset; each call a new search, ranked afresh)\n",
      selective, selective / echo);
  node->server().Shutdown(absl::Seconds(5));
  return 0;
}
