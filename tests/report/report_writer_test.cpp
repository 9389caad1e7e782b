// report::Report: several formats of one sweep written together keep each result once, and write
// what each format writes alone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <cstdlib>

#include "report/readiness.hpp"
#include "report/writer.hpp"
#include "tests/report/sweep_routes.hpp"

using namespace urlprobe;
using probe::Outcome;

namespace {

// 3 targets x (direct, paris, lyon), in sweep order, with what readiness reads: an inspecting
// list entry, one that wants authentication, a failing direct path.
std::vector<probe::Result> results() {
  const std::array<std::array<Outcome, 3>, 3> outcomes{{
      {Outcome::ok, Outcome::tls_intercepted, Outcome::ok},
      {Outcome::dns_error, Outcome::proxy_auth_required, Outcome::ok},
      {Outcome::connect_refused, Outcome::ok, Outcome::proxy_unreachable},
  }};
  const auto columns = probe::route_columns(test::sweep_routes("secret"));
  std::vector<probe::Result> out;
  for (std::uint64_t t = 0; t < outcomes.size(); ++t)
    for (std::uint64_t c = 0; c < columns.size(); ++c) {
      probe::Result r;
      r.sweep_index = t * columns.size() + c;
      r.host = fmt::format("h{}.example", t);
      r.url = fmt::format("https://{}/", r.host);
      r.port = 443;
      r.route = columns[c].method;
      r.proxy = columns[c].proxy;
      r.proxy_name = columns[c].proxy_name;
      r.outcome = outcomes[t][c];
      r.tls_inspected = r.outcome == Outcome::tls_intercepted;
      if (r.tls_inspected) r.tls.emplace().issuer = "CN=Corp Inspection CA";
      r.ms.total = 10.0 + static_cast<double>(r.sweep_index);
      out.push_back(r);
    }
  return out;
}

report::Summary summary_of(const std::vector<probe::Result>& rs) {
  report::Summary s;
  s.planned = rs.size();
  for (const auto& r : rs) s.add(r);
  s.seconds = 1.5;
  return s;
}

struct Memory {
  char* buffer = nullptr;
  std::size_t size = 0;
  std::FILE* file = open_memstream(&buffer, &size);
  std::string text() {
    std::fclose(file);
    std::string t(buffer, size);
    std::free(buffer);
    return t;
  }
};

const std::vector<report::Format> kFormats{report::Format::text,  report::Format::analyzer,
                                           report::Format::jsonl, report::Format::json,
                                           report::Format::csv,   report::Format::prometheus};

// The parts of a json document that do not depend on the clock.
std::string timeless_json(const std::string& doc) {
  const auto v = boost::json::parse(doc);
  return boost::json::serialize(v.at("results")) + boost::json::serialize(v.at("readiness")) +
         boost::json::serialize(v.at("summary"));
}

}  // namespace

TEST(Report, FormatsTogetherWriteWhatEachWritesAlone) {
  const auto columns = probe::route_columns(test::sweep_routes("secret"));
  const auto rs = results();
  std::vector<Memory> together(kFormats.size());
  {
    report::Report report(columns);
    for (std::size_t i = 0; i < kFormats.size(); ++i) report.add(kFormats[i], together[i].file);
    for (const auto& r : rs) report.write(r);
    report.finish(summary_of(rs));
  }
  for (std::size_t i = 0; i < kFormats.size(); ++i) {
    Memory alone;
    {
      auto writer = report::make_writer(kFormats[i], alone.file, columns);
      for (const auto& r : rs) writer->write(r);
      writer->finish(summary_of(rs));
    }
    auto a = alone.text(), t = together[i].text();
    if (kFormats[i] == report::Format::json) a = timeless_json(a), t = timeless_json(t);
    EXPECT_EQ(t, a) << "format " << i;
    EXPECT_EQ(t.find("secret"), std::string::npos);
  }
}

TEST(Report, KeepsEachResultOnceAndOnlyWhenNeeded) {
  const auto columns = probe::route_columns(test::sweep_routes("secret"));
  const auto rs = results();
  auto kept = [&](std::vector<report::Format> formats, bool keep) {
    Memory sink;
    report::Report report(columns);
    for (auto f : formats) report.add(f, sink.file);
    if (keep) report.keep_results();
    for (const auto& r : rs) report.write(r);
    report.finish(summary_of(rs));
    const auto n = report.results().size();
    sink.text();
    return n;
  };
  // Streaming formats keep nothing.
  EXPECT_EQ(kept({report::Format::jsonl, report::Format::csv, report::Format::junit,
                  report::Format::prometheus},
                 false),
            0u);
  EXPECT_EQ(kept({report::Format::jsonl}, true), rs.size());
  // Three formats that read the whole sweep share one copy.
  EXPECT_EQ(kept({report::Format::text, report::Format::json, report::Format::html}, false),
            rs.size());
  EXPECT_EQ(kept({report::Format::text, report::Format::json}, true), rs.size());
}

// The sweep's --require any-method leaves list entries out; the formats' readiness has them.
TEST(Report, ReadinessWithoutProxyListsIsThatOfTheMethodResults) {
  const auto rs = results();
  std::vector<probe::Result> methods;
  for (const auto& r : rs)
    if (r.route != route::Method::proxy_list) methods.push_back(r);
  report::ReadinessOptions without;
  without.proxy_lists = false;
  const auto a = report::assess(rs, without);
  const auto b = report::assess(methods, {});
  EXPECT_EQ(report::readiness_text(a), report::readiness_text(b));
  EXPECT_TRUE(a.proxies.empty());
  EXPECT_FALSE(report::assess(rs, {}).proxies.empty());
  std::string ja, jb;
  report::append_readiness_json(ja, a);
  report::append_readiness_json(jb, b);
  EXPECT_EQ(ja, jb);
}
