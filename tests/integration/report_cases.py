#!/usr/bin/python3
"""Integration cases for saved results: report, diff, merge and --shard, with the built binary
against the daemons of tests/fixtures/start.

    report_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    report_cases.py --list

Each CASE is one ctest, report.<case> (tests/integration/CMakeLists.txt). A case runs sweeps to
produce jsonl files in a scratch folder, then the command under test on them.
Exit: 0 pass, 1 fail, 77 skipped.
"""
import datetime
import json
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
import harness  # noqa: E402


class Case(harness.Case):
    def base_args(self, methods="direct,named"):
        """Private DNS, the test PKI, jsonl; route named is not configured here, so each target
        also gets a 'Doesn't exist' record without any waiting."""
        fx = self.fixture()
        return ["--format", "jsonl", "--methods", methods, "--dns-server", fx["URLPROBE_DNS"],
                "--timeout", "2", *harness.trust_args(fx)]

    def valid(self, path="/"):
        return f"https://valid.probe.test:{self.fixture()['URLPROBE_PORT_VALID']}{path}"

    def closed(self):
        return f"http://{self.fixture()['URLPROBE_ORIGIN']}:{self.fixture()['URLPROBE_PORT_CLOSED']}/"

    def sweep(self, name, urls, extra=(), rc=None, methods="direct,named"):
        """Runs a sweep, keeps its stdout as TMP/NAME; returns (path, records)."""
        r = self.run([*self.base_args(methods), *extra, *urls])
        if rc is not None:
            check(r.rc == rc, f"sweep exit status {r.rc}, expected {rc}")
        path = self.tmp / name
        path.write_text(r.stdout)
        check(r.records, "the sweep wrote no records")
        return path, r.records


def key(rec):
    return (rec["url"], rec["route"], rec.get("proxy", ""))


CASES, case = harness.case_registry()


@case
def text_report(c):
    """report --format analyzer renders saved results as the analyzer blocks of a sweep, exit 1
    for the failure among them, and --format text the same without the routes that do not exist;
    report --format jsonl gives the records back byte for byte."""
    # From a list file, so that the records carry their lines: a sweep stores records in
    # completion order, and report restores the sheet's order from row.line.
    sheet = c.tmp / "urls.txt"
    sheet.write_text(f"# two targets\n{c.valid()}\n{c.closed()}\n")
    path, records = c.sweep("run.jsonl", [str(sheet)], rc=1)
    check(len(records) == 4, f"expected 2 targets x 2 routes, got {len(records)} records")
    r = c.run(["report", str(path), "--format", "analyzer"], jsonl=False)
    check(r.rc == 1, f"report --format analyzer exit status {r.rc}, expected 1 (a probe failed)")
    out = r.stdout
    for want in [f"Testing URL : {c.valid()}\n3 - Proxy disabled: Succeeded (200)\n4 - Named proxy: Doesn't exist\n",
                 f"Testing URL : {c.closed()}\n3 - Proxy disabled: Failed, connect_refused",
                 "connect_refused"]:
        check(want in out, f"report analyzer text lacks {want!r}")
    check(out.index(c.valid()) < out.index(c.closed()), "blocks are not in sweep order")
    # The default text names the route the records say was not configured once, at the top.
    r = c.run(["report", str(path), "--format", "text"], jsonl=False)
    check(r.rc == 1, f"report exit status {r.rc}, expected 1 (a probe failed)")
    out = r.stdout
    check("Doesn't exist" not in out, f"report text still says Doesn't exist:\n{out}")
    check(out.startswith("Not configured on this host") and "\n  4 - Named proxy: --named-proxy" in out,
          f"report text does not name the named route once at the top:\n{out}")
    for want in [f"Testing URL : {c.valid()}\n3 - Proxy disabled: Succeeded (200)\nTesting URL : {c.closed()}\n"
                 "3 - Proxy disabled: Failed, connect_refused"]:
        check(want in out, f"report text lacks {want!r}")
    r = c.run(["report", str(path), "--format", "jsonl"])
    check(r.rc == 1, f"report --format jsonl exit status {r.rc}, expected 1")
    check(r.stdout == path.read_text(), "report --format jsonl did not reproduce the records byte for byte")
    out_file = c.tmp / "out.txt"
    r = c.run(["report", str(path), "-o", str(out_file)], jsonl=False)
    check(r.rc == 1 and "Testing URL" in out_file.read_text(), "report -o FILE.txt did not write the text report")


