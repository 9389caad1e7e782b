#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "report/read.hpp"
#include "report/writer.hpp"
#include "sheet/target.hpp"
#include "test_row.hpp"

using namespace urlprobe;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::string line_of(const probe::Result& r) {
  std::string line;
  report::append_jsonl(line, r);
  return line;
}

probe::Result full() {
  probe::Result r;
  r.url = "https://winatp-gw-cus.microsoft.com/test";
  r.host = "winatp-gw-cus.microsoft.com";
  r.port = 443;
  r.route = route::Method::named;
  r.proxy = "http://user:***@10.0.0.6:8080";
  r.outcome = probe::Outcome::tls_intercepted;
  r.detail = "issuer \"Corp CA\"\tline\nbreak \\ done";
  r.http_status = 200;
  r.proxy_status = 200;
  r.address = "203.0.113.7:443";
  r.via = "Via: 1.1 proxy (squid/5.7)";
  net::TlsFacts tls;
  tls.version = "TLSv1.3";
  tls.cipher = "TLS_AES_256_GCM_SHA384";
  tls.group = "X25519";
  tls.alpn = "http/1.1";
  tls.subject = "CN=subject";
  tls.issuer = "CN=Ünïcode issuer";
  tls.root = "CN=root";
  tls.sans = {"a.example", "b.example"};
  tls.not_before = "2026-01-01T00:00:00Z";
  tls.not_after = "2027-05-01T00:00:00Z";
  tls.days_left = -3;
  tls.serial = "0a1b";
  tls.sig_alg = "ecdsa-with-SHA256";
  tls.key = "EC P-256";
  tls.chain_len = 2;
  tls.verified = true;
  tls.ocsp = "good";
  tls.error = "";
  r.tls = tls;
  r.warnings = {"certificate expires in 3 days", "x"};
  r.ms.dns = 1.21;
  r.ms.connect = 0.35;
  r.ms.tunnel = 0.8;
  r.ms.tls = 2.1;
  r.ms.ttfb = 1.05;
  r.ms.total = 5.5123456;
  r.row = test::row_with([](sheet::RowFacts& row) {
    row.source = "builtin:x.csv";
    row.sheet = "Sheet1";
    row.line = 12;
    row.geography = "WW";
    row.os = "windows,mac";
    row.category = "CnCURLs";
    row.service = "Defender";
    row.required = "Required";
    row.other_lines = {14, 20};
  });
  r.started = std::chrono::system_clock::time_point(std::chrono::milliseconds(1795316400123));
  return r;
}

std::vector<probe::Result> varied() {
  std::vector<probe::Result> all;
  all.push_back(full());
  probe::Result minimal;  // nothing optional: empty ms, no row, epoch start
  minimal.url = "http://x.test/";
  minimal.outcome = probe::Outcome::not_configured;
  minimal.route = route::Method::cli;
  all.push_back(minimal);
  auto list = full();
  list.route = route::Method::proxy_list;
  list.proxy = "socks5h://[2001:db8::1]:1080";
  list.proxy_name = "paris";
  list.tls.reset();
  list.outcome = probe::Outcome::proxy_unreachable;
  list.ms = {};
  list.ms.total = 10000;
  all.push_back(list);
  auto wpad = full();
  wpad.route = route::Method::wpad;
  wpad.pac_answer = "PROXY a:1; DIRECT";
  wpad.pac_used = 1;
  wpad.ms.pac = 1000.25;  // the PAC decision, beside (not inside) a small total
  wpad.tls->verified = false;
  wpad.tls->days_left.reset();
  wpad.started = std::chrono::system_clock::time_point(
      std::chrono::milliseconds(86'400'000LL * 365 * 60 + 999));
  all.push_back(wpad);
  auto each_outcome = minimal;
  for (std::size_t o = 0; o < probe::kOutcomeCount; ++o) {
    each_outcome.outcome = static_cast<probe::Outcome>(o);
    each_outcome.ms.total = 0.0005 * static_cast<double>(o) + 123.4565;
    all.push_back(each_outcome);
  }
  return all;
}

}  // namespace

