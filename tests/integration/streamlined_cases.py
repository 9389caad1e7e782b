#!/usr/bin/python3
"""Integration cases for issue 17 (streamlined): each URL judged as the vendor's analyzer judges
it, with the built urlprobe binary against the fixture of tests/fixtures/start: exact expected
statuses and methods from a sheet's columns, pinned roots (a lab root named with --pin stands in
for Microsoft's), the inspecting squid failing a pin even with --allow-inspection, and the
streamlined list narrowed to a gateway by an onboarding package.

    streamlined_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    streamlined_cases.py --list

Each CASE is one ctest, streamlined.<CASE> (tests/integration/CMakeLists.txt). Exit: 0 pass, 1 fail.

/usr/bin/python3 on purpose: Debian's python3-jsonschema imports only there.
"""
import csv
import io
import json
import re
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
import harness  # noqa: E402
from tls_cases import Case as TlsCase, TEST_ROOT, INSPECTION_CA, dump  # noqa: E402

ONBOARDING = Path(__file__).resolve().parent.parent / "fixtures" / "onboarding"


class Case(TlsCase):
    def sheet(self, rows, name="analyzer.csv"):
        """A sheet in the shape of the analyzer's list: URL, Expected status, Method, Trust."""
        path = self.tmp / name
        with path.open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["URL", "Expected status", "Method", "Trust"])
            w.writerows(rows)
        return str(path)

    def sweep(self, rows, extra=(), trust=True, methods="direct", rc=None):
        """One run over a sheet of ROWS; records by (url, route)."""
        r = self.run([*self.args(methods, trust), *extra, self.sheet(rows)])
        if rc is not None:
            check(r.rc == rc, f"exit status {r.rc}, expected {rc}\n{r.describe()}")
        return {(rec["url"], rec["route"]): rec for rec in r.records}, r

    def lab_pin(self):
        return ["--pin", f"lab={self.fxv('URLPROBE_ROOT_CA')}"]


CASES, case = harness.case_registry()


@case
def expected_status_from_the_sheet(c):
    """404 where 404 is expected is ok; 200 where 404 is expected is unexpected_status saying
    what was expected; a row's own expectation outranks --expect-status, an empty cell does not."""
    notfound, root = c.url("valid", "URLPROBE_PORT_VALID", "/notfound"), c.url("valid", "URLPROBE_PORT_VALID")
    other = c.url("valid", "URLPROBE_PORT_VALID", "/other")
    recs, _ = c.sweep([[notfound, "404", "GET", "system"], [root, "404", "", ""], [other, "", "", ""]],
                      extra=["--expect-status", "200"], rc=1)
    ok = recs[(notfound, "direct")]
    c.expect_outcome(ok, "ok")
    check(ok.get("http_status") == 404, f"http_status {ok.get('http_status')}, expected 404{dump(ok)}")
    check(ok.get("expect") == {"status": "404", "method": "GET"}, f"expect {ok.get('expect')}{dump(ok)}")
    bad = recs[(root, "direct")]
    c.expect_outcome(bad, "unexpected_status", r"^HTTP 200, expected 404$")
    fallback = recs[(other, "direct")]
    c.expect_outcome(fallback, "ok")
    check("expect" not in fallback, f"a row that expects nothing has no expect object{dump(fallback)}")


@case
def head_row(c):
    """Method HEAD is sent as HEAD: the origin's /head-only answers 200 to HEAD and 405 to GET."""
    url = c.url("valid", "URLPROBE_PORT_VALID", "/head-only")
    recs, _ = c.sweep([[url, "200", "HEAD", ""]], rc=0)
    rec = recs[(url, "direct")]
    c.expect_outcome(rec, "ok")
    check(rec.get("http_status") == 200 and rec["expect"]["method"] == "HEAD", f"not a HEAD request{dump(rec)}")
    recs, _ = c.sweep([[url, "200", "GET", ""]], rc=1)
    c.expect_outcome(recs[(url, "direct")], "unexpected_status", r"HTTP 405, expected 200")


@case
def pinned_row_ok_with_its_lab_root(c):
    """A row pinned to "lab" (--pin lab=the fixture's root) is ok with no --ca-file and the
    default public roots: the pin's root is the anchor, and not a false inspection alarm."""
    url = c.url("valid", "URLPROBE_PORT_VALID")
    recs, _ = c.sweep([[url, "200", "GET", "lab"]], extra=c.lab_pin(), trust=False, rc=0)
    rec = recs[(url, "direct")]
    c.expect_outcome(rec, "ok")
    tls = c.tls(rec, "root", "pin")
    check(tls["pin"] == "lab" and TEST_ROOT in tls["root"] and tls["verified"] is True, f"tls {tls}{dump(rec)}")
    check("warnings" not in rec, f"warnings on a matched pin{dump(rec)}")
    check(rec["expect"]["trust"] == ["lab"], f"expect {rec['expect']}{dump(rec)}")


