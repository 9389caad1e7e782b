#!/usr/bin/python3
"""What `urlprobe serve` costs beyond the sweeps it runs: CPU and RSS per sweep against one-shot
runs of the same sweep.

    bench/serve_overhead.py [--urlprobe PATH] [--urls N,N] [--repeat K] [--every SECONDS] [--scrapes M]
    (root; make bench-serve ARGS='...'; results in bench/README.md, "The exporter's own overhead")

For each sheet size N (400 and 4000 URLs, half https, half http), one set of probe options,
measured two ways in the same invocation:
  oneshot   `urlprobe SHEET OPTIONS --format jsonl --progress never >/dev/null`, K runs after a
            warm-up run; per run the child's CPU (user + sys) and peak RSS from wait4's rusage,
            and the wall time. Exit 0 is required: every probe ok.
  exporter  `urlprobe serve SHEET OPTIONS --listen 127.0.0.1:9815 --every DUR`, one process;
            sweep 1 is the warm-up, sweeps 2..K+1 are measured. Per sweep: the CPU the process
            used from the end of the previous sweep to the end of this one (/proc/PID/stat
            utime + stime, sampled when the exporter logs "sweep N done"; the idle time between
            is part of it, and measured apart), VmRSS right after it; VmHWM at the end (the peak,
            what ru_maxrss is for a one-shot run). Between sweeps: the CPU of the idle exporter,
            and that of M scrapes of /metrics on one keep-alive connection (per scrape), both
            from the threads' schedstat (ns; stat counts 10 ms ticks). Every sweep must log
            0 failed of N probes. DUR defaults to 1.5 x the one-shot wall time + 1.5 s (at least
            2 s), so that sweeps are never late and leave an idle window between them.
The sweep ends are taken from the exporter's log, not by polling /metrics, because every poll
would be a scrape whose CPU lands in the figure being measured; /metrics is read at the end to
check urlprobe_sweeps_total against the log.

The origin is nginx (plain HTTP, and TLS 1.3 with a leaf for *.bench.test signed by a CA made
here with openssl; the CA is passed with --ca-file and --public-roots, so verification stays on
and the chain counts as public), 16 names pinned with --resolve, route direct only. Everything
runs in a network namespace of its own (unshare --net), where 127.0.0.1 is this script's alone.

Prints one line per mode and the ratios exporter / oneshot (CPU: medians over the K repetitions;
RSS: the exporter's peak against the median one-shot peak). No pass/fail on speed: exit 1 only
on errors (a probe not ok, a failed or missing sweep, a process that died), 2 on bad usage.
"""
import argparse
import http.client
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HANG_S = 120  # guard for waits that should take seconds; nothing is judged on time
TLS_PORT, HTTP_PORT, SERVE_PORT = 8443, 8080, 9815
HOSTS = 16
TICK = os.sysconf("SC_CLK_TCK")
PAGE_KB = resource.getpagesize() // 1024


class BenchError(Exception):
    pass


def in_own_netns():
    if os.environ.get("URLPROBE_BENCH_SERVE_NETNS") == "1":
        return
    if os.geteuid() != 0 or not shutil.which("unshare"):
        sys.exit("serve_overhead: needs root and unshare (its traffic stays in a namespace of its own)")
    env = dict(os.environ, URLPROBE_BENCH_SERVE_NETNS="1")
    sys.exit(subprocess.run(["unshare", "--net", "--", sys.executable, *sys.argv], env=env).returncode)


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise BenchError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r.stdout


