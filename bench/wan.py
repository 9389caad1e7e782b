#!/usr/bin/python3
"""urlprobe against curl and blackbox_exporter at wide-area latency (issue 22; bench/README.md,
"Wide-area latency (`make wan`)").

    bench/wan.py [--rtt 50,200] [--concurrency 256,1000,4000,10000] [--probes N] [--quick]
                 [--tools urlprobe,curl,blackbox] [--routes direct,squid] [--no-sweep] [--sweep-only]
                 [--out DIR] [--urlprobe PATH] [--emulator PATH] [--no-emulator] [--keep]
    bench/wan.py --smoke [--sanitizer NAME]   (ctest bench.wan_smoke)
    (root; make wan ARGS='...')

The world: two network namespaces made here, C (client) and S (server), joined by the WAN
emulator (build/urlprobe_wan_emulator), which delays every packet by RTT/2 each way. C holds the
tools (urlprobe, curl, blackbox_exporter and its driver) and 10.90.0.1-8; S holds the origin
(nginx, 10.90.1.2: TLS 1.3 on :8443, a full handshake per probe, plain HTTP on :8080), squid
(10.90.1.3:3128, CONNECT and GET to the origin only) and, for the sweep, 1,000 squid ports
(10.90.1.4:20001-21000, 8 instances of 125). The addresses sit on lo of their namespace and the
emulator's wan0 devices carry only routes, so the daemons outlive an emulator restart (one per
RTT, one more for the black hole). Every name is pinned for every tool (urlprobe --resolve, curl
--resolve, blackbox targets by IP with server_name in the module): DNS is not measured.

Round trips per probe: direct 3 (TCP, TLS 1.3, HTTP), via squid 4 (TCP to squid, CONNECT, TLS,
HTTP; squid -> origin is inside S, undelayed). bound = C / (round trips x RTT).

Prints one `wan: ...` line per run and writes OUT/wan.md, OUT/wan.svg, OUT/wan-sweep.svg.
Exit 1 on errors (a urlprobe probe not ok, in the table or the sweep; a failed honesty check; a
daemon that did not start), 2 on bad usage, 77 (--smoke only) where it cannot run. Never on speed.
The peers' errors are in the table and do not fail the run.
"""
import argparse
import asyncio
import glob
import json
import os
import platform
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ORIGIN, SQUID_IP, SWEEP_IP = "10.90.1.2", "10.90.1.3", "10.90.1.4"
CLIENT_IPS = [f"10.90.0.{i}" for i in range(1, 9)]
TLS_PORT, HTTP_PORT, SQUID_PORT, SWEEP_FIRST, BB_PORT = 8443, 8080, 3128, 20001, 9115
NAMES = 200
ROUND_TRIPS = {"direct": 3, "squid": 4}
PROBE_TIMEOUT_S = 60  # saturation shows as slowness, not as errors; the same for every tool
HANG_S = 60
HONESTY_SLACK_MS = 25
HONESTY_ATTEMPTS = 3
TXQUEUELEN = 65536
TICK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise BenchError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r.stdout


def url(i):
    return f"https://svc{i % NAMES + 1}.probe.test:{TLS_PORT}/p{i}"


# --- the world ----------------------------------------------------------------------------------
class World:
    def __init__(self, args, tmp):
        self.args = args
        self.tmp = tmp
        self.c = f"wanc{os.getpid()}"
        self.s = f"wans{os.getpid()}"
        self.namespaces = []
        self.procs = []  # (name, Popen), stopped in reverse order
        self.emulator = None
        self.veth = False
        self.squid_services = []  # SMP squids leave their IPC sockets in /run/squid

    # Namespaces: addresses on lo, sysctls only inside them.
    def make_namespaces(self):
        for ns in (self.c, self.s):
            run(["ip", "netns", "add", ns])
            self.namespaces.append(ns)
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
        for ip in CLIENT_IPS:
            run(["ip", "-n", self.c, "addr", "add", f"{ip}/32", "dev", "lo"])
        for ip in (ORIGIN, SQUID_IP, SWEEP_IP):
            run(["ip", "-n", self.s, "addr", "add", f"{ip}/32", "dev", "lo"])
        # Every tool gets the same wide ephemeral range in C; the host's range is untouched.
        self.sysctl(self.c, "net.ipv4.ip_local_port_range", "1024 65535")
        for ns in (self.c, self.s):
            self.sysctl(ns, "net.core.somaxconn", "65535")
            self.sysctl(ns, "net.ipv4.tcp_max_syn_backlog", "65535")

    def sysctl(self, ns, key, value):
        run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}"])

    def in_c(self, argv):
        return ["ip", "netns", "exec", self.c, *argv]

    def in_s(self, argv):
        return ["ip", "netns", "exec", self.s, *argv]

    def routes(self):
        # A TUN device's queue (500 packets by default) drops whatever the emulator has not read
        # yet, uncounted by it: thousands of SYNs at once overflow it, and each costs a 1 s retry.
        for ns in (self.c, self.s):
            run(["ip", "-n", ns, "link", "set", "wan0", "txqueuelen", str(TXQUEUELEN), "up"])
        run(["ip", "-n", self.c, "route", "replace", "10.90.1.0/24", "dev", "wan0", "src", CLIENT_IPS[0]])
        run(["ip", "-n", self.s, "route", "replace", "10.90.0.0/24", "dev", "wan0", "src", ORIGIN])

    def link(self, rtt_ms, blackhole=()):
        """The path between C and S: the emulator at rtt_ms, or (--no-emulator) a plain veth."""
        self.unlink()
        if self.args.no_emulator:
            if not self.veth:
                run(["ip", "-n", self.c, "link", "add", "wan0", "type", "veth", "peer", "name", "wan0",
                     "netns", self.s])
                self.veth = True
            self.routes()
            return
        argv = [self.args.emulator, "--client-netns", f"/run/netns/{self.c}", "--server-netns",
                f"/run/netns/{self.s}", "--rtt-ms", str(rtt_ms), "--seed", "1"]
        for b in blackhole:
            argv += ["--blackhole", b]
        err = open(os.path.join(self.tmp, "emulator.log"), "a")
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)
        self.emulator = proc
        line = read_line_within(proc.stdout, HANG_S)
        if line.strip() != "ready":
            raise BenchError(f"the emulator did not say ready (said {line!r}; see {err.name})")
        self.routes()

    def unlink(self):
        if self.emulator is None:
            return
        for ns in (self.c, self.s):
            dropped = link_tx_dropped(ns)
            if dropped:
                log(f"  wan0 in {ns} dropped {dropped} packets before the emulator read them")
        proc, self.emulator = self.emulator, None
        proc.send_signal(signal.SIGTERM)
        try:
            out, _ = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise BenchError("the emulator did not stop on SIGTERM")
        if proc.returncode != 0:
            raise BenchError(f"the emulator exited {proc.returncode}")
        counters = out.strip().splitlines()[-1:] or ["{}"]
        log(f"  emulator: {counters[0]}")

    def start(self, name, argv, log_name, ready_port=None, ready_ip=None, ns=None):
        out = open(os.path.join(self.tmp, log_name), "w")
        proc = subprocess.Popen(["ip", "netns", "exec", ns or self.s, *argv], stdout=out, stderr=out)
        self.procs.append((name, proc))
        if ready_port:
            wait_listening(self, ns or self.s, ready_ip, ready_port, proc, name, out.name)
        return proc

    def stop(self, proc):
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        self.procs = [(name, p) for name, p in self.procs if p is not proc]

    def close(self):
        try:
            self.unlink()
        except BenchError as e:
            log(f"wan: {e}")
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        for service in self.squid_services:
            for path in glob.glob(f"/run/squid/{service}-*.ipc"):
                os.unlink(path)


