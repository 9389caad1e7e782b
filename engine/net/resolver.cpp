#include "net/resolver.hpp"

#include "net/detail/cname_answer.hpp"

#include <ares.h>
#include <fmt/format.h>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace urlprobe::net {

namespace asio = boost::asio;

namespace {

bool parse_port(std::string_view text, std::uint16_t& port, std::string& error) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
    error = fmt::format("port '{}' is not a number from 1 to 65535", text);
    return false;
  }
  port = static_cast<std::uint16_t>(value);
  return true;
}

}  // namespace

bool check_dns_servers(std::string_view text, std::string& error) {
  while (true) {
    const auto comma = text.find(',');
    const auto item = text.substr(0, comma);
    std::string_view address = item;
    std::optional<std::string_view> port_text;
    if (item.starts_with('[')) {
      const auto close = item.find(']');
      address = item.substr(1, close == std::string_view::npos ? 0 : close - 1);
      if (close != std::string_view::npos && close + 1 < item.size()) {
        if (item[close + 1] != ':') address = {};
        port_text = item.substr(close + 2);
      }
    } else if (item.find(':') == item.rfind(':') && item.find(':') != std::string_view::npos) {
      address = item.substr(0, item.find(':'));  // IPv4:PORT; more colons: a bare IPv6
      port_text = item.substr(item.find(':') + 1);
    }
    boost::system::error_code ec;
    asio::ip::make_address(std::string(address), ec);
    if (address.empty() || ec) {
      error = fmt::format("'{}' is not IP[:PORT] (IPv6 as [IP]:PORT)", item);
      return false;
    }
    std::uint16_t port = 0;
    if (port_text && !parse_port(*port_text, port, error)) {
      error = fmt::format("'{}': {}", item, error);
      return false;
    }
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

std::optional<ResolvePin> parse_resolve_pin(std::string_view text, std::string& error) {
  const auto first = text.find(':');
  if (first == std::string_view::npos || first == 0) {
    error = "expected HOST:PORT:ADDR";
    return std::nullopt;
  }
  const auto second = text.find(':', first + 1);
  if (second == std::string_view::npos) {
    error = "expected HOST:PORT:ADDR";
    return std::nullopt;
  }
  ResolvePin pin;
  pin.host = std::string(text.substr(0, first));
  for (auto& c : pin.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!parse_port(text.substr(first + 1, second - first - 1), pin.port, error)) return std::nullopt;
  std::string_view rest = text.substr(second + 1);
  while (true) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    if (item.size() >= 2 && item.front() == '[' && item.back() == ']')
      item = item.substr(1, item.size() - 2);
    boost::system::error_code aec;
    auto address = asio::ip::make_address(std::string(item), aec);
    if (aec) {
      error = fmt::format("'{}' is not an IP address", item);
      return std::nullopt;
    }
    pin.addresses.push_back(address);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return pin;
}

namespace {

std::once_flag ares_library_once;

// c-ares lists the CNAME records of the A and the AAAA answer as they came, so a chain may be
// listed twice; following it from the name asked gives each link once, in order, and stops on a
// loop.
std::vector<std::string> cname_chain(const std::string& host, const ares_addrinfo& info) {
  std::vector<std::string> chain;
  std::string current = host;
  // A search domain from resolv.conf makes the name asked longer than the host ("sensor" asked
  // as "sensor.corp.example"): then the chain starts at the first alias c-ares lists.
  const bool host_is_an_alias = [&] {
    for (auto* c = info.cnames; c; c = c->next)
      if (c->alias && strcasecmp(c->alias, host.c_str()) == 0) return true;
    return false;
  }();
  if (!host_is_an_alias && info.cnames && info.cnames->alias) current = info.cnames->alias;
  for (std::size_t hops = 0; hops < 16; ++hops) {
    const ares_addrinfo_cname* next = nullptr;
    for (auto* c = info.cnames; c && !next; c = c->next)
      if (c->alias && c->name && strcasecmp(c->alias, current.c_str()) == 0) next = c;
    if (!next || std::find(chain.begin(), chain.end(), next->name) != chain.end()) break;
    chain.emplace_back(next->name);
    current = next->name;
  }
  return chain;
}

std::shared_ptr<const DnsEvidence> evidence_of(const std::string& host, const ares_addrinfo& info,
                                               const ServiceTags* tags) {
  auto evidence = std::make_shared<DnsEvidence>();
  evidence->cnames = cname_chain(host, info);
  for (auto* node = info.nodes; node && evidence->addresses.size() < kMaxEvidenceAddresses;
       node = node->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* raw = nullptr;
    if (node->ai_family == AF_INET)
      raw = &reinterpret_cast<const sockaddr_in*>(node->ai_addr)->sin_addr;
    else if (node->ai_family == AF_INET6)
      raw = &reinterpret_cast<const sockaddr_in6*>(node->ai_addr)->sin6_addr;
    if (!raw || !inet_ntop(node->ai_family, raw, text, sizeof text)) continue;
    evidence->addresses.emplace_back(text);
    if (tags) evidence->service_tags.push_back(tags->tags_of(asio::ip::make_address(text)));
  }
  return evidence;
}

std::string describe_status(int status, const std::string& host) {
  switch (status) {
    case ARES_ENOTFOUND:
      return fmt::format("NXDOMAIN: {} does not exist", host);
    case ARES_ENODATA:
      return fmt::format("NODATA: {} exists but has no address records", host);
    case ARES_ESERVFAIL:
      return fmt::format("SERVFAIL: the DNS server could not answer for {}", host);
    case ARES_EREFUSED:
      return fmt::format("REFUSED: the DNS server refused the query for {}", host);
    case ARES_ETIMEOUT:
      return fmt::format("DNS timeout: no answer for {} after 2 tries", host);
    case ARES_ECONNREFUSED:
      return fmt::format("could not contact the DNS server for {}", host);
    case ARES_EBADNAME:
      return fmt::format("'{}' is not a valid host name", host);
    default:
      return fmt::format("DNS error for {}: {}", host, ares_strerror(status));
  }
}

}  // namespace

std::size_t dns_socket_buffer_bytes(std::size_t probes_in_flight) {
  constexpr std::size_t kPerProbe = 1024, kLeast = 256 * 1024, kMost = 8 * 1024 * 1024;
  return std::clamp(probes_in_flight * kPerProbe, kLeast, kMost);
}

struct Resolver::Impl {
  // c-ares owns its sockets; Asio only waits on them and must never close them.
  struct Watch {
    explicit Watch(asio::io_context& io, int fd) : descriptor(io, fd) {}
    asio::posix::stream_descriptor descriptor;
    bool want_read = false, want_write = false;
    bool reading = false, writing = false;
    bool closed = false;
  };

  struct Entry {
    bool done = false;
    ResolveResult result;
    std::vector<Handler> waiters;
  };

  struct Query {
    Impl* impl;
    std::string host;
  };

  // The ares_query after a failed lookup, with the failure it will name. Shared by c-ares's
  // callback and the patience timer: whichever comes first answers the lookup.
  struct FollowUp {
    Impl* impl;
    std::string host;
    int status;
    asio::steady_timer patience;
    bool answered = false;
  };

  asio::io_context& io;
  ares_channel channel = nullptr;
  asio::steady_timer timer;
  std::unordered_map<int, std::shared_ptr<Watch>> watches;
  std::unordered_map<std::string, Entry> cache;
  std::vector<ResolvePin> pins;
  std::shared_ptr<const ServiceTags> service_tags;
  std::size_t queries = 0;
  std::size_t in_flight = 0;
  std::deque<std::string> backlog;  // names waiting for a lookup slot, in arrival order
  bool draining = false;
  bool destroying = false;
  // How long a failed lookup waits for its chain: one c-ares try. The lookup itself may have
  // used t + 2t of the budget; with t more it still ends inside it, so a lost follow-up never
  // turns a known NXDOMAIN into the probe's "DNS timeout".
  std::chrono::milliseconds follow_up_patience{100};

  Impl(asio::io_context& io_, const ResolverConfig& config)
      : io(io_), timer(io_), pins(config.pins), service_tags(config.service_tags) {
    std::call_once(ares_library_once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    ares_options options{};
    int mask = 0;
    options.sock_state_cb = &Impl::on_socket_state;
    options.sock_state_cb_data = this;
    mask |= ARES_OPT_SOCK_STATE_CB;
    // Two tries whose doubling timeouts (t + 2t) fit inside the DNS budget, so c-ares names the
    // failure before the probe's own deadline does.
    options.timeout = std::max(100, static_cast<int>(config.budget.count() / 4));
    follow_up_patience = std::chrono::milliseconds(options.timeout);
    options.tries = 2;
    mask |= ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    // Report SERVFAIL/REFUSED as such instead of c-ares's generic "could not contact".
    options.flags = ARES_FLAG_NOCHECKRESP;
    mask |= ARES_OPT_FLAGS;
    // A burst of thousands of answers overflows the default UDP buffers (208 KiB).
    const auto buffer = static_cast<int>(dns_socket_buffer_bytes(config.probes_in_flight));
    options.socket_receive_buffer_size = buffer;
    options.socket_send_buffer_size = buffer;
    mask |= ARES_OPT_SOCK_RCVBUF | ARES_OPT_SOCK_SNDBUF;
    if (const int rc = ares_init_options(&channel, &options, mask); rc != ARES_SUCCESS)
      throw std::runtime_error(fmt::format("c-ares init failed: {}", ares_strerror(rc)));
    if (!config.dns_servers.empty()) {
      if (const int rc = ares_set_servers_ports_csv(channel, config.dns_servers.c_str());
          rc != ARES_SUCCESS) {
        ares_destroy(channel);
        throw std::invalid_argument(fmt::format("DNS server '{}' is not IP[:PORT]: {}",
                                                config.dns_servers, ares_strerror(rc)));
      }
    }
  }

  ~Impl() {
    destroying = true;
    timer.cancel();
    ares_destroy(channel);  // runs pending callbacks with ARES_EDESTRUCTION, closes sockets
    for (auto& [fd, watch] : watches) release(*watch);
  }

  static void release(Watch& watch) {
    watch.closed = true;
    watch.descriptor.release();  // cancels our waits; the fd stays open for c-ares to close
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    if (!readable && !writable) {
      if (auto it = self->watches.find(fd); it != self->watches.end()) {
        release(*it->second);
        self->watches.erase(it);
      }
      return;
    }
    auto& watch = self->watches[fd];
    if (!watch) watch = std::make_shared<Watch>(self->io, fd);
    watch->want_read = readable != 0;
    watch->want_write = writable != 0;
    if (!self->destroying) self->arm(watch);
  }

  void arm(const std::shared_ptr<Watch>& watch) {
    if (watch->want_read && !watch->reading) {
      watch->reading = true;
      watch->descriptor.async_wait(
          asio::posix::descriptor_base::wait_read, [this, watch](boost::system::error_code ec) {
            watch->reading = false;
            if (ec || watch->closed || !watch->want_read) return;
            ares_process_fd(channel, watch->descriptor.native_handle(), ARES_SOCKET_BAD);
            after_activity(watch);
          });
    }
    if (watch->want_write && !watch->writing) {
      watch->writing = true;
      watch->descriptor.async_wait(
          asio::posix::descriptor_base::wait_write, [this, watch](boost::system::error_code ec) {
            watch->writing = false;
            if (ec || watch->closed || !watch->want_write) return;
            ares_process_fd(channel, ARES_SOCKET_BAD, watch->descriptor.native_handle());
            after_activity(watch);
          });
    }
  }

  void after_activity(const std::shared_ptr<Watch>& watch) {
    if (!watch->closed) arm(watch);
    schedule_timeout();
  }

  void schedule_timeout() {
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    timer.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      // curl's trick: processing with no ready socket lets c-ares run its retries and timeouts.
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      schedule_timeout();
    });
  }

  void send(const std::string& host) {
    ++in_flight;
    ++queries;
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = ARES_AI_ENVHOSTS;  // CARES_HOSTS may replace /etc/hosts (private test hosts)
    ares_getaddrinfo(channel, host.c_str(), nullptr, &hints, &Impl::on_answer,
                     new Query{this, host});
  }

  void send_or_wait(const std::string& host) {
    if (in_flight < kMaxLookupsInFlight)
      send(host);
    else
      backlog.push_back(host);
  }

  // A slot is free: the next waiting names go out. c-ares may answer inside ares_getaddrinfo
  // (a hosts-file name), which lands here again: the outer call keeps sending, so the stack
  // does not grow with the backlog.
  void lookup_done() {
    --in_flight;
    if (draining) return;
    draining = true;
    bool sent = false;
    while (in_flight < kMaxLookupsInFlight && !backlog.empty()) {
      const auto host = std::move(backlog.front());
      backlog.pop_front();
      send(host);
      sent = true;
    }
    draining = false;
    if (sent) schedule_timeout();
  }

  static void on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
    std::unique_ptr<Query> query(static_cast<Query*>(arg));
    Impl* self = query->impl;
    ResolveResult result;
    result.used_dns = true;
    if (status == ARES_SUCCESS && info) {
      // c-ares has already sorted the nodes (RFC 6724), so the best ones are kept.
      std::size_t v4 = 0, v6 = 0;
      for (auto* node = info->nodes; node; node = node->ai_next) {
        if (node->ai_family == AF_INET && v4++ < kMaxAddressesPerFamily) {
          const auto* sin = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
          asio::ip::address_v4::bytes_type bytes;
          std::memcpy(bytes.data(), &sin->sin_addr, 4);
          result.addresses.emplace_back(asio::ip::address_v4(bytes));
        } else if (node->ai_family == AF_INET6 && v6++ < kMaxAddressesPerFamily) {
          const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
          asio::ip::address_v6::bytes_type bytes;
          std::memcpy(bytes.data(), &sin6->sin6_addr, 16);
          result.addresses.emplace_back(asio::ip::address_v6(bytes, sin6->sin6_scope_id));
        }
      }
      if (result.addresses.empty())
        status = ARES_ENODATA;
      else
        result.evidence = evidence_of(query->host, *info, self->service_tags.get());
    }
    if (info) ares_freeaddrinfo(info);
    if (self->destroying) return;
    if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
      // The answer (and any CNAME chain in it) is gone; ask once more for the raw message. The
      // lookup keeps its slot and its waiters wait until this answer is in. ares_query, not
      // ares_search: 1.18's search hands over no message when every name it tried failed. So the
      // name is asked as given, which is how getaddrinfo tries any name with a dot first.
      auto follow_up = std::make_shared<FollowUp>(
          FollowUp{self, std::move(query->host), status, asio::steady_timer(self->io)});
      follow_up->patience.expires_after(self->follow_up_patience);
      follow_up->patience.async_wait([follow_up](boost::system::error_code ec) {
        if (ec || follow_up->answered) return;
        follow_up->answered = true;  // the failure stands, without its chain
        ResolveResult chainless;
        chainless.used_dns = true;
        follow_up->impl->finish(follow_up->host, std::move(chainless), follow_up->status);
      });
      ares_query(self->channel, follow_up->host.c_str(), ns_c_in, ns_t_a, &Impl::on_chain,
                 new std::shared_ptr<FollowUp>(follow_up));
      return;
    }
    self->finish(query->host, std::move(result), status);
  }

  // A chain that ends without addresses names the link that failed: a DNS filter that blocks a
  // CNAME target (say a *.trafficmanager.net name) answers NXDOMAIN for the name asked.
  static void on_chain(void* arg, int status, int /*timeouts*/, unsigned char* answer, int length) {
    const std::unique_ptr<std::shared_ptr<FollowUp>> held(
        static_cast<std::shared_ptr<FollowUp>*>(arg));
    const auto& follow_up = *held;
    // Also inside ares_destroy: the timer's handler, cancelled or already queued, then finds
    // the lookup answered and touches nothing of the resolver.
    follow_up->patience.cancel();
    const bool first = !std::exchange(follow_up->answered, true);
    if (!first || status == ARES_EDESTRUCTION || follow_up->impl->destroying) return;
    Impl* self = follow_up->impl;
    ResolveResult result;
    result.used_dns = true;
    std::vector<std::string> chain;
    if (answer && length > 0)
      chain = detail::follow_cnames(
          follow_up->host, detail::cname_records(answer, static_cast<std::size_t>(length)));
    const int outcome = follow_up->status;
    std::string detail_text;
    if (!chain.empty()) {
      auto evidence = std::make_shared<DnsEvidence>();
      evidence->cnames = chain;
      result.evidence = std::move(evidence);
      std::string links = follow_up->host;
      for (const auto& name : chain) links += " -> " + name;
      const auto& last = chain.back();
      const auto is_last = [&](const std::string& name) {
        return strcasecmp(name.c_str(), last.c_str()) == 0;
      };
      // follow_cnames keeps the name that closes a loop once, as the last.
      if (is_last(follow_up->host) || std::count_if(chain.begin(), chain.end() - 1, is_last) > 0)
        detail_text = fmt::format(" (CNAME chain {}: loops back to {})", links, last);
      else if (outcome == ARES_ENOTFOUND)
        detail_text = fmt::format(" (CNAME chain {}: {} does not exist)", links, last);
      else
        detail_text = fmt::format(" (CNAME chain {}: {} has no address records)", links, last);
    }
    self->finish(follow_up->host, std::move(result), outcome, detail_text);
  }

  void finish(const std::string& host, ResolveResult result, int status,
              const std::string& detail_text = {}) {
    lookup_done();
    if (status != ARES_SUCCESS) result.error = describe_status(status, host) + detail_text;

    auto& entry = cache[host];
    entry.done = true;
    entry.result = std::move(result);
    for (auto& waiter : entry.waiters)
      asio::post(io, [waiter = std::move(waiter), r = entry.result] { waiter(r); });
    entry.waiters.clear();
  }
};