@case
def diff_broke(c):
    """One target is made to fail in the second run (its name pinned to a dead address): diff
    lists it under broke and exits 1; the other way round it recovered and diff exits 0."""
    fx = c.fixture()
    port = fx["URLPROBE_PORT_HTTP"]
    pinned = f"http://pinned.example:{port}/"
    old, _ = c.sweep("old.jsonl", [c.valid(), pinned], extra=["--resolve", f"pinned.example:{port}:{fx['URLPROBE_ORIGIN']}"], rc=0)
    new, recs = c.sweep("new.jsonl", [c.valid(), pinned], extra=["--resolve", f"pinned.example:{port}:{fx['URLPROBE_DEAD_ADDR']}"], rc=1)
    check(any(rec["url"] == pinned and rec["route"] == "direct" and rec["outcome"] != "ok" for rec in recs),
          "the pinned target did not fail in the second run")
    # Timing is not under test here: "slower" (a latency verdict) is switched off, so a loaded
    # machine (a sanitizer build) cannot turn the expected exit status.
    no_slower = ["--slower-min-ms", "1000000000"]
    r = c.run(["diff", str(old), str(new), *no_slower], jsonl=False)
    check(r.rc == 1, f"diff exit status {r.rc}, expected 1 (something broke)")
    check("broke (1):\n" in r.stdout, "diff text has no 'broke (1):' group")
    broke = r.stdout.split("broke (1):\n", 1)[1].splitlines()[0]
    check(pinned in broke and "direct" in broke and "ok -> " in broke, f"the broke line is {broke!r}")
    check(c.valid() not in r.stdout, "an unchanged target is listed")
    r = c.run(["diff", str(old), str(new), "--format", "json", *no_slower], jsonl=False)
    check(r.rc == 1, f"diff --format json exit status {r.rc}, expected 1")
    d = json.loads(r.stdout)
    check([e["url"] for e in d["broke"]] == [pinned], f"json broke is {d['broke']}")
    check(d["recovered"] == [] and d["new"] == [] and d["removed"] == [], f"unexpected entries: {d}")
    r = c.run(["diff", str(new), str(old), *no_slower], jsonl=False)
    check(r.rc == 0, f"reverse diff exit status {r.rc}, expected 0 (only recovered)")
    check("recovered (1):" in r.stdout and pinned in r.stdout, "the reverse diff does not list it as recovered")
    # Issue 18: the old failure's detail printed after "ok" read as the new state.
    recovered = r.stdout.split("recovered (1):\n", 1)[1].splitlines()[0]
    check(re.fullmatch(rf"  {re.escape(pinned)}  direct  [a-z_]+ -> ok", recovered),
          f"the recovered line is {recovered!r}, expected '  URL  direct  OLD_OUTCOME -> ok'")


