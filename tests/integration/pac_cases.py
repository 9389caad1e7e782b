#!/usr/bin/python3
"""Integration cases for route wpad: PAC scripts (--pac FILE|URL), WPAD discovery by DNS and
`urlprobe pac`, against the daemons of tests/fixtures/start.

    pac_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    pac_cases.py --list

Each CASE is one ctest, pac.<CASE> (tests/integration/CMakeLists.txt). Every record is checked
against the result schema. Exit: 0 pass, 1 fail.

The fixture's PAC script (DIR/pac/proxy.pac, served by nginx at http://127.0.77.2:8080/proxy.pac,
/wpad.dat, and http://wpad.corp.probe.test/wpad.dat on port 80) answers DIRECT for
plain.probe.test and "PROXY <dead>:3999; PROXY <open squid>:3128; DIRECT" for every other
probe.test name: a probe through it proves the fail-over past the dead proxy.

Discovery reads the resolver configuration named by URLPROBE_RESOLV_CONF (a temporary file
here, holding only a search line) and resolves wpad.<domain> through --dns-server (dnsmasq).

/usr/bin/python3 on purpose: Debian's python3-jsonschema imports only there.
"""
import re
import socket
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
import harness  # noqa: E402


class Case(harness.Case):
    def fxv(self, key):
        return self.fixture()[key]

    def valid_url(self):
        return f"https://valid.probe.test:{self.fxv('URLPROBE_PORT_VALID')}/"

    def plain_url(self):
        return f"http://plain.probe.test:{self.fxv('URLPROBE_PORT_HTTP')}/"

    def dead(self):
        return self.fxv("URLPROBE_DEAD_PROXY")

    def live(self):
        return self.fxv("URLPROBE_SQUID_OPEN")

    def args(self, *extra):
        fx = self.fixture()
        return ["--format", "jsonl", "--methods", "wpad", "--dns-server", fx["URLPROBE_DNS"],
                *harness.trust_args(fx), "--timeout", "3", *extra]

    def check_record(self, n, line, rec):
        check(rec.get("route") == "wpad", f"line {n}: route is not wpad: {line}")

    def by_url(self, records):
        return {rec["url"]: rec for rec in records}

    def expect_via_chain(self, rec):
        """The https target: ok through the live squid after the dead proxy, chain recorded."""
        self.expect_outcome(rec, "ok", re.escape(self.dead()))
        check(rec.get("http_status") == 200, f"http_status {rec.get('http_status')!r}, expected 200")
        check(self.live() in rec.get("proxy", ""), f"proxy {rec.get('proxy')!r} is not {self.live()}")
        pac = rec.get("pac") or {}
        check(pac.get("used") == 1, f"pac {pac!r}: expected used == 1 (the second entry)")
        check(self.dead() in pac.get("answer", "") and self.live() in pac.get("answer", ""),
              f"pac answer {pac.get('answer')!r} does not name both proxies")

    def expect_direct(self, rec):
        self.expect_outcome(rec, "ok")
        check("proxy" not in rec, f"a proxy on a DIRECT answer: {rec.get('proxy')!r}")
        pac = rec.get("pac") or {}
        check(pac.get("used") == 0, f"pac {pac!r}: expected used == 0")
        check(pac.get("answer", "").strip().upper() == "DIRECT", f"pac answer {pac.get('answer')!r}, expected DIRECT")

    def sweep(self, pac_args, env=None):
        r = self.run([*self.args(*pac_args), self.valid_url(), self.plain_url()], env=env)
        check(r.rc == 0, f"exit status {r.rc}, expected 0")
        check(len(r.records) == 2, f"{len(r.records)} records, expected 2")
        recs = self.by_url(r.records)
        self.expect_via_chain(recs[self.valid_url()])
        self.expect_direct(recs[self.plain_url()])
        return r

    def resolv_conf(self, tmp, *domains):
        path = Path(tmp) / "resolv.conf"
        path.write_text(f"nameserver {self.fxv('URLPROBE_DNS').split(':')[0]}\nsearch {' '.join(domains)}\n")
        return {"URLPROBE_RESOLV_CONF": str(path)}


CASES, case = harness.case_registry()


@case
def pac_url_failover(c):
    """--pac URL: dead proxy, then the live squid; plain.probe.test DIRECT."""
    r = c.sweep(["--pac", c.fxv("URLPROBE_PAC_URL")])
    check(c.fxv("URLPROBE_PAC_URL") in r.stderr, "the summary does not name the PAC URL")


