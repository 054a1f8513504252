// The node's side of a stream a locked-down partner dialled in on
// (FederationService::Attend), over real gRPC on loopback: a partner that
// stops reading must not hold the handler, and the calls waiting on it,
// for good. The caller's identity is fixed (the authenticator is not what
// is tested here; the TLS path is, in the federation's end-to-end tests).
#include <memory>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "federation/dial_in.h"
#include "federation/partner_directory.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "node/rpc/authenticator.h"
#include "node/rpc/call_gate.h"
#include "node/rpc/federation_service.h"

namespace trenode::rpc {
namespace {

class PartnerAuthenticator : public Authenticator {
 public:
  absl::StatusOr<auth::Principal> Authenticate(const grpc::ServerContext&) override {
    return auth::Principal{"site-a", trenode::v1::ROLE_PEER_NODE, auth::Principal::Kind::kNode};
  }
};

trenode::v1::FederationConfig SiteADialsIn() {
  trenode::v1::FederationConfig config;
  auto* partner = config.add_partners();
  partner->set_node_id("site-a");
  partner->set_dials_in(true);
  return config;
}

class AttendStallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    dial_ins_.CloseAll();
    server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  }

  // A partner's stream that is opened and then never read: its flow-control
  // window stays at its start (no bandwidth probing), so the node's writes
  // block soon.
  struct SilentPartner {
    std::unique_ptr<trenode::v1::Federation::Stub> stub;
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<trenode::v1::AttendUp, trenode::v1::RelayedCall>>
        stream;
  };
  std::unique_ptr<SilentPartner> Attend() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    auto partner = std::make_unique<SilentPartner>();
    partner->stub = trenode::v1::Federation::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args));
    partner->stream = partner->stub->Attend(&partner->context);
    return partner;
  }
  bool WaitOpen() {
    const absl::Time until = absl::Now() + absl::Seconds(10);
    while (absl::Now() < until) {
      if (dial_ins_.IsOpen("site-a")) return true;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }
  // `n` calls of 1 MiB each, far more than the windows and socket buffers
  // between the node and the silent partner hold; each call's status.
  std::vector<absl::StatusCode> Flood(int n, absl::Duration deadline) {
    std::vector<absl::StatusCode> codes(n, absl::StatusCode::kOk);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        codes[i] = dial_ins_
                       .Call("site-a", "/trenode.v1.Federation/GetNodeInfo",
                             std::string(1 << 20, 'x'), deadline)
                       .status()
                       .code();
      });
    }
    for (std::thread& thread : threads) thread.join();
    return codes;
  }

  PartnerAuthenticator authenticator_;
  CallGate gate_{&authenticator_};
  federation::PartnerDirectory partners_{SiteADialsIn()};
  federation::DialIns dial_ins_{&partners_};
  FederationService service_{&gate_, nullptr, nullptr, nullptr, Witnessing{}, &dial_ins_};
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(AttendStallTest, APartnerThatStopsReadingHasItsStreamEndedAtTheWriteTimeout) {
  dial_ins_.SetWriteTimeout(absl::Seconds(1));
  std::unique_ptr<SilentPartner> partner = Attend();
  ASSERT_TRUE(WaitOpen());
  const absl::Time start = absl::Now();
  // Without the write timeout every call waits out its full minute
  // (DEADLINE_EXCEEDED) and the handler stays blocked in its write.
  std::vector<absl::StatusCode> codes = Flood(24, absl::Seconds(60));
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
  int ended = 0;
  for (absl::StatusCode code : codes) {
    EXPECT_NE(code, absl::StatusCode::kDeadlineExceeded);
    if (code == absl::StatusCode::kUnavailable) ++ended;
  }
  EXPECT_GT(ended, 0);
  EXPECT_FALSE(dial_ins_.IsOpen("site-a"));
  // The partner sees its stream ended by the node.
  partner->context.TryCancel();
  (void)partner->stream->Finish();

  // A partner that reads again may dial in again.
  std::unique_ptr<SilentPartner> again = Attend();
  EXPECT_TRUE(WaitOpen());
}

}  // namespace
}  // namespace trenode::rpc
