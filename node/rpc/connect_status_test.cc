#include "node/rpc/connect_status.h"

#include "gtest/gtest.h"

namespace trenode::rpc {
namespace {

TEST(ConnectStatusTest, CodesAndHttpStatusesFollowTheConnectTable) {
  struct Row {
    grpc::StatusCode code;
    const char* name;
    int http;
  };
  const Row rows[] = {{grpc::StatusCode::CANCELLED, "canceled", 499},
                      {grpc::StatusCode::UNKNOWN, "unknown", 500},
                      {grpc::StatusCode::INVALID_ARGUMENT, "invalid_argument", 400},
                      {grpc::StatusCode::DEADLINE_EXCEEDED, "deadline_exceeded", 504},
                      {grpc::StatusCode::NOT_FOUND, "not_found", 404},
                      {grpc::StatusCode::ALREADY_EXISTS, "already_exists", 409},
                      {grpc::StatusCode::PERMISSION_DENIED, "permission_denied", 403},
                      {grpc::StatusCode::RESOURCE_EXHAUSTED, "resource_exhausted", 429},
                      {grpc::StatusCode::FAILED_PRECONDITION, "failed_precondition", 400},
                      {grpc::StatusCode::ABORTED, "aborted", 409},
                      {grpc::StatusCode::OUT_OF_RANGE, "out_of_range", 400},
                      {grpc::StatusCode::UNIMPLEMENTED, "unimplemented", 501},
                      {grpc::StatusCode::INTERNAL, "internal", 500},
                      {grpc::StatusCode::UNAVAILABLE, "unavailable", 503},
                      {grpc::StatusCode::DATA_LOSS, "data_loss", 500},
                      {grpc::StatusCode::UNAUTHENTICATED, "unauthenticated", 401}};
  for (const Row& row : rows) {
    EXPECT_EQ(ConnectCodeName(row.code), row.name);
    EXPECT_EQ(ConnectHttpStatus(row.code), row.http) << row.name;
  }
}

TEST(ConnectStatusTest, TheErrorBodyEscapesTheMessage) {
  EXPECT_EQ(ConnectErrorJson(grpc::Status(grpc::StatusCode::NOT_FOUND, "no \"ds\"\n\\")),
            R"({"code":"not_found","message":"no \"ds\"\n\\"})");
  EXPECT_EQ(ConnectErrorJson(grpc::Status(grpc::StatusCode::INTERNAL, "")),
            R"({"code":"internal"})");
}

}  // namespace
}  // namespace trenode::rpc