def link_tx_dropped(ns):
    stats = json.loads(run(["ip", "-n", ns, "-s", "-j", "link", "show", "wan0"]))[0]["stats64"]
    return stats["tx"]["dropped"]


def read_line_within(stream, seconds):
    box = []
    t = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    t.start()
    t.join(seconds)
    return box[0] if box else ""


def wait_listening(world, ns, ip, port, proc, name, log_path):
    """Polls the namespace's socket table (ss), not a connection: a probe connection would show
    in nginx's access log and in squid's counters."""
    end = time.monotonic() + HANG_S
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(f"{name} exited {proc.returncode}: {tail(log_path)}")
        out = subprocess.run(["ip", "netns", "exec", ns, "ss", "-Hltn", f"sport = :{port}"],
                             capture_output=True, text=True).stdout
        if f"{ip}:{port}" in out:
            return
        time.sleep(0.1)
    raise BenchError(f"{name} did not listen on {ip}:{port} within {HANG_S}s: {tail(log_path)}")


def tail(path, n=1500):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


def make_pki(d):
    os.makedirs(d)

    def ossl(*argv, stdin=None):
        r = subprocess.run(["openssl", *argv], input=stdin, capture_output=True)
        if r.returncode != 0:
            raise BenchError(f"openssl {argv[0]}: {r.stderr.decode(errors='replace')[-500:]}")
        return r.stdout

    for k in ("root", "inter", "leaf"):
        ossl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", f"{d}/{k}.key")
    ossl("req", "-x509", "-new", "-key", f"{d}/root.key", "-subj", "/CN=urlprobe wan root", "-days", "7",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
         "-out", f"{d}/root.pem")
    with open(f"{d}/inter.ext", "w") as f:
        f.write("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n")
    csr = ossl("req", "-new", "-key", f"{d}/inter.key", "-subj", "/CN=urlprobe wan intermediate")
    ossl("x509", "-req", "-CA", f"{d}/root.pem", "-CAkey", f"{d}/root.key", "-set_serial", "2", "-days", "7",
         "-extfile", f"{d}/inter.ext", "-out", f"{d}/inter.pem", stdin=csr)
    with open(f"{d}/leaf.ext", "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:*.probe.test\n")
    csr = ossl("req", "-new", "-key", f"{d}/leaf.key", "-subj", "/CN=svc.probe.test")
    ossl("x509", "-req", "-CA", f"{d}/inter.pem", "-CAkey", f"{d}/inter.key", "-set_serial", "3", "-days", "7",
         "-extfile", f"{d}/leaf.ext", "-out", f"{d}/leaf.pem", stdin=csr)
    with open(f"{d}/chain.pem", "w") as out:
        for k in ("leaf", "inter"):
            with open(f"{d}/{k}.pem") as f:
                out.write(f.read())
    ossl("verify", "-CAfile", f"{d}/root.pem", "-untrusted", f"{d}/inter.pem", f"{d}/leaf.pem")
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)


def start_nginx(world, pki):
    d = os.path.join(world.tmp, "nginx")
    for sub in ("logs", "tmp"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    conf = f"""worker_processes 2;
worker_rlimit_nofile 65536;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 32768; multi_accept on; }}
http {{
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  log_format wan '$pid $connection $ssl_session_reused $ssl_protocol $status';
  keepalive_timeout 0;
  server {{
    listen {ORIGIN}:{TLS_PORT} ssl backlog=65535;
    ssl_certificate {pki}/chain.pem;
    ssl_certificate_key {pki}/leaf.key;
    ssl_protocols TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    access_log {d}/logs/tls.log wan;
    location / {{ return 200 "ok\\n"; }}
  }}
  server {{
    listen {ORIGIN}:{HTTP_PORT} backlog=65535;
    access_log off;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(conf)
    open(f"{d}/logs/tls.log", "w").close()
    world.start("nginx", ["nginx", "-p", d, "-c", f"{d}/nginx.conf", "-e", "stderr", "-g", "daemon off;"],
                "nginx.log", TLS_PORT, ORIGIN)
    wait_listening(world, world.s, ORIGIN, HTTP_PORT, world.procs[-1][1], "nginx", f"{world.tmp}/nginx.log")
    return f"{d}/logs/tls.log"


def start_squid(world, name, ip, ports, workers=1):
    """workers > 1: squid's SMP mode, kids sharing the ports, each with its own RLIMIT_NOFILE.
    A tunnel holds two descriptors in squid, so one process stops accepting near half the limit
    (10 000 tunnels at this container's 20 000)."""
    d = os.path.join(world.tmp, f"squid-{name}")
    os.makedirs(d)
    shutil.chown(d, "proxy", "proxy")
    service = f"urlprobewan{os.getpid()}{name}"
    world.squid_services.append(service)
    lines = [f"visible_hostname urlprobe-wan-{name}", f"workers {workers}"]
    lines += [f"http_port {ip}:{p}" for p in ports]
    lines += f"""pid_filename {d}/squid.pid
cache_log {d}/cache.log
access_log none
cache_store_log none
netdb_filename none
coredump_dir {d}
cache deny all
cache_mem 8 MB
pinger_enable off
shutdown_lifetime 0 seconds
max_filedescriptors 65536
hosts_file {world.tmp}/squid-hosts
# Nothing listens there: a name outside the hosts file fails at once, no query leaves S.
dns_nameservers 10.90.1.9
forwarded_for delete
via off
acl CONNECT method CONNECT
acl SSL_ports port {TLS_PORT}
acl Safe_ports port {TLS_PORT} {HTTP_PORT}
acl origin_dst dst {ORIGIN}/32
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access deny !origin_dst
http_access allow all
""".splitlines()
    with open(f"{d}.conf", "w") as f:
        f.write("\n".join(lines) + "\n")
    # -N (no daemon) would turn SMP off; --foreground keeps the master as the child of this script.
    mode = ["--foreground"] if workers > 1 else ["-N"]
    return world.start(f"squid-{name}", ["squid", *mode, "-n", service, "-f", f"{d}.conf"],
                       f"squid-{name}.log")


def start_blackbox(world, pki):
    lines = ["modules:"]
    for k in range(1, NAMES + 1):
        for via in ("direct", "squid"):
            lines += [f"  svc{k}_{via}:", "    prober: http", f"    timeout: {PROBE_TIMEOUT_S}s", "    http:",
                      "      preferred_ip_protocol: ip4", "      ip_protocol_fallback: false",
                      "      valid_status_codes: [200]"]
            if via == "squid":
                lines.append(f"      proxy_url: http://{SQUID_IP}:{SQUID_PORT}")
            lines.append(f"      tls_config: {{ca_file: {pki}/root.pem, server_name: svc{k}.probe.test}}")
    path = os.path.join(world.tmp, "blackbox.yml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return world.start("blackbox", ["prometheus-blackbox-exporter", f"--config.file={path}",
                                    f"--web.listen-address=127.0.0.1:{BB_PORT}", "--log.level=warn"],
                       "blackbox.log", BB_PORT, "127.0.0.1", ns=world.c)


# --- measuring one process ----------------------------------------------------------------------
def timed(argv, stdout, stderr):
    """Runs argv (already wrapped in `ip netns exec`, which execs in place) and returns
    (wall_s, cpu_s, maxrss_kb) from wait4's rusage."""
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=stderr)
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C or SIGTERM: the tool must not outlive the script
        kill_and_reap(proc)
        raise
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.monotonic() - t0, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, proc.returncode


