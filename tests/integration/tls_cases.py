#!/usr/bin/python3
"""Integration cases for TLS: the facts of every handshake, why a certificate is untrusted, and
HTTPS inspection, with the built urlprobe binary against the test PKI and servers of
tests/fixtures/start (nginx on 127.0.77.2, one port per kind of certificate; the ssl_bump squid
on 127.0.77.4:3131 that re-signs every origin with "urlprobe inspection CA").

    tls_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    tls_cases.py --list

Each CASE is one ctest, tls.<CASE> (tests/integration/CMakeLists.txt). Every record is checked
against the result schema, and its `tls` object against the types of the contract. Exit: 0 pass,
1 fail.

The fixture's "urlprobe test root" is in no system store and is not a Mozilla root: a case that
is to see the web as a user does trusts it (--ca-file) and names it the one public root
(--public-roots); harness.trust_args() gives both.

/usr/bin/python3 on purpose: Debian's python3-jsonschema imports only there.
"""
import datetime
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
import harness  # noqa: E402

TEST_ROOT = "urlprobe test root"
INTERMEDIATE = "urlprobe test intermediate"
INSPECTION_CA = "urlprobe inspection CA"
TLS_ERRORS = {"expired", "not_yet_valid", "hostname_mismatch", "unknown_ca", "self_signed", "revoked", "weak",
              "pin_mismatch"}
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
# The `tls` fields of the contract and their JSON types (bool is not an int here).
TLS_TYPES = {"version": str, "cipher": str, "group": str, "alpn": str, "subject": str, "issuer": str,
             "root": str, "sans": list, "not_before": str, "not_after": str, "days_left": int,
             "serial": str, "sig_alg": str, "key": str, "chain_len": int, "verified": bool,
             "ocsp": str, "error": str, "pin": str}
# The certificate's facts: in every record that got as far as the server's certificate, whatever
# the outcome (root only when the chain verified).
TLS_CERT = ["subject", "issuer", "sans", "not_before", "not_after", "days_left", "serial", "sig_alg", "key",
            "chain_len", "verified"]
# The session's: only a completed handshake has them for certain (a refused certificate ends it).
TLS_SESSION = ["version", "cipher", "group"]


def dump(rec):
    return f"\n  record: {json.dumps(rec)}"


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


class Cert:
    """What openssl itself reads from one of the fixture's certificates."""

    def __init__(self, path):
        out = subprocess.run(["openssl", "x509", "-in", str(path), "-noout", "-serial", "-startdate", "-enddate"],
                             capture_output=True, text=True, check=True).stdout
        fields = dict(line.split("=", 1) for line in out.splitlines())
        self.serial = fields["serial"]
        self.not_before = self._time(fields["notBefore"])
        self.not_after = self._time(fields["notAfter"])

    @staticmethod
    def _time(text):  # "Nov 23 12:21:02 2027 GMT"
        return datetime.datetime.strptime(text, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)


def hex_value(text):
    """A serial in any common hex spelling (03E8, 0x3e8, 03:e8) as an int."""
    digits = text.lower().removeprefix("0x").replace(":", "")
    check(re.fullmatch(r"[0-9a-f]+", digits), f"serial {text!r} is not hex")
    return int(digits, 16)


