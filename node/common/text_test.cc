#include "node/common/text.h"

#include "gtest/gtest.h"

namespace trenode {
namespace {

TEST(PrintableTextTest, KeepsPrintableUtf8) {
  EXPECT_EQ(PrintableText("café → ok", 100), "café → ok");
}

TEST(PrintableTextTest, EscapesControlsAndInvalidBytes) {
  EXPECT_EQ(PrintableText("a\nb\r\tc\\", 100), "a\\nb\\r\\tc\\\\");
  EXPECT_EQ(PrintableText(std::string("x\0y\x7f", 4), 100), "x\\x00y\\x7f");
  EXPECT_EQ(PrintableText("caf\xe9", 100), "caf\\xe9");             // Latin-1
  EXPECT_EQ(PrintableText("\xc0\xaf", 100), "\\xc0\\xaf");          // overlong
  EXPECT_EQ(PrintableText("\xed\xa0\x80", 100), "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(PrintableText("\xc2\x85", 100), "\\u0085");             // C1 NEL
}

TEST(Utf8Test, FindsTheFirstInvalidByteAndReplacesInvalidBytes) {
  EXPECT_EQ(FirstInvalidUtf8("café"), absl::string_view::npos);
  EXPECT_EQ(FirstInvalidUtf8("caf\xe9"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("ok\xf4\x90\x80\x80"), 2u);  // past U+10FFFF
  EXPECT_EQ(ValidUtf8("caf\xe9!"), "caf\xef\xbf\xbd!");
  EXPECT_EQ(ValidUtf8("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ValidUtf8("fine"), "fine");
}

TEST(PrintableTextTest, CapsAtACharacterBoundary) {
  std::string capped = PrintableText("ééééé", 5);
  EXPECT_EQ(capped, "éé… (6 more bytes)");
  EXPECT_EQ(PrintableText("abc", 3), "abc");
}

}  // namespace
}  // namespace trenode
