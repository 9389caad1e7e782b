"""cli.<case>: many connections to one ip:port (issue 22), each case in a network namespace of
its own whose ephemeral port range is narrowed to PORTS ports (and tcp_tw_reuse off), so that
running out of ports takes a few dozen probes, not thousands.

  port_exhaustion_is_local_error     a server that waits for the client to close: the probes past
                                     the port range are local_error naming the destination, the
                                     cause and the advice (--source-address, --concurrency,
                                     ip_local_port_range), never a failure of the target
  peer_closes_first_spares_ports     a server that closes after its response: many times more
                                     probes than ports to one ip:port, through few slots, all ok
                                     (urlprobe waits for the server's close, so TIME_WAIT is the
                                     server's)
  peer_closes_first_through_connect  the same through an HTTP CONNECT proxy to an HTTPS origin
                                     that closes after its response: the proxy closes towards
                                     urlprobe, and all probes are ok
  source_addresses_both_used         --source-address 127.0.0.2,127.0.0.3: the server sees both
                                     as peers, in turn; an address not on this machine is
                                     local_error saying so; a bad one is exit 2 naming the option
  source_addresses_double_the_ports  a server that waits for the client to close: one source
                                     address carries PORTS probes at once and no more, two carry
                                     2 x PORTS without local_error; and one source address
                                     carries PORTS to each of two destinations (the port is
                                     picked at connect, per destination)

Usage: scale_cases.py URLPROBE_BINARY WORK_DIR SCHEMA CASE (or --list). Exit 0 pass, 1 fail,
77 skipped (no network namespace here).
"""
import ctypes
import os
import selectors
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "integration"))
sys.dont_write_bytecode = True  # no __pycache__ beside the sources
import harness  # noqa: E402
from harness import check  # noqa: E402
from reliability_cases import SelectorServer, main as reliability_main, records_of, run_urlprobe  # noqa: E402

PORTS = 10  # ephemeral ports in the namespace: 40000..40009
SERVER_PORT = 8080  # outside that range, bound before the range is narrowed
CLONE_NEWNET = 0x40000000


def private_network():
    """Moves this process (one thread so far) into a new network namespace with loopback up and
    PORTS ephemeral ports; the threads and children started later live there too. The namespace
    goes away with the last of them: nothing on the host is touched."""
    if os.geteuid() != 0:
        raise harness.Skip("needs root to make a network namespace")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        raise harness.Skip(f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}")
    up = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if up.returncode != 0:
        raise harness.Skip(f"ip link set lo up: {up.stderr.strip()}")
    # /proc/sys/net is the namespace's own: these writes change nothing outside it.
    Path("/proc/sys/net/ipv4/ip_local_port_range").write_text(f"40000 {40000 + PORTS - 1}\n")
    # Off, so that a port in TIME_WAIT stays taken however long a case runs (loopback reuses
    # one older than a second by default).
    Path("/proc/sys/net/ipv4/tcp_tw_reuse").write_text("0\n")


class HttpServer(SelectorServer):
    """HTTP on 127.0.0.1:SERVER_PORT in a thread, answering 200 with no body. closes_first: it
    closes each connection right after its response; otherwise it keeps reading until the client
    closes, as a server honouring keep-alive would. Records each connection's peer address."""

    def __init__(self, closes_first, port=SERVER_PORT):
        self.closes_first = closes_first
        self.peers = []
        super().__init__(port)

    def _loop(self):
        requests = {}
        while True:
            for key, _ in self.selector.select():
                if key.data == "stop":
                    return
                if key.fileobj is self.listener:
                    conn, peer = self._accept()
                    if conn:
                        self.peers.append(peer)
                        requests[conn] = b""
                    continue
                conn = key.fileobj
                data = self._recv(conn)
                if not data:
                    requests.pop(conn, None)
                    continue
                if conn not in requests:
                    continue  # answered: the rest is ignored
                requests[conn] += data
                if b"\r\n\r\n" not in requests[conn]:
                    continue
                del requests[conn]
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                if self.closes_first:
                    self._drop(conn)


def sweep(c, urls, *options):
    rc, out, _ = run_urlprobe(c, ["--methods", "direct", "--format", "jsonl", "--progress", "never",
                                  "--timeout", "10", *options, *urls])
    records = records_of(c, out, "stdout")
    check(len(records) == len(urls), f"{len(records)} records for {len(urls)} probes")
    return rc, records


