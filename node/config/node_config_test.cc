#include "node/config/node_config.h"

#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::config {
namespace {

constexpr char kTls[] =
    "tls { certificate_file: \"pki/node.pem\" private_key_file: \"pki/node.key\" "
    "client_ca_file: \"pki/ca.pem\" } ";

constexpr char kGood[] = R"(
node_id: "site-a"
listen_address: "0.0.0.0:0"
database_path: "state/node.db"
object_store { posix { root: "objects" } }
tls { certificate_file: "pki/node.pem" private_key_file: "pki/node.key" client_ca_file: "pki/ca.pem" }
oidc { issuer: "https://idp.example" audiences: "trenode" jwks_file: "jwks.json" }
service_accounts { name: "backup" role: ROLE_NODE_ADMIN }
activity_log { signing_key_file: "pki/log.key" }
)";

class NodeConfigTest : public ::testing::Test {
 protected:
  absl::StatusOr<trenode::v1::NodeConfig> Load(const std::string& text) {
    for (const char* file :
         {"pki/node.pem", "pki/node.key", "pki/ca.pem", "jwks.json", "pki/log.key"}) {
      testing::WriteFile(dir_.path() / file, "x");
    }
    testing::WriteFile(dir_.path() / "node.textproto", text);
    return LoadNodeConfig(dir_.File("node.textproto"));
  }
  void ExpectError(const std::string& text, const std::string& message) {
    auto config = Load(text);
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(config.status().message()), dir_.File("node.textproto") + ": " + message);
  }
  testing::TempDir dir_;
};

TEST_F(NodeConfigTest, ResolvesPathsAgainstTheConfigFile) {
  auto config = Load(kGood);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->database_path(), dir_.File("state/node.db"));
  EXPECT_EQ(config->object_store().posix().root(), dir_.File("objects"));
  EXPECT_EQ(config->work_dir(), dir_.File("state/work"));
  EXPECT_EQ(config->max_import_bytes(), int64_t{4} << 30);
  EXPECT_EQ(config->tls().client_ca_file(), dir_.File("pki/ca.pem"));
  EXPECT_EQ(config->oidc().jwks_file(), dir_.File("jwks.json"));
  EXPECT_EQ(config->activity_log().signing_key_file(), dir_.File("pki/log.key"));
  EXPECT_EQ(config->activity_log().checkpoint_interval_seconds(), 2);
}

TEST_F(NodeConfigTest, NamesTheBadFieldOrPosition) {
  ExpectError("node_id: \"site-a\"\nlisten_adress: \"x\"\n",
              "line 2 column 14: Message type \"trenode.v1.NodeConfig\" has no field named "
              "\"listen_adress\".");
  ExpectError("listen_address: \"127.0.0.1:1\"", "node_id: is required");
  ExpectError("node_id: \"Site A\"", "node_id: \"Site A\" must be 2 to 63 characters of [a-z0-9-]");
  ExpectError("node_id: \"site-a\" listen_address: \"50051\"",
              "listen_address: \"50051\" must be host:port");
  ExpectError("node_id: \"site-a\" listen_address: \"127.0.0.1:1\"", "database_path: is required");
  ExpectError("node_id: \"site-a\" listen_address: \"127.0.0.1:1\" database_path: \"d\"",
              "object_store: is required (e.g. object_store { posix { root: \"data\" } })");
  const std::string base =
      "node_id: \"site-a\" listen_address: \"127.0.0.1:1\" database_path: \"d\" "
      "object_store { posix { root: \"o\" } } ";
  ExpectError(base, "tls: is required (certificate_file, private_key_file, client_ca_file)");
  ExpectError(base + "tls { certificate_file: \"pki/node.pem\" }",
              "tls.private_key_file: is required");
  ExpectError(base +
                  "tls { certificate_file: \"absent.pem\" private_key_file: \"k\" "
                  "client_ca_file: \"c\" } activity_log { signing_key_file: \"pki/log.key\" }",
              "tls.certificate_file: cannot read " + dir_.File("absent.pem"));
  ExpectError(base + kTls,
              "activity_log.signing_key_file: is required (the checkpoint signing key; trectl "
              "pki log-key makes one)");
  const std::string with_log =
      std::string(kTls) + "activity_log { signing_key_file: \"pki/log.key\" } ";
  ExpectError(base + with_log + "oidc { issuer: \"i\" audiences: \"a\" }",
              "oidc: set exactly one of jwks_file and jwks_uri");
  ExpectError(base + with_log + "oidc { issuer: \"i\" jwks_file: \"jwks.json\" }",
              "oidc.audiences: needs at least one value");
  // Only a certificate proves a partner node: no token may carry its role.
  ExpectError(base + with_log +
                  "oidc { issuer: \"i\" audiences: \"a\" jwks_file: \"jwks.json\" "
                  "role_mappings { claim_value: \"partners\" role: ROLE_PEER_NODE } }",
              "oidc.role_mappings[0].role: ROLE_PEER_NODE is a partner node's, proved by its "
              "certificate; a person's token cannot carry it");
  ExpectError(base + with_log + "service_accounts { name: \"b\" role: ROLE_AUDITOR }",
              "service_accounts[0].name: \"b\" must be 2 to 63 characters of [a-z0-9-]");
  ExpectError(base + with_log + "service_accounts { name: \"backup\" }",
              "service_accounts[0].role: is required");
  ExpectError(base + with_log + "compute { query_seconds: -1 }",
              "compute.query_seconds: must not be negative (0 takes the default)");
  ExpectError(base + with_log + "compute { sandbox { } memory_mib: -5 }",
              "compute.memory_mib: must not be negative (0 takes the default)");
}

