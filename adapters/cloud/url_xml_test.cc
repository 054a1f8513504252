#include "adapters/cloud/url.h"
#include "adapters/cloud/xml.h"

#include "gtest/gtest.h"

namespace trenode::adapters::cloud {
namespace {

TEST(UrlTest, PercentEncodingRoundTrips) {
  EXPECT_EQ(PercentEncode("a b/c+d=~", false), "a%20b%2Fc%2Bd%3D~");
  EXPECT_EQ(PercentEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(*PercentDecode("a%20b%2Fc%2bd+"), "a b/c+d+");
  EXPECT_EQ(PercentDecode("50%").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PercentDecode("%zz").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(UrlTest, SplitsPathAndQuery) {
  auto url = SplitUrl("HTTPS://acct.blob.core.windows.net:443/c/k%20x?comp=list&flag&m=a=b#frag");
  ASSERT_TRUE(url.ok()) << url.status();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->authority, "acct.blob.core.windows.net:443");
  EXPECT_EQ(url->path, "/c/k%20x");
  ASSERT_EQ(url->query.size(), 3u);
  EXPECT_EQ(url->query[1], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(url->query[2], (std::pair<std::string, std::string>{"m", "a=b"}));
  EXPECT_EQ(SplitUrl("http://h")->path, "/");
  EXPECT_EQ(SplitUrl("/relative").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(XmlTest, ParsesATreeWithDecodedText) {
  auto xml = ParseXml(
      "\xEF\xBB\xBF<?xml version=\"1.0\"?><Root a=\"1\"><Blobs><Blob><Name>a&amp;b</Name></Blob>"
      "<Blob><Name><![CDATA[<c>]]></Name></Blob></Blobs><NextMarker/></Root>");
  ASSERT_TRUE(xml.ok()) << xml.status();
  EXPECT_EQ(xml->name, "Root");
  const XmlElement* blobs = xml->Child("Blobs");
  ASSERT_NE(blobs, nullptr);
  ASSERT_EQ(blobs->children.size(), 2u);
  EXPECT_EQ(blobs->children[0].ChildText("Name"), "a&b");
  EXPECT_EQ(blobs->children[1].ChildText("Name"), "<c>");
  EXPECT_EQ(xml->ChildText("NextMarker"), "");
  EXPECT_EQ(xml->Child("Missing"), nullptr);
}

TEST(XmlTest, MalformedDocumentsAreInvalid) {
  EXPECT_EQ(ParseXml("<a><b></a>").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseXml("").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace trenode::adapters::cloud