TEST(ReadResults, RoundTripIsByteIdentical) {
  std::string text;
  for (const auto& r : varied()) text += line_of(r) + "\n";
  const auto read = report::read_results(text, "a.jsonl");
  ASSERT_TRUE(read.errors.empty()) << sheet::format_input_error(read.errors.front());
  ASSERT_EQ(read.results.size(), varied().size());
  std::string again;
  for (const auto& r : read.results) again += line_of(r) + "\n";
  EXPECT_EQ(again, text);
  EXPECT_EQ(read.lines.front(), 1);
  EXPECT_EQ(read.results[0].proxy, "http://user:***@10.0.0.6:8080");
  EXPECT_EQ(read.results[0].via, "Via: 1.1 proxy (squid/5.7)");
  EXPECT_EQ(read.results[2].route, route::Method::proxy_list);
  EXPECT_EQ(read.results[3].ms.pac, 1000.25);
  EXPECT_THAT(text, HasSubstr("\"total\":5.512,\"pac\":1000.250}"));
  EXPECT_FALSE(read.results[0].ms.pac) << "no PAC, no ms.pac";
  EXPECT_EQ(read.results[0].started, full().started);
}

// The v1 record has no field for inspection: the outcome says it when the probe stopped there,
// the warning net/tls.cpp words ("TLS intercepted: ...") when --allow-inspection went on.
TEST(ReadResults, InspectionFactComesFromTheOutcomeOrTheWarning) {
  probe::Result refused;
  refused.url = "https://a.test/";
  refused.outcome = probe::Outcome::tls_intercepted;
  auto accepted = refused;
  accepted.outcome = probe::Outcome::ok;
  accepted.warnings = {"certificate expires in 3 days",
                       "TLS intercepted: the chain is anchored in CN=Bump (issuer CN=Bump), not a "
                       "public root: HTTPS inspection in the path"};
  auto clean = accepted;
  clean.warnings = {"certificate expires in 3 days", "not TLS intercepted"};
  for (auto* r : {&refused, &accepted}) r->tls_inspected = true;  // as the probe sets it
  for (const auto& r : {refused, accepted, clean}) {
    const auto line = line_of(r);
    const auto read = report::read_results(line + "\n", "a.jsonl");
    ASSERT_EQ(read.results.size(), 1u) << line;
    EXPECT_EQ(read.results[0].tls_inspected, r.tls_inspected) << line;
    EXPECT_EQ(line_of(read.results[0]), line) << "the record is written as it was";
  }
}

TEST(ReadResults, TruncatedAndGarbageLinesAreErrorsAndSkipped) {
  const auto good = line_of(full());
  const std::string text =
      good + "\n\n" + "not json\n" + good + "\n" + "[1,2]\n" + good.substr(0, good.size() / 2);
  const auto read = report::read_results(text, "r.jsonl");
  EXPECT_EQ(read.results.size(), 2u);
  EXPECT_EQ(read.lines, (std::vector<int>{1, 4}));
  ASSERT_EQ(read.errors.size(), 3u);
  EXPECT_THAT(sheet::format_input_error(read.errors[0]), HasSubstr("r.jsonl:3:1: error: "));
  EXPECT_THAT(sheet::format_input_error(read.errors[1]), HasSubstr("r.jsonl:5:1: error: "));
  EXPECT_THAT(sheet::format_input_error(read.errors[2]), HasSubstr("r.jsonl:6:1: error: "));
  EXPECT_THAT(read.errors[2].message, HasSubstr("truncated"));
}

TEST(ReadResults, OtherVersionsAreRefusedClearly) {
  auto line = line_of(full());
  line.replace(line.find("\"v\":1"), 5, "\"v\":2");
  const auto read = report::read_results(line + "\n", "f.jsonl");
  ASSERT_EQ(read.errors.size(), 1u);
  EXPECT_TRUE(read.results.empty());
  EXPECT_EQ(read.errors[0].message, "unsupported record version 2 (this urlprobe reads 1)");
  const auto missing =
      report::read_results("{\"url\":\"http://a/\",\"route\":\"direct\",\"outcome\":\"ok\"}", "g");
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_THAT(missing.errors[0].message, HasSubstr("\"v\""));
}

