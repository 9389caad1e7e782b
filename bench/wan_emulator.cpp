// urlprobe_wan_emulator: a wide-area link between two network namespaces, for `make wan`.
//
// This kernel has no netem, and a TCP relay on loopback cannot delay the handshake (the kernel
// answers the SYN before the relay accepts), so a probe's ms.connect would read 0 instead of one
// round trip. Instead the emulator owns a TUN device in each namespace and carries every IP
// packet from one to the other itself, after the one-way delay: the handshake, data, ACKs and
// retransmits all see the configured round trip, and packets it drops are real losses.
//
// One thread, one epoll loop. Each direction is a FIFO of packets with their due times and one
// timerfd armed at the head's due time: delays are kept monotonic per direction (jitter never
// reorders), so the FIFO is always sorted and no heap is needed.

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr std::string_view kProgram = "urlprobe_wan_emulator";

constexpr std::string_view kUsage =
    R"(usage: urlprobe_wan_emulator --client-netns PATH --server-netns PATH --rtt-ms MS
                             [--jitter-ms MS] [--loss FRACTION] [--blackhole ADDR:PORT]...
                             [--seed N] [--device NAME] [--queue-limit PACKETS]

Creates a TUN device (IFF_TUN, no packet info) named NAME in each of two network namespaces
(PATH: a namespace file such as /run/netns/NAME) and forwards every IPv4 and IPv6 packet read
from one to the other after a one-way delay. It configures no addresses, links or routes: do that
with `ip -n NAME addr add ... dev NAME; ip -n NAME link set NAME up; ip -n NAME route ...` after
it prints "ready". The devices disappear when it exits.

  --client-netns PATH     namespace of the client side
  --server-netns PATH     namespace of the server side
  --rtt-ms MS             round-trip time; each direction delays by MS/2 (decimals allowed; 0 ok)
  --jitter-ms MS          per packet, the one-way delay moves by a uniform amount in
                          [-MS/2, +MS/2]; it is clamped so that it is never below 0 and so that
                          packets of one direction never overtake each other (a packet leaves no
                          earlier than the one read before it); packets closer together than the
                          jitter therefore see nearer RTT/2 + MS/2 than RTT/2. Default 0
  --loss FRACTION         drop each packet, in either direction, with this probability (0..1):
                          a real loss, which TCP retransmits. Default 0
  --blackhole ADDR:PORT   drop every TCP or UDP packet to or from ADDR:PORT ([V6ADDR]:PORT for
                          IPv6): a connect to it times out. Repeatable
  --seed N                seed for loss and jitter, for reproducible runs (default: random)
  --device NAME           TUN device name in both namespaces (default wan0)
  --queue-limit PACKETS   packets held per direction (default 200000); past it a packet is
                          dropped, as a router with a full queue would
  --tick-us US            after each wakeup the loop rests US microseconds, then reads and
                          sends everything that arrived or came due meanwhile in one batch:
                          each packet's delay grows by at most a tick (never shrinks), and the
                          emulator wakes at most 1/tick times a second, not once per packet.
                          0: wake for every packet. Default 100
  --no-realtime           run at normal priority. By default the emulator runs SCHED_FIFO
                          (priority 10, when allowed): on a machine busy with the endpoints it
                          is served the moment a packet is due, as a router would be, instead of
                          adding the scheduler's wait to every round trip (late_mean_us and
                          late_max_us in the counters show what it added)
  --help                  this text

Stdout: "ready" once both devices exist; on SIGTERM or SIGINT one JSON line of counters and exit
0; on SIGUSR1 the same line without stopping. Bad options exit 2, failing to make the devices 1.
)";

// "OPTION: 'VALUE' WHY", the form every bad value is reported in.
[[noreturn]] void usage_error(std::string_view option, std::string_view why,
                              std::optional<std::string_view> value = std::nullopt) {
  const auto text = [](std::string_view s) { return static_cast<int>(s.size()); };
  std::fprintf(stderr, "%.*s: %.*s: ", text(kProgram), kProgram.data(), text(option),
               option.data());
  if (value) std::fprintf(stderr, "'%.*s' ", text(*value), value->data());
  std::fprintf(stderr, "%.*s\n(see --help)\n", text(why), why.data());
  std::exit(2);
}

