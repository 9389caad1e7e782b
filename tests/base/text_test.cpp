#include "base/text.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace urlprobe::base {
namespace {

TEST(Lower, AsciiLettersOnly) {
  EXPECT_EQ(lower("HTTPS://Example.COM/Path_1"), "https://example.com/path_1");
  EXPECT_EQ(lower(""), "");
  // Bytes of UTF-8 sequences are not letters: "É" stays as it is.
  EXPECT_EQ(lower("\xC3\x89T\xC3\x89"), "\xC3\x89t\xC3\x89");
  EXPECT_EQ(lower('Z'), 'z');
  EXPECT_EQ(lower('['), '[');
  EXPECT_EQ(lower('@'), '@');
}

TEST(Iequals, IgnoresAsciiCaseOnly) {
  EXPECT_TRUE(iequals("OrgId", "ORGID"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("orgid", "orgid "));
  EXPECT_FALSE(iequals("org", "orgid"));
  EXPECT_FALSE(iequals("\xC3\x89", "\xC3\xA9"));  // "É" and "é": not ASCII
  EXPECT_FALSE(iequals("[", "{"));
}

TEST(StartsWithIcase, PrefixInAnyCase) {
  EXPECT_TRUE(starts_with_icase("HTTPS://a/", "https://"));
  EXPECT_TRUE(starts_with_icase("Yes, always", "yes"));
  EXPECT_TRUE(starts_with_icase("x", ""));
  EXPECT_FALSE(starts_with_icase("htt", "http"));
  EXPECT_FALSE(starts_with_icase("ftp://a/", "http"));
}

TEST(Trim, AsciiWhiteSpaceAtBothEnds) {
  EXPECT_EQ(trim(" \t\r\nhost name\r\n \t"), "host name");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim(""), "");
  // A non-breaking space is not ASCII white space.
  EXPECT_EQ(trim("\xC2\xA0x\xC2\xA0"), "\xC2\xA0x\xC2\xA0");
  EXPECT_EQ(trim("\v x \f"), "\v x \f");
}

TEST(Trim, AllBlankGivesAnEmptyViewInsideTheInput) {
  const std::string_view text = "  \t ";
  const auto t = trim(text);
  EXPECT_TRUE(t.empty());
  EXPECT_GE(t.data(), text.data());
  EXPECT_LE(t.data(), text.data() + text.size());
}

TEST(Trim, KeepsTheViewIntoTheInput) {
  const std::string_view text = "  abc ";
  EXPECT_EQ(trim(text).data(), text.data() + 2);
}

TEST(TrimWithNbsp, NbspAndAsciiInAnyOrder) {
  EXPECT_EQ(trim_with_nbsp(" \xC2\xA0 \xC2\xA0\t443\xC2\xA0 \r\n"), "443");
  EXPECT_EQ(trim_with_nbsp("\xC2\xA0"), "");
  EXPECT_EQ(trim_with_nbsp("a\xC2\xA0"
                           "b"),
            "a\xC2\xA0"
            "b");
}

TEST(TrimWithNbsp, NeverCutsALoneLeadByte) {
  // 0xC2 also leads "©" (C2 A9): a sign at either end stays whole.
  EXPECT_EQ(trim_with_nbsp("\xC2\xA9 x \xC2\xA9"), "\xC2\xA9 x \xC2\xA9");
  EXPECT_EQ(trim_with_nbsp("\xC2 x \xA0"), "\xC2 x \xA0");
}

TEST(DropBom, OnlyALeadingMark) {
  EXPECT_EQ(drop_bom("\xEF\xBB\xBFhttps://a/"), "https://a/");
  EXPECT_EQ(drop_bom("https://a/\xEF\xBB\xBF"), "https://a/\xEF\xBB\xBF");
  EXPECT_EQ(drop_bom("\xEF\xBB"), "\xEF\xBB");
  EXPECT_EQ(drop_bom("\xEF\xBB\xBF\xEF\xBB\xBFx"), "\xEF\xBB\xBFx");
}

using Lines = std::vector<std::pair<std::string, int>>;

Lines lines_of(std::string_view text) {
  Lines out;
  for_each_line(text, [&](std::string_view line, int line_no) {
    out.emplace_back(std::string(line), line_no);
  });
  return out;
}

TEST(ForEachLine, NumbersLinesFromOne) {
  EXPECT_EQ(lines_of("a\nb\n\nc"), (Lines{{"a", 1}, {"b", 2}, {"", 3}, {"c", 4}}));
}

TEST(ForEachLine, AFinalNewlineEndsTheLastLineWithoutOpeningAnother) {
  EXPECT_EQ(lines_of("a\nb\n"), (Lines{{"a", 1}, {"b", 2}}));
  EXPECT_EQ(lines_of("\n"), (Lines{{"", 1}}));
  EXPECT_TRUE(lines_of("").empty());
}

TEST(ForEachLine, KeepsCarriageReturns) {
  EXPECT_EQ(lines_of("a\r\nb\r\n"), (Lines{{"a\r", 1}, {"b\r", 2}}));
}

TEST(ForEachLine, DropsTheByteOrderMarkOfLineOneOnly) {
  EXPECT_EQ(lines_of("\xEF\xBB\xBF"
                     "a\n\xEF\xBB\xBF"
                     "b"),
            (Lines{{"a", 1},
                   {"\xEF\xBB\xBF"
                    "b",
                    2}}));
  EXPECT_EQ(lines_of("\xEF\xBB\xBF"), (Lines{{"", 1}}));
}

TEST(ForEachLine, LinesAreViewsIntoTheText) {
  const std::string_view text = "ab\ncd";
  std::vector<const char*> starts;
  for_each_line(text, [&](std::string_view line, int) { starts.push_back(line.data()); });
  EXPECT_EQ(starts, (std::vector<const char*>{text.data(), text.data() + 3}));
}

TEST(DecodeBomText, Utf16EitherOrderAndUtf8WithOrWithoutItsMark) {
  using namespace std::string_literals;
  std::string error;
  // "é😀" as regedit (UTF-16LE) and as UTF-16BE: a BMP character and a surrogate pair.
  EXPECT_EQ(decode_bom_text("\xFF\xFE\xE9\x00\x3D\xD8\x00\xDE"s, error),
            "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(decode_bom_text("\xFE\xFF\x00\xE9\xD8\x3D\xDE\x00"s, error),
            "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_EQ(decode_bom_text("\xEF\xBB\xBFplain", error), "plain");
  EXPECT_EQ(decode_bom_text("plain", error), "plain");
  EXPECT_TRUE(error.empty());
}

TEST(DecodeBomText, UnpairedSurrogateIsReplacedAndOddLengthIsAnError) {
  using namespace std::string_literals;
  std::string error;
  EXPECT_EQ(decode_bom_text("\xFF\xFE\x3D\xD8\x41\x00"s, error),
            "\xEF\xBF\xBD"
            "A");
  EXPECT_EQ(decode_bom_text("\xFF\xFE\x41\x00\x42"s, error), std::nullopt);
  EXPECT_THAT(error, ::testing::HasSubstr("odd number of bytes"));
}

}  // namespace
}  // namespace urlprobe::base
