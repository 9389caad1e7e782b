#include "route/wpad.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "base/text.hpp"
#include "net/tunnel.hpp"
#include "route/pac.hpp"

namespace urlprobe::route {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t kMaxScript = 1 << 20;

// At most LIMIT + 1 bytes of a file: enough to tell "too large" without reading /dev/zero whole.
// nullopt when the file cannot be opened.
std::optional<std::string> read_prefix(const std::string& path, std::size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text;
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

// One lookup on a private loop with the sweep's DNS settings: the PAC thread may block, the
// sweep's loops never do. With a `limit`, nullopt when no answer came within it.
std::optional<net::ResolveResult> resolve_now(const std::string& host, std::uint16_t port,
                                              net::ResolverConfig dns,
                                              std::optional<std::chrono::milliseconds> limit = {}) {
  // c-ares spends 3/4 of its budget on its two tries: with twice the limit it never names a
  // timeout of its own first, so a limit that runs out always reads as "no answer".
  if (limit) dns.budget = 2 * *limit;
  asio::io_context io;
  net::Resolver resolver(io, dns);
  std::optional<net::ResolveResult> result;
  resolver.resolve(host, port, [&](const net::ResolveResult& r) {
    result = r;
    io.stop();
  });
  if (limit)
    io.run_for(*limit);
  else
    io.run();
  return result;
}

// A fetch failure with a short cause for WPAD's list of what was tried ("NXDOMAIN", "HTTP 404").
struct FetchError : std::runtime_error {
  std::string brief;
  FetchError(const std::string& what, std::string brief_)
      : std::runtime_error(what), brief(std::move(brief_)) {}
};

std::string fetch(const std::string& url, const net::ResolverConfig& dns,
                  std::chrono::milliseconds deadline) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) throw std::runtime_error("not a URL: " + parsed.error().message());
  if (parsed->scheme() != "http")
    throw std::runtime_error("only http:// PAC URLs are fetched (as WPAD does)");
  struct {
    std::string host, path;
    std::uint16_t port;
  } target{std::string(parsed->host()),
           parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path()),
           parsed->has_port() ? parsed->port_number() : std::uint16_t(80)};
  const auto resolved = resolve_now(target.host, target.port, dns).value_or(net::ResolveResult{});
  const auto& addresses = resolved.addresses;
  if (addresses.empty()) {
    auto dns_error = resolved.error.empty() ? std::string("no address") : resolved.error;
    // "NXDOMAIN: x does not exist" -> "NXDOMAIN" for WPAD's list; the whole cause otherwise.
    throw FetchError(fmt::format("{} does not resolve ({})", target.host, dns_error),
                     dns_error.substr(0, dns_error.find(": ")));
  }

  // Asynchronous operations on a private loop: beast's deadline applies only to those, and it
  // covers connect, request and response together.
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(deadline);
  std::vector<asio::ip::tcp::endpoint> endpoints;
  for (const auto& a : addresses) endpoints.emplace_back(a, target.port);
  http::request<http::empty_body> request{http::verb::get, target.path, 11};
  request.set(http::field::host, target.host);
  request.set(http::field::user_agent, "urlprobe");
  request.set(http::field::connection, "close");
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  boost::system::error_code failure;
  const char* step = "connect";
  // A server that only ever sends interim responses ends with the last one's status.
  int interim = 0;
  std::function<void()> read_response = [&] {
    parser.emplace();
    parser->body_limit(kMaxScript);
    http::async_read(stream, buffer, *parser, [&](boost::system::error_code ec, std::size_t) {
      if (ec) return void(failure = ec);
      const unsigned status = parser->get().result_int();
      if (net::is_interim_status(status) && ++interim <= net::kMaxInterimResponses) read_response();
    });
  };
  stream.async_connect(
      endpoints, [&](boost::system::error_code ec, const asio::ip::tcp::endpoint&) {
        if (ec) return void(failure = ec);
        step = "send";
        http::async_write(stream, request, [&](boost::system::error_code ec, std::size_t) {
          if (ec) return void(failure = ec);
          step = "read";
          read_response();
        });
      });
  io.run();
  if (failure) {
    const std::string brief = failure == beast::error::timeout
                                  ? fmt::format("no answer within {} ms", deadline.count())
                                  : failure.message();
    throw FetchError(fmt::format("{} {}:{}: {}", step, target.host, target.port, brief), brief);
  }
  if (parser->get().result_int() != 200)
    throw FetchError(fmt::format("HTTP {} for the PAC script", parser->get().result_int()),
                     fmt::format("HTTP {}", parser->get().result_int()));
  return parser->get().body();
}

