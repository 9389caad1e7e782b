// The outcome table (issue 19): one row per outcome, in enum order, every row complete, and the
// compile-time check that says so rejects the tables it must reject.
#include "probe/outcome.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <set>

using namespace urlprobe;
using probe::Outcome;
using probe::OutcomeFamily;
using probe::OutcomeInfo;

namespace {

constexpr OutcomeInfo row(Outcome o, std::string_view name, char code) {
  return {o, name, code, OutcomeFamily::neutral, false, false};
}

// Small tables, each broken in one way, for the check the real table passes at compile time.
constexpr std::array kGood{row(Outcome::ok, "ok", '.'),
                           row(Outcome::unexpected_status, "unexpected_status", '?')};
constexpr std::array kOutOfOrder{row(Outcome::unexpected_status, "unexpected_status", '?'),
                                 row(Outcome::ok, "ok", '.')};
constexpr std::array kSkipsOne{row(Outcome::ok, "ok", '.'), row(Outcome::dns_error, "dns", 'N')};
constexpr std::array kSameName{row(Outcome::ok, "ok", '.'),
                               row(Outcome::unexpected_status, "ok", '?')};
constexpr std::array kSameCode{row(Outcome::ok, "ok", '.'),
                               row(Outcome::unexpected_status, "unexpected_status", '.')};
constexpr std::array kEmptyName{row(Outcome::ok, "", '.')};
constexpr std::array kBlankCode{row(Outcome::ok, "ok", ' ')};
constexpr std::array kNoCode{row(Outcome::ok, "ok", '\0')};

static_assert(probe::valid_outcome_table(kGood));
static_assert(!probe::valid_outcome_table(kOutOfOrder));
static_assert(!probe::valid_outcome_table(kSkipsOne));
static_assert(!probe::valid_outcome_table(kSameName));
static_assert(!probe::valid_outcome_table(kSameCode));
static_assert(!probe::valid_outcome_table(kEmptyName));
static_assert(!probe::valid_outcome_table(kBlankCode));
static_assert(!probe::valid_outcome_table(kNoCode));
static_assert(probe::valid_outcome_table(probe::kOutcomes));

}  // namespace

TEST(OutcomeTable, OneCompleteRowPerOutcomeInEnumOrder) {
  ASSERT_EQ(probe::kOutcomes.size(), probe::kOutcomeCount);
  std::set<std::string_view> names;
  std::set<char> codes;
  for (std::size_t i = 0; i < probe::kOutcomes.size(); ++i) {
    const auto& r = probe::kOutcomes[i];
    EXPECT_EQ(static_cast<std::size_t>(r.outcome), i);
    EXPECT_FALSE(r.name.empty()) << i;
    EXPECT_TRUE(std::isgraph(static_cast<unsigned char>(r.code))) << r.name;
    EXPECT_TRUE(names.insert(r.name).second) << r.name;
    EXPECT_TRUE(codes.insert(r.code).second) << r.name;
    EXPECT_EQ(&probe::outcome_info(r.outcome), &r);
    EXPECT_EQ(probe::outcome_name(r.outcome), r.name);
    EXPECT_EQ(probe::outcome_code(r.outcome), r.code);
    EXPECT_EQ(probe::parse_outcome(r.name), r.outcome);
  }
}

// Before the table, writer.cpp took "the outcomes from proxy_unreachable to proxy_error" as the
// ones whose status is the proxy's.
TEST(OutcomeTable, TheProxyIsBlamedForTheProxyOutcomesOnly) {
  const std::set<Outcome> proxy{Outcome::proxy_unreachable, Outcome::proxy_auth_required,
                                Outcome::proxy_denied, Outcome::proxy_error};
  for (const auto& r : probe::kOutcomes) {
    EXPECT_EQ(probe::blames_proxy(r.outcome), proxy.count(r.outcome) == 1) << r.name;
    EXPECT_EQ(r.family == OutcomeFamily::proxy, proxy.count(r.outcome) == 1) << r.name;
  }
}

// A failure is what fails a sweep (exit 1): all but ok and the neutral not_configured/skipped.
TEST(OutcomeTable, FailuresAreAllButOkAndTheNeutralOnes) {
  for (const auto& r : probe::kOutcomes)
    EXPECT_EQ(probe::is_failure(r.outcome),
              r.outcome != Outcome::ok && r.family != OutcomeFamily::neutral)
        << r.name;
}
