#include "node/web/connect_codec.h"

#include "gtest/gtest.h"
#include "trenode/v1/catalogue.pb.h"

namespace trenode::web {
namespace {

const google::protobuf::Descriptor& GetDataset() {
  return *trenode::v1::GetDatasetRequest::descriptor();
}

TEST(ConnectCodecTest, JsonBecomesTheSameBinaryAsTheMessage) {
  absl::StatusOr<std::string> binary = JsonToBinary(GetDataset(), R"({"id":"ds-1"})");
  ASSERT_TRUE(binary.ok()) << binary.status();
  trenode::v1::GetDatasetRequest request;
  ASSERT_TRUE(request.ParseFromString(*binary));
  EXPECT_EQ(request.id(), "ds-1");
  absl::StatusOr<std::string> json = BinaryToJson(GetDataset(), *binary);
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(*json, R"({"id":"ds-1"})");
}

TEST(ConnectCodecTest, RefusesWhatIsNotTheMethodsRequestNamingTheProblem) {
  for (const char* bad : {"", "{", "[1]", R"({"id": 7})", R"({"idd":"ds-1"})", "null x"}) {
    absl::StatusOr<std::string> binary = JsonToBinary(GetDataset(), bad);
    EXPECT_EQ(binary.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(binary.status().message().find("trenode.v1.GetDatasetRequest"), std::string::npos)
        << binary.status();
  }
  EXPECT_NE(JsonToBinary(GetDataset(), R"({"idd":"x"})").status().message().find("idd"),
            std::string::npos);
}

TEST(ConnectCodecTest, EnvelopesCarryFlagsAndBigEndianLength) {
  std::string message = Envelope("{}");
  EXPECT_EQ(message, std::string("\0\0\0\0\x02{}", 7));
  std::string end = Envelope(std::string(300, 'x'), true);
  EXPECT_EQ(end.substr(0, 5), std::string("\x02\0\0\x01\x2c", 5));
  EXPECT_EQ(*OnlyEnvelope(Envelope(R"({"id":"a"})")), R"({"id":"a"})");
}

TEST(ConnectCodecTest, AStreamingRequestIsExactlyOneUncompressedEnvelope) {
  EXPECT_FALSE(OnlyEnvelope("").ok());
  EXPECT_FALSE(OnlyEnvelope(std::string("\0\0\0", 3)).ok());
  EXPECT_FALSE(OnlyEnvelope(Envelope("{}") + Envelope("{}")).ok());
  EXPECT_FALSE(OnlyEnvelope(Envelope("{}").substr(0, 6)).ok());
  std::string compressed = Envelope("{}");
  compressed[0] = 1;
  EXPECT_NE(OnlyEnvelope(compressed).status().message().find("compressed"), std::string::npos);
  EXPECT_FALSE(OnlyEnvelope(Envelope("{}", true)).ok());
}

TEST(ConnectCodecTest, EndOfStreamCarriesTheErrorOrNothing) {
  EXPECT_EQ(EndOfStreamJson(grpc::Status::OK), "{}");
  EXPECT_EQ(EndOfStreamJson(grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no \"x\"")),
            R"({"error":{"code":"permission_denied","message":"no \"x\""}})");
}

}  // namespace
}  // namespace trenode::web