@case
def pac_file_failover(c):
    """--pac FILE: the same script from the file."""
    r = c.sweep(["--pac", c.fxv("URLPROBE_PAC_FILE")])
    check(c.fxv("URLPROBE_PAC_FILE") in r.stderr, "the summary does not name the PAC file")


@case
def wpad_discovery_dns(c):
    """No --pac: the search domain's wpad.<domain>/wpad.dat is found through dnsmasq."""
    with tempfile.TemporaryDirectory() as tmp:
        env = c.resolv_conf(tmp, c.fxv("URLPROBE_WPAD_DOMAIN"))
        r = c.sweep([], env=env)
    want = f"http://wpad.{c.fxv('URLPROBE_WPAD_DOMAIN')}/wpad.dat"
    check(want in r.stderr, f"the summary does not name {want}")
    check(re.search(r"sha256 [0-9a-f]{16}", r.stderr), "the summary has no hash of the script")


@case
def wpad_discovery_devolves(c):
    """A deeper search domain devolves to wpad.corp.probe.test, after the deeper name failed."""
    with tempfile.TemporaryDirectory() as tmp:
        env = c.resolv_conf(tmp, "lab." + c.fxv("URLPROBE_WPAD_DOMAIN"))
        r = c.sweep([], env=env)
    want = f"http://wpad.{c.fxv('URLPROBE_WPAD_DOMAIN')}/wpad.dat"
    check(want in r.stderr, f"the summary does not name {want}")


@case
def wpad_discovery_nothing(c):
    """A search domain without wpad: route wpad is not_configured and says what was tried."""
    domain = c.fxv("URLPROBE_NOWPAD_DOMAIN")
    with tempfile.TemporaryDirectory() as tmp:
        env = c.resolv_conf(tmp, domain)
        r = c.run([*c.args(), c.valid_url()], env=env)
    check(r.rc == 0, f"exit status {r.rc}, expected 0 (not_configured only)")
    rec = r.only_record()
    c.expect_outcome(rec, "not_configured", re.escape(f"http://wpad.{domain}/wpad.dat") + r" \(NXDOMAIN\)")
    c.expect_outcome(rec, "not_configured", re.escape("http://wpad.probe.test/wpad.dat"))
    check("proxy" not in rec and "pac" not in rec, "a not_configured route with a proxy or a PAC answer")


@case
def pac_command_prints_answers(c):
    """`urlprobe pac FILE URL...` prints each URL's answer."""
    fx = c.fixture()
    r = c.run(["pac", "--dns-server", fx["URLPROBE_DNS"], fx["URLPROBE_PAC_FILE"], c.valid_url(), c.plain_url()],
              jsonl=False)
    check(r.rc == 0, f"exit status {r.rc}, expected 0")
    lines = dict(line.split("\t", 1) for line in r.stdout.splitlines() if "\t" in line)
    check(lines.get(c.plain_url()) == "DIRECT", f"answer for plain: {lines.get(c.plain_url())!r}")
    want = f"PROXY {c.dead()}; PROXY {c.live()}; DIRECT"
    check(lines.get(c.valid_url()) == want, f"answer for valid: {lines.get(c.valid_url())!r}, expected {want!r}")


@case
def pac_command_url(c):
    """`urlprobe pac URL URL` fetches the script first."""
    fx = c.fixture()
    r = c.run(["pac", "--dns-server", fx["URLPROBE_DNS"], fx["URLPROBE_PAC_URL"], c.plain_url()], jsonl=False)
    check(r.rc == 0, f"exit status {r.rc}, expected 0")
    # One URL: the answer alone, as pactester prints it.
    check(r.stdout == "DIRECT\n", f"stdout {r.stdout!r}")


@case
def pac_command_dns_helpers(c):
    """`urlprobe pac` with the fixture's dnsmasq: a name it serves resolves, an NXDOMAIN name is
    dnsResolve() null and dnsResolveEx() "", and the answer (no proxy list) still exits 0."""
    fx = c.fixture()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dns.pac"
        path.write_text("function FindProxyForURL(url, host) {\n"
                        "  return [dnsResolve(host) !== null, isResolvable(host), isResolvableEx(host),\n"
                        "          String(dnsResolve('missing.probe.test')), '[' + dnsResolveEx('missing.probe.test') + ']',\n"
                        "          isResolvable('missing.probe.test'), isInNet(host, '127.0.0.0', '255.0.0.0'),\n"
                        "          isInNetEx(host, '127.0.0.0/8')].join(' ');\n"
                        "}\n")
        r = c.run(["pac", "--dns-server", fx["URLPROBE_DNS"], str(path), c.plain_url()], jsonl=False)
    check(r.rc == 0, f"exit status {r.rc}, expected 0 (an unusable answer is a warning)")
    want = "true true true null [] false true true\n"
    check(r.stdout == want, f"stdout {r.stdout!r}, expected {want!r}")
    check("warning" in r.stderr, f"no warning for an answer that is no proxy list: {r.stderr!r}")