TCP_COUNTERS = ("ListenOverflows", "ListenDrops", "TCPReqQFullDrop", "TCPTimeouts", "TCPSynRetrans")


def tcp_counters(ns):
    """The namespace's TcpExt counters that tell a dropped SYN from a slow tool."""
    text = run(["ip", "netns", "exec", ns, "cat", "/proc/net/netstat"]).splitlines()
    values = {}
    for names, nums in zip(text[0::2], text[1::2]):
        for k, v in zip(names.split()[1:], nums.split()[1:]):
            values[k] = int(v)
    return {k: values.get(k, 0) for k in TCP_COUNTERS}


def counter_delta(before, after):
    return " ".join(f"{k}={after[k] - before[k]}" for k in TCP_COUNTERS if after[k] != before[k]) or "none"


def kill_and_reap(proc):
    if proc.returncode is None:
        proc.kill()
        proc.wait()


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_status_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def tls_session_floor_kb(args):
    """OpenSSL's own KiB per client session waiting for the ServerHello (0: tool not built)."""
    tool = os.path.join(os.path.dirname(args.urlprobe), "urlprobe_tls_session_memory")
    if not os.access(tool, os.X_OK):
        return 0.0
    out = subprocess.run([tool, "5000"], capture_output=True, text=True).stdout
    fields = dict(f.split("=") for f in out.split() if "=" in f)
    return float(fields.get("waiting_kb", 0))


