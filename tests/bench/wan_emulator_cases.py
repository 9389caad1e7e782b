#!/usr/bin/python3
"""ctest wan.emulator_<case>: build/urlprobe_wan_emulator between two network namespaces this
script makes (wanC<pid>, wanS<pid>; removed at exit, also on failure): client 10.91.0.1/16 and
server 10.91.1.1/16, each on the emulator's wan0. Python in each namespace runs under
`ip netns exec`. Only lower bounds on time are asserted: the emulator must delay at least as
much as configured, and the machine's load can only add.

  rtt         --rtt-ms 100: a TCP connect takes >= 100 ms and one request/response on it
              >= 100 ms more; 1 MB echoed back arrives intact (SHA-256); counters count it, on
              SIGUSR1 (the emulator carries on forwarding) and at SIGTERM
  jitter      --rtt-ms 40 --jitter-ms 40 --seed 3: 200 numbered UDP datagrams sent in one burst
              arrive in the order sent (jitter of +-20 ms per packet would reorder nearly all of
              them were it not clamped), and a TCP connect still takes >= 20 ms (each way's
              delay never goes below 20 ms - 10 ms)
  loss        --loss 0.2 --seed 7: a 200 KB echo still arrives intact (TCP retransmits), and the
              counters at SIGTERM show dropped_loss > 0
  queue_limit --queue-limit 4 at --rtt-ms 20: a 200 KB echo still arrives intact, the counters show
              dropped_queue_limit > 0 and no direction ever held more than 4 packets
  blackhole   --blackhole 10.91.1.1:8081: a connect there with a 1 s timeout times out while a
              connect to 10.91.1.1:8080 succeeds; the counters show dropped_blackhole > 0
  ipv6        --rtt-ms 60 --blackhole [fd91::2]:8081 over fd91::1 -> fd91::2: a connect to port 8080
              takes >= 60 ms and 100 KB echo intact; one to 8081 times out at 1 s; the counters
              show dropped_blackhole > 0
  bad_options bad values for --rtt-ms, --loss (also as --loss=2), --blackhole, --jitter-ms,
              --queue-limit, --device, --seed, --tick-us, an unknown option and a missing --rtt-ms exit 2 naming the option; a namespace
              file that does not exist exits 1 naming it

Usage: wan_emulator_cases.py EMULATOR CASE | --list.  Exit 0 pass, 1 fail, 77 cannot run here.
"""
import json
import os
import signal
import subprocess
import sys

CASES = ["rtt", "jitter", "loss", "queue_limit", "blackhole", "ipv6", "bad_options"]
HANG_GUARD_S = 120  # a hang guard only, never a timing assertion
CLIENT_ADDR, SERVER_ADDR = "10.91.0.1", "10.91.1.1"
CLIENT_ADDR6, SERVER_ADDR6 = "fd91::1", "fd91::2"
PYTHON = "/usr/bin/python3"


