#!/usr/bin/python3
"""Integration cases: the built urlprobe binary against the real daemons of tests/fixtures/start.

    probe_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    probe_cases.py --list

Each CASE is one ctest (tests/integration/CMakeLists.txt registers them by name). A case runs
the binary, validates every JSON record it prints against the result schema, and asserts what
the contract says about that situation. Exit: 0 pass, 1 fail, 77 skipped (the netns cases on a
machine without namespaces).

/usr/bin/python3 on purpose: Debian's python3-jsonschema imports only there.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import RUN_LIMIT_S, Run, check  # noqa: E402  (shared with proxy_cases.py)
import harness  # noqa: E402

HERE = Path(__file__).resolve().parent
NETNS_DROP = HERE.parent / "fixtures" / "netns-drop"


class Case(harness.Case):
    def base_args(self, ca=True, timeout="2"):
        """The options every daemon-backed case uses: private DNS, the test root (trusted, and
        the one public root), jsonl.
        --methods direct: the default is every method, which would multiply the records."""
        fx = self.fixture()
        args = ["--format", "jsonl", "--methods", "direct", "--dns-server", fx["URLPROBE_DNS"]]
        if timeout:
            args += ["--timeout", timeout]
        if ca:
            args += harness.trust_args(fx)
        return args

    def check_record(self, n, line, rec):
        check(rec.get("route") == "direct", f"line {n}: route is not 'direct': {line}")

    # -- helpers for common assertions ------------------------------------------------------

    def url(self, name, port, path="/", scheme="https"):
        return f"{scheme}://{name}:{port}{path}"

    def probe_one(self, url, extra=(), ca=True, rc=None):
        r = self.run([*self.base_args(ca), *extra, url])
        rec = r.only_record()
        check(rec["url"] == url, f"record url {rec['url']!r} is not the probed {url!r}")
        if rc is not None:
            check(r.rc == rc, f"exit status {r.rc}, expected {rc}")
        return rec

    def origin(self, port):
        return f"{self.fixture()['URLPROBE_ORIGIN']}:{port}"


# ------------------------------------------------------------------------------------------------
# Cases. Each name is a ctest: integration.<name>.
# ------------------------------------------------------------------------------------------------
CASES, case = harness.case_registry()


@case
def valid(c):
    port = c.fixture()["URLPROBE_PORT_VALID"]
    rec = c.probe_one(c.url("valid.probe.test", port), rc=0)
    c.expect_outcome(rec, "ok")
    check(rec.get("http_status") == 200, f"http_status {rec.get('http_status')}, expected 200")
    check(rec.get("host") == "valid.probe.test", f"host {rec.get('host')!r}")
    check(rec.get("port") == int(port), f"port {rec.get('port')!r}, expected {port}")
    check(rec.get("address") == c.origin(port), f"address {rec.get('address')!r}, expected {c.origin(port)}")
    tls = rec.get("tls", {})
    check(tls.get("verified") is True, f"tls.verified is {tls.get('verified')!r}, expected true")
    check("urlprobe test root" in tls.get("issuer", ""), f"tls.issuer {tls.get('issuer')!r} does not name the test root")
    check("valid.probe.test" in tls.get("subject", ""), f"tls.subject {tls.get('subject')!r} does not name the leaf")
    ms = rec.get("ms", {})
    for phase in ("dns", "connect", "tls", "ttfb", "total"):
        check(phase in ms, f"ms.{phase} missing from {ms}")


@case
def notfound_is_reachable(c):
    # By default any status from the origin means the URL is reachable.
    rec = c.probe_one(c.url("notfound.probe.test", c.fixture()["URLPROBE_PORT_VALID"]), rc=0)
    c.expect_outcome(rec, "ok")
    check(rec.get("http_status") == 404, f"http_status {rec.get('http_status')}, expected 404")


@case
def notfound_unexpected_status(c):
    rec = c.probe_one(c.url("notfound.probe.test", c.fixture()["URLPROBE_PORT_VALID"]),
                      extra=["--expect-status", "200"], rc=1)
    c.expect_outcome(rec, "unexpected_status")
    check(rec.get("http_status") == 404, f"http_status {rec.get('http_status')}, expected 404")


@case
def expired(c):
    rec = c.probe_one(c.url("expired.probe.test", c.fixture()["URLPROBE_PORT_EXPIRED"]), rc=1)
    c.expect_outcome(rec, "tls_untrusted", r"expired")
    check("http_status" not in rec, "an untrusted certificate must stop the probe before HTTP")


@case
def wronghost(c):
    rec = c.probe_one(c.url("wronghost.probe.test", c.fixture()["URLPROBE_PORT_VALID"]), rc=1)
    c.expect_outcome(rec, "tls_untrusted", r"host ?name")
    check("http_status" not in rec, "an untrusted certificate must stop the probe before HTTP")


@case
def selfsigned(c):
    rec = c.probe_one(c.url("selfsigned.probe.test", c.fixture()["URLPROBE_PORT_SELFSIGNED"]), rc=1)
    c.expect_outcome(rec, "tls_untrusted", r"self[- ]signed")


@case
def unknown_ca(c):
    # Without --ca-file the test root is not trusted: the system store alone must not accept it.
    rec = c.probe_one(c.url("valid.probe.test", c.fixture()["URLPROBE_PORT_VALID"]), ca=False, rc=1)
    c.expect_outcome(rec, "tls_untrusted", r"unknown (ca|issuer|authority)|unable to get (local )?issuer")


@case
def plain_http(c):
    rec = c.probe_one(c.url("plain.probe.test", c.fixture()["URLPROBE_PORT_HTTP"], scheme="http"), rc=0)
    c.expect_outcome(rec, "ok")
    check(rec.get("http_status") == 200, f"http_status {rec.get('http_status')}, expected 200")
    check("tls" not in rec, f"plain HTTP has no TLS facts, yet tls is {rec.get('tls')}")


@case
def plain_status_list(c):
    # A list with a single code, a second code and a range: 204 is in it.
    rec = c.probe_one(c.url("plain.probe.test", c.fixture()["URLPROBE_PORT_HTTP"], "/status/204", "http"),
                      extra=["--expect-status", "200,204,300-399"], rc=0)
    c.expect_outcome(rec, "ok")
    check(rec.get("http_status") == 204, f"http_status {rec.get('http_status')}, expected 204")


@case
def plain_unexpected_503(c):
    rec = c.probe_one(c.url("plain.probe.test", c.fixture()["URLPROBE_PORT_HTTP"], "/status/503", "http"),
                      extra=["--expect-status", "200-399"], rc=1)
    c.expect_outcome(rec, "unexpected_status")
    check(rec.get("http_status") == 503, f"http_status {rec.get('http_status')}, expected 503")


@case
def nxdomain(c):
    rec = c.probe_one("https://nosuch.probe.test/", rc=1)
    c.expect_outcome(rec, "dns_error", r"NXDOMAIN")
    check("address" not in rec, f"no address can exist for a name that does not resolve: {rec.get('address')}")


@case
def servfail(c):
    # dnsmasq relays the SERVFAIL of its servfail.test upstream (tests/fixtures/dns-servfail.py).
    rec = c.probe_one(f"https://{c.fixture()['URLPROBE_SERVFAIL_NAME']}/", rc=1)
    c.expect_outcome(rec, "dns_error", r"SERVFAIL")


@case
def refused(c):
    port = c.fixture()["URLPROBE_PORT_CLOSED"]
    rec = c.probe_one(c.url("refused.probe.test", port), rc=1)
    c.expect_outcome(rec, "connect_refused")
    check(rec.get("address") == c.origin(port), f"address {rec.get('address')!r}, expected {c.origin(port)}")


@case
def resolve_pin(c):
    # pinned.example is unknown to the fixture's DNS (it would be a dns_error): reaching the TLS
    # handshake proves the pin was used. The 8443 certificate does not name pinned.example.
    port = c.fixture()["URLPROBE_PORT_VALID"]
    rec = c.probe_one(f"https://pinned.example:{port}/",
                      extra=["--resolve", f"pinned.example:{port}:{c.fixture()['URLPROBE_ORIGIN']}"], rc=1)
    c.expect_outcome(rec, "tls_untrusted", r"host ?name")
    check(rec.get("address") == c.origin(port), f"address {rec.get('address')!r}, expected {c.origin(port)}")


@case
def file_input(c):
    fx = c.fixture()
    good = [c.url("valid.probe.test", fx["URLPROBE_PORT_VALID"], "/?file=1"),
            c.url("plain.probe.test", fx["URLPROBE_PORT_HTTP"], "/?file=2", "http"),
            c.url("valid.probe.test", fx["URLPROBE_PORT_VALID"], "/?file=3")]
    lines = ["# service URLs for the integration test", good[0], "", "ht!tp://bad url", good[1], good[2]]
    bad_line = lines.index("ht!tp://bad url") + 1
    with tempfile.TemporaryDirectory(prefix="urlprobe-it-") as tmp:
        path = Path(tmp) / "urls.txt"
        path.write_text("\n".join(lines) + "\n")
        r = c.run([*c.base_args(), str(path)])
    check(r.rc == 2, f"exit status {r.rc}, expected 2 (a bad input line)")
    check(f"{path}:{bad_line}:" in r.stderr, f"stderr does not name {path}:{bad_line}:")
    urls = sorted(rec["url"] for rec in r.records)
    check(urls == sorted(good), f"probed {urls}, expected the 3 good lines {sorted(good)}")
    for rec in r.records:
        c.expect_outcome(rec, "ok")


@case
def bad_timeout(c):
    # base_args without its own --timeout: a repeated option is an error of its own.
    r = c.run([*c.base_args(timeout=None), "--timeout", "abc", "https://valid.probe.test:8443/"])
    check(r.rc == 2, f"exit status {r.rc}, expected 2")
    check("--timeout" in r.stderr, "stderr does not name --timeout")
    check(not r.records, "bad usage must probe nothing")


@case
def methods_unknown(c):
    args = c.base_args()
    args[args.index("--methods") + 1] = "direct,bogus"
    r = c.run([*args, "https://valid.probe.test:8443/"])
    check(r.rc == 2, f"exit status {r.rc}, expected 2")
    check("--methods" in r.stderr and "bogus" in r.stderr, "stderr does not name --methods and 'bogus'")
    check(not r.records, "bad usage must probe nothing")


@case
def unreadable_file(c):
    missing = c.fixture_dir / "no-such-dir" / "urls.txt"
    r = c.run([*c.base_args(), str(missing)])
    check(r.rc == 2, f"exit status {r.rc}, expected 2")
    check(str(missing) in r.stderr, f"stderr does not name {missing}")


@case
def output_files(c):
    url = c.url("valid.probe.test", c.fixture()["URLPROBE_PORT_VALID"], "/?out=1")
    with tempfile.TemporaryDirectory(prefix="urlprobe-it-") as tmp:
        jsonl, txt = Path(tmp) / "out.jsonl", Path(tmp) / "out.txt"
        r = c.run([*c.base_args(), "-o", str(jsonl), "-o", str(txt), url])
        check(r.rc == 0, f"exit status {r.rc}, expected 0")
        check(jsonl.is_file(), f"{jsonl} not written")
        check(txt.is_file(), f"{txt} not written")
        records = c.parse_records(jsonl.read_text())
        text = txt.read_text()
    check(len(records) == 1 and records[0]["url"] == url, f"{jsonl.name} holds {records}, expected one record for {url}")
    c.expect_outcome(records[0], "ok")
    check(url in text, f"{txt.name} does not mention {url}:\n{text}")
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        json.loads(first)
        is_json = True
    except json.JSONDecodeError:
        is_json = False
    check(not is_json, f"{txt.name} is JSON, but .txt means the text format: {first!r}")


@case
def concurrency(c):
    port = c.fixture()["URLPROBE_PORT_VALID"]
    urls = [c.url("valid.probe.test", port, f"/?i={i}") for i in range(200)]
    r = c.run([*c.base_args(), "--concurrency", "50", "--threads", "2", *urls])
    check(r.rc == 0, f"exit status {r.rc}, expected 0")
    got = [rec["url"] for rec in r.records]
    check(len(got) == 200, f"{len(got)} records for 200 URLs")
    dupes = sorted({u for u in got if got.count(u) > 1})
    check(not dupes, f"URLs reported more than once: {dupes[:5]}")
    check(set(got) == set(urls), f"URLs never reported: {sorted(set(urls) - set(got))[:5]}")
    bad = [(rec["url"], rec["outcome"], rec.get("detail", "")) for rec in r.records if rec["outcome"] != "ok"]
    check(not bad, f"{len(bad)} probes not ok, e.g. {bad[:3]}")


@case
def builtin_sheet_text(c):
    """The built-in analyzer sheet, analyzer-style text. Its names are outside the fixture's
    zones, so the private dnsmasq refuses them: every probe a dns_error, none lost."""
    fx = c.fixture()
    r = c.run(["--builtin", "analyzer", "--format", "text", "--methods", "direct", "--dns-server", fx["URLPROBE_DNS"],
               "--timeout", "2"], jsonl=False)
    check(r.rc == 1, f"exit status {r.rc}, expected 1 (every probe failed)")
    blocks = re.findall(r"^Testing URL : (\S+)\n3 - Proxy disabled: Failed, dns_error: ", r.stdout, re.M)
    # 44 standard rows of the macOS/Linux analyzer (41 distinct) and the Windows analyzer's 64,
    # 22 URLs shared: 83 distinct.
    check(len(blocks) == 83, f"{len(blocks)} analyzer blocks with dns_error, expected 83 distinct URLs")
    check("https://winatp-gw-cus.microsoft.com/commands/test" in blocks, "the US C&C test URL is missing")
    check(re.search(r"^Summary: 83 probes, 0 ok, 83 failed", r.stdout, re.M), "no summary line")


@case
def default_is_commercial_sheet(c):
    """No inputs: the MDE commercial sheet. Every one of its 102 URL cells, and the MMA row
    urlprobe adds, gets a result (*.dm.microsoft.com one for each of the analyzer's three hosts:
    105); the 21 wildcard hosts left are `skipped` with the reason, never dropped."""
    fx = c.fixture()
    r = c.run(["--methods", "direct", "--dns-server", fx["URLPROBE_DNS"], "--timeout", "2", "--format", "jsonl"])
    check(r.rc == 1, f"exit status {r.rc}, expected 1")
    check(len(r.records) == 105, f"{len(r.records)} records, expected 105")
    skipped = [rec for rec in r.records if rec["outcome"] == "skipped"]
    check(len(skipped) == 21, f"{len(skipped)} skipped, expected the 21 wildcard rows")
    check(all("wildcard" in rec["detail"] or "workspace" in rec["detail"] for rec in skipped),
          f"a skipped record without its reason: {skipped[:1]}")
    others = {rec["outcome"] for rec in r.records if rec["outcome"] != "skipped"}
    check(others == {"dns_error"}, f"outcomes {others}, expected only dns_error off the fixture's zones")
    cus = [rec for rec in r.records if rec["url"] == "https://winatp-gw-cus.microsoft.com/commands/test"]
    check(cus and cus[0]["row"].get("geography") == "US", f"the US C&C row with its analyzer path: {cus}")


@case
def interrupt_flushes_and_exits_130(c):
    """SIGINT while probes hang: in-flight probes end as timeout/interrupted, each written once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    urls = [f"http://127.0.0.1:{port}/hang{i}" for i in range(3)]
    argv = [c.binary, "--format", "jsonl", "--methods", "direct", "--timeout", "60", *urls]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, env=harness.clean_environ())
    held = []
    try:
        listener.settimeout(RUN_LIMIT_S)
        for _ in urls:  # every probe is connected and waiting for its response
            conn, _ = listener.accept()
            held.append(conn)
        for conn in held:  # and has sent its request
            conn.settimeout(RUN_LIMIT_S)
            request = b""
            while b"\r\n\r\n" not in request:  # TCP may deliver the header in pieces
                chunk = conn.recv(4096)
                check(chunk, f"connection closed after {request!r}")
                request += chunk
            check(request.startswith(b"GET /hang"), f"unexpected request {request!r}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=RUN_LIMIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        for conn in held:
            conn.close()
        listener.close()
    c.last = Run(argv, subprocess.CompletedProcess(argv, proc.returncode, out, err), [])
    c.last.records = c.parse_records(out)
    check(proc.returncode == 130, f"exit status {proc.returncode}, expected 130")
    got = sorted(rec["url"] for rec in c.last.records)
    check(got == sorted(urls), f"records for {got}, expected each of {urls} once")
    for rec in c.last.records:
        c.expect_outcome(rec, "timeout", r"interrupted during (request|response)")
    check("interrupted" in err, "stderr does not say the sweep was interrupted")


@case
def progress_only_on_a_terminal(c):
    """--progress auto draws done/total, rate, failures and ETA on stderr when it is a terminal
    (whatever stdout is: cli.progress_on_a_terminal); piped, nothing but the summary reaches
    stderr."""
    import pty
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    # Never answers: the probes stay in flight until their 1 s deadline, long enough for the
    # 200 ms redraw to run.
    argv = [c.binary, "--format", "jsonl", "--methods", "direct", "--timeout", "1",
            f"http://127.0.0.1:{port}/a", f"http://127.0.0.1:{port}/b"]
    try:
        master, slave = pty.openpty()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
        os.close(slave)
        out, _ = proc.communicate(timeout=RUN_LIMIT_S)
        tty_text = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            tty_text += chunk
        os.close(master)
        piped = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_LIMIT_S, stdin=subprocess.DEVNULL)
    finally:
        listener.close()
    text = tty_text.decode(errors="replace")
    check(re.search(r"\d+/2 probes\s+\d+/s\s+\d+ failed\s+ETA", text), f"no progress line on the terminal: {text!r}")
    check(len(out.splitlines()) == 2, f"stdout keeps its 2 records: {out!r}")
    check("probes " not in piped.stderr.split("Summary")[0] and "ETA" not in piped.stderr,
          f"progress drawn into a pipe: {piped.stderr!r}")