class Bench:
    def __init__(self, args, world, pki, tls_log, nginx, squid):
        self.nginx = nginx
        self.squid = squid
        self.args = args
        self.w = world
        self.pki = pki
        self.tls_log = tls_log
        self.tmp = world.tmp
        self.bb = None
        help_text = subprocess.run([args.urlprobe, "--help"], capture_output=True, text=True).stdout
        # Spread the client's connections over C's addresses, once the engine has the option
        # (issue 22): one comma list where its help shows one, else the option repeated.
        spec = next((ln.split()[1] if len(ln.split()) > 1 else "" for ln in help_text.splitlines()
                     if ln.strip().startswith("--source-address")), None)
        if spec is None:
            self.source_args = []
        elif "," in spec or "LIST" in spec:
            self.source_args = ["--source-address", ",".join(CLIENT_IPS)]
        else:
            self.source_args = [a for ip in CLIENT_IPS for a in ("--source-address", ip)]
        self.source_addresses = bool(self.source_args)
        self.pins = []
        for k in range(1, NAMES + 1):
            for port in (TLS_PORT, HTTP_PORT):
                self.pins += ["--resolve", f"svc{k}.probe.test:{port}:{ORIGIN}"]

    def urlprobe_argv(self, route, conc, urls_file, extra=()):
        argv = [self.args.urlprobe, *self.pins, "--ca-file", f"{self.pki}/root.pem", "--public-roots",
                f"{self.pki}/root.pem", "--concurrency", str(conc), "--timeout", f"{PROBE_TIMEOUT_S}s",
                "--progress", "never", "--format", "jsonl"]
        argv += self.source_args
        if route == "direct":
            argv += ["--methods", "direct"]
        elif route == "squid":
            # No --per-proxy: one proxy carries all C, as curl -x and blackbox's proxy_url do.
            argv += ["--methods", "cli", "--proxy", f"http://{SQUID_IP}:{SQUID_PORT}"]
        return argv + list(extra) + [urls_file]

    def workload(self, n):
        path = os.path.join(self.tmp, f"urls-{n}.txt")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.writelines(url(i) + "\n" for i in range(n))
        return path

    def log_lines(self):
        with open(self.tls_log, "rb") as f:
            return f.read().count(b"\n")

    def check_log(self, start, ok, what):
        """nginx's lines since `start`: no resumed session, not fewer requests than ok probes
        (a full handshake per probe, as on loopback)."""
        with open(self.tls_log) as f:
            lines = f.read().splitlines()[start:]
        reused = sum(1 for ln in lines if ln.split()[2:3] == ["r"])
        if reused:
            raise BenchError(f"{what}: nginx resumed {reused} TLS sessions")
        if len(lines) < ok:
            raise BenchError(f"{what}: nginx logged {len(lines)} requests for {ok} ok probes")

    def run_urlprobe(self, route, conc, n):
        out = os.path.join(self.tmp, "out.jsonl")
        with open(out, "w") as o, open(os.path.join(self.tmp, "urlprobe.log"), "a") as e:
            wall, cpu, rss, rc = timed(self.w.in_c(self.urlprobe_argv(route, conc, self.workload(n))), o, e)
        outcomes = {}
        with open(out) as f:
            for line in f:
                oc = json.loads(line).get("outcome", "?")
                outcomes[oc] = outcomes.get(oc, 0) + 1
        total = sum(outcomes.values())
        ok = outcomes.get("ok", 0)
        if total != n:
            log(f"  urlprobe {route}: {total} results for {n} URLs (exit {rc})")
        if ok != n:
            log(f"  urlprobe {route}: outcomes {outcomes}")
        return wall, cpu, rss, n - ok

    def run_curl(self, route, conc, n):
        cfg = os.path.join(self.tmp, f"curl-{n}.cfg")
        if not os.path.exists(cfg):
            with open(cfg, "w") as f:
                for k in range(1, NAMES + 1):
                    f.write(f'resolve = "svc{k}.probe.test:{TLS_PORT}:{ORIGIN}"\n')
                for i in range(n):
                    f.write(f'url = "{url(i)}"\noutput = "/dev/null"\n')
        via = ["-x", f"http://{SQUID_IP}:{SQUID_PORT}"] if route == "squid" else []
        argv = ["curl", "--parallel", "--parallel-max", str(min(conc, 300)), "--parallel-immediate",
                "--http1.1", "-s", "--max-time", str(PROBE_TIMEOUT_S), "--cacert", f"{self.pki}/root.pem",
                *via, "-w", "%{http_code}\n", "-K", cfg]
        out = os.path.join(self.tmp, "out.txt")
        with open(out, "w") as o, open(os.path.join(self.tmp, "curl.log"), "a") as e:
            wall, cpu, rss, _ = timed(self.w.in_c(argv), o, e)
        with open(out) as f:
            ok = sum(1 for line in f if line.strip() == "200")
        return wall, cpu, rss, n - ok

    def run_blackbox(self, route, conc, n):
        # A fresh exporter for every run: Go keeps the heap of a 10k run, and a reset VmHWM
        # starts from the RSS it kept (1.5 GB at C = 256 right after C = 10k in one run).
        if self.bb is not None:
            self.w.stop(self.bb)
        self.bb = start_blackbox(self.w, self.pki)
        pid = self.bb.pid
        targets = os.path.join(self.tmp, f"bb-{route}-{n}.txt")
        if not os.path.exists(targets):
            with open(targets, "w") as f:
                for i in range(n):
                    f.write(f"/probe?target=https://{ORIGIN}:{TLS_PORT}/p{i}&module=svc{i % NAMES + 1}_{route}\n")
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM: this run's peak only
        cpu0 = proc_cpu_s(pid)
        t0 = time.monotonic()
        most_fds = [0]
        done = threading.Event()

        def count_fds():  # the exporter's open descriptors, its limit being the container's
            while not done.wait(0.5):
                try:
                    most_fds[0] = max(most_fds[0], len(os.listdir(f"/proc/{pid}/fd")))
                except OSError:
                    return

        counter = threading.Thread(target=count_fds, daemon=True)
        counter.start()
        try:
            out = run(self.w.in_c([sys.executable, os.path.abspath(__file__), "--blackbox-driver",
                                   f"127.0.0.1:{BB_PORT}", str(conc), targets]))
        finally:
            done.set()
            counter.join()
        wall = time.monotonic() - t0
        cpu = proc_cpu_s(pid) - cpu0
        rss = proc_status_kb(pid, "VmHWM")
        ok = int(out.split()[0])
        if ok != n:
            limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
            log(f"  blackbox {route}: {n - ok} probes without probe_success 1; the exporter held up to "
                f"{most_fds[0]} descriptors (RLIMIT_NOFILE {limit}; a /probe request and its probe take one each)")
        return wall, cpu, rss, n - ok

    def server_cpu_s(self):
        """CPU so far of nginx (master and workers), the main squid and the emulator: what the
        other end of the measurement costs, on the same two cores."""
        nginx = [self.nginx.pid] + [int(p) for p in run(["pgrep", "-P", str(self.nginx.pid)]).split()]
        squid = [self.squid.pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(self.squid.pid)],
                                                                   capture_output=True, text=True).stdout.split()]
        emulator = [self.w.emulator.pid] if self.w.emulator else []
        return [sum(proc_cpu_s(p) for p in group) for group in (nginx, squid, emulator)]

    def tcp(self):
        return tcp_counters(self.w.c), tcp_counters(self.w.s)

    def log_tcp(self, before, what):
        after = self.tcp()
        client, server = counter_delta(before[0], after[0]), counter_delta(before[1], after[1])
        if (client, server) != ("none", "none"):
            log(f"  {what}: TCP client {client}; server {server}")

    def one(self, tool, route, rtt, conc, n):
        start = self.log_lines()
        tcp0 = self.tcp()
        servers0 = self.server_cpu_s()
        wall, cpu, rss_kb, errors = getattr(self, f"run_{tool}")(route, conc, n)
        self.log_tcp(tcp0, f"{tool}/{route}")
        servers = [(b - a) * 1e6 / n for a, b in zip(servers0, self.server_cpu_s())]
        log(f"  {tool}/{route}: nginx {servers[0]:.0f} us/probe, squid {servers[1]:.0f} us/probe, "
            f"emulator {servers[2]:.0f} us/probe")
        self.check_log(start, n - errors, f"{tool}/{route}")
        bound = conc / (ROUND_TRIPS[route] * rtt / 1000.0)
        pps = n / wall
        # The other ceiling: every core of this machine busy with this run's probes (the tool, the
        # origin, the proxy, the emulator; not blackbox's driver). Past it more in flight cannot
        # help, whatever the latency: on 2 vCPUs that is where the table flattens.
        machine_us = cpu * 1e6 / n + sum(servers[: 2 if route == "squid" else 1]) + servers[2]
        cpu_bound = (os.cpu_count() or 1) * 1e6 / machine_us
        limit = min(bound, cpu_bound)
        row = dict(tool=tool, route=route, rtt_ms=rtt, c=conc, n=n, probes_per_s=pps, bound=bound,
                   ratio=pps / bound, cpu_us_per_probe=cpu * 1e6 / n, rss_mb=rss_kb / 1024.0, errors=errors,
                   cpu_bound=cpu_bound, limit_ratio=pps / limit)
        print(f"wan: tool={tool} route={route} rtt_ms={rtt} c={conc} n={n} probes_per_s={pps:.0f} "
              f"bound={bound:.0f} ratio={pps / bound:.3f} cpu_us_per_probe={row['cpu_us_per_probe']:.0f} "
              f"rss_mb={row['rss_mb']:.1f} errors={errors}", flush=True)
        print(f"wan: ceiling tool={tool} route={route} rtt_ms={rtt} c={conc} machine_us_per_probe={machine_us:.0f} "
              f"cpu_bound={cpu_bound:.0f} limited_by={'latency' if bound <= cpu_bound else 'cpu'} "
              f"ratio_to_limit={pps / limit:.3f}", flush=True)
        return row

    def honesty(self, rtt, lower_only):
        """One probe direct and one via squid, alone: each delayed phase must take one round trip
        (and, outside --smoke, no more than RTT + 25 ms). A loaded machine only adds time, never
        takes any away: a probe whose phases overshoot is repeated (3 at most) and the lower
        bound is judged on every probe."""
        for route in ("direct", "squid"):
            phases = ["connect", "tls"] + (["tunnel"] if route == "squid" else [])
            hi = "" if lower_only else f",{rtt + HONESTY_SLACK_MS}"
            for attempt in range(1, HONESTY_ATTEMPTS + 1):
                path = os.path.join(self.tmp, "honesty.txt")
                with open(path, "w") as f:
                    f.write(f"https://svc1.probe.test:{TLS_PORT}/honesty{rtt}-{route}-{attempt}\n")
                r = subprocess.run(self.w.in_c(self.urlprobe_argv(route, 1, path)), capture_output=True,
                                   text=True)
                rec = json.loads(r.stdout.splitlines()[0]) if r.stdout.strip() else {}
                if rec.get("outcome") != "ok":
                    raise BenchError(f"honesty {route}: outcome {rec.get('outcome')}: {r.stderr[-500:]}")
                ms = rec.get("ms", {})
                short = [p for p in phases if ms.get(p) is None or ms[p] < rtt]
                long = [p for p in phases if not lower_only and p not in short and ms[p] > rtt + HONESTY_SLACK_MS]
                verdict = "FAIL" if short else ("slow" if long else "ok")
                print(f"wan: honesty rtt_ms={rtt} route={route} "
                      f"{' '.join(f'{p}_ms={ms.get(p)}' for p in phases)} want=[{rtt}{hi}] {verdict}", flush=True)
                if short:
                    raise BenchError(f"honesty {route} at RTT {rtt} ms: {', '.join(short)} shorter than the round trip")
                if not long:
                    break
                if attempt == HONESTY_ATTEMPTS:
                    raise BenchError(f"honesty {route} at RTT {rtt} ms: {', '.join(long)} above "
                                     f"RTT + {HONESTY_SLACK_MS} ms in {HONESTY_ATTEMPTS} probes")

    # --- many egress points ---------------------------------------------------------------------
    def start_sweep_squids(self):
        ports = list(range(SWEEP_FIRST, SWEEP_FIRST + self.args.sweep_proxies))
        procs = []
        for first in range(0, len(ports), 125):  # squid listens on at most 128 ports
            group = ports[first:first + 125]
            procs.append((start_squid(self.w, f"sweep{first}", SWEEP_IP, group), group, first))
        for proc, group, first in procs:
            wait_listening(self.w, self.w.s, SWEEP_IP, group[-1], proc, f"squid-sweep{first}",
                           f"{self.tmp}/squid-sweep{first}.log")
        with open(os.path.join(self.tmp, "proxies.txt"), "w") as f:
            f.writelines(f"http://{SWEEP_IP}:{p}\n" for p in ports)
        with open(os.path.join(self.tmp, "sweep-urls.txt"), "w") as f:
            f.writelines(f"http://svc{i % NAMES + 1}.probe.test:{HTTP_PORT}/t{i}\n"
                         for i in range(self.args.sweep_urls))
        with open(os.path.join(self.tmp, "sweep-warmup.txt"), "w") as f:
            f.writelines(f"http://svc{i + 1}.probe.test:{HTTP_PORT}/w{i}\n" for i in range(2))
        return ports

    def sweep(self, blackholed_port, warmup=False):
        """warmup: 2 URLs through every proxy, not reported: the first sweep after the squids
        start ran at a third of the speed of the next (their first thousands of connections)."""
        a = self.args
        extra = ["--proxies", os.path.join(self.tmp, "proxies.txt"), "--per-proxy", str(a.sweep_per_proxy),
                 "--connect-timeout", a.sweep_connect_timeout]
        n_urls = 2 if warmup else a.sweep_urls
        urls = os.path.join(self.tmp, "sweep-warmup.txt" if warmup else "sweep-urls.txt")
        argv = self.urlprobe_argv("direct", a.sweep_concurrency, urls, extra)
        mark = f"{SWEEP_IP}:{blackholed_port}" if blackholed_port else None
        counts = {"lines": 0, "errors": 0, "bh": 0, "bh_bad": {}}
        samples = []  # (elapsed_s, rss_kb, results so far)
        tcp0 = self.tcp()
        t0 = time.monotonic()
        err = open(os.path.join(self.tmp, "sweep.log"), "a")
        proc = subprocess.Popen(self.w.in_c(argv), stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1 << 16)

        def reader():
            for line in proc.stdout:
                counts["lines"] += 1
                ok = '"outcome":"ok"' in line
                if mark and mark in line:
                    counts["bh"] += 1
                    oc = json.loads(line).get("outcome")
                    if oc != "proxy_unreachable":
                        counts["bh_bad"][oc] = counts["bh_bad"].get(oc, 0) + 1
                elif not ok:
                    counts["errors"] += 1
                    if counts["errors"] <= 3:
                        log(f"  sweep: not ok: {line.strip()[:400]}")

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            return self.watch_sweep(proc, t, t0, tcp0, counts, samples, mark, n_urls, warmup)
        except BaseException:
            kill_and_reap(proc)
            raise

    def watch_sweep(self, proc, t, t0, tcp0, counts, samples, mark, n_urls, warmup):
        a = self.args
        peak = 0
        ru = None
        next_sample = 0.0
        while ru is None:
            now = time.monotonic() - t0
            if now >= next_sample:  # once a second; the exit is polled more often, for the wall time
                next_sample += 1.0
                try:
                    rss = proc_status_kb(proc.pid, "VmRSS")
                    peak = max(peak, proc_status_kb(proc.pid, "VmHWM"))
                    samples.append((now, rss, counts["lines"]))
                except (FileNotFoundError, ProcessLookupError):
                    pass
            time.sleep(0.02)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                ru = usage
                proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        t.join()
        self.log_tcp(tcp0, "sweep")
        samples.append((wall, samples[-1][1] if samples else 0, counts["lines"]))
        peak = max(peak, ru.ru_maxrss)
        want = n_urls * (a.sweep_proxies + 1)  # --methods direct is probed as well
        if counts["lines"] != want:
            raise BenchError(f"sweep: {counts['lines']} results, want {want}")
        if mark:
            if counts["bh"] != a.sweep_urls or counts["bh_bad"]:
                raise BenchError(f"sweep: the black-holed proxy {mark} had {counts['bh']} results (want "
                                 f"{a.sweep_urls}), not proxy_unreachable: {counts['bh_bad']}")
        if warmup:
            log(f"  sweep warm-up: {counts['lines']} results in {wall:.1f} s, {counts['errors']} not ok")
            return None
        row = dict(blackholed=1 if mark else 0, wall_s=wall, rss_mb=peak / 1024.0,
                   probes_per_s=counts["lines"] / wall, errors=counts["errors"], samples=samples)
        print(f"wan: sweep proxies={a.sweep_proxies} urls={a.sweep_urls} blackholed={row['blackholed']} "
              f"wall_s={wall:.1f} rss_mb={row['rss_mb']:.1f} probes_per_s={row['probes_per_s']:.0f} "
              f"errors={row['errors']}", flush=True)
        for s in samples:
            log(f"    t={s[0]:6.1f}s rss={s[1] / 1024.0:7.1f} MB results={s[2]}")
        return row