[[noreturn]] void system_error(const std::string& what, int error) {
  std::fprintf(stderr, "%.*s: %s: %s\n", static_cast<int>(kProgram.size()), kProgram.data(),
               what.c_str(), std::strerror(error));
  std::exit(1);
}

struct Endpoint {
  int family = AF_INET;
  std::array<std::uint8_t, 16> address{};  // the first 4 bytes for IPv4
  std::uint16_t port = 0;                  // host order
};

struct Options {
  std::string client_netns;
  std::string server_netns;
  double rtt_ms = -1;
  double jitter_ms = 0;
  double loss = 0;
  std::vector<Endpoint> blackholes;
  std::optional<std::uint64_t> seed;
  std::string device = "wan0";
  std::size_t queue_limit = 200000;
  bool realtime = true;
  std::uint64_t tick_us = 100;
};

double parse_milliseconds(std::string_view option, std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || !std::isfinite(value))
    usage_error(option, "is not a number of milliseconds", text);
  if (value < 0) usage_error(option, "is negative", text);
  return value;
}

double parse_fraction(std::string_view option, std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || !(value >= 0 && value <= 1))
    usage_error(option, "is not a fraction between 0 and 1", text);
  return value;
}

std::uint64_t parse_count(std::string_view option, std::string_view text, std::uint64_t minimum) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < minimum)
    usage_error(option, minimum == 0 ? "is not a whole number" : "is not a whole number >= 1",
                text);
  return value;
}

Endpoint parse_endpoint(std::string_view option, std::string_view text) {
  constexpr std::string_view bad = "is not ADDR:PORT or [IPV6]:PORT (port 1-65535)";
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) usage_error(option, bad, text);
  std::string host(text.substr(0, colon));
  Endpoint endpoint;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    endpoint.family = AF_INET6;
    host = host.substr(1, host.size() - 2);
  }
  if (inet_pton(endpoint.family, host.c_str(), endpoint.address.data()) != 1)
    usage_error(option, bad, text);
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (error != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
    usage_error(option, bad, text);
  endpoint.port = static_cast<std::uint16_t>(value);
  return endpoint;
}

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
      std::exit(0);
    }
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (const std::size_t equals = arg.find('='); arg.starts_with("--") && equals != arg.npos) {
      name = arg.substr(0, equals);
      value = arg.substr(equals + 1);
    }
    const auto take_value = [&]() -> std::string_view {
      if (value) return *value;
      if (i + 1 >= argc) usage_error(name, "needs a value");
      return argv[++i];
    };
    if (name == "--client-netns") {
      options.client_netns = take_value();
      if (options.client_netns.empty()) usage_error(name, "empty path");
    } else if (name == "--server-netns") {
      options.server_netns = take_value();
      if (options.server_netns.empty()) usage_error(name, "empty path");
    } else if (name == "--rtt-ms") {
      options.rtt_ms = parse_milliseconds(name, take_value());
    } else if (name == "--jitter-ms") {
      options.jitter_ms = parse_milliseconds(name, take_value());
    } else if (name == "--loss") {
      options.loss = parse_fraction(name, take_value());
    } else if (name == "--blackhole") {
      options.blackholes.push_back(parse_endpoint(name, take_value()));
    } else if (name == "--seed") {
      options.seed = parse_count(name, take_value(), 0);
    } else if (name == "--device") {
      options.device = take_value();
      const bool fits = !options.device.empty() && options.device.size() < IFNAMSIZ;
      const bool plain = options.device.find_first_of("/: \t\n") == std::string::npos &&
                         options.device != "." && options.device != "..";
      if (!fits || !plain)
        usage_error(name, "is not an interface name (1-15 characters, no '/', ':' or spaces)",
                    options.device);
    } else if (name == "--tick-us") {
      const std::string_view text = take_value();
      options.tick_us = parse_count(name, text, 0);
      if (options.tick_us > 100'000) usage_error(name, "is more than 100000 (0.1 s)", text);
    } else if (name == "--no-realtime") {
      if (value) usage_error(name, "takes no value");
      options.realtime = false;
    } else if (name == "--queue-limit") {
      options.queue_limit = parse_count(name, take_value(), 1);
    } else {
      usage_error(arg, "unknown option");
    }
  }
  if (options.client_netns.empty()) usage_error("--client-netns", "is required");
  if (options.server_netns.empty()) usage_error("--server-netns", "is required");
  if (options.rtt_ms < 0) usage_error("--rtt-ms", "is required");
  if (options.client_netns == options.server_netns)
    usage_error("--server-netns", "is the same namespace as --client-netns");
  return options;
}

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