class Case(harness.Case):
    def fxv(self, key):
        return self.fixture()[key]

    def pki(self, name):
        return Path(self.fxv("URLPROBE_FIXTURE_DIR")) / "pki" / name

    def url(self, name, port_key, path="/"):
        return f"https://{name}.probe.test:{self.fxv(port_key)}{path}"

    def args(self, methods="direct", trust=True, timeout="3"):
        fx = self.fixture()
        args = ["--format", "jsonl", "--methods", methods, "--dns-server", fx["URLPROBE_DNS"], "--timeout", timeout]
        if trust:
            args += harness.trust_args(fx)
        return args

    def probe(self, urls, extra=(), methods="direct", trust=True, rc=None):
        """One run; returns its records in the order of URLS (one each, route direct) or, for
        several methods, all of them."""
        if isinstance(urls, str):
            urls = [urls]
        r = self.run([*self.args(methods, trust), *extra, *urls])
        if rc is not None:
            check(r.rc == rc, f"exit status {r.rc}, expected {rc}")
        if methods != "direct":
            return r.records
        check(len(r.records) == len(urls), f"{len(r.records)} records, expected {len(urls)}")
        by_url = {rec["url"]: rec for rec in r.records}
        check(sorted(by_url) == sorted(urls), f"records for {sorted(by_url)}, expected each of {urls}")
        return [by_url[u] for u in urls]

    def probe_one(self, url, extra=(), trust=True, rc=None):
        return self.probe(url, extra, trust=trust, rc=rc)[0]

    def check_record(self, n, line, rec):
        """The contract's types for every tls field present, on every record."""
        tls = rec.get("tls")
        if tls is None:
            return
        check(isinstance(tls, dict), f"line {n}: tls is not an object: {line}")
        for key, typ in TLS_TYPES.items():
            if key not in tls:
                continue
            value = tls[key]
            ok = isinstance(value, typ) and not (typ is int and isinstance(value, bool))
            check(ok, f"line {n}: tls.{key} is {value!r}, expected a JSON {typ.__name__}: {line}")
            if typ is str:
                check(value != "", f"line {n}: tls.{key} is empty (absent facts are omitted): {line}")
        for key in ("not_before", "not_after"):
            if key in tls:
                check(RFC3339.fullmatch(tls[key]), f"line {n}: tls.{key} {tls[key]!r} is not RFC 3339 UTC: {line}")
        if "sans" in tls:
            check(all(isinstance(s, str) and s for s in tls["sans"]), f"line {n}: tls.sans holds a non-name: {line}")
        if "chain_len" in tls:
            check(tls["chain_len"] >= 1, f"line {n}: tls.chain_len {tls['chain_len']} < 1: {line}")
        if "ocsp" in tls:
            check(tls["ocsp"] in ("good", "revoked", "unknown"), f"line {n}: tls.ocsp {tls['ocsp']!r}: {line}")
        if "error" in tls:
            check(tls["error"] in TLS_ERRORS, f"line {n}: tls.error {tls['error']!r} is none of {sorted(TLS_ERRORS)}: {line}")
        if rec["outcome"] == "tls_untrusted":
            check("error" in tls, f"line {n}: tls_untrusted without tls.error: {line}")
            # verified answers "may this certificate be trusted?": never true on an untrusted
            # result, also when OpenSSL accepted the chain and a later check (a stapled
            # "revoked", a weak leaf at a security level that lets it through) refused it.
            check(tls.get("verified") is False, f"line {n}: tls_untrusted (tls.error {tls.get('error')!r}) with "
                  f"verified {tls.get('verified')!r}, expected false: {line}")
        if "warnings" in rec:
            w = rec["warnings"]
            check(isinstance(w, list) and w and all(isinstance(s, str) and s for s in w),
                  f"line {n}: warnings must be a non-empty array of strings: {line}")

    # -- assertions ------------------------------------------------------------------------

    def tls(self, rec, *required):
        tls = rec.get("tls")
        check(isinstance(tls, dict), f"no tls object{dump(rec)}")
        missing = [k for k in required if k not in tls]
        check(not missing, f"tls lacks {missing}{dump(rec)}")
        return tls

    def untrusted(self, rec, error, detail_re=None):
        self.expect_outcome(rec, "tls_untrusted", detail_re)
        tls = self.tls(rec, *TLS_CERT, "error")
        check(tls["error"] == error, f"tls.error {tls['error']!r}, expected {error!r}{dump(rec)}")
        check(tls["verified"] is False, f"tls.verified {tls['verified']!r}, expected false{dump(rec)}")
        check("http_status" not in rec, f"an untrusted certificate must stop the probe before HTTP{dump(rec)}")
        return tls

    def trusted_ok(self, rec, subject, issuer=TEST_ROOT, root=TEST_ROOT):
        self.expect_outcome(rec, "ok")
        check(rec.get("http_status") == 200, f"http_status {rec.get('http_status')}, expected 200{dump(rec)}")
        tls = self.tls(rec, *TLS_CERT, *TLS_SESSION, "root")
        check(tls["verified"] is True, f"tls.verified {tls['verified']!r}, expected true{dump(rec)}")
        check("error" not in tls, f"tls.error on a verified chain{dump(rec)}")
        check(subject in tls["subject"], f"tls.subject {tls['subject']!r} does not name {subject}{dump(rec)}")
        check(issuer in tls["issuer"], f"tls.issuer {tls['issuer']!r} does not name {issuer}{dump(rec)}")
        check(root in tls["root"], f"tls.root {tls['root']!r} does not name {root}{dump(rec)}")
        return tls

    def same_dates(self, tls, cert, rec):
        for key, want in (("not_before", cert.not_before), ("not_after", cert.not_after)):
            got = parse_time(tls[key])
            check(got == want, f"tls.{key} {tls[key]}, the certificate says {want.isoformat()}{dump(rec)}")