# --- the blackbox driver (runs in C, re-invoked as a subprocess) ---------------------------------
async def drive_blackbox(addr, conc, targets_file):
    host, port = addr.rsplit(":", 1)
    with open(targets_file) as f:
        paths = [ln.strip() for ln in f if ln.strip()]
    todo = iter(paths)
    ok = 0
    failed = 0

    async def worker():
        nonlocal ok, failed
        reader = writer = None
        for path in todo:
            for attempt in range(3):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection(host, int(port))
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n".encode())
                    body = await read_response(reader)
                    break
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    body = b""
            if re.search(rb"^probe_success 1$", body, re.M):
                ok += 1
            else:
                failed += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(min(conc, len(paths)))))
    print(ok, failed)


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    headers = head.decode("latin-1").lower()
    m = re.search(r"\r\ncontent-length: *(\d+)", headers)
    if m:
        return await reader.readexactly(int(m.group(1)))
    if "transfer-encoding: chunked" not in headers:
        raise ValueError("neither length nor chunked")
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return body
        body += chunk[:-2]


# --- plots -------------------------------------------------------------------------------------
COLOURS = {("urlprobe", "direct"): "#1f77b4", ("urlprobe", "squid"): "#6baed6",
           ("curl", "direct"): "#d62728", ("curl", "squid"): "#ff9896",
           ("blackbox", "direct"): "#2ca02c", ("blackbox", "squid"): "#98df8a"}