@case
def pin_unmatched_at_a_private_root_is_intercepted(c):
    """The shipped microsoft-2011 pin against the lab chain: it ends at a root that is neither
    pinned nor public, which is what inspection looks like."""
    url = c.url("valid", "URLPROBE_PORT_VALID")
    recs, _ = c.sweep([[url, "200", "GET", "microsoft-2011"]], trust=False, rc=1)
    c.expect_outcome(recs[(url, "direct")], "tls_intercepted",
                     r"pin microsoft-2011 not matched: chain ends at .*" + re.escape(TEST_ROOT))


@case
def pin_unmatched_at_a_public_root_is_untrusted_not_inspection(c):
    """The chain ends at a public root (the fixture's root, named public) but the pin names
    another: nobody inspects, the pin is stale; tls_untrusted pointing to --pin."""
    url = c.url("valid", "URLPROBE_PORT_VALID")
    recs, _ = c.sweep([[url, "200", "GET", "lab"]], extra=["--pin", f"lab={c.fxv('URLPROBE_INSPECTION_CA')}"],
                      trust=True, rc=1)
    rec = recs[(url, "direct")]
    c.expect_outcome(rec, "tls_untrusted", r"pin lab not matched: chain ends at public root")
    check("--pin" in rec["detail"] and "inspection in the path" not in rec["detail"], f"detail{dump(rec)}")
    check(rec["tls"].get("error") == "pin_mismatch", f"tls.error{dump(rec)}")


@case
def pinned_row_through_the_inspecting_squid_even_when_allowed(c):
    """Through the ssl_bump squid, with its CA trusted and --allow-inspection: the pinned row is
    tls_intercepted (the sensor fails there too), the unpinned row is ok with a warning, and
    direct the pinned row is ok. Readiness gives the vendor's advice for the pinned host."""
    pinned = c.url("valid", "URLPROBE_PORT_VALID")
    plain = c.url("valid", "URLPROBE_PORT_VALID", "/plain")
    bump = f"http://{c.fxv('URLPROBE_SQUID_BUMP')}"
    bundle = c.tmp / "trusted.pem"
    bundle.write_text(Path(c.fxv("URLPROBE_ROOT_CA")).read_text() + Path(c.fxv("URLPROBE_INSPECTION_CA")).read_text())
    extra = [*c.lab_pin(), "--proxy", bump, "--ca-file", str(bundle), "--public-roots",
             c.fxv("URLPROBE_PUBLIC_ROOTS"), "--allow-inspection"]
    recs, _ = c.sweep([[pinned, "200", "GET", "lab"], [plain, "200", "GET", "system"]], extra=extra,
                      trust=False, methods="direct,cli", rc=1)
    c.expect_outcome(recs[(pinned, "direct")], "ok")
    c.expect_outcome(recs[(pinned, "cli")], "tls_intercepted",
                     r"pin lab not matched: chain ends at .*" + re.escape(INSPECTION_CA))
    allowed = recs[(plain, "cli")]
    c.expect_outcome(allowed, "ok")
    check(any(INSPECTION_CA in w for w in allowed.get("warnings", [])), f"no inspection warning{dump(allowed)}")
    # The text report's readiness says what to ask the proxy team for.
    r = c.run([*c.args("direct,cli", False), *extra, "--format", "text", c.sheet([[pinned, "200", "GET", "lab"]])],
              jsonl=False)
    check(r.rc == 1, f"exit status {r.rc}\n{r.describe()}")
    check("exclude from HTTPS inspection:\n      valid.probe.test\n" in r.stdout, f"no exclusion advice\n{r.describe()}")
    # The note is wrapped to the terminal's width: it may span lines.
    check(re.search(r"pins the roots of valid\.probe\.test.*do not require proxy authentication", r.stdout, re.S),
          f"no vendor advice for the pinned host\n{r.describe()}")


@case
def pinned_row_without_trusting_the_inspection_ca(c):
    """Through the squid when the machine does not trust its CA: the chain does not verify at
    all, and for a pinned row that is still inspection (not a generic unknown CA)."""
    url = c.url("valid", "URLPROBE_PORT_VALID")
    bump = f"http://{c.fxv('URLPROBE_SQUID_BUMP')}"
    recs, _ = c.sweep([[url, "200", "GET", "lab"]], extra=[*c.lab_pin(), "--proxy", bump], trust=False,
                      methods="direct,cli", rc=1)
    c.expect_outcome(recs[(url, "direct")], "ok")
    c.expect_outcome(recs[(url, "cli")], "tls_intercepted", r"pin lab not matched: chain ends at .*" + re.escape(INSPECTION_CA))


@case
def unknown_pin_costs_its_row(c):
    """A Trust cell naming a pin nobody gave: that row is an input error naming the sheet and
    line (exit 2); the other rows are probed."""
    good, bad = c.url("valid", "URLPROBE_PORT_VALID"), c.url("valid", "URLPROBE_PORT_VALID", "/x")
    recs, r = c.sweep([[good, "200", "GET", "system"], [bad, "200", "GET", "nosuchpin"]], rc=2)
    check(list(recs) == [(good, "direct")], f"records {list(recs)}\n{r.describe()}")
    check(re.search(r"analyzer\.csv:3:.*unknown pin 'nosuchpin'.*--pin nosuchpin=FILE", r.stderr),
          f"stderr does not name the row and the pin\n{r.describe()}")


