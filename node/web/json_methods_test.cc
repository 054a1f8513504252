#include "node/web/json_methods.h"

#include <algorithm>

#include "gtest/gtest.h"

namespace trenode::web {
namespace {

TEST(JsonMethodsTest, ServesUnaryAndServerStreamingMethodsOfTrenodeV1Only) {
  JsonMethods methods;
  absl::StatusOr<const JsonMethod*> get = methods.Find("/trenode.v1.Catalogue/GetDataset");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ((*get)->request->full_name(), "trenode.v1.GetDatasetRequest");
  EXPECT_EQ((*get)->reply->full_name(), "trenode.v1.Dataset");
  EXPECT_FALSE((*get)->server_streaming);
  absl::StatusOr<const JsonMethod*> watch = methods.Find("/trenode.v1.ActivityLog/WatchEntries");
  ASSERT_TRUE(watch.ok());
  EXPECT_TRUE((*watch)->server_streaming);
  for (const char* path :
       {"/trenode.v1.Catalogue/ImportDataset", "/trenode.v1.Catalogue/ImportDatasetWithProgress",
        "/trenode.v1.Analyses/UploadBundle",
        "/trenode.v1.Federation/Attend", "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        "/trenode.bench.BenchEcho/Echo", "/trenode.v1.Catalogue/../Governance/GetProject",
        "/trenode.v1.Catalogue/GetDataset/", "/trenode.v1.Catalogue/GetDataset?x=1",
        "/trenode.v1.Catalogue%2FGetDataset", "//trenode.v1.Catalogue/GetDataset",
        "/trenode.v1.catalogue/getdataset", ""}) {
    EXPECT_EQ(methods.Find(path).status().code(), absl::StatusCode::kUnimplemented) << path;
  }
  EXPECT_NE(methods.Find("/trenode.v1.Catalogue/ImportDataset").status().message().find("gRPC"),
            std::string::npos);
  std::vector<std::string> paths = methods.Paths();
  EXPECT_TRUE(std::all_of(paths.begin(), paths.end(), [](const std::string& p) {
    return p.rfind("/trenode.v1.", 0) == 0;
  }));
  EXPECT_EQ(std::count(paths.begin(), paths.end(), "/trenode.v1.Releases/DownloadFile"), 1);
}

}  // namespace
}  // namespace trenode::web