@case
def shard_merge(c):
    """Three --shard k/3 runs merge into exactly the keys of one full run, each once."""
    urls = [c.valid(f"/item/{i}") for i in range(12)]
    _, full = c.sweep("full.jsonl", urls, rc=0)
    full_keys = {key(rec) for rec in full}
    check(len(full_keys) == 24, f"the full run has {len(full_keys)} keys, expected 24")
    shards, seen = [], set()
    for k in (1, 2, 3):
        r = c.run([*c.base_args(), "--shard", f"{k}/3", *urls])
        check(r.rc == 0, f"shard {k}/3 exit status {r.rc}")
        keys = [key(rec) for rec in r.records]
        check(not seen & set(keys), f"shard {k}/3 repeats keys of an earlier shard: {seen & set(keys)}")
        seen |= set(keys)
        path = c.tmp / f"shard{k}.jsonl"
        path.write_text(r.stdout)
        shards.append(str(path))
    merged = c.tmp / "all.jsonl"
    r = c.run(["merge", *shards, "-o", str(merged)], jsonl=False)
    check(r.rc == 0, f"merge exit status {r.rc}")
    records = c.parse_records(merged.read_text())
    keys = [key(rec) for rec in records]
    check(len(keys) == len(set(keys)), "the merge holds a key twice")
    check(set(keys) == full_keys, f"merged keys differ from the full run: missing {full_keys - set(keys)}, "
                                  f"extra {set(keys) - full_keys}")
    r = c.run(["--shard", "4/3", c.valid()], jsonl=False)
    check(r.rc == 2 and "--shard" in r.stderr, "--shard 4/3 was not refused naming --shard")


@case
def merge_duplicate(c):
    """Merging a file with itself is an error naming both; --prefer newest keeps one of each."""
    path, records = c.sweep("a.jsonl", [c.valid()], rc=0)
    copy = c.tmp / "b.jsonl"
    copy.write_text(path.read_text())
    r = c.run(["merge", str(path), str(copy), "-o", str(c.tmp / "out.jsonl")], jsonl=False)
    check(r.rc == 2, f"merge of duplicates exit status {r.rc}, expected 2")
    check(f"{copy}:1:1: error:" in r.stderr and f"{path}:1" in r.stderr,
          "the duplicate error does not name both files")
    check(not (c.tmp / "out.jsonl").exists(), "a refused merge wrote its output")
    r = c.run(["merge", str(path), str(path), "--prefer", "newest"])
    check(r.rc == 0, f"merge --prefer newest exit status {r.rc}")
    check(len(r.records) == len(records), f"--prefer newest kept {len(r.records)} records, expected {len(records)}")