std::optional<ProxySpec> spec_for(const PacHop& hop) {
  if (hop.kind == PacHop::Kind::direct) return std::nullopt;
  ProxySpec spec;
  spec.host = hop.host;
  spec.port = hop.port;
  switch (hop.kind) {
    case PacHop::Kind::https:
      spec.scheme = ProxySpec::Scheme::https;
      break;
    // SOCKS4 is not spoken here; SOCKS5 with remote DNS is what a PAC "SOCKS" usually reaches.
    case PacHop::Kind::socks4:
    case PacHop::Kind::socks5:
      spec.scheme = ProxySpec::Scheme::socks5h;
      break;
    default:
      spec.scheme = ProxySpec::Scheme::http;
  }
  return spec;
}

// What a record says when the call's deadline left DNS helpers without an answer.
std::string unanswered_warning(const std::vector<std::string>& names, const PacLimits& limits) {
  if (names.empty()) return {};
  constexpr std::size_t kNamed = 3;
  std::string list;
  for (std::size_t i = 0; i < names.size() && i < kNamed; ++i) list += (i ? ", " : "") + names[i];
  if (names.size() > kNamed) list += fmt::format(" and {} more", names.size() - kNamed);
  return fmt::format(
      "PAC: the {} ms deadline of a PAC call cut DNS lookups short: no answer for {}, counted as "
      "not resolving",
      limits.per_call.count(), list);
}

}  // namespace

PacSource load_pac(const std::string& location, const net::ResolverConfig& dns,
                   std::chrono::milliseconds deadline) {
  PacSource source;
  source.location = location;
  try {
    if (location.find("://") != std::string::npos) {
      source.text = fetch(location, dns, deadline);
    } else {
      auto text = read_prefix(location, kMaxScript);
      if (!text) throw std::runtime_error("cannot open the file");
      source.text = std::move(*text);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("--pac {}: {}", location, e.what()));
  }
  if (source.text.size() > kMaxScript)
    throw std::runtime_error(fmt::format("--pac {}: larger than 1 MiB", location));
  source.sha256 = sha256_hex(source.text);
  return source;
}

PacResolve pac_resolver(const net::ResolverConfig& dns) {
  // Each lookup is bounded twice: by what is left of the call's DNS share (PacScript) and by the
  // sweep's own DNS budget, the most any probe would wait for a name.
  return [dns](const std::string& host,
               std::chrono::milliseconds within) -> std::optional<std::vector<std::string>> {
    const auto resolved = resolve_now(host, 80, dns, std::min(within, dns.budget));
    if (!resolved) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& a : resolved->addresses) out.push_back(a.to_string());
    return out;
  };
}

std::shared_ptr<const PacDecisions> decide_pac(const PacSource& source,
                                               const std::vector<PacTarget>& targets,
                                               const net::ResolverConfig& dns,
                                               const std::string& my_ip, const PacLimits& limits) {
  PacScript script(source.text, source.location, pac_resolver(dns), my_ip, limits);
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
    const auto started = std::chrono::steady_clock::now();
    try {
      auto answer = script.find_proxy(target.url, target.host);
      decision.answer = answer.text;
      for (const auto& hop : answer.chain) decision.chain.push_back(spec_for(hop));
      decision.warning = unanswered_warning(answer.unanswered, limits);
    } catch (const PacError& e) {
      decision.error = e.what();
    }
    decision.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    by_host.emplace(target.host, decision);
    decisions->emplace(target.url, std::move(decision));
  }
  return decisions;
}

namespace {

// Second-level registries under country codes (and a few generic ones) that are public: WPAD
// must not devolve to wpad.<one of these>. Deliberately small; see wpad.hpp.
constexpr std::string_view kTwoLabelSuffixes[] = {
    "ac.uk",  "co.uk",  "gov.uk",  "ltd.uk", "me.uk",     "net.uk",  "nhs.uk", "org.uk", "plc.uk",
    "sch.uk", "com.au", "net.au",  "org.au", "edu.au",    "gov.au",  "asn.au", "id.au",  "co.jp",
    "ne.jp",  "or.jp",  "ac.jp",   "go.jp",  "gr.jp",     "ad.jp",   "ed.jp",  "lg.jp",  "co.nz",
    "net.nz", "org.nz", "govt.nz", "ac.nz",  "school.nz", "co.za",   "org.za", "gov.za", "ac.za",
    "net.za", "com.br", "net.br",  "org.br", "gov.br",    "com.cn",  "net.cn", "org.cn", "gov.cn",
    "edu.cn", "ac.cn",  "co.in",   "net.in", "org.in",    "firm.in", "gen.in", "ind.in", "ac.in",
    "gov.in", "co.kr",  "or.kr",   "ne.kr",  "go.kr",     "ac.kr",   "com.mx", "org.mx", "gob.mx",
    "net.mx", "com.ar", "com.tr",  "com.tw", "com.hk",    "com.sg",  "com.my", "com.ph", "com.pk",
    "com.ua", "co.il",  "org.il",  "ac.il",  "co.id",     "or.id",   "co.th",  "in.th",  "ac.th",
    "com.es", "com.pl", "com.ru",  "com.cy", "co.at",     "or.at",   "co.hu",  "eu.org", "us.com",
    "uk.com"};

// "corp.example.com." -> "corp.example.com"; "" when not a usable domain name.
std::string clean_domain(std::string_view domain) {
  std::string d = base::lower(domain);
  while (!d.empty() && d.back() == '.') d.pop_back();
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.find("..") != std::string::npos)
    return {};
  for (char ch : d)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
      return {};
  return d;
}

