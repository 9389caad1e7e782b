#!/usr/bin/python3
"""ctest serve.cli_<case>: the real `urlprobe serve` binary, each case in a network namespace of
its own (unshare --net: 127.0.0.1 there is the case's alone), against an HTTP origin this script
runs on 127.0.0.1 there.

  promtool          /metrics after the first sweep passes `promtool check metrics`
  reload            SIGHUP with the sheet made bad: the log names file:line, the old sheet stays;
                    then a good new sheet: its URL is swept
  sigterm_inflight  SIGTERM with a /probe that never ends in flight: exit 0, and the client got
                    a 503 saying the probe was cut (no verdict)
  bad_start         --listen nonsense and an unreadable sheet: exit 2 naming the option / file
  soak              many short sweeps while a client scrapes /metrics and /probe: VmRSS growth
                    between sweep 10 and sweep 40 stays bounded (a leak check, not a timing one)

Usage: serve_cases.py URLPROBE WORK_DIR CASE | --list.  Exit 0 pass, 1 fail, 77 no namespace.
"""
import http.server
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

CASES = ["promtool", "reload", "sigterm_inflight", "bad_start", "soak"]
WAIT_S = 60  # a hang guard, never a timing assertion


class Fail(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Fail(message)


def in_own_netns():
    if os.environ.get("URLPROBE_SERVE_CASES_NETNS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    if not shutil.which("unshare") or not shutil.which("ip") or os.geteuid() != 0:
        print("serve_cases: skipped: needs root, unshare and ip for a network namespace")
        sys.exit(77)
    env = dict(os.environ, URLPROBE_SERVE_CASES_NETNS="1")
    sys.exit(subprocess.run(["unshare", "--net", "--", sys.executable, *sys.argv],
                            env=env).returncode)


def poll(what, fn, limit=WAIT_S):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise Fail(f"{what}: not within the {limit}s hang guard")


class Origin:
    """200 at once; paths under /slow only once release() is called."""

    def __init__(self):
        self.released = threading.Event()
        self.slow_waiting = threading.Semaphore(0)
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/slow"):
                    origin.slow_waiting.release()
                    origin.released.wait(WAIT_S)
                body = b"ok\n"
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the prober gave up on /slow (it was stopped): nothing to report

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            # A sweep opens a connection per URL at once; socketserver's backlog of 5 would drop
            # the SYNs past it, and those probes would wait out retransmits or their timeout.
            request_queue_size = 256

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


class Serve:
    """`urlprobe serve ARGS --listen 127.0.0.1:0`; its log (stdout and stderr) in a file."""

    def __init__(self, binary, work, args):
        self.log_path = os.path.join(work, "serve.log")
        self.log_file = open(self.log_path, "w")
        self.proc = subprocess.Popen([binary, "serve", *args, "--listen", "127.0.0.1:0"],
                                     stdout=self.log_file, stderr=subprocess.STDOUT, cwd=work)
        found = poll("the exporter logs where it listens",
                     lambda: self.proc.poll() is not None or
                     re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log()))
        check(found is not True, f"serve exited at start:\n{self.log()}")
        self.port = int(found.group(1))

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def get(self, path, timeout=WAIT_S):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}",
                                        timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def sweeps(self):
        m = re.search(r"^urlprobe_sweeps_total (\d+)", self.get("/metrics")[1], re.M)
        return int(m.group(1)) if m else -1

    def wait_sweeps(self, n, limit=WAIT_S):
        return poll(f"urlprobe_sweeps_total reaches {n}", lambda: self.sweeps() >= n, limit)

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


def metric_urls(page):
    return set(re.findall(r'^urlprobe_probe_success\{url="([^"]*)"', page, re.M))


def write(path, text):
    # Written whole and renamed in place, as an editor or a ConfigMap update does: a SIGHUP must
    # never meet a half-written file.
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


COMMON = ["--methods", "direct", "--timeout", "5s"]


