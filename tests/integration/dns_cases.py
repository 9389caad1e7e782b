#!/usr/bin/python3
"""Integration cases for DNS evidence (issue 21): the fixture's dnsmasq answers
alias.probe.test with a CNAME chain (alias -> mid -> end.probe.test, end on the origin); the
record keeps the chain and every address, the text report shows it on a failure, readiness lists
the CNAME targets as names to allow, and --service-tags names the tags of each address.

    dns_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    dns_cases.py --list

Each CASE is one ctest, dns.<case> (tests/integration/CMakeLists.txt).
Exit: 0 pass, 1 fail, 77 skipped.
"""
import json
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
import harness  # noqa: E402

CASES, case = harness.case_registry()


def tags_file(c, name, tags):
    """A service tags file in Microsoft's shape (BOM, CRLF, changeNumber, cloud, values[])."""
    values = [{"name": tag, "id": tag,
               "properties": {"changeNumber": 1, "region": "", "platform": "Azure",
                              "systemService": "", "addressPrefixes": prefixes}}
              for tag, prefixes in tags.items()]
    text = json.dumps({"changeNumber": 42, "cloud": "Public", "values": values}, indent=2)
    path = c.tmp / name
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    return path


def sweep(c, *extra):
    """alias.probe.test on the plain-HTTP port (ok) and on the closed port (a failure), direct."""
    fx = c.fixture()
    urls = c.tmp / "urls.txt"
    urls.write_text(f"http://alias.probe.test:{fx['URLPROBE_PORT_HTTP']}/\n"
                    f"http://alias.probe.test:{fx['URLPROBE_PORT_CLOSED']}/\n")
    text = c.tmp / "report.txt"
    r = c.run(["--methods", "direct", "--dns-server", fx["URLPROBE_DNS"], "--timeout", "5",
               "--format", "jsonl", "-o", str(text), *extra, str(urls)])
    check(r.rc == 1, f"exit status {r.rc}, expected 1 (one URL fails)")
    check(len(r.records) == 2, f"{len(r.records)} records, expected 2")
    return r, text.read_text()


@case
def cname_chain_recorded(c):
    fx = c.fixture()
    r, text = sweep(c)
    ok, refused = sorted(r.records, key=lambda rec: rec["url"])
    c.expect_outcome(ok, "ok")
    c.expect_outcome(refused, "connect_refused")
    for rec in (ok, refused):
        check(rec.get("dns") == {"cnames": ["mid.probe.test", "end.probe.test"],
                                 "addresses": [fx["URLPROBE_ORIGIN"]]},
              f"dns of {rec['url']}: {rec.get('dns')}")
        check("service_tags" not in rec["dns"], "service_tags without --service-tags")
    # The failure shows what the name really is; the success does not repeat it.
    chain = f"DNS: alias.probe.test -> mid.probe.test -> end.probe.test [{fx['URLPROBE_ORIGIN']}]"
    check(text.count(chain) == 1, f"the text report shows the chain {text.count(chain)} times, "
          f"expected once (on the failure):\n{text}")
    failed_line = next((line for line in text.splitlines() if "Failed, connect_refused" in line), "")
    following = text.splitlines()[text.splitlines().index(failed_line) + 1] if failed_line else ""
    check(chain in following, f"the chain is not under the failure:\n{text}")
    # Readiness: the names a by-name rule must allow, the CNAME targets under their host.
    check("      mid.probe.test (CNAME via alias.probe.test)\n" in text
          and "      end.probe.test (CNAME via alias.probe.test)\n" in text
          and "    alias.probe.test\n" in text, f"names to allow missing:\n{text}")
    # A host with an IP literal resolves nothing: no dns field.
    direct = c.run(["--methods", "direct", "--timeout", "5", "--format", "jsonl",
                    f"http://{fx['URLPROBE_ORIGIN']}:{fx['URLPROBE_PORT_HTTP']}/"])
    check("dns" not in direct.only_record(), f"an IP literal got dns: {direct.records}")


@case
def cname_chain_survives_report(c):
    """report, merge and json read the field back as the sweep wrote it."""
    fx = c.fixture()
    r, _ = sweep(c)
    saved = c.tmp / "run.jsonl"
    saved.write_text(r.stdout)
    again = c.run(["report", str(saved), "--format", "jsonl"])
    check([rec.get("dns") for rec in again.records] == [rec.get("dns") for rec in r.records],
          f"report lost dns: {[rec.get('dns') for rec in again.records]}")
    text = c.run(["report", str(saved), "--format", "text"], jsonl=False)
    check(f"DNS: alias.probe.test -> mid.probe.test -> end.probe.test [{fx['URLPROBE_ORIGIN']}]"
          in text.stdout, f"report's text lacks the chain:\n{text.stdout}")
    doc = json.loads(c.run(["report", str(saved), "--format", "json"], jsonl=False).stdout)
    names = doc["readiness"]["allow_names"]
    check(names == [{"name": "alias.probe.test"},
                    {"name": "mid.probe.test", "cname_of": "alias.probe.test"},
                    {"name": "end.probe.test", "cname_of": "alias.probe.test"}],
          f"readiness allow_names {names}")
    check("outside_service_tags" not in doc["readiness"], "a tags warning without --service-tags")
    merged = c.run(["merge", str(saved), str(saved), "--prefer", "newest"])
    check(all(rec.get("dns", {}).get("cnames") == ["mid.probe.test", "end.probe.test"]
              for rec in merged.records), f"merge lost dns: {merged.stdout}")