@case
def pac_syntax_error(c):
    """A script that does not compile: exit 2 and FILE:LINE: on stderr, for a sweep and for pac."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "broken.pac"
        path.write_text("function FindProxyForURL(url, host) {\n  return \"DIRECT\";\n  if (\n}\n")
        for args in (["pac", str(path), c.plain_url()], [*c.args("--pac", str(path)), c.plain_url()]):
            r = c.run(args, jsonl=False)
            check(r.rc == 2, f"exit status {r.rc}, expected 2")
            check(re.search(re.escape(str(path)) + r":\d+: ", r.stderr), f"no {path}:LINE: on stderr")
            check(not r.stdout.strip() or args[0] == "pac", "a refused sweep printed records")


@case
def pac_infinite_loop(c):
    """while(true){} in FindProxyForURL: each probe of the route is a proxy_error naming the limit."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "loop.pac"
        path.write_text("function FindProxyForURL(url, host) {\n  while (true) {}\n}\n")
        r = c.run([*c.args("--pac", str(path)), c.plain_url()])
    check(r.rc == 1, f"exit status {r.rc}, expected 1 (a failed probe)")
    c.expect_outcome(r.only_record(), "proxy_error", r"PAC script failed: .*exceeded")


@case
def pac_url_missing(c):
    """--pac URL that answers 404: the run is refused (exit 2) naming the URL."""
    url = f"http://{c.fxv('URLPROBE_ORIGIN')}:{c.fxv('URLPROBE_PORT_HTTP')}/status/503"
    r = c.run([*c.args("--pac", url), c.plain_url()], jsonl=False)
    check(r.rc == 2, f"exit status {r.rc}, expected 2")
    check(url in r.stderr and "HTTP 503" in r.stderr, f"stderr does not name {url} and HTTP 503")


@case
def pac_dead_dns_costs_the_call_deadline(c):
    """A DNS server that never answers: each PAC call's lookups end with its deadline, the script
    still answers (failed lookups), and every record has ms.pac and a warning naming the name.
    Before the fix each lookup took 3/4 of --timeout (the harness's hang guard, not a clock)."""
    origin = f"http://{c.fxv('URLPROBE_ORIGIN')}:{c.fxv('URLPROBE_PORT_HTTP')}"
    names = ["alpha", "bravo", "charlie", "delta"]
    # Bound and never read: every query is swallowed (the kernel queues the datagrams).
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent, \
            tempfile.TemporaryDirectory() as tmp:
        silent.bind(("127.0.0.1", 0))
        path = Path(tmp) / "innet.pac"
        # The path names the host to look up: each URL asks about a name of its own.
        path.write_text("function FindProxyForURL(url, host) {\n"
                        "  var name = url.substring(url.lastIndexOf('/') + 1) + '.corp.probe.test';\n"
                        "  if (isInNet(dnsResolve(name), '10.0.0.0', '255.0.0.0')) return 'PROXY 127.0.0.1:9';\n"
                        "  return 'DIRECT';\n"
                        "}\n")
        r = c.run(["--format", "jsonl", "--methods", "wpad", "--pac", str(path),
                   "--dns-server", f"127.0.0.1:{silent.getsockname()[1]}", "--timeout", "10",
                   *[f"{origin}/{n}" for n in names]])
    check(r.rc == 0, f"exit status {r.rc}, expected 0")
    check(len(r.records) == len(names), f"{len(r.records)} records, expected {len(names)}")
    for rec in r.records:
        name = rec["url"].rsplit("/", 1)[1] + ".corp.probe.test"
        c.expect_outcome(rec, "ok")
        check((rec.get("pac") or {}).get("answer") == "DIRECT", f"pac {rec.get('pac')!r}")
        check(isinstance(rec["ms"].get("pac"), (int, float)), f"no ms.pac: {rec['ms']!r}")
        warnings = " ".join(rec.get("warnings", []))
        check("deadline" in warnings and name in warnings, f"warnings {warnings!r} do not name {name}")
    check(f"{len(names)} URL(s) decided" in r.stderr, "the summary does not say what PAC cost")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__, Case))