CASES, case = harness.case_registry()


# ------------------------------------------------------------------------------------------------
# Facts of a trusted handshake
# ------------------------------------------------------------------------------------------------

@case
def valid_facts(c):
    """Every fact of the contract, typed, and equal to what openssl reads from the leaf."""
    rec = c.probe_one(c.url("valid", "URLPROBE_PORT_VALID"), rc=0)
    tls = c.trusted_ok(rec, "valid.probe.test")
    check(tls["version"] in ("TLSv1.2", "TLSv1.3"), f"tls.version {tls['version']!r}{dump(rec)}")
    check(set(tls["sans"]) == {"valid.probe.test", "notfound.probe.test", "slow.probe.test"},
          f"tls.sans {tls['sans']}, expected the leaf's three DNS names{dump(rec)}")
    check(tls["key"] == "EC P-256", f"tls.key {tls['key']!r}, expected 'EC P-256'{dump(rec)}")
    check(tls["sig_alg"] == "ecdsa-with-SHA256", f"tls.sig_alg {tls['sig_alg']!r}, expected 'ecdsa-with-SHA256'{dump(rec)}")
    check(tls["chain_len"] >= 1, f"tls.chain_len {tls['chain_len']}{dump(rec)}")
    cert = Cert(c.pki("valid.pem"))
    check(hex_value(tls["serial"]) == hex_value(cert.serial), f"tls.serial {tls['serial']}, the leaf's is {cert.serial}{dump(rec)}")
    c.same_dates(tls, cert, rec)
    now = datetime.datetime.now(datetime.timezone.utc)
    want_days = (cert.not_after - now).days
    check(tls["days_left"] > 0 and abs(tls["days_left"] - want_days) <= 1,
          f"tls.days_left {tls['days_left']}, expected about {want_days}{dump(rec)}")
    # Not stapled, nothing to warn about (a year left, the default --warn-expiry is 14 days).
    check("ocsp" not in tls, f"tls.ocsp without a stapled response{dump(rec)}")
    check("warnings" not in rec, f"warnings on a healthy result{dump(rec)}")


@case
def chain_via_intermediate(c):
    """The server sends leaf + intermediate: one more certificate than the valid leaf's chain,
    anchored in the same root."""
    valid, chain = c.probe([c.url("valid", "URLPROBE_PORT_VALID"), c.url("chain", "URLPROBE_PORT_CHAIN")], rc=0)
    c.trusted_ok(valid, "valid.probe.test")
    tls = c.trusted_ok(chain, "chain.probe.test", issuer=INTERMEDIATE)
    check(tls["chain_len"] >= 2 and tls["chain_len"] == valid["tls"]["chain_len"] + 1,
          f"tls.chain_len {tls['chain_len']}, expected one more than the direct leaf's "
          f"{valid['tls']['chain_len']} (and at least 2){dump(chain)}")
    check(tls["sans"] == ["chain.probe.test"], f"tls.sans {tls['sans']}{dump(chain)}")