def case_promtool(binary, work, origin):
    sheet = os.path.join(work, "sheet.csv")
    # One URL answers, one port refuses: both outcomes' series are in the exposition.
    write(sheet, f"URL,Required/Optional\n{origin.url('/ok')},Required\n"
                 f"http://127.0.0.1:1/refused,Optional\n")
    s = Serve(binary, work, [sheet, *COMMON, "--every", "1h"])
    try:
        poll("/-/ready answers 200", lambda: s.get("/-/ready")[0] == 200)
        status, page = s.get("/metrics")
    finally:
        s.close()
    check(status == 200, f"/metrics answered {status}")
    check(origin.url("/ok") in metric_urls(page), f"no series for the sheet's URL:\n{page}")
    run = subprocess.run(["promtool", "check", "metrics"], input=page, capture_output=True,
                         text=True)
    print(f"promtool check metrics: exit {run.returncode}\n{run.stdout}{run.stderr}")
    check(run.returncode == 0, "promtool check metrics refused the exposition:\n"
          f"{run.stdout}{run.stderr}")


def case_reload(binary, work, origin):
    sheet = os.path.join(work, "sheet.csv")
    old, new = origin.url("/old"), origin.url("/new")
    write(sheet, f"URL\n{old}\n")
    s = Serve(binary, work, [sheet, *COMMON, "--every", "300ms"])
    try:
        s.wait_sweeps(1)
        check(old in metric_urls(s.get("/metrics")[1]), "the first sheet's URL is not swept")
        # Its only row has a quote that never closes: nothing in it can be read.
        write(sheet, f'URL\n"{new},\n')
        s.proc.send_signal(signal.SIGHUP)
        poll("the log reports the failed reload", lambda: "reload failed" in s.log())
        check(re.search(r"sheet\.csv:2:\d+", s.log()),
              f"the log does not name sheet.csv and line 2:\n{s.log()}")
        after = s.sweeps()
        s.wait_sweeps(after + 2)
        urls = metric_urls(s.get("/metrics")[1])
        check(urls == {old}, f"after a bad reload the sweep has {urls}, expected the old {old}")
        check(s.get("/metrics")[1].count("urlprobe_config_last_reload_successful 0") == 1,
              "urlprobe_config_last_reload_successful is not 0 after a failed reload")

        write(sheet, f"URL\n{new}\n")
        s.proc.send_signal(signal.SIGHUP)
        poll("the new sheet's URL is swept and the old one gone",
             lambda: metric_urls(s.get("/metrics")[1]) == {new})
        check(s.get("/probe?target=" + urllib.request.quote(new, safe=""))[0] == 200,
              "/probe of the new sheet's URL is not allowed")
        check(s.proc.poll() is None, "serve exited")
    finally:
        s.close()
    check(s.proc.returncode == 0, f"serve exited {s.proc.returncode} on SIGTERM")


def case_sigterm_inflight(binary, work, origin):
    s = Serve(binary, work, [origin.url("/ok"), *COMMON, "--every", "1h"])
    answer = {}

    def client():
        answer["reply"] = s.get("/probe?target=" +
                                urllib.request.quote(origin.url("/slow"), safe=""))

    t = threading.Thread(target=client, daemon=True)
    try:
        s.wait_sweeps(1)
        t.start()
        check(origin.slow_waiting.acquire(timeout=WAIT_S), "the slow /probe never reached the origin")
        s.proc.send_signal(signal.SIGTERM)
        try:
            rc = s.proc.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            raise Fail("serve did not exit after SIGTERM within the hang guard")
        t.join(WAIT_S)
    finally:
        s.close()
    check(rc == 0, f"serve exited {rc} on SIGTERM")
    check("reply" in answer, "the in-flight /probe client got no answer")
    status, body = answer["reply"]
    # The origin never answers, so the exporter cuts the probe: a 503 that says so, not a
    # probe_success 0 "timeout" that would blame the target for the exporter's exit.
    check(status == 503 and "no verdict" in body and "probe_success" not in body,
          f"the in-flight /probe got {status}:\n{body}")
    check("stopped" in s.log(), f"no 'stopped' in the log:\n{s.log()}")