// Found by fuzzing: a year the clock cannot hold overflowed (undefined behaviour) instead of
// being an error.
TEST(ReadResults, StartedOutsideTheClocksRangeIsAnError) {
  for (const char* year : {"1677", "2263", "9999"}) {
    const auto text = fmt::format(
        "{{\"v\":1,\"url\":\"http://a/"
        "\",\"route\":\"direct\",\"outcome\":\"ok\",\"started\":\"{}-01-01T00:00:00Z\"}}\n",
        year);
    const auto read = report::read_results(text, "y.jsonl");
    EXPECT_EQ(read.errors.size(), 1u) << year;
    EXPECT_TRUE(read.results.empty()) << year;
  }
}

TEST(ReadResults, BadFieldsAreErrors) {
  const auto bad = [](std::string_view from, std::string_view to) {
    auto line = line_of(full());
    line.replace(line.find(from), from.size(), to);
    const auto read = report::read_results(line, "b");
    EXPECT_EQ(read.errors.size(), 1u) << line;
    return read.errors.empty() ? std::string() : read.errors[0].message;
  };
  EXPECT_THAT(bad("\"outcome\":\"tls_intercepted\"", "\"outcome\":\"weird\""),
              HasSubstr("unknown outcome 'weird'"));
  EXPECT_THAT(bad("\"route\":\"named\"", "\"route\":\"carrier-pigeon\""),
              HasSubstr("unknown route"));
  EXPECT_THAT(bad("\"port\":443", "\"port\":\"443\""), HasSubstr("\"port\""));
  EXPECT_THAT(bad("\"port\":443", "\"port\":70000"), HasSubstr("out of range"));
  EXPECT_THAT(bad("\"started\":\"2026", "\"started\":\"yesterday"), HasSubstr("RFC 3339"));
}

TEST(ReadResults, UnknownFieldsAreIgnoredAndCrlfAccepted) {
  auto line = line_of(full());
  line.insert(line.size() - 1, ",\"future\":{\"x\":[1]}");
  const auto read = report::read_results(line + "\r\n", "c");
  ASSERT_TRUE(read.errors.empty());
  ASSERT_EQ(read.results.size(), 1u);
  EXPECT_EQ(line_of(read.results[0]), line_of(full()));
}

// merge tells a missing shard from the records themselves: each carries the --shard it ran as.
TEST(ReadResults, ShardRoundTripsAndIsValidated) {
  auto sharded = full();
  sharded.shard = {2, 3};
  const auto line = line_of(sharded);
  EXPECT_THAT(line, HasSubstr(",\"shard\":{\"k\":2,\"n\":3},\"started\":"));
  EXPECT_THAT(line_of(full()), Not(HasSubstr("shard")))
      << "an unsharded sweep's record is as before";
  const auto read = report::read_results(line, "s.jsonl");
  ASSERT_TRUE(read.errors.empty()) << sheet::format_input_error(read.errors.front());
  EXPECT_EQ(read.results[0].shard.k, 2u);
  EXPECT_EQ(read.results[0].shard.n, 3u);
  EXPECT_EQ(line_of(read.results[0]), line);
  for (const auto* bad : {R"("shard":{"k":4,"n":3})", R"("shard":{"k":0,"n":3})",
                          R"("shard":{"k":1})", R"("shard":"2/3")"}) {
    auto text = line;
    text.replace(text.find(R"("shard":{"k":2,"n":3})"), 21, bad);
    const auto again = report::read_results(text, "s.jsonl");
    ASSERT_EQ(again.errors.size(), 1u) << bad;
    EXPECT_THAT(again.errors[0].message, HasSubstr("shard")) << bad;
  }
}