@case
def public_roots_dir(c):
    """--public-roots as a directory of PEM .crt files (the form of the default)."""
    fx = c.fixture()
    rec = c.probe_one(c.url("valid", "URLPROBE_PORT_VALID"), trust=False, rc=0,
                      extra=["--ca-file", fx["URLPROBE_ROOT_CA"], "--public-roots", fx["URLPROBE_PUBLIC_ROOTS_DIR"]])
    c.trusted_ok(rec, "valid.probe.test")


@case
def default_public_roots_intercepted(c):
    """Trusted through --ca-file but not a Mozilla root: with the default public roots the test
    root itself is what an inspecting proxy's CA looks like."""
    rec = c.probe_one(c.url("valid", "URLPROBE_PORT_VALID"), trust=False, rc=1,
                      extra=["--ca-file", c.fxv("URLPROBE_ROOT_CA")])
    c.expect_outcome(rec, "tls_intercepted", re.escape(TEST_ROOT))
    tls = c.tls(rec, *TLS_CERT, *TLS_SESSION, "root")
    check(tls["verified"] is True, f"an intercepted chain verified: tls.verified {tls['verified']!r}{dump(rec)}")
    check(TEST_ROOT in tls["root"], f"tls.root {tls['root']!r}{dump(rec)}")


# ------------------------------------------------------------------------------------------------
# HTTPS inspection through the ssl_bump squid
# ------------------------------------------------------------------------------------------------

def with_both_roots(c, fn):
    """Runs FN(bundle) with a --ca-file holding the test root and the inspection CA: the machine
    trusts its enterprise's inspection CA, so the inspected chain verifies."""
    with tempfile.TemporaryDirectory(prefix="urlprobe-tls-") as tmp:
        bundle = Path(tmp) / "trusted.pem"
        bundle.write_text(Path(c.fxv("URLPROBE_ROOT_CA")).read_text()
                          + Path(c.fxv("URLPROBE_INSPECTION_CA")).read_text())
        return fn(str(bundle))


def bump_records(c, extra, rc):
    url = c.url("valid", "URLPROBE_PORT_VALID")
    bump = f"http://{c.fxv('URLPROBE_SQUID_BUMP')}"
    records = with_both_roots(c, lambda bundle: c.probe(
        url, methods="direct,cli", trust=False, rc=rc,
        extra=["--proxy", bump, "--ca-file", bundle, "--public-roots", c.fxv("URLPROBE_PUBLIC_ROOTS"), *extra]))
    routes = {rec["route"]: rec for rec in records}
    check(sorted(routes) == ["cli", "direct"] and len(records) == 2,
          f"routes {[r['route'] for r in records]}, expected direct and cli once each")
    check(routes["cli"].get("proxy") == bump, f"proxy {routes['cli'].get('proxy')!r}, expected {bump}{dump(routes['cli'])}")
    check(routes["cli"].get("proxy_status") == 200, f"proxy_status {routes['cli'].get('proxy_status')}: the tunnel "
          f"is up before the inspection{dump(routes['cli'])}")
    return routes["direct"], routes["cli"]


def check_inspected_tls(c, rec):
    tls = c.tls(rec, *TLS_CERT, *TLS_SESSION, "root")
    check(INSPECTION_CA in tls["issuer"], f"tls.issuer {tls['issuer']!r} does not name the {INSPECTION_CA}{dump(rec)}")
    check(INSPECTION_CA in tls["root"], f"tls.root {tls['root']!r} does not name the {INSPECTION_CA}{dump(rec)}")
    check(tls["verified"] is True, f"the inspected chain verifies against --ca-file: tls.verified {tls['verified']!r}{dump(rec)}")
    check("valid.probe.test" in tls["subject"], f"squid mimics the origin's subject: {tls['subject']!r}{dump(rec)}")
    check("valid.probe.test" in tls["sans"], f"squid mimics the origin's names: {tls['sans']}{dump(rec)}")
    # squid mints an RSA 2048 key for every certificate it forges (the origin's is EC P-256).
    check(tls["key"].startswith("RSA"), f"tls.key {tls['key']!r}: squid's forged leaf is RSA{dump(rec)}")
    return tls