Resolver::Resolver(asio::io_context& io, const ResolverConfig& config)
    : impl_(std::make_unique<Impl>(io, config)) {}

Resolver::~Resolver() = default;

std::size_t Resolver::queries_sent() const {
  return impl_->queries;
}

std::size_t Resolver::queries_waiting() const {
  return impl_->backlog.size();
}

void Resolver::resolve(const std::string& host, std::uint16_t port, Handler handler) {
  auto deliver = [this, &handler](ResolveResult r) {
    asio::post(impl_->io, [h = std::move(handler), r = std::move(r)] { h(r); });
  };

  boost::system::error_code ec;
  if (auto literal = asio::ip::make_address(host, ec); !ec) {
    deliver(ResolveResult{{literal}, {}, false, nullptr});
    return;
  }
  for (const auto& pin : impl_->pins) {
    if (pin.port == port && pin.host == host) {
      deliver(ResolveResult{pin.addresses, {}, false, nullptr});
      return;
    }
  }

  auto [it, inserted] = impl_->cache.try_emplace(host);
  Impl::Entry& entry = it->second;
  if (entry.done) {
    deliver(entry.result);
    return;
  }
  entry.waiters.push_back(std::move(handler));
  if (!inserted) return;  // a query for this name is already on its way

  impl_->send_or_wait(host);
  impl_->schedule_timeout();
}

}  // namespace urlprobe::net