std::vector<std::string> words(std::string_view line) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    const auto start = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

std::vector<std::string_view> lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

// The value of a lease option: "quoted" (with \n, \000 escapes dropped) or 68:74:74:70 hex.
std::string lease_value(std::string_view raw) {
  while (!raw.empty() &&
         (std::isspace(static_cast<unsigned char>(raw.back())) || raw.back() == ';'))
    raw.remove_suffix(1);
  while (!raw.empty() && std::isspace(static_cast<unsigned char>(raw.front())))
    raw.remove_prefix(1);
  std::string value;
  if (!raw.empty() && raw.front() == '"') {
    raw.remove_prefix(1);
    if (auto q = raw.rfind('"'); q != std::string_view::npos) raw = raw.substr(0, q);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '\\' && i + 1 < raw.size()) {
        if (raw[i + 1] == 'n' || raw[i + 1] == 'r' || raw[i + 1] == 't') {
          ++i;
          continue;
        }
        if (std::isdigit(static_cast<unsigned char>(raw[i + 1]))) {  // \000 octal
          std::size_t j = i + 1, n = 0;
          int code = 0;
          while (j < raw.size() && n < 3 && raw[j] >= '0' && raw[j] <= '7')
            code = code * 8 + (raw[j++] - '0'), ++n;
          if (code >= 32 && code < 127) value += static_cast<char>(code);
          i = j - 1;
          continue;
        }
        value += raw[++i];
        continue;
      }
      value += raw[i];
    }
  } else if (raw.size() >= 2 && raw.find(':') != std::string_view::npos &&
             std::isxdigit(static_cast<unsigned char>(raw[0])) &&
             raw.find("://") == std::string_view::npos) {
    std::size_t i = 0;
    while (i < raw.size()) {
      auto end = raw.find(':', i);
      if (end == std::string_view::npos) end = raw.size();
      const auto byte = std::strtol(std::string(raw.substr(i, end - i)).c_str(), nullptr, 16);
      if (byte >= 32 && byte < 127) value += static_cast<char>(byte);
      i = end + 1;
    }
  } else {
    value = std::string(raw);
  }
  while (!value.empty() &&
         (value.back() == '\0' || std::isspace(static_cast<unsigned char>(value.back()))))
    value.pop_back();
  return value;
}

bool is_http_url(std::string_view url) {
  const auto l = base::lower(url.substr(0, 8));
  return l.starts_with("http://") || l.starts_with("https://");
}

}  // namespace

bool is_two_label_public_suffix(std::string_view domain) {
  const auto d = base::lower(domain);
  return std::find(std::begin(kTwoLabelSuffixes), std::end(kTwoLabelSuffixes), d) !=
         std::end(kTwoLabelSuffixes);
}

std::vector<std::string> wpad_candidates(const std::vector<std::string>& domains) {
  std::vector<std::string> out;
  for (const auto& raw : domains) {
    std::string d = clean_domain(raw);
    if (d.empty()) continue;
    // wpad.<d> while d has two labels or more and is not a public two-label suffix.
    while (d.find('.') != std::string::npos && !is_two_label_public_suffix(d)) {
      auto url = fmt::format("http://wpad.{}/wpad.dat", d);
      if (std::find(out.begin(), out.end(), url) == out.end()) out.push_back(std::move(url));
      d.erase(0, d.find('.') + 1);
    }
  }
  return out;
}

