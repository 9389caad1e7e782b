#!/usr/bin/python3
"""Integration cases for readiness (issue 11): a sweep through the fixture's "corp" squid, which
requires credentials for one host and inspects TLS for another, turned into the network team's
verdict and to-do list by the vendor's rules.

    readiness_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    readiness_cases.py --list

Each CASE is one ctest, readiness.<case> (tests/integration/CMakeLists.txt).
Exit: 0 pass, 1 fail, 77 skipped.
"""
import json
import sys
import textwrap
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
import harness  # noqa: E402


class Case(harness.Case):
    def urls(self):
        fx = self.fixture()
        return {
            "inspected": f"https://valid.probe.test:{fx['URLPROBE_PORT_VALID']}/",
            "auth": f"https://ocspgood.probe.test:{fx['URLPROBE_PORT_OCSP_GOOD']}/",
            "clean": f"https://chain.probe.test:{fx['URLPROBE_PORT_CHAIN']}/",
            "transparent": fx["URLPROBE_TRANSPARENT_URL"],
        }

    def sweep_args(self, trust_inspection):
        """Routes direct and named (the corp squid). TRUST_INSPECTION: the devices trust the
        inspection CA (an enterprise that deployed it), so inspected chains verify and are
        tls_intercepted; otherwise they are tls_untrusted."""
        fx = self.fixture()
        ca = fx["URLPROBE_ROOT_CA"]
        if trust_inspection:
            bundle = self.tmp / "trusted.pem"
            bundle.write_text(Path(ca).read_text() + Path(fx["URLPROBE_INSPECTION_CA"]).read_text())
            ca = str(bundle)
        sheet = self.tmp / "urls.txt"
        sheet.write_text("".join(u + "\n" for u in self.urls().values()))
        return ["--methods", "direct,named", "--named-proxy", fx["URLPROBE_SQUID_CORP"],
                "--dns-server", fx["URLPROBE_DNS"], "--timeout", "5", "--ca-file", ca,
                "--public-roots", fx["URLPROBE_PUBLIC_ROOTS"], str(sheet)]

    def expected_section(self):
        """The Readiness section, exactly: every line is advice a network team acts on."""
        fx = self.fixture()
        proxy = f"http://{fx['URLPROBE_SQUID_CORP']}"
        return (
            "Readiness\n"
            "  Verdict: 4 of 4 required URLs reachable (WW); ready\n"
            "  Methods that reach every required URL: Proxy disabled\n"
            "  3 - Proxy disabled: 4/4 required URLs\n"
            "  4 - Named proxy: 2/4 required URLs\n"
            f"  To do on {proxy}:\n"
            "    allow anonymous traffic for:\n"
            "      ocspgood.probe.test\n"
            "    exclude from HTTPS inspection:\n"
            "      valid.probe.test\n"
            "  Direct traffic passes through a transparent proxy:\n"
            f"    {fx['URLPROBE_TRANSPARENT_URL']} (X-Cache: MISS from urlprobe-fixture-corp)\n"
            # Wrapped at 100 columns as the text format does, continued 6 columns in.
            + textwrap.fill(f"Note: Named proxy ({proxy}) fails for 2 required URLs; the sensor falls "
                            "back to Proxy disabled, which reaches all of them", width=100,
                            initial_indent="  ", subsequent_indent=" " * 6,
                            break_long_words=False, break_on_hyphens=False) + "\n")


CASES, case = harness.case_registry()


def by_url_route(records):
    return {(r["url"], r["route"]): r for r in records}


@case
def corp_squid_advice(c):
    """Auth for one host, inspection for another, a transparent proxy on the direct path: the
    text section lists exactly the advice, the exit status is 1 by default (a probe failed) and
    0 with --require any-method (every required URL has a working method)."""
    u = c.urls()
    results = c.tmp / "run.jsonl"
    r = c.run([*c.sweep_args(trust_inspection=True), "--format", "text", "-o", str(results)],
              jsonl=False)
    check(r.rc == 1, f"exit status {r.rc}, expected 1 (two probes through the proxy failed)")
    recs = by_url_route(c.parse_records(results.read_text()))
    check(len(recs) == 8, f"{len(recs)} records, expected 4 URLs x 2 routes")
    c.expect_outcome(recs[(u["auth"], "named")], "proxy_auth_required")
    c.expect_outcome(recs[(u["inspected"], "named")], "tls_intercepted")
    c.expect_outcome(recs[(u["clean"], "named")], "ok")
    check(recs[(u["transparent"], "direct")].get("via", "").startswith("X-Cache: MISS from"),
          "the transparent proxy's X-Cache header is not in the direct record's via")
    for url in u.values():
        c.expect_outcome(recs[(url, "direct")], "ok")
    want = c.expected_section()
    check("\n" + want + "\n" in r.stdout, f"the Readiness section differs; expected:\n{want}")

    r = c.run([*c.sweep_args(trust_inspection=True), "--format", "jsonl", "--require",
               "any-method"])
    check(r.rc == 0, f"--require any-method exit status {r.rc}, expected 0 (ready)")


@case
def untrusted_inspection_same_advice(c):
    """Devices that do not trust the inspection CA see tls_untrusted through the proxy, not
    tls_intercepted: the issuer differs from the one the direct path verified, so the advice is
    still to exclude the host from inspection on that proxy."""
    u = c.urls()
    r = c.run([*c.sweep_args(trust_inspection=False), "--format", "jsonl"])
    check(r.rc == 1, f"exit status {r.rc}, expected 1")
    recs = by_url_route(r.records)
    c.expect_outcome(recs[(u["inspected"], "named")], "tls_untrusted")
    saved = c.tmp / "run.jsonl"
    saved.write_text(r.stdout)
    r = c.run(["report", str(saved), "--readiness"], jsonl=False)
    check(r.rc == 0, f"report --readiness exit status {r.rc}, expected 0 (ready)")
    check(r.stdout == c.expected_section(),
          f"report --readiness differs; expected:\n{c.expected_section()}")


