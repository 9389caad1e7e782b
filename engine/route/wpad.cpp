#include "route/wpad.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "route/pac.hpp"

namespace urlprobe::route {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t kMaxScript = 1 << 20;

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// One lookup on a private loop with the sweep's DNS settings: the PAC thread may block, the
// sweep's loops never do.
std::vector<asio::ip::address> resolve_now(const std::string& host, std::uint16_t port, const net::ResolverConfig& dns) {
  asio::io_context io;
  net::Resolver resolver(io, dns);
  std::vector<asio::ip::address> addresses;
  resolver.resolve(host, port, [&](const net::ResolveResult& r) { addresses = r.addresses; });
  io.run();
  return addresses;
}

std::string fetch(const std::string& url, const net::ResolverConfig& dns, std::chrono::milliseconds deadline) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error("not a URL: " + parsed.error().message());
  if (parsed->scheme() != "http") throw std::runtime_error("only http:// PAC URLs are fetched (as WPAD does)");
  struct {
    std::string host, path;
    std::uint16_t port;
  } target{std::string(parsed->host()), parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path()),
           parsed->has_port() ? parsed->port_number() : std::uint16_t(80)};
  const auto addresses = resolve_now(target.host, target.port, dns);
  if (addresses.empty()) throw std::runtime_error(fmt::format("{} does not resolve", target.host));

  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(deadline);
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& a : addresses) endpoints.emplace_back(a, target.port);
  stream.connect(endpoints);
  http::request<http::empty_body> request{http::verb::get, target.path, 11};
  request.set(http::field::host, target.host);
  request.set(http::field::user_agent, "urlprobe");
  request.set(http::field::connection, "close");
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxScript);
  http::read(stream, buffer, parser);
  if (parser.get().result_int() != 200)
    throw std::runtime_error(fmt::format("HTTP {} for the PAC script", parser.get().result_int()));
  return parser.get().body();
}

std::optional<ProxySpec> spec_for(const PacHop& hop) {
  if (hop.kind == PacHop::Kind::direct) return std::nullopt;
  ProxySpec spec;
  spec.host = hop.host;
  spec.port = hop.port;
  switch (hop.kind) {
    case PacHop::Kind::https: spec.scheme = ProxySpec::Scheme::https; break;
    // SOCKS4 is not spoken here; SOCKS5 with remote DNS is what a PAC "SOCKS" usually reaches.
    case PacHop::Kind::socks4:
    case PacHop::Kind::socks5: spec.scheme = ProxySpec::Scheme::socks5h; break;
    default: spec.scheme = ProxySpec::Scheme::http;
  }
  return spec;
}

}  // namespace

PacSource load_pac(const std::string& location, const net::ResolverConfig& dns, std::chrono::milliseconds deadline) {
  PacSource source;
  source.location = location;
  try {
    if (location.find("://") != std::string::npos) {
      source.text = fetch(location, dns, deadline);
    } else {
      std::ifstream in(location, std::ios::binary);
      if (!in) throw std::runtime_error("cannot open the file");
      std::ostringstream text;
      text << in.rdbuf();
      source.text = std::move(text).str();
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("--pac {}: {}", location, e.what()));
  }
  if (source.text.size() > kMaxScript) throw std::runtime_error(fmt::format("--pac {}: larger than 1 MiB", location));
  source.sha256 = sha256_hex(source.text);
  return source;
}

std::shared_ptr<const PacDecisions> decide_pac(const PacSource& source, const std::vector<PacTarget>& targets,
                                               const net::ResolverConfig& dns, const std::string& my_ip) {
  std::map<std::string, std::vector<std::string>> dns_cache;
  PacResolve resolve = [&](const std::string& host) {
    auto [it, inserted] = dns_cache.try_emplace(host);
    if (inserted)
      for (const auto& a : resolve_now(host, 80, dns)) it->second.push_back(a.to_string());
    return it->second;
  };
  PacScript script(source.text, source.location, resolve, my_ip);
  auto decisions = std::make_shared<PacDecisions>();
  std::map<std::string, PacDecision> by_host;  // most scripts decide by host alone
  for (const auto& target : targets) {
    if (decisions->contains(target.url)) continue;
    if (!script.reads_path()) {
      if (auto it = by_host.find(target.host); it != by_host.end()) {
        decisions->emplace(target.url, it->second);
        continue;
      }
    }
    PacDecision decision;
    try {
      auto answer = script.find_proxy(target.url, target.host);
      decision.answer = answer.text;
      for (const auto& hop : answer.chain) decision.chain.push_back(spec_for(hop));
    } catch (const PacError& e) {
      decision.error = e.what();
    }
    by_host.emplace(target.host, decision);
    decisions->emplace(target.url, std::move(decision));
  }
  return decisions;
}

std::string local_address() {
  // A connected UDP socket sends nothing but makes the kernel pick the outgoing address.
  boost::system::error_code ec;
  asio::io_context io;
  asio::ip::udp::socket socket(io);
  socket.open(asio::ip::udp::v4(), ec);
  if (!ec) socket.connect({asio::ip::make_address("198.51.100.1"), 53}, ec);
  if (ec) return "127.0.0.1";
  return socket.local_endpoint(ec).address().to_string();
}

}  // namespace urlprobe::route