TEST_F(NodeConfigTest, TheJsonApiNeedsItsOwnAddressAndSaneLimits) {
  std::string good = kGood;
  good.replace(good.find("0.0.0.0:0"), 9, "127.0.0.1:8443");
  ExpectError(good + "web { }", "web.listen_address: \"\" must be host:port");
  ExpectError(good + "web { listen_address: \"8443\" }",
              "web.listen_address: \"8443\" must be host:port");
  ExpectError(good + "web { listen_address: \"127.0.0.1:8443\" }",
              "web.listen_address: must differ from listen_address (gRPC)");
  ExpectError(good + "web { listen_address: \"127.0.0.1:9443\" max_request_bytes: -1 }",
              "web.max_request_bytes: must not be negative");
  ExpectError(good + "web { listen_address: \"127.0.0.1:9443\" read_timeout_seconds: 301 }",
              "web.read_timeout_seconds: must be 0 to 300");
  auto config = Load(good + "web { listen_address: \"127.0.0.1:9443\" }");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->web().listen_address(), "127.0.0.1:9443");
}

TEST_F(NodeConfigTest, ALockedDownNodesStreamTimeoutsAreBounded) {
  const std::string good = kGood;
  ExpectError(good + "federation { stream_open_timeout_seconds: -1 }",
              "federation.stream_open_timeout_seconds: must be 1 to 3600 seconds (0 or unset: 10)");
  ExpectError(good + "federation { stream_write_timeout_seconds: 3601 }",
              "federation.stream_write_timeout_seconds: must be 1 to 3600 seconds (0 or unset: "
              "30)");
  auto config = Load(good + "federation { stream_open_timeout_seconds: 5 "
                            "stream_write_timeout_seconds: 3600 }");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->federation().stream_write_timeout_seconds(), 3600);
}

TEST_F(NodeConfigTest, AnS3StoreNeedsItsBucketAndRegion) {
  const std::string head = "node_id: \"site-a\" listen_address: \"127.0.0.1:1\" database_path: \"d\" ";
  ExpectError(head + "object_store { s3 { region: \"eu-west-2\" } }",
              "object_store.s3.bucket: is required");
  ExpectError(head + "object_store { s3 { bucket: \"b-1\" } }",
              "object_store.s3.region: is required (e.g. \"eu-west-2\")");
  ExpectError(head + "object_store { s3 { bucket: \"b-1\" region: \"r\" part_size_mib: -1 } }",
              "object_store.s3.part_size_mib: must not be negative");
  std::string good = kGood;
  good.replace(good.find("object_store { posix { root: \"objects\" } }"),
               std::string("object_store { posix { root: \"objects\" } }").size(),
               "object_store { s3 { bucket: \"trenode-a\" region: \"eu-west-2\" ca_file: \"pki/ca.pem\" } }");
  auto config = Load(good);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->object_store().s3().ca_file(), dir_.File("pki/ca.pem"));
  EXPECT_FALSE(config->object_store().has_posix());
}

TEST_F(NodeConfigTest, CloudBatchComputeNeedsItsOwnCloudsStoreAndItsFields) {
  auto with = [](const std::string& store, const std::string& compute) {
    std::string text = kGood;
    text.replace(text.find("object_store { posix { root: \"objects\" } }"),
                 std::string("object_store { posix { root: \"objects\" } }").size(),
                 store + " compute { " + compute + " }");
    return text;
  };
  const std::string s3 = "object_store { s3 { bucket: \"trenode-a\" region: \"eu-west-2\" } }";
  const std::string azure = "object_store { azure_blob { container: \"c\" } }";
  ExpectError(with("object_store { posix { root: \"o\" } }",
                   "aws_batch { job_queue: \"q\" job_definition: \"d\" }"),
              "compute.aws_batch: needs object_store.s3 (jobs are staged in the same cloud's store)");
  ExpectError(with(azure, "aws_batch { job_queue: \"q\" job_definition: \"d\" }"),
              "compute.aws_batch: needs object_store.s3 (jobs are staged in the same cloud's store)");
  ExpectError(with(s3, "aws_batch { job_definition: \"d\" }"),
              "compute.aws_batch.job_queue: is required");
  ExpectError(with(s3, "azure_batch { account_name: \"a\" }"),
              "compute.azure_batch: needs object_store.azure_blob (jobs are staged in the same "
              "cloud's store)");
  ExpectError(with(azure, "azure_batch { account_name: \"a\" endpoint: \"https://a\" job_id: "
                          "\"j\" pool_id: \"p\" }"),
              "compute.azure_batch.image: is required");
  auto config = Load(with(azure, "azure_batch { account_name: \"a\" endpoint: \"https://a\" "
                                 "job_id: \"j\" pool_id: \"p\" image: \"i\" account_key_file: "
                                 "\"pki/batch.key\" }"));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->compute().azure_batch().account_key_file(), dir_.File("pki/batch.key"));
}

TEST_F(NodeConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadNodeConfig(dir_.File("absent")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace trenode::config