@case
def bump_intercepted(c):
    """Through the inspecting squid the chain verifies (the inspection CA is trusted) but is not
    anchored in a public root: tls_intercepted naming the CA; the same URL direct is ok."""
    direct, inspected = bump_records(c, [], rc=1)
    c.trusted_ok(direct, "valid.probe.test")
    c.expect_outcome(inspected, "tls_intercepted", re.escape(INSPECTION_CA))
    check_inspected_tls(c, inspected)
    check("warnings" not in inspected or all(INSPECTION_CA not in w for w in inspected["warnings"]),
          f"without --allow-inspection interception is the outcome, not a warning{dump(inspected)}")


@case
def bump_issuers_by_path_in_text(c):
    """The text report names the issuer on each path, and the proxy list summary says which
    proxy intercepts: the lines an admin needs to file the exclusion request."""
    url = c.url("valid", "URLPROBE_PORT_VALID")
    bump = f"http://{c.fxv('URLPROBE_SQUID_BUMP')}"
    with tempfile.TemporaryDirectory(prefix="urlprobe-tls-") as tmp:
        proxies = Path(tmp) / "proxies.txt"
        proxies.write_text(f"inspect={bump}\nopen=http://{c.fxv('URLPROBE_SQUID_OPEN')}\n")
        r = with_both_roots(c, lambda bundle: c.run(
            [*c.args("direct,cli", trust=False), "--format", "text", "--proxy", bump, "--proxies", str(proxies),
             "--ca-file", bundle, "--public-roots", c.fxv("URLPROBE_PUBLIC_ROOTS"), url], jsonl=False))
    check(r.rc == 1, f"exit status {r.rc}, expected 1 (interception is a failure)")
    # The heading, then one path and its issuer a line.
    found = re.search(r"^  ! TLS issuer differs by path:\n((?:      .*\n)+)", r.stdout, re.M)
    check(found is not None, "no 'TLS issuer differs by path' section")
    line = found.group(1)
    check(INSPECTION_CA in line and "urlprobe test root" in line,
          f"the line does not name both issuers: {line!r}")
    check(re.search(r"inspect \(http://[^)]*\).*\n\s+intercepts TLS \(.*" + re.escape(INSPECTION_CA), r.stdout),
          "the proxy summary does not say that 'inspect' intercepts TLS")


@case
def bump_allowed(c):
    """--allow-inspection: the inspected result is ok, with a warning that names the CA."""
    direct, inspected = bump_records(c, ["--allow-inspection"], rc=0)
    c.trusted_ok(direct, "valid.probe.test")
    check("warnings" not in direct, f"a warning on the uninspected route{dump(direct)}")
    c.expect_outcome(inspected, "ok")
    check(inspected.get("http_status") == 200, f"http_status {inspected.get('http_status')}, expected 200 "
          f"(squid forwards the request to the origin){dump(inspected)}")
    check_inspected_tls(c, inspected)
    warnings = inspected.get("warnings", [])
    check(any(INSPECTION_CA in w for w in warnings), f"warnings {warnings} do not name the {INSPECTION_CA}{dump(inspected)}")


@case
def bump_without_inspection_ca(c):
    """A machine that does not trust the inspection CA: through the squid the chain does not
    verify at all (unknown_ca, naming the inspection CA); direct is ok."""
    url = c.url("valid", "URLPROBE_PORT_VALID")
    bump = f"http://{c.fxv('URLPROBE_SQUID_BUMP')}"
    records = c.probe(url, methods="direct,cli", rc=1, extra=["--proxy", bump])
    routes = {rec["route"]: rec for rec in records}
    check(sorted(routes) == ["cli", "direct"], f"routes {sorted(routes)}, expected direct and cli")
    c.trusted_ok(routes["direct"], "valid.probe.test")
    tls = c.untrusted(routes["cli"], "unknown_ca", re.escape(INSPECTION_CA))
    check(INSPECTION_CA in tls["issuer"], f"tls.issuer {tls['issuer']!r}{dump(routes['cli'])}")


# ------------------------------------------------------------------------------------------------
# Untrusted: one cause each
# ------------------------------------------------------------------------------------------------