@case
def bad_pin_file_is_a_usage_error(c):
    """--pin with a file that is no PEM certificate: exit 2 naming the option and the file,
    nothing probed."""
    junk = c.tmp / "junk.pem"
    junk.write_text("not a certificate\n")
    r = c.run([*c.args(), "--pin", f"lab={junk}", c.url("valid", "URLPROBE_PORT_VALID")])
    check(r.rc == 2 and not r.records, f"exit {r.rc}, {len(r.records)} records\n{r.describe()}")
    check(f"--pin lab: {junk}" in r.stderr, f"stderr does not name the option and file\n{r.describe()}")


@case
def list_shows_expectations_and_pins(c):
    """`urlprobe list` carries each row's expectation (json, csv) and the pins' roots with their
    expiry (text)."""
    url = c.url("valid", "URLPROBE_PORT_VALID", "/notfound")
    sheet = c.sheet([[url, "404,500-599", "HEAD", "lab microsoft-2011"]])
    r = c.run(["list", "--format", "json", *c.lab_pin(), sheet], jsonl=False)
    check(r.rc == 0, r.describe())
    (item,) = json.loads(r.stdout)
    check(item.get("expect") == {"status": "404,500-599", "method": "HEAD", "trust": ["lab", "microsoft-2011"]},
          f"expect {item.get('expect')}\n{r.describe()}")
    r = c.run(["list", "--format", "csv", *c.lab_pin(), sheet], jsonl=False)
    (row,) = list(csv.DictReader(io.StringIO(r.stdout)))
    check((row["expected_status"], row["method"], row["trust"]) == ("404,500-599", "HEAD", "lab microsoft-2011"),
          f"csv row {row}\n{r.describe()}")
    r = c.run(["list", "--format", "text", *c.lab_pin(), sheet], jsonl=False)
    check(re.search(r"# pin microsoft-2011 \(embedded\):\n#   .*Microsoft Root Certificate Authority 2011.*"
                    r"expires 2036-03-22", r.stdout), f"no microsoft-2011 roots\n{r.describe()}")
    check(re.search(r"# pin lab \(.*\):\n#   .*" + re.escape(TEST_ROOT) + r".*expires \d{4}-", r.stdout),
          f"no lab roots\n{r.describe()}")


@case
def streamlined_narrowed_by_the_onboarding_package(c):
    """--builtin streamlined --onboarding PACKAGE keeps the package's gateway (GW_EU) and names
    what it found; --gateway says the same; a package with no gateway is an error, not a guess."""
    package = ONBOARDING / "WindowsDefenderATPOnboarding_streamlined.xml"
    r = c.run(["list", "--builtin", "streamlined", "--onboarding", str(package), "--format", "json"], jsonl=False)
    check(r.rc == 0, r.describe())
    items = json.loads(r.stdout)
    geos = {i["row"]["geography"] for i in items}
    check(geos == {"GW_EU"} and len(items) == 13, f"geographies {geos}, {len(items)} rows\n{r.describe()}")
    check(re.search(r"gateway GW_EU, datacenter WestEurope3 from .*streamlined\.xml", r.stderr), f"stderr names no gateway\n{r.describe()}")
    r2 = c.run(["list", "--builtin", "streamlined", "--gateway", "GW_EU", "--format", "json"], jsonl=False)
    check(json.loads(r2.stdout) == items, "--gateway GW_EU lists other rows than the package")
    r4 = c.run(["list", "--builtin", "streamlined", "--gateway", "GW_EU", "--geo", "us"], jsonl=False)
    check(r4.rc == 2 and "keep nothing in common" in r4.stderr, f"--gateway and --geo disagree\n{r4.describe()}")
    r3 = c.run(["list", "--builtin", "streamlined", "--onboarding", str(ONBOARDING / "WindowsDefenderATPOffboardingScript.cmd")], jsonl=False)
    check(r3.rc == 2 and not r3.stdout and "WindowsDefenderATPOffboardingScript.cmd" in r3.stderr, f"a package without a gateway\n{r3.describe()}")


@case
def expired_pin_is_a_warning(c):
    """A pin whose roots have all expired (here the fixture's expired leaf named as pin "old")
    is a warning on stderr naming the pin and --pin, whenever a row trusts it."""
    url = c.url("valid", "URLPROBE_PORT_VALID")
    expired = c.pki("expired.pem")
    r = c.run(["list", "--pin", f"old={expired}", c.sheet([[url, "200", "GET", "old"]])], jsonl=False)
    check(r.rc == 0, r.describe())
    check(re.search(r"warning: pin old \(.*expired\.pem\): every root has expired.*--pin old=FILE", r.stderr),
          f"no expiry warning\n{r.describe()}")
    r = c.run(["list", "--pin", f"old={expired}", c.sheet([[url, "200", "GET", "system"]])], jsonl=False)
    check("every root has expired" not in r.stderr, f"a warning for a pin no row uses\n{r.describe()}")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__, Case))