def outcomes(records):
    counts = {}
    for r in records:
        counts[r["outcome"]] = counts.get(r["outcome"], 0) + 1
    return counts


def port_exhaustion_is_local_error(c):
    private_network()
    server = HttpServer(closes_first=False)
    try:
        n = 3 * PORTS
        # Every probe at once: the first PORTS take the ports, the rest find none.
        rc, records = sweep(c, [server.url(f"/p{i}") for i in range(n)], "--concurrency", str(n))
    finally:
        server.close()
    counts = outcomes(records)
    check(counts == {"ok": PORTS, "local_error": n - PORTS},
          f"expected {PORTS} ok and {n - PORTS} local_error, got {counts}")
    for r in records:
        if r["outcome"] != "local_error":
            continue
        detail = r["detail"]
        for words in (f"no free local port to 127.0.0.1:{SERVER_PORT}", "TIME_WAIT",
                      "--source-address", "--concurrency", "ip_local_port_range"):
            check(words in detail, f"{words!r} not in the detail: {detail!r}")
    check(rc == 1, f"exit {rc}, expected 1 (probes failed)")


def peer_closes_first_spares_ports(c):
    private_network()
    server = HttpServer(closes_first=True)
    try:
        n = 20 * PORTS
        rc, records = sweep(c, [server.url(f"/p{i}") for i in range(n)], "--concurrency", "4")
    finally:
        server.close()
    counts = outcomes(records)
    check(counts == {"ok": n}, f"expected {n} ok, got {counts}: e.g. "
          f"{[r['detail'] for r in records if r['outcome'] != 'ok'][:1]}")
    check(rc == 0, f"exit {rc}, expected 0")


class TlsOriginBehindConnectProxy:
    """An HTTPS origin on 127.0.0.1:8443 (a throwaway self-signed certificate: probes use
    --insecure) that closes each connection right after its response, and an HTTP CONNECT proxy
    on 127.0.0.1:3128 that closes its client's side when the origin closes, as squid does. One
    thread per connection."""

    ORIGIN, PROXY = 8443, 3128

    def __init__(self, work_dir):
        self.dir = tempfile.TemporaryDirectory(dir=work_dir)
        cert, key = Path(self.dir.name) / "cert.pem", Path(self.dir.name) / "key.pem"
        made = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                               "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                               "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                              capture_output=True, text=True)
        check(made.returncode == 0, f"openssl req failed: {made.stderr}")
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        # No TLS 1.3 session tickets: sent after the handshake and never read by a probe, they
        # would make the client's close a reset (unread data), which leaves no TIME_WAIT anywhere
        # and would hide which side closed first.
        self.tls.num_tickets = 0
        self.listeners = []
        for port, serve in ((self.ORIGIN, self._origin), (self.PROXY, self._proxy)):
            listener = socket.socket()
            listener.bind(("127.0.0.1", port))
            listener.listen(1024)
            self.listeners.append(listener)
            threading.Thread(target=self._accept, args=(listener, serve), daemon=True).start()

    def url(self, path):
        return f"https://127.0.0.1:{self.ORIGIN}{path}"

    @staticmethod
    def _accept(listener, serve):
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    def _origin(self, conn):
        try:
            with self.tls.wrap_socket(conn, server_side=True) as tls:
                request = b""
                while b"\r\n\r\n" not in request:
                    data = tls.recv(4096)
                    if not data:
                        return
                    request += data
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def _proxy(self, client):
        origin = None
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                data = client.recv(4096)
                if not data:
                    return
                request += data
            host, _, port = request.split(b" ", 2)[1].decode().rpartition(":")
            origin = socket.create_connection((host, int(port)))
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            sockets = selectors.DefaultSelector()
            sockets.register(client, selectors.EVENT_READ, origin)
            sockets.register(origin, selectors.EVENT_READ, client)
            while True:
                for key, _ in sockets.select():
                    data = key.fileobj.recv(65536)
                    if not data:
                        return  # either side closed: the proxy closes both
                    key.data.sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            if origin:
                origin.close()

    def close(self):
        for listener in self.listeners:
            listener.close()
        self.dir.cleanup()