constexpr int kDeviceTxQueueLength = 10000;

// The TUN device is created in the namespace the process is in at TUNSETIFF, and stays there
// for the life of the fd; the process goes back to its own namespace afterwards.
Fd open_tun_in(const std::string& netns_path, const std::string& device, int home_netns) {
  Fd target(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (target.get() < 0) system_error("open " + netns_path, errno);
  if (::setns(target.get(), CLONE_NEWNET) != 0) system_error("setns " + netns_path, errno);
  Fd tun(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  const int open_error = errno;
  if (tun.get() >= 0) {
    ifreq request{};
    request.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::memcpy(request.ifr_name, device.data(), device.size());
    if (::ioctl(tun.get(), TUNSETIFF, &request) != 0)
      system_error("TUNSETIFF " + device + " in " + netns_path, errno);
    // The ring between the stack and this reader holds txqueuelen packets (500 by default) and
    // drops silently when full, as when thousands of connections send their SYNs in one burst:
    // a longer ring leaves the drops to --queue-limit, which counts them.
    Fd control(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    request.ifr_qlen = kDeviceTxQueueLength;
    if (control.get() < 0 || ::ioctl(control.get(), SIOCSIFTXQLEN, &request) != 0)
      system_error("set txqueuelen of " + device + " in " + netns_path, errno);
  }
  if (::setns(home_netns, CLONE_NEWNET) != 0) system_error("setns back", errno);
  if (tun.get() < 0) system_error("open /dev/net/tun in " + netns_path, open_error);
  return tun;
}

std::int64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

struct Counters {
  std::uint64_t dropped_loss = 0;
  std::uint64_t dropped_blackhole = 0;
  std::uint64_t dropped_queue_limit = 0;
  std::uint64_t dropped_write_error = 0;
  std::uint64_t dropped_not_ip = 0;
  // How far behind its due time a packet left: the emulator's own error, which the delay it
  // reports must be read with (a loaded machine makes every round trip this much longer).
  std::int64_t late_max_ns = 0;
  std::int64_t late_sum_ns = 0;
  std::uint64_t late_count = 0;
};

struct Queued {
  std::int64_t due_ns;
  std::vector<std::uint8_t> bytes;
};

struct Direction {
  std::string_view name;  // "to_server" or "to_client"
  int read_fd;
  int write_fd;
  Fd timer;
  std::deque<Queued> queue;
  std::int64_t last_due_ns = 0;
  std::int64_t armed_due_ns = -1;
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::size_t max_depth = 0;
};

struct Ports {
  int family;
  const std::uint8_t* source;
  const std::uint8_t* destination;
  std::uint16_t source_port;
  std::uint16_t destination_port;
};

std::uint16_t read_u16(const std::uint8_t* at) {
  return static_cast<std::uint16_t>(at[0] << 8 | at[1]);
}

// The addresses and ports of a TCP or UDP packet; nullopt for other protocols, IPv4 fragments
// after the first and IPv6 packets with extension headers before the transport header.
std::optional<Ports> transport_ports(const std::uint8_t* packet, std::size_t size) {
  constexpr std::uint8_t kTcp = 6, kUdp = 17;
  if (size >= 20 && packet[0] >> 4 == 4) {
    const std::size_t header = (packet[0] & 0x0f) * 4u;
    const bool later_fragment = (read_u16(packet + 6) & 0x1fff) != 0;
    if (header < 20 || size < header + 4 || later_fragment) return std::nullopt;
    if (packet[9] != kTcp && packet[9] != kUdp) return std::nullopt;
    return Ports{AF_INET, packet + 12, packet + 16, read_u16(packet + header),
                 read_u16(packet + header + 2)};
  }
  if (size >= 44 && packet[0] >> 4 == 6) {
    if (packet[6] != kTcp && packet[6] != kUdp) return std::nullopt;
    return Ports{AF_INET6, packet + 8, packet + 24, read_u16(packet + 40), read_u16(packet + 42)};
  }
  return std::nullopt;
}

bool matches(const Endpoint& endpoint, int family, const std::uint8_t* address,
             std::uint16_t port) {
  const std::size_t length = family == AF_INET ? 4 : 16;
  return endpoint.family == family && endpoint.port == port &&
         std::memcmp(endpoint.address.data(), address, length) == 0;
}

class Emulator {
 public:
  Emulator(const Options& options, Fd client_tun, Fd server_tun, bool realtime)
      : options_(options),
        realtime_(realtime),
        client_tun_(std::move(client_tun)),
        server_tun_(std::move(server_tun)),
        one_way_ns_(std::llround(options.rtt_ms * 1e6 / 2)),
        jitter_ns_(std::llround(options.jitter_ms * 1e6)),
        tick_ns_(static_cast<std::int64_t>(options.tick_us) * 1000),
        random_(options.seed ? *options.seed : std::random_device{}()) {
    directions_[0].name = "to_server";
    directions_[0].read_fd = client_tun_.get();
    directions_[0].write_fd = server_tun_.get();
    directions_[1].name = "to_client";
    directions_[1].read_fd = server_tun_.get();
    directions_[1].write_fd = client_tun_.get();
    for (Direction& direction : directions_) {
      direction.timer = Fd(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
      if (direction.timer.get() < 0) system_error("timerfd_create", errno);
    }
  }

  // Returns when SIGTERM or SIGINT arrives.
  void run() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, signal);
    Fd signal_fd(signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
    if (signal_fd.get() < 0) system_error("signalfd", errno);

    Fd epoll(epoll_create1(EPOLL_CLOEXEC));
    if (epoll.get() < 0) system_error("epoll_create1", errno);
    // data.u32: 0/1 = readable tun of direction 0/1, 2/3 = timer of direction 0/1, 4 = signal.
    const auto watch = [&](int fd, std::uint32_t tag) {
      epoll_event event{};
      event.events = EPOLLIN;
      event.data.u32 = tag;
      if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, fd, &event) != 0) system_error("epoll_ctl", errno);
    };
    watch(directions_[0].read_fd, 0);
    watch(directions_[1].read_fd, 1);
    watch(directions_[0].timer.get(), 2);
    watch(directions_[1].timer.get(), 3);
    watch(signal_fd.get(), 4);

    std::array<epoll_event, 8> events{};
    for (;;) {
      const int ready = epoll_wait(epoll.get(), events.data(), events.size(), -1);
      if (ready < 0) {
        if (errno == EINTR) continue;
        system_error("epoll_wait", errno);
      }
      // What is due leaves before the reads: a full batch of reads in both directions takes
      // long enough (a few hundred packets) to make the due packets measurably late.
      send_all_due();
      for (int i = 0; i < ready; ++i) {
        const std::uint32_t tag = events[i].data.u32;
        if (tag <= 1) {
          read_packets(directions_[tag]);
        } else if (tag <= 3) {
          std::uint64_t expirations = 0;
          [[maybe_unused]] ssize_t n =
              ::read(directions_[tag - 2].timer.get(), &expirations, sizeof expirations);
        } else if (handle_signals(signal_fd.get())) {
          return;
        }
      }
      // Every wakeup sends whatever has come due in both directions, so packets due close
      // together leave in one batch whichever event woke the loop.
      send_all_due();
      // Waking once per packet costs more than forwarding it (a context switch each, on a
      // machine the endpoints share): after a wakeup the loop rests for one tick and then takes
      // everything that arrived or came due meanwhile in one go. That adds at most a tick to a
      // packet's delay, never takes from it, and bounds wakeups to 1/tick a second.
      if (tick_ns_ > 0) {
        const timespec rest{0, static_cast<long>(tick_ns_)};
        clock_nanosleep(CLOCK_MONOTONIC, 0, &rest, nullptr);
      }
    }
  }

  void print_counters() const {
    const Direction& up = directions_[0];
    const Direction& down = directions_[1];
    std::printf(
        "{\"to_server_packets\":%llu,\"to_server_bytes\":%llu,\"to_client_packets\":%llu,"
        "\"to_client_bytes\":%llu,\"dropped_loss\":%llu,\"dropped_blackhole\":%llu,"
        "\"dropped_queue_limit\":%llu,\"dropped_write_error\":%llu,\"dropped_not_ip\":%llu,"
        "\"max_queue_depth_to_server\":%zu,\"max_queue_depth_to_client\":%zu,"
        "\"queued_to_server\":%zu,\"queued_to_client\":%zu,\"late_mean_us\":%.1f,"
        "\"late_max_us\":%.1f,\"scheduling\":\"%s\"}\n",
        as_ull(up.packets), as_ull(up.bytes), as_ull(down.packets), as_ull(down.bytes),
        as_ull(counters_.dropped_loss), as_ull(counters_.dropped_blackhole),
        as_ull(counters_.dropped_queue_limit), as_ull(counters_.dropped_write_error),
        as_ull(counters_.dropped_not_ip), up.max_depth, down.max_depth, up.queue.size(),
        down.queue.size(),
        counters_.late_count ? static_cast<double>(counters_.late_sum_ns) / 1e3 /
                                   static_cast<double>(counters_.late_count)
                             : 0.0,
        static_cast<double>(counters_.late_max_ns) / 1e3, realtime_ ? "fifo" : "normal");
    std::fflush(stdout);
  }

 private:
  static unsigned long long as_ull(std::uint64_t value) { return value; }

  // True when the loop should stop.
  bool handle_signals(int signal_fd) {
    signalfd_siginfo info{};
    bool stop = false;
    while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      if (info.ssi_signo == SIGUSR1)
        print_counters();
      else
        stop = true;
    }
    return stop;
  }

  // A bounded batch per wakeup, so one busy direction cannot keep the other's due packets
  // (and the timers) waiting; epoll is level-triggered and reports the rest at once.
  void read_packets(Direction& direction) {
    constexpr int kBatch = 256;
    const std::int64_t now = monotonic_ns();
    for (int n = 0; n < kBatch; ++n) {
      const ssize_t size = ::read(direction.read_fd, buffer_.data(), buffer_.size());
      if (size < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        system_error("read from the TUN device", errno);
      }
      if (size == 0) return;
      accept_packet(direction, buffer_.data(), static_cast<std::size_t>(size), now);
    }
  }

  void accept_packet(Direction& direction, const std::uint8_t* packet, std::size_t size,
                     std::int64_t now) {
    const int version = packet[0] >> 4;
    if (version != 4 && version != 6) {
      ++counters_.dropped_not_ip;
      return;
    }
    if (is_blackholed(packet, size)) {
      ++counters_.dropped_blackhole;
      return;
    }
    if (options_.loss > 0 && unit_(random_) < options_.loss) {
      ++counters_.dropped_loss;
      return;
    }
    if (direction.queue.size() >= options_.queue_limit) {
      ++counters_.dropped_queue_limit;
      return;
    }
    std::int64_t delay = one_way_ns_;
    if (jitter_ns_ > 0)
      delay += std::llround((unit_(random_) - 0.5) * static_cast<double>(jitter_ns_));
    const std::int64_t due =
        std::max(now + std::max<std::int64_t>(delay, 0), direction.last_due_ns);
    direction.last_due_ns = due;
    direction.queue.push_back(Queued{due, std::vector<std::uint8_t>(packet, packet + size)});
    direction.max_depth = std::max(direction.max_depth, direction.queue.size());
    if (direction.queue.size() == 1) arm(direction);
  }

  bool is_blackholed(const std::uint8_t* packet, std::size_t size) const {
    if (options_.blackholes.empty()) return false;
    const std::optional<Ports> ports = transport_ports(packet, size);
    if (!ports) return false;
    for (const Endpoint& endpoint : options_.blackholes) {
      if (matches(endpoint, ports->family, ports->destination, ports->destination_port) ||
          matches(endpoint, ports->family, ports->source, ports->source_port))
        return true;
    }
    return false;
  }

  void send_all_due() {
    const std::int64_t now = monotonic_ns();
    for (Direction& direction : directions_) send_due(direction, now);
  }

  void send_due(Direction& direction, std::int64_t now) {
    bool sent = false;
    while (!direction.queue.empty() && direction.queue.front().due_ns <= now) {
      const std::vector<std::uint8_t>& bytes = direction.queue.front().bytes;
      // The clock is read again per packet: a long batch makes its last packets later than the
      // wakeup, and those are the ones the figure is for.
      const std::int64_t late = monotonic_ns() - direction.queue.front().due_ns;
      counters_.late_max_ns = std::max(counters_.late_max_ns, late);
      counters_.late_sum_ns += late;
      ++counters_.late_count;
      // A TUN write hands the packet to the other namespace's stack at once; it fails only
      // when that device is down or the packet is malformed, which a real link would drop too.
      if (::write(direction.write_fd, bytes.data(), bytes.size()) ==
          static_cast<ssize_t>(bytes.size())) {
        ++direction.packets;
        direction.bytes += bytes.size();
      } else {
        ++counters_.dropped_write_error;
        note_write_error(errno);
      }
      direction.queue.pop_front();
      sent = true;
    }
    if (sent || direction.armed_due_ns < 0) arm(direction);
  }

  // Said once per cause on stderr, so a device that went down does not flood the log; the
  // counters have the number.
  void note_write_error(int error) {
    if (std::find(write_errors_seen_.begin(), write_errors_seen_.end(), error) !=
        write_errors_seen_.end())
      return;
    write_errors_seen_.push_back(error);
    // EIO is what a TUN device that is not up answers: a packet sent before the script has
    // brought both links up.
    std::fprintf(stderr, "%.*s: write to a TUN device: %s%s (counted in dropped_write_error)\n",
                 static_cast<int>(kProgram.size()), kProgram.data(), std::strerror(error),
                 error == EIO ? ", the device is down" : "");
  }

  void arm(Direction& direction) {
    const std::int64_t due = direction.queue.empty() ? 0 : direction.queue.front().due_ns;
    if (due == direction.armed_due_ns) return;
    itimerspec when{};
    // it_value 0 disarms; a due time already past fires at once.
    when.it_value.tv_sec = due / 1'000'000'000;
    when.it_value.tv_nsec = due % 1'000'000'000;
    if (timerfd_settime(direction.timer.get(), TFD_TIMER_ABSTIME, &when, nullptr) != 0)
      system_error("timerfd_settime", errno);
    direction.armed_due_ns = due;
  }

  const Options& options_;
  bool realtime_;
  Fd client_tun_;
  Fd server_tun_;
  std::int64_t one_way_ns_;
  std::int64_t jitter_ns_;
  std::int64_t tick_ns_;
  std::mt19937_64 random_;
  std::uniform_real_distribution<double> unit_{0.0, 1.0};
  std::array<Direction, 2> directions_{};
  Counters counters_;
  std::array<std::uint8_t, 65536> buffer_{};
  std::vector<int> write_errors_seen_;
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);

  // Blocked before anything else so that a SIGTERM sent as soon as "ready" is read is taken by
  // the signalfd, never by the default action.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal : {SIGTERM, SIGINT, SIGUSR1}) sigaddset(&signals, signal);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  Fd home(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (home.get() < 0) system_error("open /proc/self/ns/net", errno);
  Fd client_tun = open_tun_in(options.client_netns, options.device, home.get());
  Fd server_tun = open_tun_in(options.server_netns, options.device, home.get());

  bool realtime = false;
  if (options.realtime) {
    sched_param priority{};
    priority.sched_priority = 10;
    realtime = sched_setscheduler(0, SCHED_FIFO, &priority) == 0;
    if (!realtime)
      std::fprintf(stderr, "%.*s: SCHED_FIFO: %s; running at normal priority\n",
                   static_cast<int>(kProgram.size()), kProgram.data(), std::strerror(errno));
  }

  Emulator emulator(options, std::move(client_tun), std::move(server_tun), realtime);
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  emulator.run();
  emulator.print_counters();
  return 0;
}
