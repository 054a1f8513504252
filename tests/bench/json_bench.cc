// trenode-json-bench: GetDataset over the JSON API (HTTPS, the Connect
// protocol's JSON form; spec/json-api.md) as a ratio to GetDataset over gRPC,
// against the same node, datasets and token in the same run.
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
#include "google/protobuf/util/json_util.h"
#include "httplib.h"
#include "tests/bench/bench_flags.h"
#include "tests/bench/throughput.h"
#include "tests/testutil/datasets.h"
#include "tests/testutil/json_client.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/catalogue.grpc.pb.h"

namespace {
using trenode::bench::Median;
using trenode::v1::Catalogue;

constexpr char kUsage[] =
    "usage: trenode-json-bench [--datasets N] [--seconds S] [--threads T] [--rounds R]\n"
    "GetDataset calls per second over the JSON API (HTTPS with keep-alive, Connect JSON,\n"
    "bearer tokens), as a ratio to GetDataset over gRPC (TLS, bearer tokens) against the\n"
    "same node in the same run; every reply is checked.\n"
    "  --datasets  datasets in the catalogue [1000]\n"
    "  --seconds   seconds each measurement runs [2]\n"
    "  --threads   client threads, each with its own connection [4]\n"
    "  --rounds    rounds; the median is printed [3]\n";

struct Options {
  int datasets = 1000;
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
                                                          {"--threads", &options.threads, 1, 256},
                                                          {"--rounds", &options.rounds}})) {
    return *exit_status;
  }

  std::unique_ptr<trenode::testing::TestNode> node;
  try {
    node = std::make_unique<trenode::testing::TestNode>(
        [](trenode::v1::NodeConfig& config) { trenode::testing::ServeJson(config); });
  } catch (const std::exception& e) {
    std::cerr << "trenode-json-bench: " << e.what() << "\n";
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
  for (int i = 0; i < options.datasets; ++i) {
    trenode::v1::RegisterDatasetRequest request;
    *request.mutable_dataset() = trenode::testing::SampleDataset(
        absl::StrCat("ds-", i), absl::StrCat("Cohort study number ", i),
        "Routinely collected records of people with heart failure.");
    request.mutable_dataset()->mutable_steward()->set_storage_location("datasets/shared.sqlite");
    trenode::v1::Dataset reply;
    grpc::Status status = catalogue->RegisterDataset(
        trenode::testing::WithToken(steward_token).get(), request, &reply);
    if (!status.ok()) {
      std::cerr << "trenode-json-bench: register failed: " << status.error_message() << "\n";
      return 1;
    }
  }

  std::vector<std::unique_ptr<Catalogue::Stub>> stubs;
  std::vector<std::unique_ptr<httplib::SSLClient>> clients;
  const std::string authorization = "Bearer " + researcher_token;
  for (int t = 0; t < options.threads; ++t) {
    stubs.push_back(Catalogue::NewStub(node->Channel()));
    auto client = std::make_unique<httplib::SSLClient>("127.0.0.1", node->web_port());
    client->set_ca_cert_path(node->dir().File("pki/ca.pem").c_str());
    client->enable_server_certificate_verification(true);
    client->set_keep_alive(true);
    client->set_tcp_nodelay(true);  // as browsers do; else Nagle holds the body
    clients.push_back(std::move(client));
  }
  auto id_of = [&](uint64_t i) {
    return absl::StrCat("ds-", (i * 2654435761u) % options.datasets);
  };
  auto grpc_call = [&](int t, uint64_t i) {
    trenode::v1::GetDatasetRequest request;
    request.set_id(id_of(i));
    trenode::v1::Dataset reply;
    return stubs[t]
               ->GetDataset(trenode::testing::WithToken(researcher_token).get(), request, &reply)
               .ok() &&
           reply.id() == request.id() && !reply.has_steward();
  };
  auto json_call = [&](int t, uint64_t i) {
    std::string id = id_of(i);
    httplib::Result result =
        clients[t]->Post("/trenode.v1.Catalogue/GetDataset", {{"Authorization", authorization}},
                         absl::StrCat("{\"id\":\"", id, "\"}"), "application/json");
    if (!result || result->status != 200) return false;
    trenode::v1::Dataset reply;
    return google::protobuf::util::JsonStringToMessage(result->body, &reply).ok() &&
           reply.id() == id && !reply.has_steward();
  };

  std::vector<double> grpc_qps, json_qps;
  auto calls_per_second = [&](const std::function<bool(int, uint64_t)>& call) {
    return trenode::bench::CallsPerSecond("trenode-json-bench", options.threads,
                                          absl::Seconds(options.seconds), call);
  };
  for (int round = 0; round < options.rounds; ++round) {
    grpc_qps.push_back(calls_per_second(grpc_call));
    json_qps.push_back(calls_per_second(json_call));
  }
  double over_grpc = Median(grpc_qps), over_json = Median(json_qps);
  std::printf(
      "GetDataset, %d datasets, %d client threads (one connection each), median of %d rounds "
      "of %.1f s\n",
      options.datasets, options.threads, options.rounds, options.seconds);
  std::printf("  over gRPC (baseline)   %10.0f calls/s\n", over_grpc);
  std::printf("  over the JSON API      %10.0f calls/s  ratio to gRPC %.2f (goal >= 0.50)\n",
              over_json, over_json / over_grpc);
  node->server().Shutdown(absl::Seconds(5));
  return 0;
}
