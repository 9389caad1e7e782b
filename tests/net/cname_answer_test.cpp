// The CNAME reader for failed lookups, on hand-built DNS messages: compression, NXDOMAIN and
// NODATA chains, and every way a message can be cut short or lie about its lengths.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/detail/cname_answer.hpp"

namespace urlprobe::net::detail {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Records = std::vector<std::pair<std::string, std::string>>;

std::string u16(unsigned value) {
  return {static_cast<char>((value >> 8) & 0xff), static_cast<char>(value & 0xff)};
}

// The labels of DOTTED, without the root label that ends a name: a pointer may follow them.
std::string labels(std::string_view dotted) {
  std::string out;
  while (!dotted.empty()) {
    const auto dot = dotted.find('.');
    const auto label = dotted.substr(0, dot);
    out += static_cast<char>(label.size());
    out += label;
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  return out;
}

std::string name(std::string_view dotted) {
  return labels(dotted).append(1, '\0');
}

std::string pointer(unsigned offset) {
  return u16(0xc000u | offset);
}

constexpr unsigned kNoError = 0, kNxdomain = 3;

std::string header(unsigned rcode, unsigned questions, unsigned answers) {
  return u16(0x1234) + u16(0x8180u | rcode) + u16(questions) + u16(answers) + u16(0) + u16(0);
}

std::string question(std::string_view dotted, unsigned type = 1) {
  return name(dotted) + u16(type) + u16(1);
}

// An answer record: owner as given (plain or pointer), then type, class IN, ttl, rdata.
std::string record(const std::string& owner, unsigned type, const std::string& rdata,
                   unsigned klass = 1) {
  return owner + u16(type) + u16(klass) + u16(0) + u16(300) + u16(rdata.size()) + rdata;
}

Records parse(const std::string& message) {
  return cname_records(reinterpret_cast<const unsigned char*>(message.data()), message.size());
}

// NXDOMAIN after two CNAMEs, the second and third owner written as pointers into the rdata of
// the record before, as real servers compress: a.example -> b.example -> c.blocked.example.
std::string nxdomain_after_two_cnames() {
  std::string message = header(kNxdomain, 1, 2) + question("a.example");
  const auto first_rdata_at = static_cast<unsigned>(message.size() + 2 + 10);
  message += record(pointer(12), 5, name("b.example"));
  message += record(pointer(first_rdata_at), 5, labels("c.blocked") + pointer(14));
  return message;
}

TEST(CnameAnswer, NxdomainWithTwoCnamesFollowsCompressedNames) {
  const auto records = parse(nxdomain_after_two_cnames());
  EXPECT_THAT(records,
              ElementsAre(std::pair<std::string, std::string>{"a.example", "b.example"},
                          std::pair<std::string, std::string>{"b.example", "c.blocked.example"}));
  EXPECT_THAT(follow_cnames("a.example", records), ElementsAre("b.example", "c.blocked.example"));
}

TEST(CnameAnswer, NodataWithOneCnameIgnoresTheOtherRecordTypes) {
  std::string message = header(kNoError, 1, 2) + question("www.example");
  message += record(pointer(12), 5, name("edge.example.net"));
  message += record(name("unrelated.example"), 1, std::string("\x7f\x00\x00\x01", 4));
  const auto records = parse(message);
  EXPECT_THAT(records,
              ElementsAre(std::pair<std::string, std::string>{"www.example", "edge.example.net"}));
  EXPECT_THAT(follow_cnames("WWW.Example.", records), ElementsAre("edge.example.net"))
      << "names compare case-insensitively, a trailing dot ignored";
}

TEST(CnameAnswer, NoCnamesNoRecords) {
  EXPECT_THAT(parse(header(kNxdomain, 1, 0) + question("gone.example")), IsEmpty());
}

TEST(CnameAnswer, CnameOfAnotherClassIsNotTaken) {
  const auto message =
      header(kNoError, 1, 1) + question("a.example") + record(pointer(12), 5, name("b.x"), 3);
  EXPECT_THAT(parse(message), IsEmpty());
}

TEST(CnameAnswer, EveryTruncationOfAValidMessageGivesNothing) {
  const auto whole = nxdomain_after_two_cnames();
  ASSERT_EQ(parse(whole).size(), 2u);
  for (std::size_t size = 0; size < whole.size(); ++size) {
    // A heap copy of exactly `size` bytes, so a read past the end shows under ASan.
    const std::vector<unsigned char> cut(whole.begin(),
                                         whole.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_THAT(cname_records(cut.data(), cut.size()), IsEmpty()) << "cut at " << size;
  }
}

TEST(CnameAnswer, GarbageGivesNothing) {
  EXPECT_THAT(cname_records(nullptr, 0), IsEmpty());
  EXPECT_THAT(parse(std::string(12, '\xff')), IsEmpty()) << "65535 questions that are not there";
  // A pointer to itself in the question.
  EXPECT_THAT(parse(header(kNxdomain, 1, 1) + pointer(12) + u16(1) + u16(1)), IsEmpty());
  // A pointer past the end of the message in the CNAME target.
  EXPECT_THAT(parse(header(kNxdomain, 1, 1) + question("a.example") +
                    record(pointer(12), 5, pointer(0x3fff))),
              IsEmpty());
  // rdlength longer than the rest of the message.
  std::string long_rdata = header(kNxdomain, 1, 1) + question("a.example") + pointer(12) + u16(5) +
                           u16(1) + u16(0) + u16(300) + u16(200) + name("b.example");
  EXPECT_THAT(parse(long_rdata), IsEmpty());
  // rdlength shorter than the target name in it.
  std::string short_rdata = header(kNxdomain, 1, 1) + question("a.example") + pointer(12) + u16(5) +
                            u16(1) + u16(0) + u16(300) + u16(3) + name("b.example");
  EXPECT_THAT(parse(short_rdata), IsEmpty());
  // A label longer than 63 bytes.
  EXPECT_THAT(parse(header(kNxdomain, 1, 0) + std::string(1, '\x50') + std::string(80, 'a') +
                    std::string(1, '\0') + u16(1) + u16(1)),
              IsEmpty());
}

TEST(CnameAnswer, FollowingStopsAtALoopAndShowsIt) {
  const Records loop{{"a.example", "b.example"}, {"b.example", "a.example"}};
  EXPECT_THAT(follow_cnames("a.example", loop), ElementsAre("b.example", "a.example"));
  const Records self{{"a.example", "a.example"}};
  EXPECT_THAT(follow_cnames("a.example", self), ElementsAre("a.example"));
}

TEST(CnameAnswer, FollowingIsCappedAndStartsAtTheNameAsked) {
  Records long_chain;
  // Appended, not operator+ on temporaries, which GCC 12 at -O3 misreads (-Wrestrict).
  const auto link_name = [](int i) {
    std::string name("n");
    name.append(std::to_string(i)).append(".example");
    return name;
  };
  for (int i = 0; i < 40; ++i) long_chain.emplace_back(link_name(i), link_name(i + 1));
  const auto chain = follow_cnames("n0.example", long_chain);
  ASSERT_EQ(chain.size(), kMaxCnameChain);
  EXPECT_EQ(chain.front(), "n1.example");
  EXPECT_EQ(chain.back(), link_name(static_cast<int>(kMaxCnameChain)));
  EXPECT_THAT(follow_cnames("other.example", long_chain), IsEmpty());
}

}  // namespace
}  // namespace urlprobe::net::detail