@case
def report_readiness_json(c):
    """report --readiness --format json from saved results: the same verdict as an object."""
    r = c.run([*c.sweep_args(trust_inspection=True), "--format", "jsonl"])
    saved = c.tmp / "run.jsonl"
    saved.write_text(r.stdout)
    r = c.run(["report", str(saved), "--readiness", "--format", "json"], jsonl=False)
    check(r.rc == 0, f"exit status {r.rc}, expected 0")
    doc = json.loads(r.stdout)
    fx = c.fixture()
    proxy = f"http://{fx['URLPROBE_SQUID_CORP']}"
    check(doc["verdict"] == "ready" and doc["required"] == 4 and doc["reachable"] == 4,
          f"verdict {doc['verdict']} {doc['reachable']}/{doc['required']}")
    check(doc["methods"]["direct"]["all"] and not doc["methods"]["named"]["all"],
          f"methods {doc['methods']}")
    check(doc["todo"] == [{"proxy": proxy, "allow_anonymous": ["ocspgood.probe.test"],
                           "exclude_inspection": ["valid.probe.test"]}], f"todo {doc['todo']}")
    check([t["url"] for t in doc["transparent_proxy"]] == [fx["URLPROBE_TRANSPARENT_URL"]],
          f"transparent_proxy {doc['transparent_proxy']}")
    r = c.run(["report", str(saved), "--readiness", "--format", "csv"], jsonl=False)
    check(r.rc == 2 and "--readiness" in r.stderr, "report --readiness --format csv was not refused")


@case
def listed_proxies_each_counted(c):
    """Issue 18: with --proxies, each listed proxy is an egress route of its own. tinyproxy lets
    only the origin's IP through (a name is proxy_denied); the bump squid inspects TLS. The
    Readiness section says, per proxy, which required URLs it does not reach and why, with the
    advice for the inspecting one; the verdict stays the methods' (direct reaches both). The
    same per-proxy counts reach the json object and the html report's readiness data."""
    fx = c.fixture()
    tiny, bump = f"http://{fx['URLPROBE_TINYPROXY']}", f"http://{fx['URLPROBE_SQUID_BUMP']}"
    valid = f"https://valid.probe.test:{fx['URLPROBE_PORT_VALID']}/"
    by_ip = f"http://{fx['URLPROBE_ORIGIN']}:{fx['URLPROBE_PORT_HTTP']}/"
    proxies = c.tmp / "proxies.txt"
    proxies.write_text(f"tiny={tiny}\nbump={bump}\n")
    sheet = c.tmp / "urls.txt"
    sheet.write_text(f"{valid}\n{by_ip}\n")
    bundle = c.tmp / "trusted.pem"
    bundle.write_text(Path(fx["URLPROBE_ROOT_CA"]).read_text()
                      + Path(fx["URLPROBE_INSPECTION_CA"]).read_text())
    html = c.tmp / "report.html"
    args = ["--methods", "direct", "--proxies", str(proxies), "--dns-server", fx["URLPROBE_DNS"],
            "--timeout", "5", "--ca-file", str(bundle), "--public-roots",
            fx["URLPROBE_PUBLIC_ROOTS"], str(sheet)]
    r = c.run([*args, "--format", "text", "-o", str(html)], jsonl=False)
    check(r.rc == 1, f"exit status {r.rc}, expected 1 (probes through the proxies failed)")
    want = (
        "Readiness\n"
        "  Verdict: 2 of 2 required URLs reachable (WW); ready\n"
        "  Methods that reach every required URL: Proxy disabled\n"
        "  3 - Proxy disabled: 2/2 required URLs\n"
        "  Proxies that reach every required URL: none\n"
        f"  Proxy tiny ({tiny}): 1/2 required URLs; unreachable through it:\n"
        f"    {valid} (proxy_denied)\n"
        f"  Proxy bump ({bump}): 1/2 required URLs; unreachable through it:\n"
        f"    {valid} (tls_intercepted)\n"
        f"  To do on {bump}:\n"
        "    exclude from HTTPS inspection:\n"
        "      valid.probe.test\n")
    check("\n" + want + "\n" in r.stdout, f"the Readiness section differs; expected:\n{want}\n"
          f"got:\n{r.stdout[r.stdout.find('Readiness'):]}")

    page = html.read_text()
    start = page.index('<script type="application/json" id="data">')
    data = json.loads(page[page.index(">", start) + 1:page.index("</script>", start)])
    got = [(p["name"], p["proxy"], p["required_ok"], [u["url"] for u in p["unreachable"]])
           for p in data["readiness"]["proxies"]]
    check(got == [("tiny", tiny, 1, [valid]), ("bump", bump, 1, [valid])],
          f"html readiness proxies {got}")

    r = c.run([*args, "--format", "jsonl"])
    saved = c.tmp / "run.jsonl"
    saved.write_text(r.stdout)
    r = c.run(["report", str(saved), "--readiness", "--format", "json"], jsonl=False)
    check(r.rc == 0, f"report --readiness exit status {r.rc}, expected 0 (the methods are ready)")
    doc = json.loads(r.stdout)
    # report orders saved proxies by their URL, not by the list it never saw.
    check(sorted((p["name"], p["all"], p["unreachable"]) for p in doc["proxies"]) ==
          [("bump", False, [{"url": valid, "outcomes": ["tls_intercepted"]}]),
           ("tiny", False, [{"url": valid, "outcomes": ["proxy_denied"]}])],
          f"proxies {doc['proxies']}")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__, Case))