@case
def expired(c):
    rec = c.probe_one(c.url("expired", "URLPROBE_PORT_EXPIRED"), rc=1)
    tls = c.untrusted(rec, "expired", r"expired")
    check(tls["not_after"].startswith("2021-01-01"), f"tls.not_after {tls['not_after']}{dump(rec)}")
    check(tls["days_left"] < 0, f"tls.days_left {tls['days_left']} of an expired leaf{dump(rec)}")
    check("2021" in rec["detail"], f"detail {rec['detail']!r} does not give the expiry date{dump(rec)}")
    check("root" not in tls, f"tls.root on a chain that did not verify{dump(rec)}")


@case
def hostname_mismatch(c):
    """wronghost.probe.test lands on the valid leaf, which does not name it: the detail lists the
    names it does carry."""
    rec = c.probe_one(c.url("wronghost", "URLPROBE_PORT_VALID"), rc=1)
    tls = c.untrusted(rec, "hostname_mismatch", r"host ?name")
    for name in ("valid.probe.test", "notfound.probe.test", "slow.probe.test"):
        check(name in rec["detail"], f"detail {rec['detail']!r} does not list the SAN {name}{dump(rec)}")
    check("valid.probe.test" in tls["sans"], f"tls.sans {tls['sans']}{dump(rec)}")


@case
def self_signed(c):
    rec = c.probe_one(c.url("selfsigned", "URLPROBE_PORT_SELFSIGNED"), rc=1)
    tls = c.untrusted(rec, "self_signed", r"self[- ]signed")
    check(tls["subject"] == tls["issuer"], f"a self-signed leaf: subject {tls['subject']!r}, issuer {tls['issuer']!r}{dump(rec)}")


@case
def unknown_ca(c):
    """No --ca-file: the system store alone does not know the test root; the detail names it."""
    rec = c.probe_one(c.url("valid", "URLPROBE_PORT_VALID"), trust=False, rc=1)
    tls = c.untrusted(rec, "unknown_ca", re.escape(TEST_ROOT))
    check(TEST_ROOT in tls["issuer"], f"tls.issuer {tls['issuer']!r}{dump(rec)}")


@case
def not_yet_valid(c):
    rec = c.probe_one(c.url("notyetvalid", "URLPROBE_PORT_NOTYETVALID"), rc=1)
    tls = c.untrusted(rec, "not_yet_valid", r"not (yet )?valid")
    cert = Cert(c.pki("notyetvalid.pem"))
    c.same_dates(tls, cert, rec)
    check(parse_time(tls["not_before"]) > datetime.datetime.now(datetime.timezone.utc),
          f"tls.not_before {tls['not_before']} is not in the future{dump(rec)}")


@case
def weak_sha1(c):
    """A leaf signed with SHA-1: weak, even though the chain is otherwise fine."""
    rec = c.probe_one(c.url("sha1", "URLPROBE_PORT_SHA1"), rc=1)
    tls = c.untrusted(rec, "weak", r"sha-?1")
    check(tls["sig_alg"] == "ecdsa-with-SHA1", f"tls.sig_alg {tls['sig_alg']!r}, expected 'ecdsa-with-SHA1'{dump(rec)}")


@case
def weak_rsa1024(c):
    rec = c.probe_one(c.url("rsa1024", "URLPROBE_PORT_RSA1024"), rc=1)
    tls = c.untrusted(rec, "weak", r"1024")
    check(tls["key"] == "RSA 1024", f"tls.key {tls['key']!r}, expected 'RSA 1024'{dump(rec)}")
    check(tls["sig_alg"] == "ecdsa-with-SHA256", f"tls.sig_alg {tls['sig_alg']!r} (the root signs with ECDSA){dump(rec)}")


# ------------------------------------------------------------------------------------------------
# Stapled OCSP
# ------------------------------------------------------------------------------------------------

@case
def ocsp_good(c):
    rec = c.probe_one(c.url("ocspgood", "URLPROBE_PORT_OCSP_GOOD"), rc=0)
    tls = c.trusted_ok(rec, "ocspgood.probe.test")
    check(tls.get("ocsp") == "good", f"tls.ocsp {tls.get('ocsp')!r}, expected 'good'{dump(rec)}")