std::vector<std::string> resolv_conf_domains(std::string_view text) {
  std::vector<std::string> search, domain;
  for (auto line : lines(text)) {
    if (auto hash = line.find_first_of("#;"); hash != std::string_view::npos)
      line = line.substr(0, hash);
    auto w = words(line);
    if (w.empty()) continue;
    if (w[0] == "search") {
      search.assign(w.begin() + 1, w.end());  // the last search line wins, as in glibc
    } else if (w[0] == "domain" && w.size() > 1) {
      domain = {w[1]};
    }
  }
  std::vector<std::string> out;
  for (const auto* list : {&search, &domain})
    for (const auto& d : *list) {
      auto c = clean_domain(d);
      if (!c.empty() && std::find(out.begin(), out.end(), c) == out.end())
        out.push_back(std::move(c));
    }
  return out;
}

std::vector<std::string> dhcp_wpad_urls(std::string_view lease_text) {
  std::vector<std::string> out;
  for (auto line : lines(lease_text)) {
    auto w = words(line);
    if (w.empty()) continue;
    std::string value;
    if (const auto eq = line.find('=');
        eq != std::string_view::npos && w.size() == 1) {  // NetworkManager
      const auto k =
          base::lower(words(line.substr(0, eq)).empty() ? "" : words(line.substr(0, eq)).front());
      if (k == "wpad" || k == "wpad_url" || k == "option_252" || k == "option-252")
        value = lease_value(line.substr(eq + 1));
    } else if (w[0] == "option" && w.size() >= 3) {  // dhclient
      const auto name = base::lower(w[1]);
      if (name == "wpad" || name == "wpad-url" || name == "option-252" || name == "wpad.url") {
        const auto at = line.find(w[1]) + w[1].size();
        value = lease_value(line.substr(at));
      }
    }
    if (!value.empty() && is_http_url(value) &&
        std::find(out.begin(), out.end(), value) == out.end())
      out.push_back(std::move(value));
  }
  return out;
}

std::vector<std::string> host_domains() {
  const char* override_path = std::getenv("URLPROBE_RESOLV_CONF");
  const std::string path = override_path && *override_path ? override_path : "/etc/resolv.conf";
  std::vector<std::string> out;
  if (auto text = read_prefix(path, kMaxScript)) out = resolv_conf_domains(*text);
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) {
    const std::string_view host(name);
    if (const auto dot = host.find('.'); dot != std::string_view::npos) {
      auto d = clean_domain(host.substr(dot + 1));
      if (!d.empty() && std::find(out.begin(), out.end(), d) == out.end())
        out.push_back(std::move(d));
    }
  }
  return out;
}

std::vector<std::string> host_dhcp_wpad_urls() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  const std::pair<const char*, std::vector<std::string_view>> places[] = {
      {"/var/lib/dhcp", {".leases", ".lease"}},
      {"/var/lib/dhclient", {".leases", ".lease"}},
      {"/var/lib/NetworkManager", {".lease"}}};
  for (const auto& [dir, endings] : places) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const auto name = it->path().filename().string();
      for (auto ending : endings)
        if (name.ends_with(ending)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      auto urls = dhcp_wpad_urls(read_prefix(file.string(), kMaxScript).value_or(""));
      // dhclient appends leases: the newest (last) is the one in force.
      if (!urls.empty() && std::find(out.begin(), out.end(), urls.back()) == out.end())
        out.push_back(urls.back());
    }
  }
  return out;
}

std::string WpadDiscovery::summary() const {
  if (source) return fmt::format("WPAD: PAC script at {}", source->location);
  if (tried.empty())
    return "WPAD: nothing to try (no DHCP option 252, no search domain; --pac FILE|URL)";
  std::string text = "WPAD: no PAC at ";
  for (std::size_t i = 0; i < tried.size(); ++i) text += (i ? ", " : "") + tried[i];
  return text;
}

WpadDiscovery discover_wpad(const std::vector<std::string>& dhcp_urls,
                            const std::vector<std::string>& domains, const net::ResolverConfig& dns,
                            std::chrono::milliseconds deadline) {
  WpadDiscovery found;
  std::vector<std::string> urls = dhcp_urls;
  for (auto& url : wpad_candidates(domains))
    if (std::find(urls.begin(), urls.end(), url) == urls.end()) urls.push_back(std::move(url));
  for (const auto& url : urls) {
    try {
      PacSource source;
      source.location = url;
      source.text = fetch(url, dns, deadline);
      if (source.text.size() > kMaxScript)
        throw FetchError("larger than 1 MiB", "larger than 1 MiB");
      source.sha256 = sha256_hex(source.text);
      found.source = std::move(source);
      return found;
    } catch (const FetchError& e) {
      found.tried.push_back(fmt::format("{} ({})", url, e.brief));
    } catch (const std::exception& e) {
      found.tried.push_back(fmt::format("{} ({})", url, e.what()));
    }
  }
  return found;
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