def make_pki(d):
    def key(name):
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", f"{d}/{name}.key"])
    key("ca")
    key("leaf")
    run(["openssl", "req", "-x509", "-new", "-key", f"{d}/ca.key", "-subj", "/CN=urlprobe bench-serve CA",
         "-days", "2", "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", f"{d}/ca.pem"])
    with open(f"{d}/leaf.ext", "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:*.bench.test\n")
    run(["openssl", "req", "-new", "-key", f"{d}/leaf.key", "-subj", "/CN=svc.bench.test",
         "-out", f"{d}/leaf.csr"])
    run(["openssl", "x509", "-req", "-in", f"{d}/leaf.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
         "-set_serial", "2", "-days", "2", "-extfile", f"{d}/leaf.ext", "-out", f"{d}/leaf.pem"])
    run(["openssl", "verify", "-CAfile", f"{d}/ca.pem", f"{d}/leaf.pem"])
    for name in os.listdir(d):
        os.chmod(os.path.join(d, name), 0o644)


def start_nginx(d, pki):
    for sub in ("logs", "tmp"):
        os.makedirs(f"{d}/{sub}", exist_ok=True)
    conf = f"""worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  client_body_temp_path {d}/tmp/body;
  proxy_temp_path {d}/tmp/proxy;
  fastcgi_temp_path {d}/tmp/fastcgi;
  uwsgi_temp_path {d}/tmp/uwsgi;
  scgi_temp_path {d}/tmp/scgi;
  access_log off;
  server {{
    listen 127.0.0.1:{TLS_PORT} ssl backlog=4096;
    ssl_certificate {pki}/leaf.pem;
    ssl_certificate_key {pki}/leaf.key;
    ssl_protocols TLSv1.3;
    location / {{ return 200 "ok\\n"; }}
  }}
  server {{
    listen 127.0.0.1:{HTTP_PORT} backlog=4096;
    location / {{ return 200 "ok\\n"; }}
  }}
}}
"""
    with open(f"{d}/nginx.conf", "w") as f:
        f.write(conf)
    err = open(f"{d}/logs/stderr.log", "w")
    proc = subprocess.Popen(["nginx", "-p", d, "-c", f"{d}/nginx.conf", "-e", "stderr", "-g", "daemon off;"],
                            stdout=err, stderr=err)
    for port in (TLS_PORT, HTTP_PORT):
        wait_for(f"nginx on 127.0.0.1:{port}", lambda p=port: connects(p), proc)
    return proc


def connects(port):
    try:
        http.client.HTTPConnection("127.0.0.1", port, timeout=1).connect()
        return True
    except OSError:
        return False