@case
def ocsp_revoked(c):
    rec = c.probe_one(c.url("ocsprevoked", "URLPROBE_PORT_OCSP_REVOKED"), rc=1)
    tls = c.untrusted(rec, "revoked", r"revoked")
    check(tls.get("ocsp") == "revoked", f"tls.ocsp {tls.get('ocsp')!r}, expected 'revoked'{dump(rec)}")


@case
def ocsp_unknown(c):
    """The responder does not know the certificate: recorded, but not a reason to distrust it."""
    rec = c.probe_one(c.url("ocspunknown", "URLPROBE_PORT_OCSP_UNKNOWN"), rc=0)
    tls = c.trusted_ok(rec, "ocspunknown.probe.test")
    check(tls.get("ocsp") == "unknown", f"tls.ocsp {tls.get('ocsp')!r}, expected 'unknown'{dump(rec)}")


# ------------------------------------------------------------------------------------------------
# Options
# ------------------------------------------------------------------------------------------------

@case
def insecure_records_facts(c):
    """--insecure: no verification, so expired, self-signed and wrong-host leaves all reach HTTP;
    every fact is still recorded, with verified false."""
    urls = [c.url("expired", "URLPROBE_PORT_EXPIRED"), c.url("selfsigned", "URLPROBE_PORT_SELFSIGNED"),
            c.url("wronghost", "URLPROBE_PORT_VALID")]
    records = c.probe(urls, extra=["--insecure"], rc=0)
    for rec, subject in zip(records, ["expired.probe.test", "selfsigned.probe.test", "valid.probe.test"]):
        c.expect_outcome(rec, "ok")
        check(rec.get("http_status") == 200, f"http_status {rec.get('http_status')}, expected 200{dump(rec)}")
        tls = c.tls(rec, *TLS_CERT, *TLS_SESSION)
        check(tls["verified"] is False, f"tls.verified {tls['verified']!r} under --insecure{dump(rec)}")
        check(subject in tls["subject"], f"tls.subject {tls['subject']!r}, expected {subject}{dump(rec)}")
    check(records[0]["tls"]["not_after"].startswith("2021-01-01"), f"the expired leaf's date{dump(records[0])}")


@case
def warn_expiry(c):
    """--warn-expiry 4000: a leaf with a year left is ok, with a warning giving the days and date."""
    rec = c.probe_one(c.url("valid", "URLPROBE_PORT_VALID"), extra=["--warn-expiry", "4000"], rc=0)
    tls = c.trusted_ok(rec, "valid.probe.test")
    warnings = rec.get("warnings", [])
    found = [m for w in warnings if (m := re.fullmatch(r"certificate expires in (\d+) days \((.+)\)", w))]
    check(len(found) == 1, f"warnings {warnings}: expected one 'certificate expires in N days (DATE)'{dump(rec)}")
    days, date = found[0].groups()
    check(int(days) == tls["days_left"], f"the warning says {days} days, tls.days_left is {tls['days_left']}{dump(rec)}")
    check(tls["not_after"][:10] in date, f"the warning's date {date!r} is not the leaf's {tls['not_after'][:10]}{dump(rec)}")


@case
def allow_inspection_keeps_untrusted(c):
    """--allow-inspection forgives interception only: with the default public roots the test root
    counts as an inspecting CA (ok + warning), while an expired leaf stays tls_untrusted."""
    valid, expired_rec = c.probe([c.url("valid", "URLPROBE_PORT_VALID"), c.url("expired", "URLPROBE_PORT_EXPIRED")],
                                 trust=False, rc=1,
                                 extra=["--ca-file", c.fxv("URLPROBE_ROOT_CA"), "--allow-inspection"])
    c.trusted_ok(valid, "valid.probe.test")
    check(any(TEST_ROOT in w for w in valid.get("warnings", [])),
          f"warnings {valid.get('warnings')} do not name the {TEST_ROOT}{dump(valid)}")
    c.untrusted(expired_rec, "expired")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__, Case))