def peer_closes_first_through_connect(c):
    private_network()
    servers = TlsOriginBehindConnectProxy(c.work_dir)
    try:
        n = 20 * PORTS
        rc, records = sweep(c, [servers.url(f"/p{i}") for i in range(n)], "--concurrency", "4",
                            "--methods", "cli", "--proxy",
                            f"http://127.0.0.1:{servers.PROXY}", "--insecure")
    finally:
        servers.close()
    counts = outcomes(records)
    check(counts == {"ok": n}, f"expected {n} ok, got {counts}: e.g. "
          f"{[r['detail'] for r in records if r['outcome'] != 'ok'][:1]}")
    check(all(r["route"] == "cli" and r.get("proxy") for r in records), "not through the proxy")
    check(rc == 0, f"exit {rc}, expected 0")


def source_addresses_both_used(c):
    private_network()
    server = HttpServer(closes_first=True)
    try:
        urls = [server.url(f"/p{i}") for i in range(6)]
        rc, records = sweep(c, urls, "--concurrency", "1", "--source-address", "127.0.0.2,127.0.0.3")
        check(rc == 0 and outcomes(records) == {"ok": 6}, f"exit {rc}, {outcomes(records)}")
        # One probe at a time, so the server accepts them in the order the probes took turns.
        check(server.peers == ["127.0.0.2", "127.0.0.3"] * 3, f"peers seen: {server.peers}")

        # Only an IPv6 source for an IPv4 destination: nothing bound, the usual 127.0.0.1.
        del server.peers[:]
        rc, records = sweep(c, urls[:1], "--source-address", "::1")
        check(rc == 0 and server.peers == ["127.0.0.1"], f"exit {rc}, peers seen: {server.peers}")

        # An address of no interface here (TEST-NET-1): bind() fails, no packet leaves.
        rc, records = sweep(c, urls[:1], "--source-address", "192.0.2.1")
        (r,) = records
        check(r["outcome"] == "local_error" and
              "source address 192.0.2.1 is not an address of this machine (--source-address)"
              in r["detail"], f"unexpected record: {r}")
        check("no free local port" not in r["detail"], f"taken for port exhaustion: {r}")

        rc, _, err = run_urlprobe(c, ["--source-address", "127.0.0.2,nope", urls[0]])
        check(rc == 2 and "--source-address" in err and "'nope'" in err,
              f"exit {rc}, expected 2 naming the option and the value:\n{err}")
    finally:
        server.close()


def source_addresses_double_the_ports(c):
    private_network()
    server = HttpServer(closes_first=False)
    try:
        n = 2 * PORTS
        urls = [server.url(f"/p{i}") for i in range(n)]
        # All at once, so no port is freed (or in TIME_WAIT long enough to be reused) meanwhile.
        _, one = sweep(c, urls, "--concurrency", str(n), "--source-address", "127.0.0.2")
        _, two = sweep(c, urls, "--concurrency", str(n), "--source-address",
                       "127.0.0.3,127.0.0.4")
        # One source address, two destinations: PORTS each. A bound socket without
        # IP_BIND_ADDRESS_NO_PORT would take its port at bind(), out of PORTS for all
        # destinations together.
        other = HttpServer(closes_first=False, port=SERVER_PORT + 1)
        try:
            _, spread = sweep(c, urls[:PORTS] + [other.url(f"/p{i}") for i in range(PORTS)],
                              "--concurrency", str(n), "--source-address", "127.0.0.5")
        finally:
            other.close()
    finally:
        server.close()
    check(outcomes(spread) == {"ok": n}, f"two destinations from one source address: expected "
          f"{n} ok, got {outcomes(spread)}")
    check(outcomes(one) == {"ok": PORTS, "local_error": PORTS},
          f"one source address: expected {PORTS} ok and {PORTS} local_error, got {outcomes(one)}")
    check(outcomes(two) == {"ok": n}, f"two source addresses: expected {n} ok, got "
          f"{outcomes(two)}: e.g. {[r['detail'] for r in two if r['outcome'] != 'ok'][:1]}")


CASES = {f.__name__: f for f in (port_exhaustion_is_local_error, peer_closes_first_spares_ports,
                                 peer_closes_first_through_connect, source_addresses_both_used, source_addresses_double_the_ports)}

if __name__ == "__main__":
    sys.exit(reliability_main(sys.argv, CASES))