class Fail(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Fail(message)


# Runs in the server namespace: listens on each port in argv, says "listening", then serves every
# connection on a thread: "ping\n" is answered "pong\n"; "echo N\n" is followed by N bytes,
# which are sent back.
SERVER_CODE = r"""
import socket, sys, threading
def serve(conn):
    with conn:
        f = conn.makefile("rb")
        while True:
            line = f.readline()
            if not line:
                return
            if line == b"ping\n":
                conn.sendall(b"pong\n")
            elif line.startswith(b"echo "):
                remaining = int(line.split()[1])
                while remaining:
                    chunk = f.read1(min(remaining, 65536))
                    if not chunk:
                        return
                    conn.sendall(chunk)
                    remaining -= len(chunk)
def accept(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()
for port in sys.argv[2:]:
    listener = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((sys.argv[1], int(port)))
    listener.listen(64)
    threading.Thread(target=accept, args=(listener,), daemon=True).start()
print("listening", flush=True)
sys.stdin.read()
"""

# Runs in the client namespace: argv = ADDR PORT ECHO_BYTES CONNECT_TIMEOUT_S. Prints one JSON
# object: connect and ping-pong durations (monotonic), whether the echo came back intact, or
# that the connect timed out.
CLIENT_CODE = r"""
import hashlib, json, os, socket, sys, time
addr, port, size, timeout = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
sock = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
sock.settimeout(timeout)
start = time.monotonic()
try:
    sock.connect((addr, port))
except socket.timeout:
    print(json.dumps({"connect": "timeout"}))
    sys.exit(0)
connected = time.monotonic()
sock.settimeout(120)
sock.sendall(b"ping\n")
reply = b""
while not reply.endswith(b"\n"):
    chunk = sock.recv(16)
    if not chunk:
        break
    reply += chunk
ponged = time.monotonic()
payload = os.urandom(size)
sock.sendall(b"echo %d\n" % size + payload) if size else None
got = hashlib.sha256()
received = 0
while received < size:
    chunk = sock.recv(65536)
    if not chunk:
        break
    got.update(chunk)
    received += len(chunk)
sock.close()
print(json.dumps({"connect": "ok", "connect_s": connected - start, "ping_s": ponged - connected,
                  "reply": reply.decode(errors="replace"), "received": received,
                  "intact": got.hexdigest() == hashlib.sha256(payload).hexdigest()}))
"""


# Runs in the server namespace: argv = ADDR PORT. Says "listening", then prints the JSON list of
# the numbers of the datagrams it got, in arrival order, when the datagram "end" comes.
UDP_SINK_CODE = r"""
import json, socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
sock.bind((sys.argv[1], int(sys.argv[2])))
sock.settimeout(120)
print("listening", flush=True)
got = []
while True:
    data = sock.recv(2048)
    if data == b"end":
        break
    got.append(int(data.split(b" ")[0]))
print(json.dumps(got), flush=True)
"""

# Runs in the client namespace: argv = ADDR PORT COUNT. Sends COUNT numbered datagrams back to
# back, then "end".
UDP_BURST_CODE = r"""
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for number in range(int(sys.argv[3])):
    sock.sendto(b"%d padding" % number, (sys.argv[1], int(sys.argv[2])))
sock.sendto(b"end", (sys.argv[1], int(sys.argv[2])))
"""


class World:
    """Two namespaces and the emulator between them; close() undoes everything it made."""

    def __init__(self):
        self.names = [f"wanC{os.getpid()}", f"wanS{os.getpid()}"]
        self.made = []
        self.emulator = None
        self.server = None

    def start(self, emulator, args):
        for name in self.names:
            run(["ip", "netns", "add", name])
            self.made.append(name)
        self.emulator = subprocess.Popen(
            [emulator, "--client-netns", f"/run/netns/{self.names[0]}", "--server-netns",
             f"/run/netns/{self.names[1]}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.emulator.stdout.readline()
        check(line == "ready\n", f"emulator said {line!r} instead of 'ready'; stderr: "
              f"{self.emulator.stderr.read() if self.emulator.poll() is not None else ''}")
        for name, addr in zip(self.names, [CLIENT_ADDR, SERVER_ADDR]):
            run(["ip", "-n", name, "addr", "add", f"{addr}/16", "dev", "wan0"])
            run(["ip", "-n", name, "link", "set", "wan0", "up"])
            run(["ip", "-n", name, "link", "set", "lo", "up"])
        # nodad: usable at once, not after duplicate address detection.
        for name, addr in zip(self.names, [CLIENT_ADDR6, SERVER_ADDR6]):
            run(["ip", "-n", name, "addr", "add", f"{addr}/64", "dev", "wan0", "nodad"])

    def start_server(self, *ports, addr=SERVER_ADDR):
        self.server = self.in_netns(1, SERVER_CODE, addr, *ports, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE)
        line = self.server.stdout.readline()
        check(line == "listening\n", f"server said {line!r}")

    def in_netns(self, index, code, *args, **popen):
        return subprocess.Popen(["ip", "netns", "exec", self.names[index], PYTHON, "-c", code,
                                 *map(str, args)], text=True, **popen)

    def client(self, port, echo_bytes, connect_timeout_s=HANG_GUARD_S, addr=SERVER_ADDR):
        done = subprocess.run(
            ["ip", "netns", "exec", self.names[0], PYTHON, "-c", CLIENT_CODE, addr,
             str(port), str(echo_bytes), str(connect_timeout_s)],
            capture_output=True, text=True, timeout=HANG_GUARD_S)
        check(done.returncode == 0, f"client failed: {done.stderr}")
        return json.loads(done.stdout)

    def stop_emulator(self):
        """SIGTERM; returns the counters line, which must be the only other stdout line."""
        self.emulator.send_signal(signal.SIGTERM)
        out, err = self.emulator.communicate(timeout=HANG_GUARD_S)
        check(self.emulator.returncode == 0,
              f"emulator exit {self.emulator.returncode} on SIGTERM; stderr: {err}")
        lines = out.splitlines()
        check(len(lines) == 1, f"expected one counters line after 'ready', got {out!r}")
        print("counters:", lines[0])
        if err:
            print("emulator stderr:", err.strip())
        return json.loads(lines[0])

    def close(self):
        for proc in (self.server, self.emulator):
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
        for name in self.made:
            subprocess.run(["ip", "netns", "del", name], check=False)


def run(argv):
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise Fail(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.strip()}")


def with_world(emulator, args, body):
    world = World()
    try:
        world.start(emulator, args)
        body(world)
    finally:
        world.close()


def case_rtt(emulator):
    def body(world):
        world.start_server(8080)
        result = world.client(8080, 1_000_000)
        print("client:", result)
        check(result["connect"] == "ok", f"connect failed: {result}")
        check(result["connect_s"] >= 0.100,
              f"connect took {result['connect_s'] * 1000:.1f} ms, less than the 100 ms RTT")
        check(result["reply"] == "pong\n", f"ping answered {result['reply']!r}")
        check(result["ping_s"] >= 0.100,
              f"ping-pong took {result['ping_s'] * 1000:.1f} ms, less than the 100 ms RTT")
        check(result["received"] == 1_000_000 and result["intact"],
              f"1 MB echo: {result['received']} bytes back, intact={result['intact']}")
        # SIGUSR1: the counters so far, and the emulator carries on.
        world.emulator.send_signal(signal.SIGUSR1)
        snapshot = json.loads(world.emulator.stdout.readline())
        check(snapshot["to_server_bytes"] > 1_000_000, f"SIGUSR1 counters: {snapshot}")
        check(world.client(8080, 0)["connect"] == "ok", "no connect after SIGUSR1")
        counters = world.stop_emulator()
        check(counters["to_server_packets"] > snapshot["to_server_packets"],
              f"nothing forwarded after SIGUSR1: {snapshot} then {counters}")
        # 1 MB each way, plus headers: the forwarded byte counts must cover the payload.
        check(counters["to_server_bytes"] > 1_000_000 and counters["to_client_bytes"] > 1_000_000,
              f"byte counters miss the 1 MB each way: {counters}")
        check(counters["dropped_loss"] == 0 and counters["dropped_blackhole"] == 0,
              f"drops without --loss or --blackhole: {counters}")
    with_world(emulator, ["--rtt-ms", "100"], body)


def case_jitter(emulator):
    def body(world):
        sink = world.in_netns(1, UDP_SINK_CODE, SERVER_ADDR, 9000, stdout=subprocess.PIPE)
        try:
            line = sink.stdout.readline()
            check(line == "listening\n", f"UDP sink said {line!r}")
            burst = world.in_netns(0, UDP_BURST_CODE, SERVER_ADDR, 9000, 200)
            check(burst.wait(HANG_GUARD_S) == 0, "UDP burst failed")
            got = json.loads(sink.stdout.readline())
        finally:
            sink.kill()
            sink.wait()
        check(len(got) > 0, "no datagram arrived")
        check(got == sorted(got), f"datagrams reordered by jitter: {got}")
        print(f"{len(got)} of 200 datagrams, in order")
        world.start_server(8080)
        result = world.client(8080, 10_000)
        print("client:", result)
        check(result["connect"] == "ok" and result["intact"], f"TCP under jitter: {result}")
        check(result["connect_s"] >= 0.020,
              f"connect took {result['connect_s'] * 1000:.1f} ms, below the 20 ms floor")
        counters = world.stop_emulator()
        check(counters["to_server_packets"] >= len(got), f"counters miss datagrams: {counters}")
    with_world(emulator, ["--rtt-ms", "40", "--jitter-ms", "40", "--seed", "3"], body)


def case_loss(emulator):
    def body(world):
        world.start_server(8080)
        result = world.client(8080, 200_000)
        print("client:", result)
        check(result["connect"] == "ok", f"connect failed: {result}")
        check(result["received"] == 200_000 and result["intact"],
              f"200 KB echo under loss: {result['received']} bytes back, "
              f"intact={result['intact']}")
        counters = world.stop_emulator()
        check(counters["dropped_loss"] > 0, f"no packet dropped at --loss 0.2: {counters}")
    with_world(emulator, ["--rtt-ms", "10", "--loss", "0.2", "--seed", "7"], body)


def case_queue_limit(emulator):
    def body(world):
        world.start_server(8080)
        result = world.client(8080, 200_000)
        print("client:", result)
        check(result["connect"] == "ok" and result["received"] == 200_000 and result["intact"],
              f"200 KB echo through a 4-packet queue: {result}")
        counters = world.stop_emulator()
        check(counters["dropped_queue_limit"] > 0, f"no queue-limit drop counted: {counters}")
        check(max(counters["max_queue_depth_to_server"], counters["max_queue_depth_to_client"]) <= 4,
              f"a queue held more than --queue-limit 4: {counters}")
    with_world(emulator, ["--rtt-ms", "20", "--queue-limit", "4"], body)


def case_blackhole(emulator):
    def body(world):
        world.start_server(8080, 8081)
        dropped = world.client(8081, 0, connect_timeout_s=1)
        print("client to the black hole:", dropped)
        check(dropped["connect"] == "timeout", f"connect to the black hole did not time out: "
              f"{dropped}")
        open_port = world.client(8080, 1000)
        print("client to the open port:", open_port)
        check(open_port["connect"] == "ok" and open_port["intact"],
              f"connect to the other port failed: {open_port}")
        counters = world.stop_emulator()
        check(counters["dropped_blackhole"] > 0, f"no black-hole drop counted: {counters}")
    with_world(emulator, ["--rtt-ms", "20", "--blackhole", f"{SERVER_ADDR}:8081"], body)


def case_ipv6(emulator):
    def body(world):
        world.start_server(8080, 8081, addr=SERVER_ADDR6)
        dropped = world.client(8081, 0, connect_timeout_s=1, addr=SERVER_ADDR6)
        print("client to the black hole:", dropped)
        check(dropped["connect"] == "timeout", f"IPv6 black hole did not time out: {dropped}")
        result = world.client(8080, 100_000, addr=SERVER_ADDR6)
        print("client:", result)
        check(result["connect"] == "ok" and result["received"] == 100_000 and result["intact"],
              f"IPv6 echo: {result}")
        check(result["connect_s"] >= 0.060 and result["ping_s"] >= 0.060,
              f"IPv6 round trips shorter than the 60 ms RTT: {result}")
        counters = world.stop_emulator()
        check(counters["dropped_blackhole"] > 0, f"no IPv6 black-hole drop counted: {counters}")
    with_world(emulator, ["--rtt-ms", "60", "--blackhole", f"[{SERVER_ADDR6}]:8081"], body)


def case_bad_options(emulator):
    base = ["--client-netns", "/run/netns/none-c", "--server-netns", "/run/netns/none-s"]
    bad = [
        (["--rtt-ms", "-5"], "--rtt-ms"),
        (["--rtt-ms", "abc"], "--rtt-ms"),
        (["--rtt-ms", "50", "--loss", "2"], "--loss"),
        (["--rtt-ms", "50", "--loss", "-0.1"], "--loss"),
        (["--rtt-ms", "50", "--blackhole", "nonsense"], "--blackhole"),
        (["--rtt-ms", "50", "--blackhole", "10.0.0.1:0"], "--blackhole"),
        (["--rtt-ms", "50", "--blackhole", "10.0.0.1:70000"], "--blackhole"),
        (["--rtt-ms", "50", "--jitter-ms", "-1"], "--jitter-ms"),
        (["--rtt-ms", "50", "--queue-limit", "0"], "--queue-limit"),
        (["--rtt-ms", "50", "--device", "a-name-longer-than-15"], "--device"),
        (["--rtt-ms", "50", "--seed", "x"], "--seed"),
        (["--rtt-ms", "50", "--loss=2"], "--loss"),
        (["--rtt-ms", "50", "--tick-us", "-1"], "--tick-us"),
        (["--rtt-ms", "50", "--tick-us", "100001"], "--tick-us"),
        (["--rtt-ms", "50", "--no-realtime=yes"], "--no-realtime"),
        (["--rtt-ms", "50", "--frobnicate"], "--frobnicate"),
        (["--rtt-ms"], "--rtt-ms"),
        ([], "--rtt-ms"),
    ]
    for args, option in bad:
        done = subprocess.run([emulator, *base, *args], capture_output=True, text=True,
                              timeout=HANG_GUARD_S)
        check(done.returncode == 2, f"{args}: exit {done.returncode}, not 2 ({done.stderr!r})")
        check(option in done.stderr, f"{args}: stderr does not name {option}: {done.stderr!r}")
        check(done.stdout == "", f"{args}: printed {done.stdout!r} on stdout")
    missing = "/run/netns/wan-emulator-test-missing-%d" % os.getpid()
    done = subprocess.run([emulator, "--client-netns", missing, "--server-netns", missing + "s",
                           "--rtt-ms", "50"], capture_output=True, text=True, timeout=HANG_GUARD_S)
    check(done.returncode == 1 and missing in done.stderr,
          f"missing namespace file: exit {done.returncode}, stderr {done.stderr!r}")
    check(done.stdout == "", f"printed {done.stdout!r} before failing")


def main():
    if sys.argv[1:] == ["--list"]:
        print("\n".join(CASES))
        return 0
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    emulator, case = sys.argv[1], sys.argv[2]
    if case != "bad_options" and (os.geteuid() != 0 or not os.path.exists("/dev/net/tun")):
        print("wan_emulator_cases: skipped: needs root and /dev/net/tun")
        return 77
    # ctest's timeout sends SIGTERM first: unwind so the namespaces are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        globals()[f"case_{case}"](emulator)
    except Fail as failure:
        print(f"FAIL {case}: {failure}")
        return 1
    print(f"PASS {case}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