@case
def truncated_line(c):
    """A truncated line (a sweep killed mid-write) is FILE:LINE: error; the rest is used."""
    path, records = c.sweep("run.jsonl", [c.valid("/1"), c.valid("/2")], rc=0)
    lines = path.read_text().splitlines(keepends=True)
    broken = c.tmp / "broken.jsonl"
    broken.write_text(lines[0] + lines[1][: len(lines[1]) // 2] + "\n" + "".join(lines[2:]))
    r = c.run(["report", str(broken), "--format", "jsonl"])
    check(r.rc == 2, f"report exit status {r.rc}, expected 2 (bad input)")
    check(f"{broken}:2:1: error:" in r.stderr, f"no '{broken}:2:1: error:' in stderr")
    check(len(r.records) == len(records) - 1, f"{len(r.records)} records used, expected {len(records) - 1}")
    future = c.tmp / "future.jsonl"
    future.write_text(lines[0].replace('{"v":1,', '{"v":2,', 1))
    r = c.run(["report", str(future), "--format", "jsonl"])
    check(r.rc == 2 and "unsupported record version 2 (this urlprobe reads 1)" in r.stderr,
          "a v2 record was not refused clearly")


@case
def readiness_skipped_rows_are_not_unreachable(c):
    """Issue 18: the built-in sheet with every probed failure rewritten as ok is ready. Its
    wildcard rows are listed apart, each with what would make it probeable."""
    fx = c.fixture()
    r = c.run(["--format", "jsonl", "--methods", "direct", "--dns-server", fx["URLPROBE_DNS"], "--timeout", "2"])
    check(r.rc == 1, f"the sweep exit status {r.rc}, expected 1 (nothing resolves here)")
    lines = []
    for rec in r.records:
        if rec["outcome"] != "skipped":
            rec["outcome"], rec["detail"], rec["http_status"] = "ok", "", 200
        lines.append(json.dumps(rec))
    path = c.tmp / "all-ok.jsonl"
    path.write_text("\n".join(lines) + "\n")
    rep = c.run(["report", str(path), "--readiness"], jsonl=False)
    check(rep.rc == 0, f"report --readiness exit {rep.rc}, expected 0 (ready)\n{rep.describe()}")
    check("Unreachable" not in rep.stdout and "; ready" in rep.stdout, f"not ready\n{rep.describe()}")
    check(re.search(r"Not probed \(not counted\):\n(    https://\*\..*: .*\n)+", rep.stdout),
          f"the skipped rows are not listed apart\n{rep.describe()}")
    check("name a concrete host to probe it" in rep.stdout, f"no way out for the wildcard rows\n{rep.describe()}")


def prom_samples(text):
    """{(name, labels): value} of a Prometheus text file."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        check(m, f"not a sample line: {line!r}")
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def promtool_ok(c, path):
    if shutil.which("promtool"):
        r = subprocess.run(["promtool", "check", "metrics"], stdin=open(path), capture_output=True,
                           text=True)
        check(r.returncode == 0, f"promtool check metrics {path.name}: {r.stdout}{r.stderr}")


@case
def prometheus_sweep_and_report(c):
    """Issue 18: route named does not exist here (not_configured): it is no failed probe in the
    Prometheus file, but a urlprobe_probe_not_probed series; urlprobe_outcomes is a gauge; the
    sweep's end is a Unix time. `report --format prometheus` gives the same from saved results,
    its end the latest record's start plus its duration."""
    prom = c.tmp / "run.prom"
    before = time.time()
    path, records = c.sweep("run.jsonl", [c.valid()], extra=["-o", str(prom)], rc=0)
    after = time.time()
    rendered = c.tmp / "report.prom"
    r = c.run(["report", str(path), "-o", str(rendered)], jsonl=False)
    check(r.rc == 0, f"report exit status {r.rc}\n{r.describe()}")
    ends = [datetime.datetime.fromisoformat(rec["started"].replace("Z", "+00:00")).timestamp()
            + rec["ms"]["total"] / 1000 for rec in records]
    for name, file, end_range in (("sweep", prom, (before, after)),
                                  ("report", rendered, (max(ends) - 0.001, max(ends) + 0.001))):
        promtool_ok(c, file)
        text = file.read_text()
        samples = prom_samples(text)
        at = f'url="{c.valid()}",route="{{}}",proxy=""'
        check(samples.get(("urlprobe_probe_success", at.format("direct"))) == 1,
              f"{name}: no success 1 for direct:\n{text}")
        check(("urlprobe_probe_success", at.format("named")) not in samples,
              f"{name}: route named, not configured, has a urlprobe_probe_success:\n{text}")
        check(samples.get(("urlprobe_probe_not_probed",
                           at.format("named") + ',outcome="not_configured"')) == 1,
              f"{name}: no urlprobe_probe_not_probed for route named:\n{text}")
        check(samples.get(("urlprobe_outcomes", 'outcome="not_configured",route="named"')) == 1,
              f"{name}: urlprobe_outcomes lacks route named's not_configured:\n{text}")
        check("# TYPE urlprobe_outcomes gauge" in text, f"{name}: urlprobe_outcomes is no gauge")
        end = samples.get(("urlprobe_sweep_end_timestamp_seconds", ""))
        check(end is not None and end_range[0] <= end <= end_range[1],
              f"{name}: urlprobe_sweep_end_timestamp_seconds {end}, expected in {end_range}")


def write_records(path, records):
    path.write_text("".join(json.dumps(rec) + "\n" for rec in records))
    return str(path)


def with_totals(records, totals):
    """Copies of RECORDS (one per URL, same order) with ms.total from TOTALS; None drops it."""
    out = []
    for rec, total in zip(records, totals):
        if total is not None:
            rec = json.loads(json.dumps(rec))
            rec["ms"]["total"] = total
            out.append(rec)
    return out


@case
def diff_slower_per_probe(c):
    """Issue 18: slower is per (url, route, proxy), ok in both runs: fast URLs that left the run
    cannot make a route slower. The per-route line is information; json numbers are decimals."""
    urls = [c.valid(f"/s/{i}") for i in range(5)]
    _, recs = c.sweep("base.jsonl", urls, methods="direct", rc=0)
    recs.sort(key=lambda rec: urls.index(rec["url"]))
    old = write_records(c.tmp / "old.jsonl", with_totals(recs, [3.0, 3.2, 3.2365000000000004, 200, 210]))
    # The two fastest URLs are gone; what is left is as fast as before.
    same = write_records(c.tmp / "same.jsonl", with_totals(recs, [None, None, 3.5, 201, 209]))
    r = c.run(["diff", old, same], jsonl=False)
    check(r.rc == 0, f"diff exit status {r.rc}, expected 0 (nothing broke, no probe got slower)")
    check("slower (" not in r.stdout, "a route was called slower because its fast URLs left")
    check("removed (2):" in r.stdout, "the two URLs that left are not listed as removed")
    check("per route (median ms.total of the probes ok in both runs; information, not a verdict):\n"
          "  direct  200 ms -> 201 ms (1.0x; 3 probes)\n" in r.stdout, "no per-route information line")
    slow = write_records(c.tmp / "slow.jsonl", with_totals(recs, [3.1, 3.3, 60.300000000000004, 201, 900]))
    r = c.run(["diff", old, slow], jsonl=False)
    check(r.rc == 1, f"diff exit status {r.rc}, expected 1 (two probes got slower)")
    check(f"slower (2; ms.total of a probe ok in both runs > 2x and > 50 ms more):\n"
          f"  {urls[2]}  direct  3.24 ms -> 60.3 ms (18.6x)\n"
          f"  {urls[4]}  direct  210 ms -> 900 ms (4.3x)\n" in r.stdout, "the slower probes are not named")
    r = c.run(["diff", old, slow, "--format", "json"], jsonl=False)
    check(r.rc == 1, f"diff --format json exit status {r.rc}, expected 1")
    check(f'{{"url":"{urls[2]}","route":"direct","old_ms":3.24,"new_ms":60.3}}' in r.stdout,
          "json does not write the times as short decimals")
    check('"routes":[{"route":"direct","old_median_ms":3.24,"new_median_ms":60.3,"probes":5}]' in r.stdout,
          "json has no per-route summary in short decimals")
    check(not re.search(r"\d[eE][+-]?\d", r.stdout), "json writes a number with an exponent")
    check(len(json.loads(r.stdout)["slower"]) == 2, "json slower is not the two probes")


@case
def diff_html(c):
    """Issue 18: diff --format html (or -o X.html) is one self-contained page with every section;
    every value is escaped, so a URL holding <script> is inert."""
    _, recs = c.sweep("base.jsonl", [c.valid()], methods="direct", rc=0)
    evil = c.valid("/<script>alert(1)</script>")
    old_rec = dict(recs[0], url=evil)
    new_rec = dict(old_rec, outcome="tls_intercepted", detail='issuer "<b>Corp</b>" & co')
    old = write_records(c.tmp / "old.jsonl", [old_rec])
    new = write_records(c.tmp / "new.jsonl", [new_rec])
    r = c.run(["diff", old, new, "--format", "html"], jsonl=False)
    check(r.rc == 1, f"diff --format html exit status {r.rc}, expected 1 (something broke)")
    page = r.stdout
    check(page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>"), "not an html page")
    for section in ["broke (1)", "slower (0)", "changed (0)", "recovered (0)", "new (0)", "removed (0)", "per route"]:
        check(f">{section}<" in page, f"the page has no section {section!r}")
    check("&lt;script&gt;alert(1)&lt;/script&gt;" in page, "the URL is not in the page, escaped")
    check("issuer &quot;&lt;b&gt;Corp&lt;/b&gt;&quot; &amp; co" in page, "the detail is not escaped")
    for markup in ["<script", "<b>", "src=", "href="]:
        check(markup not in page.lower(), f"the page holds {markup!r}")
    out = c.tmp / "diff.html"
    r = c.run(["diff", old, new, "-o", str(out)], jsonl=False)
    check(r.rc == 1, f"diff -o X.html exit status {r.rc}, expected 1")
    check(out.read_text() == page, "-o X.html did not write the same page as --format html")


@case
def merge_missing_shard(c):
    """Issue 18: records carry their --shard; merging shards 1 and 3 of 3 is an error naming
    shard 2/3 unless --allow-partial; shards of 3 and of 4 never make one sweep."""
    urls = [c.valid(f"/item/{i}") for i in range(12)]
    paths = {}
    for k, n in [(1, 3), (2, 3), (3, 3), (1, 4)]:
        r = c.run([*c.base_args(), "--shard", f"{k}/{n}", *urls])
        check(r.rc == 0 and r.records, f"shard {k}/{n} exit status {r.rc}, {len(r.records)} records")
        check(all(rec.get("shard") == {"k": k, "n": n} for rec in r.records),
              f"a record of shard {k}/{n} does not say so: {r.records[0].get('shard')}")
        paths[k, n] = c.tmp / f"shard{k}of{n}.jsonl"
        paths[k, n].write_text(r.stdout)
    _, plain = c.sweep("plain.jsonl", urls[:1], rc=0)
    check(all("shard" not in rec for rec in plain), "an unsharded sweep's record names a shard")

    out = c.tmp / "out.jsonl"
    r = c.run(["merge", str(paths[1, 3]), str(paths[3, 3]), "-o", str(out)], jsonl=False)
    check(r.rc == 2, f"merge of shards 1 and 3 of 3 exit status {r.rc}, expected 2")
    check("merge: shard 2/3 is missing" in r.stderr, "the error does not name shard 2/3")
    check(not out.exists(), "a refused merge wrote its output")
    r = c.run(["merge", str(paths[1, 3]), str(paths[3, 3]), "--allow-partial"])
    check(r.rc == 0, f"merge --allow-partial exit status {r.rc}, expected 0")
    check("shard 2/3 is missing" in r.stderr, "--allow-partial does not say what is missing")
    want = {key(rec) for p in (paths[1, 3], paths[3, 3]) for rec in c.parse_records(p.read_text())}
    check({key(rec) for rec in r.records} == want and len(r.records) == len(want),
          "--allow-partial did not merge exactly shards 1 and 3")
    r = c.run(["merge", *(str(paths[k, 3]) for k in (1, 2, 3)), "-o", str(out)], jsonl=False)
    check(r.rc == 0, f"merge of all three shards exit status {r.rc}")
    check(all(rec.get("shard", {}).get("n") == 3 for rec in c.parse_records(out.read_text())),
          "the merged records lost their shard")
    out.unlink()
    for extra in ([], ["--allow-partial"]):
        r = c.run(["merge", *(str(paths[k, 3]) for k in (1, 2, 3)), str(paths[1, 4]), "-o", str(out),
                   *extra], jsonl=False)
        check(r.rc == 2, f"merge of shards of 3 and of 4 {extra} exit status {r.rc}, expected 2")
        check(f"{paths[1, 4]}:1:1: error: shard 1/4" in r.stderr and "shards of 3 and of 4" in r.stderr,
              "the mixed-N error does not name the file and both shard counts")
        check(not out.exists(), "a refused merge wrote its output")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__, Case))