@case
def full_disk_is_exit_2_naming_the_path(c):
    """-o onto a full device (/dev/full) loses results: exit 2 naming the path, not a silent 1."""
    with tempfile.TemporaryDirectory(prefix="urlprobe-full-") as tmp:
        out = Path(tmp) / "results.jsonl"
        out.symlink_to("/dev/full")
        r = c.run(["--methods", "direct", "--timeout", "2", "-o", str(out), "http://127.0.0.1:9/"], jsonl=False)
    check(r.rc == 2, f"exit status {r.rc}, expected 2")
    check(f"-o {out}: write failed" in r.stderr, f"stderr does not name the path: {r.stderr!r}")


def netns_case(port, outcome):
    """A probe of 127.0.0.1:PORT inside tests/fixtures/netns-drop (needs no daemons)."""
    def run_case(c):
        url = f"http://127.0.0.1:{port}/"
        r = c.run(["--format", "jsonl", "--methods", "direct", "--timeout", "1", url],
                  wrapper=[str(NETNS_DROP)])
        rec = r.only_record()
        check(r.rc == 1, f"exit status {r.rc}, expected 1")
        c.expect_outcome(rec, outcome)
        check(rec.get("address") == f"127.0.0.1:{port}", f"address {rec.get('address')!r}")
    return run_case


CASES["netns_drop_is_timeout"] = netns_case(9, "connect_timeout")
CASES["netns_reject_is_refused"] = netns_case(10, "connect_refused")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__, Case))