def case_bad_start(binary, work, origin):
    runs = {
        "--listen": ([binary, "serve", origin.url("/ok"), *COMMON, "--listen", "nonsense"],
                     "nonsense"),
        "sheet": ([binary, "serve", os.path.join(work, "missing.csv"), *COMMON,
                   "--listen", "127.0.0.1:0"], "missing.csv"),
        "unreadable": ([binary, "serve", os.path.join(work, "dir.csv"), *COMMON,
                        "--listen", "127.0.0.1:0"], "dir.csv"),
    }
    os.mkdir(os.path.join(work, "dir.csv"))
    for what, (argv, named) in runs.items():
        try:
            run = subprocess.run(argv, capture_output=True, text=True, timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            raise Fail(f"{what}: serve kept running with a bad start")
        print(f"{what}: exit {run.returncode}: {run.stderr.strip()}")
        check(run.returncode == 2, f"{what}: exit {run.returncode}, expected 2:\n{run.stderr}")
        check(named in run.stderr, f"{what}: the message does not name {named!r}:\n{run.stderr}")
        if what == "--listen":
            check("--listen" in run.stderr, f"the message does not name --listen:\n{run.stderr}")


# The soak's bound on VmRSS growth from sweep 10 to sweep 40. Each sweep of SOAK_URLS URLs makes
# a fresh snapshot (its /metrics, JSONL, HTML and readiness texts: some 300 KiB for 200 URLs) and
# drops the old one. Leaking only that snapshot was measured at +4.9 MiB over thirty sweeps of
# 100 URLs (a planted `new shared_ptr(snapshot)`), so with 200 URLs such a leak passes the bound
# twice over; the real exporter grew 60-80 KiB (malloc's arenas settling, glibc keeping freed
# pages), far under it.
SOAK_FROM, SOAK_TO, SOAK_BOUND_KIB, SOAK_URLS = 10, 40, 4096, 200


def case_soak(binary, work, origin):
    sheet = os.path.join(work, "sheet.txt")
    write(sheet, "".join(origin.url(f"/item/{i}") + "\n" for i in range(SOAK_URLS)))
    # parse_duration takes any duration > 0; half a second lets a sweep of this sheet against
    # Python's origin end before the next is due (a late one is skipped, which only slows the
    # soak).
    s = Serve(binary, work, [sheet, *COMMON, "--every", "500ms"])
    stop = threading.Event()
    errors = []

    def scraper():
        target = urllib.request.quote(origin.url("/item/0"), safe="")
        while not stop.is_set():
            for path in ("/metrics", f"/probe?target={target}", "/results.jsonl"):
                try:
                    status, _ = s.get(path, timeout=10)
                    if status != 200:
                        errors.append(f"{path}: {status}")
                except OSError as e:
                    errors.append(f"{path}: {e}")
            # Pacing, not synchronisation: a scraper spinning without a pause holds this
            # script's GIL, and the origin the sweeps probe (in this process) starves.
            stop.wait(0.1)

    t = threading.Thread(target=scraper, daemon=True)
    try:
        s.wait_sweeps(1)
        t.start()
        s.wait_sweeps(SOAK_FROM, limit=120)
        rss_from = s.rss_kib()
        s.wait_sweeps(SOAK_TO, limit=300)
        rss_to = s.rss_kib()
        stop.set()
        t.join(WAIT_S)
    finally:
        stop.set()
        s.close()
    growth = rss_to - rss_from
    print(f"VmRSS after sweep {SOAK_FROM}: {rss_from} KiB, after sweep {SOAK_TO}: {rss_to} KiB "
          f"({growth:+d} KiB)")
    check(not errors, f"the scraper got errors: {errors[:5]}")
    check(s.proc.returncode == 0, f"serve exited {s.proc.returncode} on SIGTERM")
    # A sanitizer's allocator holds freed memory back on purpose (ASan's quarantine is 256 MiB),
    # so RSS there says nothing about urlprobe; the sweeps still ran under its checks.
    if os.environ.get("URLPROBE_SANITIZER"):
        print(f"RSS bound not judged: built with -fsanitize={os.environ['URLPROBE_SANITIZER']}")
        return
    check(growth < SOAK_BOUND_KIB, f"VmRSS grew {growth} KiB in {SOAK_TO - SOAK_FROM} sweeps "
          f"(bound {SOAK_BOUND_KIB} KiB): per-sweep state leaks?")


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    in_own_netns()
    binary = os.path.abspath(sys.argv[1])
    os.makedirs(sys.argv[2], exist_ok=True)
    work = tempfile.mkdtemp(prefix=f"serve-{sys.argv[3]}-", dir=sys.argv[2])
    origin = Origin()
    try:
        globals()["case_" + sys.argv[3]](binary, work, origin)
    except Fail as e:
        print(f"serve.cli_{sys.argv[3]}: FAIL: {e}")
        log = os.path.join(work, "serve.log")
        if os.path.exists(log):
            print("--- serve log ---\n" + open(log).read()[-4000:])
        return 1
    finally:
        origin.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"serve.cli_{sys.argv[3]}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