def svg_text(x, y, s, size=12, anchor="start", extra=""):
    s = s.replace("&", "&amp;").replace("<", "&lt;")
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {extra}>{s}</text>'


def nice_ceil(v):
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above v, for an axis's top."""
    import math
    if v <= 0:
        return 1
    e = 10 ** math.floor(math.log10(v))
    return next(m * e for m in (1, 2, 2.5, 5, 10) if m * e >= v)


def nice_log_ticks(lo, hi):
    ticks = []
    e = 0
    while 10 ** e <= hi * 10:
        for m in (1, 2, 5):
            v = m * 10 ** e
            if lo <= v <= hi:
                ticks.append(v)
        e += 1
    return ticks


def plot_table(rows, path, title):
    """probes/s against C, both axes log; one panel per RTT; dashed lines: the bounds."""
    import math
    rtts = sorted({r["rtt_ms"] for r in rows})
    if not rtts:
        return
    pw, ph, ml, mt, mb = 460, 340, 70, 50, 60
    width, height = ml + len(rtts) * (pw + 40) + 150, mt + ph + mb
    cs = sorted({r["c"] for r in rows})
    values = [r["probes_per_s"] for r in rows] + [r["bound"] for r in rows]
    ylo = 10 ** math.floor(math.log10(max(1.0, min(values))))
    yhi = 10 ** math.ceil(math.log10(max(values)))
    xlo, xhi = min(cs) / 1.3, max(cs) * 1.3
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>', svg_text(ml, 22, title, 15)]
    for p, rtt in enumerate(rtts):
        x0 = ml + p * (pw + 40)

        def X(c):
            return x0 + (math.log10(c) - math.log10(xlo)) / (math.log10(xhi) - math.log10(xlo)) * pw

        def Y(v):
            v = max(v, ylo)
            return mt + ph - (math.log10(v) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo)) * ph

        out.append(f'<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
        out.append(svg_text(x0 + pw / 2, mt - 8, f"RTT {rtt} ms", 13, "middle"))
        for v in nice_log_ticks(ylo, yhi):
            out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#eee"/>')
            out.append(svg_text(x0 - 5, Y(v) + 4, f"{v:g}", 10, "end"))
        for c in cs:
            out.append(svg_text(X(c), mt + ph + 15, f"{c}", 10, "middle"))
        out.append(svg_text(x0 + pw / 2, mt + ph + 35, "C (probes in flight, log)", 11, "middle"))
        if p == 0:
            out.append(svg_text(18, mt + ph / 2, "probes/s (log)", 11, "middle",
                                f'transform="rotate(-90 18 {mt + ph / 2})"'))
        for route, dash in (("direct", "6,4"), ("squid", "2,3")):
            pts = sorted((r["c"], r["bound"]) for r in rows if r["rtt_ms"] == rtt and r["route"] == route)
            pts = list(dict(pts).items())
            if len(pts) == 1:  # one C: a short stroke at its bound
                pts = [(pts[0][0] / 1.2, pts[0][1] / 1.2), (pts[0][0] * 1.2, pts[0][1] * 1.2)]
            if pts:
                d = " ".join(f"{X(c):.1f},{Y(b):.1f}" for c, b in pts)
                out.append(f'<polyline points="{d}" fill="none" stroke="#888" stroke-dasharray="{dash}"/>')
        for (tool, route), colour in COLOURS.items():
            pts = sorted((r["c"], r["probes_per_s"]) for r in rows
                         if r["rtt_ms"] == rtt and r["tool"] == tool and r["route"] == route)
            if not pts:
                continue
            d = " ".join(f"{X(c):.1f},{Y(v):.1f}" for c, v in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
            out += [f'<circle cx="{X(c):.1f}" cy="{Y(v):.1f}" r="3" fill="{colour}"/>' for c, v in pts]
    lx = ml + len(rtts) * (pw + 40)
    for i, ((tool, route), colour) in enumerate(COLOURS.items()):
        y = mt + 10 + i * 18
        out.append(f'<line x1="{lx}" x2="{lx + 20}" y1="{y}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
        out.append(svg_text(lx + 25, y + 4, f"{tool} {route}", 11))
    for i, (route, dash) in enumerate((("direct", "6,4"), ("squid", "2,3"))):
        y = mt + 10 + (len(COLOURS) + i) * 18
        out.append(f'<line x1="{lx}" x2="{lx + 20}" y1="{y}" y2="{y}" stroke="#888" stroke-dasharray="{dash}"/>')
        out.append(svg_text(lx + 25, y + 4, f"bound {route}", 11))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def plot_sweep(runs, path, title):
    """Results per second and RSS over time, one line per sweep run."""
    if not runs:
        return
    pw, ph, ml, mt, mb = 520, 260, 70, 50, 50
    width, height = ml + 2 * (pw + 70) + 40, mt + ph + mb
    series = []
    for run_ in runs:
        s = run_["samples"]
        rate = [(s[i][0], (s[i][2] - s[i - 1][2]) / max(1e-3, s[i][0] - s[i - 1][0])) for i in range(1, len(s))]
        rss = [(t, kb / 1024.0) for t, kb, _ in s if kb]
        series.append((run_["blackholed"], rate, rss))
    tmax = nice_ceil(max(max((t for t, _ in rate), default=1) for _, rate, _ in series))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>', svg_text(ml, 22, title, 15)]
    for p, (label, idx) in enumerate((("results/s", 1), ("RSS (MB)", 2))):
        x0 = ml + p * (pw + 70)
        vmax = nice_ceil(max(max((v for _, v in (s[idx])), default=1) for s in series))
        out.append(f'<rect x="{x0}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
        out.append(svg_text(x0 + pw / 2, mt - 8, label + " over time", 13, "middle"))
        for k in range(6):
            v = vmax * k / 5
            y = mt + ph - ph * k / 5
            out.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
            out.append(svg_text(x0 - 5, y + 4, f"{v:g}", 10, "end"))
            out.append(svg_text(x0 + pw * k / 5, mt + ph + 15, f"{tmax * k / 5:.0f}", 10, "middle"))
        out.append(svg_text(x0 + pw / 2, mt + ph + 35, "seconds", 11, "middle"))
        for bh, rate, rss in series:
            pts = (rate, rss)[idx - 1]
            colour = "#d62728" if bh else "#1f77b4"
            d = " ".join(f"{x0 + pw * t / tmax:.1f},{mt + ph - ph * v / vmax:.1f}" for t, v in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for i, (bh, colour) in enumerate(((0, "#1f77b4"), (1, "#d62728"))):
        out.append(svg_text(ml + i * 260, height - 5, f"{'one proxy black-holed' if bh else 'all proxies up'}",
                            11, "start", f'fill="{colour}"'))
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def machine_line():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} vCPU {model}, Linux {platform.release()}"


def write_markdown(path, argv, rows, memory, sweeps, versions):
    lines = ["# `make wan` results", "", f"Command: `{' '.join(argv)}`", "", f"Machine: {machine_line()}", "",
             f"Versions: {versions}", "",
             "| tool | route | RTT ms | C | N | probes/s | bound | ratio | CPU bound | P / min(bounds) "
             "| CPU µs/probe | RSS MB | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['tool']} | {r['route']} | {r['rtt_ms']} | {r['c']} | {r['n']} | {r['probes_per_s']:.0f} | "
                     f"{r['bound']:.0f} | {r['ratio']:.3f} | {r['cpu_bound']:.0f} | {r['limit_ratio']:.3f} | "
                     f"{r['cpu_us_per_probe']:.0f} | {r['rss_mb']:.1f} | {r['errors']} |")
    if memory:
        lines += ["", "urlprobe's memory per in-flight probe (peak RSS at the largest C minus at the smallest, "
                  "the same N, over the difference in C, direct), beside OpenSSL's own floor (one client "
                  "session that has sent its ClientHello and waits: `urlprobe_tls_session_memory`):", ""]
        lines += [f"- RTT {rtt} ms: {kb:.1f} KB" + (f" (OpenSSL alone: {floor:.1f} KB)" if floor else "")
                  for rtt, kb, floor in memory]
    if sweeps:
        lines += ["", "Many egress points (RTT 50 ms):", "",
                  "| proxies | URLs | black-holed | wall s | peak RSS MB | results/s | errors |",
                  "|---:|---:|---:|---:|---:|---:|---:|"]
        for s in sweeps:
            lines.append(f"| {s['proxies']} | {s['urls']} | {s['blackholed']} | {s['wall_s']:.1f} | "
                         f"{s['rss_mb']:.1f} | {s['probes_per_s']:.0f} | {s['errors']} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def versions():
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True).stdout
        except OSError:
            return ""

    head = out(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]).strip()
    curl = " ".join(out(["curl", "--version"]).split()[:2])
    blackbox = out(["dpkg-query", "-W", "-f=${Version}", "prometheus-blackbox-exporter"])
    squid = (out(["squid", "-v"]).split()[3:4] or ["?"])[0]
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    openssl = " ".join(out(["openssl", "version"]).split()[:2])
    return f"urlprobe {head}, {curl}, blackbox_exporter {blackbox}, squid {squid}, nginx {nginx}, {openssl}"


# --- main --------------------------------------------------------------------------------------
def positive_list(text):
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        values = []
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma list of positive integers")
    return values


def choice_list(choices):
    def parse(text):
        values = text.split(",")
        bad = [v for v in values if v not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"{', '.join(bad)}: not one of {', '.join(choices)}")
        return values
    return parse


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rtt", type=positive_list, default=[50, 200], help="round trips in ms (default 50,200)")
    p.add_argument("--concurrency", type=positive_list, default=[256, 1000, 4000, 10000],
                   help="C values (default 256,1000,4000,10000)")
    p.add_argument("--probes", type=int, default=0, help="N per run (default max(2000, 2 x C))")
    p.add_argument("--quick", action="store_true", help="C = 256 and 1000 only, no sweep")
    p.add_argument("--tools", type=choice_list(("urlprobe", "curl", "blackbox")),
                   default=["urlprobe", "curl", "blackbox"])
    p.add_argument("--routes", type=choice_list(("direct", "squid")), default=["direct", "squid"])
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--sweep-only", action="store_true")
    p.add_argument("--sweep-urls", type=int, default=100)
    p.add_argument("--sweep-proxies", type=int, default=1000)
    p.add_argument("--sweep-per-proxy", type=int, default=8)
    p.add_argument("--sweep-concurrency", type=int, default=4000)
    p.add_argument("--sweep-connect-timeout", default="2s")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--urlprobe", default=os.path.join(ROOT, os.environ.get("BUILD", "build"), "urlprobe"))
    p.add_argument("--emulator", default=os.path.join(ROOT, os.environ.get("BUILD", "build"), "urlprobe_wan_emulator"))
    p.add_argument("--no-emulator", action="store_true", help="debug: a plain veth, no delay (no honesty check)")
    p.add_argument("--smoke", action="store_true", help="the CI point: errors fail, speed never does")
    p.add_argument("--sanitizer", default="", help="(--smoke) the build's -fsanitize=, for a smaller point")
    p.add_argument("--keep", action="store_true", help="keep the temp directory")
    return p.parse_args(argv)


def main(argv):
    if len(argv) == 4 and argv[0] == "--blackbox-driver":
        asyncio.run(drive_blackbox(argv[1], int(argv[2]), argv[3]))
        return 0
    args = parse_args(argv)
    skip = 77 if args.smoke else 1
    if os.geteuid() != 0:
        log("wan: needs root (network namespaces)")
        return skip
    if not args.no_emulator and not os.path.exists("/dev/net/tun"):
        log("wan: no /dev/net/tun")
        return skip
    needed = ["ip", "ss", "openssl", "nginx", "squid"]
    if not args.smoke:
        needed += ["curl", "prometheus-blackbox-exporter"]
    for tool in needed:
        if not shutil.which(tool):
            log(f"wan: {tool} not found (scripts/install-deps bench)")
            return skip
    for path in [args.urlprobe] + ([] if args.no_emulator else [args.emulator]):
        if not os.access(path, os.X_OK):
            log(f"wan: {path} not found (make wan builds it)")
            return 1 if args.smoke else 2

    if args.smoke:
        small = bool(args.sanitizer)
        rtts, concs = [50], [256 if small else 1000]
        n_fixed = 1000 if small else 3000
        tools, routes = ["urlprobe"], ["direct", "squid"]
        do_sweep = False
    else:
        rtts = args.rtt
        concs = [256, 1000] if args.quick else args.concurrency
        n_fixed = args.probes
        tools, routes = args.tools, args.routes
        do_sweep = not (args.no_sweep or args.quick)
        if args.sweep_only:
            rtts, concs = [], []

    # Thousands of sockets per tool, and two per proxied probe in squid; inherited by every child.
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1048576, 1048576))
    except (ValueError, OSError):  # no CAP_SYS_RESOURCE (a container): the hard limit it has
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    log(f"wan: RLIMIT_NOFILE {resource.getrlimit(resource.RLIMIT_NOFILE)} for every daemon and tool; "
        "ip_local_port_range 1024-65535 in the client namespace; names pinned, no DNS")

    tmp = tempfile.mkdtemp(prefix="urlprobe-wan.")
    os.chmod(tmp, 0o755)
    world = World(args, tmp)
    interrupted = []

    def on_signal(signum, _frame):
        interrupted.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started with SIGINT ignored (a background job)
    rows, memory, sweeps = [], [], []
    try:
        world.make_namespaces()
        make_pki(os.path.join(tmp, "pki"))
        pki = os.path.join(tmp, "pki")
        tls_log = start_nginx(world, pki)
        with open(os.path.join(tmp, "squid-hosts"), "w") as f:
            f.writelines(f"{ORIGIN} svc{k}.probe.test\n" for k in range(1, NAMES + 1))
        main_squid = start_squid(world, "main", SQUID_IP, [SQUID_PORT], workers=2)
        wait_listening(world, world.s, SQUID_IP, SQUID_PORT, main_squid, "squid", f"{tmp}/squid-main.log")
        bench = Bench(args, world, pki, tls_log, world.procs[0][1], main_squid)
        log(f"wan: urlprobe {'with' if bench.source_addresses else 'without'} --source-address; state in {tmp}")
        for rtt in rtts:
            world.link(rtt)
            if not args.no_emulator:
                bench.honesty(rtt, lower_only=args.smoke)
            peaks = {}
            for conc in concs:
                n = n_fixed or max(2000, 2 * conc)
                for route in routes:
                    for tool in tools:
                        row = bench.one(tool, route, rtt, conc, n)
                        rows.append(row)
                        if tool == "urlprobe" and route == "direct":
                            peaks[conc] = (row["rss_mb"] * 1024, n)
            if len(peaks) >= 2:
                lo, hi = min(peaks), max(peaks)
                if peaks[lo][1] != peaks[hi][1]:
                    # The same N at both ends, or the larger run's longer URL list and its
                    # results would be counted as memory per probe in flight.
                    _, _, rss_lo, _ = bench.run_urlprobe("direct", lo, peaks[hi][1])
                    peaks[lo] = (rss_lo, peaks[hi][1])
                kb = (peaks[hi][0] - peaks[lo][0]) / (hi - lo)
                floor = tls_session_floor_kb(args)
                memory.append((rtt, kb, floor))
                print(f"wan: memory rtt_ms={rtt} kb_per_inflight={kb:.1f} n={peaks[hi][1]}"
                      + (f" openssl_floor_kb={floor:.1f}" if floor else ""), flush=True)
        if do_sweep:
            ports = bench.start_sweep_squids()
            holed = ports[len(ports) // 2]
            world.link(50)
            bench.sweep(None, warmup=True)
            for blackholed in (False, True):
                world.link(50, [f"{SWEEP_IP}:{holed}"] if blackholed else [])
                s = bench.sweep(holed if blackholed else None)
                s.update(proxies=args.sweep_proxies, urls=args.sweep_urls)
                sweeps.append(s)
            print(f"wan: sweep fairness wall_ratio={sweeps[1]['wall_s'] / sweeps[0]['wall_s']:.2f} "
                  "(black-holed / all up)", flush=True)
        world.unlink()
    except BenchError as e:
        log(f"wan: {e}")
        return 1
    except KeyboardInterrupt:
        log("wan: interrupted")
        return 130
    finally:
        world.close()
        if args.keep:
            log(f"wan: state kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    # urlprobe's errors fail the run; a peer's are data (blackbox_exporter runs out of
    # descriptors at C = 10k here) and stay in the table.
    errors = sum(r["errors"] for r in rows if r["tool"] == "urlprobe") + sum(s["errors"] for s in sweeps)
    peer_errors = sum(r["errors"] for r in rows if r["tool"] != "urlprobe")
    if not args.smoke and (rows or sweeps):
        os.makedirs(args.out, exist_ok=True)
        cmd = ["make", "wan"] + ([f"ARGS='{' '.join(argv)}'"] if argv else [])
        write_markdown(os.path.join(args.out, "wan.md"), cmd, rows, memory, sweeps, versions())
        plot_table(rows, os.path.join(args.out, "wan.svg"), "probes/s against probes in flight, with the bound")
        plot_sweep(sweeps, os.path.join(args.out, "wan-sweep.svg"),
                   f"{args.sweep_urls} URLs x {args.sweep_proxies} proxies, RTT 50 ms")
        log(f"wan: wrote {args.out}/wan.md, wan.svg" + (", wan-sweep.svg" if sweeps else ""))
    if peer_errors:
        log(f"wan: {peer_errors} errors of the peers (in the table; they do not fail the run)")
    if errors:
        log(f"wan: {errors} errors of urlprobe")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
