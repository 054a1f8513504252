// A locked-down node's stream to a partner that misbehaves (attacker's
// review L4), between a real node and a partner over mutual TLS on loopback.
// The partner is a small gRPC server of the test's own serving
// Federation.Attend: on its first stream it stops reading, or never answers
// the stream's opening, as a wedged partner whose HTTP/2 stack still
// answers pings would. The node must end that stream and dial again, and
// work must then flow down the new one.
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "node/pki/pki.h"
#include "tests/testutil/test_node.h"
#include "trenode/v1/federation.grpc.pb.h"

namespace trenode {
namespace {
using testing::AddPartner;
using testing::TestNode;
using trenode::v1::AttendUp;
using trenode::v1::RelayedCall;

// Far more calls than the flow-control windows can hold the replies of.
constexpr int kFlood = 20000;

class ScriptedPartner final : public trenode::v1::Federation::Service {
 public:
  enum class FirstStream { kStopsReading, kNeverOpens };
  explicit ScriptedPartner(FirstStream first) : first_(first) {}

  grpc::Status Attend(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<RelayedCall, AttendUp>* stream) override {
    int opened;
    {
      absl::MutexLock lock(&mu_);
      opened = ++streams_;
    }
    if (opened == 1) {
      if (first_ == FirstStream::kStopsReading) {
        stream->SendInitialMetadata();
        // Never read: the node's replies fill the windows and its writes
        // block (the 16 served and, beyond, its refusals as busy).
        for (int id = 1; id <= kFlood && !context->IsCancelled(); ++id) {
          if (!stream->Write(GetNodeInfo(id))) break;
        }
      }
      WaitUntilEnded(*context);
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the partner was wedged");
    }
    // Later streams behave: ask who the node is and read its answer.
    stream->SendInitialMetadata();
    AttendUp up;
    if (!stream->Read(&up) || !up.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no hello");
    }
    if (!stream->Write(GetNodeInfo(1))) return grpc::Status::OK;
    while (stream->Read(&up)) {
      if (!up.has_reply() || up.reply().id() != 1) continue;
      trenode::v1::NodeInfo info;
      absl::MutexLock lock(&mu_);
      answered_by_ = info.ParseFromString(up.reply().response())
                         ? info.node_id()
                         : "unparsed reply: " + up.reply().message();
      break;
    }
    WaitUntilEnded(*context);
    return grpc::Status::OK;
  }

  // Who answered GetNodeInfo down a stream after the first, waiting up to
  // `wait`; empty if no one did.
  std::string AnsweredBy(absl::Duration wait) {
    absl::MutexLock lock(&mu_);
    auto answered = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !answered_by_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&answered), wait);
    return answered_by_;
  }
  int streams() {
    absl::MutexLock lock(&mu_);
    return streams_;
  }
  void Stop() {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }

 private:
  static RelayedCall GetNodeInfo(int id) {
    RelayedCall call;
    call.set_id(id);
    call.set_method("/trenode.v1.Federation/GetNodeInfo");
    call.set_request(trenode::v1::GetNodeInfoRequest().SerializeAsString());
    call.set_deadline_ms(60000);
    return call;
  }
  // Until the node ends the stream, or the test stops.
  void WaitUntilEnded(grpc::ServerContext& context) {
    absl::MutexLock lock(&mu_);
    auto ended = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || context.IsCancelled();
    };
    while (!ended()) mu_.AwaitWithTimeout(absl::Condition(&ended), absl::Milliseconds(20));
  }

  const FirstStream first_;
  absl::Mutex mu_;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  std::string answered_by_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
};

class LockedDownPartnerTest : public ::testing::Test {
 protected:
  // Serves `partner` as site-a with its certificate from the federation CA,
  // keepalive as a node's own server has it, and flow-control windows left
  // at their start (no bandwidth probing) so that unread replies block soon.
  void Serve(ScriptedPartner::FirstStream first) {
    partner_ = std::make_unique<ScriptedPartner>(first);
    pki::KeyAndCertificate certificate =
        *pki::Issue(ca_, pki::NodeCertificateRequest("site-a", pki::ValidFor(1)));
    grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    tls.pem_root_certs = ca_.certificate_pem;
    tls.pem_key_cert_pairs.push_back({certificate.key_pem, certificate.certificate_pem});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(tls), &port_);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    builder.RegisterService(partner_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  // site-c, locked down, dialling site-a (the scripted partner).
  void StartLockedDownNode() {
    node_ = std::make_unique<TestNode>("site-c", ca_, [&](trenode::v1::NodeConfig& config) {
      AddPartner(config, "site-a", absl::StrCat("127.0.0.1:", port_));
      config.mutable_federation()->set_locked_down(true);
      config.mutable_federation()->set_stream_open_timeout_seconds(1);
      config.mutable_federation()->set_stream_write_timeout_seconds(1);
    });
  }

  void TearDown() override {
    node_.reset();  // stops dialling, ending its streams
    if (partner_) partner_->Stop();
    if (server_) server_->Shutdown(absl::ToChronoTime(absl::Now()));
  }

  pki::KeyAndCertificate ca_ = *pki::CreateCa("test federation", pki::ValidFor(2));
  std::unique_ptr<ScriptedPartner> partner_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<TestNode> node_;
};

TEST_F(LockedDownPartnerTest, ALockedDownNodeRedialsAPartnerThatStopsReading) {
  Serve(ScriptedPartner::FirstStream::kStopsReading);
  const absl::Time start = absl::Now();
  StartLockedDownNode();
  // Without a write timeout the first stream stays blocked for good (its
  // pings answered), and no second stream is ever opened.
  EXPECT_EQ(partner_->AnsweredBy(absl::Seconds(60)), "site-c");
  EXPECT_GE(partner_->streams(), 2);
  // Reported, not asserted: from the node's start to work flowing again.
  std::cout << "answered down a new stream after " << absl::Now() - start << "\n";
}

TEST_F(LockedDownPartnerTest, ALockedDownNodeRedialsAPartnerThatNeverOpensTheStream) {
  Serve(ScriptedPartner::FirstStream::kNeverOpens);
  const absl::Time start = absl::Now();
  StartLockedDownNode();
  EXPECT_EQ(partner_->AnsweredBy(absl::Seconds(60)), "site-c");
  EXPECT_GE(partner_->streams(), 2);
  std::cout << "answered down a new stream after " << absl::Now() - start << "\n";
}

}  // namespace
}  // namespace trenode