@case
def service_tags_named(c):
    fx = c.fixture()
    origin = fx["URLPROBE_ORIGIN"]
    # The origin in Defender's tag: tagged, and readiness has nothing to warn of.
    covered = tags_file(c, "covered.json", {
        "AzureCloud": ["127.0.0.0/8", "2603:1000::/24"],
        "MicrosoftDefenderForEndpoint": [f"{origin}/32"],
        "OneDsCollector": ["10.0.0.0/8"]})
    r, text = sweep(c, "--service-tags", str(covered))
    for rec in r.records:
        check(rec["dns"].get("service_tags") == {origin: ["AzureCloud",
                                                          "MicrosoftDefenderForEndpoint"]},
              f"service_tags of {rec['url']}: {rec['dns'].get('service_tags')}")
    check("Warning: required URLs in neither" not in text, f"an unexpected warning:\n{text}")

    # The origin only in AzureCloud: a static-IP rule for Defender's tags would miss it.
    outside = tags_file(c, "outside.json", {
        "AzureCloud": ["127.0.0.0/8"],
        "MicrosoftDefenderForEndpoint": ["20.42.73.0/24"],
        "OneDsCollector": ["2603:1030::/32"]})
    r, text = sweep(c, "--service-tags", str(outside))
    for rec in r.records:
        check(rec["dns"].get("service_tags") == {origin: ["AzureCloud"]},
              f"service_tags of {rec['url']}: {rec['dns'].get('service_tags')}")
    check("  Warning: required URLs in neither MicrosoftDefenderForEndpoint nor OneDsCollector:\n"
          in text, f"no service-tag warning:\n{text}")
    for port in (fx["URLPROBE_PORT_HTTP"], fx["URLPROBE_PORT_CLOSED"]):
        line = f"    http://alias.probe.test:{port}/ {origin} (in AzureCloud)\n"
        check(line in text, f"warning line {line!r} missing:\n{text}")


@case
def service_tags_bad_file(c):
    fx = c.fixture()
    bad = c.tmp / "bad.json"
    bad.write_text('{"values": [\n  {"name": "A", "properties": {"addressPrefixes": '
                   '["127.0.0.0/8", "127.0.0.0/40"]}}\n]}\n')
    r = c.run(["--methods", "direct", "--dns-server", fx["URLPROBE_DNS"], "--service-tags",
               str(bad), "http://alias.probe.test/"], jsonl=False)
    check(r.rc == 2, f"exit status {r.rc}, expected 2")
    check(f"{bad}:2:67: error: '127.0.0.0/40' in tag A is not an address prefix" in r.stderr,
          f"stderr does not locate the bad prefix:\n{r.stderr}")
    check(r.stdout == "", "a sweep ran despite the bad file")
    bad.write_text('{"values": [}\n')
    r = c.run(["--methods", "direct", "--service-tags", str(bad), "http://alias.probe.test/"],
              jsonl=False)
    check(r.rc == 2 and f"{bad}:1:13: error:" in r.stderr, f"bad JSON not located:\n{r.stderr}")


@case
def cname_chain_of_a_failed_lookup(c):
    """filtered.probe.test is a CNAME of a name without records: the dns_error record names the
    chain (no addresses), and the text report shows which name did not resolve."""
    fx = c.fixture()
    text = c.tmp / "report.txt"
    r = c.run(["--methods", "direct", "--dns-server", fx["URLPROBE_DNS"], "--timeout", "5",
               "--format", "jsonl", "-o", str(text),
               f"http://filtered.probe.test:{fx['URLPROBE_PORT_HTTP']}/"])
    rec = r.only_record()
    target = "blocked.trafficmanager.probe.test"
    c.expect_outcome(rec, "dns_error",
                     rf"^NODATA: filtered\.probe\.test exists but has no address records "
                     rf"\(CNAME chain filtered\.probe\.test -> {target}: {target} has no "
                     rf"address records\)$")
    check(rec.get("dns") == {"cnames": [target], "addresses": []}, f"dns: {rec.get('dns')}")
    line = f"DNS: filtered.probe.test -> {target} (no address)"
    check(line in text.read_text(), f"the text report lacks {line!r}:\n{text.read_text()}")
    # A plain NXDOMAIN has no chain to show: no dns field.
    gone = c.run(["--methods", "direct", "--dns-server", fx["URLPROBE_DNS"], "--timeout", "5",
                  "--format", "jsonl",
                  f"http://nosuch-at-all.probe.test:{fx['URLPROBE_PORT_HTTP']}/"])
    check("dns" not in gone.only_record(), f"an NXDOMAIN without CNAMEs got dns: {gone.records}")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__))
