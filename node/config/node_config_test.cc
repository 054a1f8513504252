#include "node/config/node_config.h"

#include "gtest/gtest.h"
#include "tests/testutil/temp_dir.h"

namespace trenode::config {
namespace {

constexpr char kGood[] = R"(
node_id: "site-a"
listen_address: "127.0.0.1:0"
database_path: "state/node.db"
object_store { posix { root: "objects" } }
dev_identity { default_role: ROLE_RESEARCHER }
)";

class NodeConfigTest : public ::testing::Test {
 protected:
  absl::StatusOr<trenode::v1::NodeConfig> Load(const std::string& text) {
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
  EXPECT_EQ(config->dev_identity().default_role(), trenode::v1::ROLE_RESEARCHER);
}

TEST_F(NodeConfigTest, NamesTheBadFieldOrPosition) {
  ExpectError("node_id: \"site-a\"\nlisten_adress: \"x\"\n",
              "line 2 column 14: Message type \"trenode.v1.NodeConfig\" has no field named "
              "\"listen_adress\".");
  ExpectError("listen_address: \"127.0.0.1:1\"", "node_id: is required");
  ExpectError("node_id: \"Site A\"", "node_id: \"Site A\" must be 2 to 63 characters of [a-z0-9-]");
  ExpectError("node_id: \"site-a\" listen_address: \"0.0.0.0:50051\"",
              "listen_address: \"0.0.0.0:50051\" must be a loopback address with a port "
              "(127.0.0.1:PORT, [::1]:PORT or localhost:PORT) until TLS is configured");
  ExpectError("node_id: \"site-a\" listen_address: \"127.0.0.1:1\"", "database_path: is required");
  ExpectError("node_id: \"site-a\" listen_address: \"127.0.0.1:1\" database_path: \"d\"",
              "object_store: is required (e.g. object_store { posix { root: \"data\" } })");
}

TEST_F(NodeConfigTest, MissingFileIsNotFound) {
  EXPECT_EQ(LoadNodeConfig(dir_.File("absent")).status().code(), absl::StatusCode::kNotFound);
}

TEST(LoopbackTest, RecognisesLoopbackOnly) {
  EXPECT_TRUE(IsLoopbackAddress("127.0.0.1:50051"));
  EXPECT_TRUE(IsLoopbackAddress("[::1]:0"));
  EXPECT_TRUE(IsLoopbackAddress("localhost:8080"));
  EXPECT_FALSE(IsLoopbackAddress("0.0.0.0:50051"));
  EXPECT_FALSE(IsLoopbackAddress("10.0.0.1:50051"));
  EXPECT_FALSE(IsLoopbackAddress("127.0.0.1"));
  EXPECT_FALSE(IsLoopbackAddress("127.0.0.1:99999"));
}

}  // namespace
}  // namespace trenode::config