def wait_for(what, fn, proc):
    end = time.monotonic() + HANG_S
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError(f"waiting for {what}: the process exited with status {proc.returncode}")
        if fn():
            return
        time.sleep(0.05)
    raise BenchError(f"{what}: not within {HANG_S}s")


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def proc_cpu_ms(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / TICK  # utime, stime (fields 14, 15)


def threads_cpu_ms(pid):
    """CPU of the process's live threads, from schedstat: nanoseconds, where stat counts 10 ms
    ticks. Only for windows in which no thread ends (between sweeps), since an ended thread's
    time leaves the sum."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return total / 1e6


def proc_mem_kb(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0])
    return out


def oneshot(urlprobe, sheet, options, n):
    """One run: (cpu_ms, maxrss_kb, wall_ms)."""
    argv = [urlprobe, sheet, *options, "--format", "jsonl", "--progress", "never"]
    t0 = time.monotonic()
    with open(os.devnull, "w") as null, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=null, stderr=err)
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = (time.monotonic() - t0) * 1000
        if proc.returncode != 0:
            err.seek(0)
            raise BenchError(f"one-shot run of {n} probes: exit {proc.returncode} (1: a probe was not ok): "
                             f"{err.read().decode(errors='replace')[-2000:]}")
    return (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_maxrss, wall


class Exporter:
    """urlprobe serve, with its log read on a thread that samples /proc at each sweep end."""

    DONE = re.compile(r"sweep (\d+) done: (\d+) probes in ([0-9.]+)s, (\d+) failed")

    def __init__(self, urlprobe, sheet, options, every, logpath):
        self.log = open(logpath, "w")
        self.proc = subprocess.Popen(
            [urlprobe, "serve", sheet, *options, "--listen", f"127.0.0.1:{SERVE_PORT}", "--every", every],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.sweeps = []  # (number, probes, seconds, failed, monotonic, cpu_ms, mem)
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            m = self.DONE.search(line)
            if m:
                # Sampled first: the exporter is idle now, so a late sample moves little.
                try:
                    cpu, mem = proc_cpu_ms(self.proc.pid), proc_mem_kb(self.proc.pid)
                except OSError:
                    cpu, mem = None, None
                with self.cond:
                    self.sweeps.append((int(m[1]), int(m[2]), float(m[3]), int(m[4]), time.monotonic(), cpu, mem))
                    self.cond.notify_all()
            self.log.write(line)
            self.log.flush()
        with self.cond:
            self.cond.notify_all()

    def wait_sweep(self, number):
        end = time.monotonic() + HANG_S
        with self.cond:
            while len(self.sweeps) < number:
                if self.proc.poll() is not None:
                    raise BenchError(f"the exporter exited with status {self.proc.returncode} before sweep {number}")
                left = end - time.monotonic()
                if left <= 0:
                    raise BenchError(f"sweep {number} did not end within {HANG_S}s")
                self.cond.wait(min(left, 0.5))
            return self.sweeps[number - 1]

    def stop(self):
        stop(self.proc)
        self.reader.join(timeout=10)
        self.log.close()


def scrape(conn):
    conn.request("GET", "/metrics")
    r = conn.getresponse()
    body = r.read()
    if r.status != 200:
        raise BenchError(f"/metrics answered {r.status}")
    return body


def metric_value(body, name):
    m = re.search(rb"^" + re.escape(name.encode()) + rb"(?:\{[^}]*\})? (\S+)$", body, re.M)
    if not m:
        raise BenchError(f"/metrics has no {name}")
    return float(m[1])


def measure_exporter(urlprobe, sheet, options, n, repeat, every_s, scrapes, tmp):
    ex = Exporter(urlprobe, sheet, options, f"{every_s}s", f"{tmp}/serve.log")
    try:
        wait_for(f"the exporter on 127.0.0.1:{SERVE_PORT}", lambda: connects(SERVE_PORT), ex.proc)
        rows = []
        for k in range(1, repeat + 2):
            row = ex.wait_sweep(k)
            if row[0] != k or row[1] != n or row[3] != 0 or row[5] is None:
                raise BenchError(f"sweep {row[0]}: {row[1]} probes, {row[3]} failed (want sweep {k}, {n} probes, "
                                 "0 failed); the exporter's log is above")
            rows.append(row)
        measured = rows[1:]
        cpu = [b[5] - a[5] for a, b in zip(rows, rows[1:])]
        sweep_s = [r[2] for r in measured]
        rss = [r[6]["VmRSS"] for r in measured]

        # Idle and scrapes, between sweeps: from just after a sweep's end to a margin before the
        # next start (the next start is the end minus the sweep's own duration plus --every; the
        # log rounds that duration to 0.1 s, hence the margins).
        idle_ms = idle_s = 0.0
        scrape_ms, scraped = 0.0, 0
        conn = http.client.HTTPConnection("127.0.0.1", SERVE_PORT, timeout=10)
        last = rows[-1]
        windows = 0
        while (idle_s < 2.0 or scraped < scrapes) and windows < 12:
            windows += 1
            number, _, secs, _, ended, _, _ = last
            begin, until = ended + 0.1, ended - secs + every_s - 0.3
            if until - begin < 0.3:
                raise BenchError(f"no idle time between sweeps (a sweep takes {secs}s, --every {every_s}s): "
                                 "raise --every")
            time.sleep(max(0.0, begin - time.monotonic()))
            c0, t0 = threads_cpu_ms(ex.proc.pid), time.monotonic()
            if idle_s < 2.0:
                time.sleep(max(0.0, begin + (until - begin) / 2 - t0))
            c1, t1 = threads_cpu_ms(ex.proc.pid), time.monotonic()
            done = 0
            while done < scrapes - scraped and time.monotonic() < until:
                scrape(conn)
                done += 1
            c2, t2 = threads_cpu_ms(ex.proc.pid), time.monotonic()
            last = ex.wait_sweep(number + 1)
            if last[1] != n or last[3] != 0:
                raise BenchError(f"sweep {last[0]}: {last[1]} probes, {last[3]} failed")
            # The next sweep's start is its end less its duration, which the log rounds to 0.1 s:
            # a window that may have overlapped it is not counted.
            if last[4] - last[2] - 0.1 > t2:
                idle_ms += c1 - c0
                idle_s += t1 - t0
                scrape_ms += c2 - c1
                scraped += done
        if scraped < scrapes:
            raise BenchError(f"only {scraped} of {scrapes} scrapes fitted between sweeps: raise --every")
        body = scrape(conn)
        # What the snapshot holds besides /metrics' sweep part, for the README's explanation.
        pages = 0
        for path in ("/results.jsonl", "/report.html", "/readiness"):
            conn.request("GET", path)
            r = conn.getresponse()
            pages += len(r.read())
            if r.status != 200:
                raise BenchError(f"{path} answered {r.status}")
        conn.close()
        total = metric_value(body, "urlprobe_sweeps_total")
        with ex.cond:
            logged = len(ex.sweeps)
        if total < last[0] or total > logged:
            raise BenchError(f"/metrics says urlprobe_sweeps_total {total}, the log {logged} sweeps")
        late = metric_value(body, "urlprobe_sweeps_late_total")
        hwm = proc_mem_kb(ex.proc.pid)["VmHWM"]
        pid = ex.proc.pid
        ex.stop()
        if ex.proc.returncode != 0:
            raise BenchError(f"the exporter's SIGTERM exit status was {ex.proc.returncode}, want 0")
        return {
            "cpu": cpu, "sweep_s": sweep_s, "rss": rss, "hwm": hwm, "growth": rss[-1] - rss[0],
            "idle_ms_per_s": idle_ms / idle_s if idle_s else 0.0,
            "us_per_scrape": scrape_ms * 1000 / scraped if scraped else 0.0, "scrape_kb": len(body) / 1024,
            "pages_kb": pages / 1024,
            "late": late, "pid": pid,
        }
    except BaseException:
        ex.stop()
        try:
            sys.stderr.write("".join(open(f"{tmp}/serve.log").readlines()[-30:]))
        except OSError:
            pass
        raise


def measure_size(urlprobe, sheet, options, n, args, tmp):
    oneshot(urlprobe, sheet, options, n)  # warm-up: page cache, nginx
    runs = [oneshot(urlprobe, sheet, options, n) for _ in range(args.repeat)]
    one_cpu = statistics.median(r[0] for r in runs)
    one_rss = statistics.median(r[1] for r in runs)
    one_wall = statistics.median(r[2] for r in runs)
    every = args.every or max(2.0, round(one_wall / 1000 * 1.5 + 1.5, 1))
    print(f"serve: mode=oneshot n={n} runs={args.repeat} cpu_ms_per_sweep={one_cpu:.0f} "
          f"(range {min(r[0] for r in runs):.0f}-{max(r[0] for r in runs):.0f}) "
          f"rss_mb={one_rss / 1024:.1f} wall_ms={one_wall:.0f}", flush=True)

    ex = measure_exporter(urlprobe, sheet, options, n, args.repeat, every, args.scrapes, tmp)
    ex_cpu = statistics.median(ex["cpu"])
    print(f"serve: mode=exporter n={n} sweeps={args.repeat} every_s={every:g} cpu_ms_per_sweep={ex_cpu:.0f} "
          f"(range {min(ex['cpu']):.0f}-{max(ex['cpu']):.0f}) "
          f"rss_mb={ex['hwm'] / 1024:.1f} rss_between_sweeps_mb={statistics.median(ex['rss']) / 1024:.1f} "
          f"rss_growth_kb={ex['growth']} sweep_ms={statistics.median(ex['sweep_s']) * 1000:.0f} "
          f"idle_cpu_ms_per_s={ex['idle_ms_per_s']:.3f} cpu_us_per_scrape={ex['us_per_scrape']:.0f} "
          f"scrape_kb={ex['scrape_kb']:.0f} other_pages_kb={ex['pages_kb']:.0f} late={ex['late']:.0f}")
    print(f"serve: n={n} ratio_cpu={ex_cpu / one_cpu:.2f} ratio_rss={ex['hwm'] / one_rss:.2f} "
          f"(exporter / oneshot; CPU medians, RSS peak against median peak; CPU in {1000 // TICK} ms ticks; "
          f"load average {os.getloadavg()[0]:.1f})", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--urlprobe", default=os.path.join(here, "..", os.environ.get("BUILD", "build"), "urlprobe"))
    ap.add_argument("--urls", default="400,4000",
                    help="sheet sizes, comma-separated: URLs, half https, half http (400,4000)")
    ap.add_argument("--repeat", type=int, default=5, help="measured one-shot runs and exporter sweeps (5)")
    ap.add_argument("--every", type=float, default=0,
                    help="the exporter's --every, seconds (default: 1.5 x the one-shot wall time + 1.5 s, "
                         "at least 2: room for the idle and scrape windows between sweeps)")
    ap.add_argument("--scrapes", type=int, default=200, help="scrapes of /metrics to time (200)")
    args = ap.parse_args()
    try:
        sizes = [int(x) for x in args.urls.split(",")]
    except ValueError:
        ap.error("--urls: numbers, comma-separated")
    if min(sizes) < 2 or args.repeat < 1 or args.every < 0 or args.scrapes < 1:
        ap.error("--urls >= 2, --repeat >= 1, --every > 0, --scrapes >= 1")
    urlprobe = os.path.abspath(args.urlprobe)
    if not os.access(urlprobe, os.X_OK):
        sys.exit(f"serve_overhead: {urlprobe} not found (make bench-bin)")
    for tool in ("nginx", "openssl", "ip"):
        if not shutil.which(tool):
            sys.exit(f"serve_overhead: {tool} not found (scripts/install-deps bench)")
    in_own_netns()
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # Nothing may route around the namespace's loopback through a proxy from the environment.
    for k in list(os.environ):
        if k.lower().endswith("_proxy"):
            del os.environ[k]

    tmp = tempfile.mkdtemp(prefix="urlprobe-bench-serve.")
    os.chmod(tmp, 0o755)
    nginx = None
    try:
        os.makedirs(f"{tmp}/pki")
        make_pki(f"{tmp}/pki")
        nginx = start_nginx(f"{tmp}/nginx", f"{tmp}/pki")
        options = ["--methods", "direct", "--ca-file", f"{tmp}/pki/ca.pem", "--public-roots", f"{tmp}/pki/ca.pem"]
        for h in range(1, HOSTS + 1):
            for port in (TLS_PORT, HTTP_PORT):
                options += ["--resolve", f"svc{h}.bench.test:{port}:127.0.0.1"]
        for n in sizes:
            sheet = f"{tmp}/urls-{n}.txt"
            with open(sheet, "w") as f:
                for i in range(n):
                    host = f"svc{i % HOSTS + 1}.bench.test"
                    f.write(f"https://{host}:{TLS_PORT}/p{i}\n" if i % 2 == 0 else f"http://{host}:{HTTP_PORT}/p{i}\n")
            measure_size(urlprobe, sheet, options, n, args, tmp)
        return 0
    except BenchError as e:
        print(f"serve_overhead: FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        stop(nginx)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
