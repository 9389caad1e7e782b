#!/usr/bin/python3
"""Integration cases for the routes: the built urlprobe binary through the real proxies of
tests/fixtures/start (squid open/auth/allow-list, tinyproxy, microsocks, a dead port).

    proxy_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    proxy_cases.py --list

Each CASE is one ctest, proxy.<CASE> (tests/integration/CMakeLists.txt). Every record is checked
against the result schema, and every run's stdout and stderr against the test proxy password
(it must never appear, nor the Basic token made from it). Exit: 0 pass, 1 fail.

Name resolution in these cases: urlprobe resolves through the fixture's dnsmasq (--dns-server);
squid resolves the probe.test names of the origin from its hosts file. tinyproxy and microsocks
would ask the system resolver, which points off this machine, so whatever they must resolve
themselves is an IP literal: socks5h:// and tinyproxy get 127.0.77.2, socks5:// (urlprobe
resolves) gets valid.probe.test, and tinyproxy's default-deny filter answers 403 for any name
before resolving it.

/usr/bin/python3 on purpose: Debian's python3-jsonschema imports only there.
"""
import base64
import json
import re
import sys
import tempfile
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
import harness  # noqa: E402

METHODS = ["default", "wpad", "direct", "named", "cli"]
ABSENT = object()  # expect(): the field must not be in the record


class Case(harness.Case):
    # -- the fixture -----------------------------------------------------------------------

    def fxv(self, key):
        return self.fixture()[key]

    @property
    def password(self):
        return self.fxv("URLPROBE_PROXY_PASSWORD")

    @property
    def user(self):
        return self.fxv("URLPROBE_PROXY_USER")

    def secrets(self):
        """What must never appear in any output: the password and the Basic token holding it."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        return [self.password, token]

    def valid_url(self, path="/"):
        return f"https://valid.probe.test:{self.fxv('URLPROBE_PORT_VALID')}{path}"

    def expired_url(self):
        return f"https://expired.probe.test:{self.fxv('URLPROBE_PORT_EXPIRED')}/"

    def plain_url(self, host="plain.probe.test", path="/"):
        return f"http://{host}:{self.fxv('URLPROBE_PORT_HTTP')}{path}"

    def sweep_ports(self):
        first, last = self.fxv("URLPROBE_SQUID_PORTS").split("-")
        return list(range(int(first), int(last) + 1))

    def proxy_addr(self):
        return self.fxv("URLPROBE_PROXY_ADDR")

    # -- running ---------------------------------------------------------------------------

    def args(self, methods, timeout="3", fmt="jsonl"):
        fx = self.fixture()
        return ["--format", fmt, "--methods", methods, "--dns-server", fx["URLPROBE_DNS"],
                *harness.trust_args(fx), "--timeout", timeout]

    def run(self, args, wrapper=(), jsonl=True, env=None):
        r = super().run(args, wrapper, jsonl, env)
        self.no_secrets(r.stdout, "stdout")
        self.no_secrets(r.stderr, "stderr")
        return r

    def redact(self, text):
        try:
            secrets = self.secrets()
        except Exception:  # no fixture env file: nothing to mask
            return text
        for secret in secrets:
            text = text.replace(secret, "<TEST-PASSWORD>")
        return text

    def no_secrets(self, text, where):
        for secret in self.secrets():
            check(secret not in text, f"the proxy password (or its Basic token) leaked into {where}")

    def check_record(self, n, line, rec):
        check(rec.get("route") in METHODS + ["proxy"], f"line {n}: unknown route: {line}")
        if "proxy" in rec:
            check(rec["route"] != "direct", f"line {n}: route direct with a proxy: {line}")

    def probe(self, urls, methods, extra=(), env=None, rc=None, timeout="3"):
        if isinstance(urls, str):
            urls = [urls]
        r = self.run([*self.args(methods, timeout), *extra, *urls], env=env)
        if rc is not None:
            check(r.rc == rc, f"exit status {r.rc}, expected {rc}")
        return r

    def probe_one(self, url, methods, extra=(), env=None, rc=None):
        r = self.probe(url, methods, extra, env, rc)
        rec = r.only_record()
        check(rec["url"] == url, f"record url {rec['url']!r} is not the probed {url!r}")
        return rec

    # -- assertions ------------------------------------------------------------------------

    def expect(self, rec, outcome, detail_re=None, **fields):
        """OUTCOME, DETAIL_RE and each field=value (ABSENT: the field must be missing)."""
        self.expect_outcome(rec, outcome, detail_re)
        for key, want in fields.items():
            if want is ABSENT:
                check(key not in rec, f"{key} is {rec.get(key)!r}, expected no {key}\n  record: {json.dumps(rec)}")
            else:
                check(rec.get(key) == want, f"{key} is {rec.get(key)!r}, expected {want!r}\n  record: {json.dumps(rec)}")

    def by_route(self, records):
        out = {}
        for rec in records:
            check(rec["route"] not in out, f"route {rec['route']} reported twice: {json.dumps(rec)}")
            out[rec["route"]] = rec
        return out


CASES, case = harness.case_registry()


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="urlprobe-proxy-")


# ------------------------------------------------------------------------------------------------
# The five methods of the analyzer
# ------------------------------------------------------------------------------------------------

@case
def five_methods_no_proxy(c):
    """No proxy anywhere: default is the direct path, wpad/named/cli do not exist."""
    url = c.valid_url()
    r = c.run([*c.args(",".join(METHODS)), url])
    check(r.rc == 0, f"exit status {r.rc}, expected 0 (ok and not_configured only)")
    check(len(r.records) == 5, f"{len(r.records)} records, expected 5 (one per method)")
    routes = c.by_route(r.records)
    check(sorted(routes) == sorted(METHODS), f"routes {sorted(routes)}, expected {METHODS}")
    for rec in r.records:
        check(rec["url"] == url, f"record for {rec['url']!r}, expected {url!r}")
    c.expect(routes["default"], "ok", http_status=200, proxy=ABSENT)
    c.expect(routes["direct"], "ok", http_status=200, proxy=ABSENT)
    for method in ("wpad", "named", "cli"):
        c.expect(routes[method], "not_configured", proxy=ABSENT, http_status=ABSENT)


@case
def five_methods_default_order(c):
    """Without --methods the five are tried, and reported in the analyzer's order (its transcript:
    --format analyzer)."""
    fx = c.fixture()
    url = c.valid_url()
    r = c.run(["--format", "analyzer", "--dns-server", fx["URLPROBE_DNS"], *harness.trust_args(fx),
               "--timeout", "3", url], jsonl=False)
    check(r.rc == 0, f"exit status {r.rc}, expected 0")
    want = ["1 - Default proxy: Succeeded (200)",
            "2 - Proxy auto discovery (WPAD): Doesn't exist",
            "3 - Proxy disabled: Succeeded (200)",
            "4 - Named proxy: Doesn't exist",
            "5 - Command line proxy: Doesn't exist"]
    lines = [line.strip() for line in r.stdout.splitlines()]
    check(f"Testing URL : {url}" in lines, f"no 'Testing URL : {url}' line")
    start = lines.index(f"Testing URL : {url}") + 1
    check(lines[start:start + 5] == want, f"the lines after 'Testing URL' are {lines[start:start + 5]}, expected {want}")


@case
def five_methods_text_names_missing_routes_once(c):
    """The default text says once, at the top, which routes this host does not have and what
    configures each; per URL it shows the routes that exist."""
    fx = c.fixture()
    url = c.valid_url()
    r = c.run(["--format", "text", "--dns-server", fx["URLPROBE_DNS"], *harness.trust_args(fx),
               "--timeout", "3", url], jsonl=False)
    check(r.rc == 0, f"exit status {r.rc}, expected 0")
    check("Doesn't exist" not in r.stdout, f"the text still says Doesn't exist:\n{r.stdout}")
    head = r.stdout[:r.stdout.find("Testing URL")]
    for want in ["Not configured on this host", "2 - Proxy auto discovery (WPAD): --pac FILE|URL",
                 "4 - Named proxy: --named-proxy HOST:PORT", "5 - Command line proxy: --proxy URL"]:
        check(want in head, f"the top lacks {want!r}:\n{head}")
    want = f"Testing URL : {url}\n1 - Default proxy: Succeeded (200)\n3 - Proxy disabled: Succeeded (200)\n"
    check(want in r.stdout, f"the URL's block is not {want!r}:\n{r.stdout}")


@case
def methods_select_and_order(c):
    """--methods picks a subset: only those routes, each once (here cli, direct)."""
    r = c.probe(c.valid_url(), "cli,direct", ["--proxy", f"http://{c.fxv('URLPROBE_SQUID_OPEN')}"], rc=0)
    routes = c.by_route(r.records)
    check(sorted(routes) == ["cli", "direct"], f"routes {sorted(routes)}, expected cli and direct")
    c.expect(routes["cli"], "ok", proxy=f"http://{c.fxv('URLPROBE_SQUID_OPEN')}", proxy_status=200)
    c.expect(routes["direct"], "ok", proxy=ABSENT)


# ------------------------------------------------------------------------------------------------
# cli and named through squid
# ------------------------------------------------------------------------------------------------

@case
def cli_squid_https(c):
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"http://{squid}"], rc=0)
    c.expect(rec, "ok", route="cli", proxy=f"http://{squid}", proxy_status=200, http_status=200)
    tls = rec.get("tls", {})
    check(tls.get("verified") is True, f"tls.verified {tls.get('verified')!r}: the origin's TLS runs inside the tunnel")
    check("valid.probe.test" in tls.get("subject", ""), f"tls.subject {tls.get('subject')!r} is not the origin's leaf")
    check("tunnel" in rec.get("ms", {}), f"ms.tunnel missing from {rec.get('ms')}")


@case
def cli_squid_plain_http(c):
    """A plain http:// target through an HTTP proxy: absolute-form GET, the origin's status."""
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    rec = c.probe_one(c.plain_url(), "cli", ["--proxy", f"http://{squid}"], rc=0)
    c.expect(rec, "ok", route="cli", proxy=f"http://{squid}", http_status=200, tls=ABSENT)


@case
def cli_squid_plain_http_status(c):
    """The origin's 503 through the proxy is the origin's status, not a proxy error."""
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    rec = c.probe_one(c.plain_url(path="/status/503"), "cli",
                      ["--proxy", f"http://{squid}", "--expect-status", "200-399"], rc=1)
    c.expect(rec, "unexpected_status", route="cli", http_status=503)


@case
def cli_proxy_by_name(c):
    """The proxy's own name is resolved locally (through --dns-server)."""
    port = c.fxv("URLPROBE_SQUID_OPEN").rsplit(":", 1)[1]
    proxy = f"http://{c.fxv('URLPROBE_PROXY_NAME')}:{port}"
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", proxy], rc=0)
    c.expect(rec, "ok", proxy=proxy, proxy_status=200, http_status=200)


@case
def named_host_port(c):
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    rec = c.probe_one(c.valid_url(), "named", ["--named-proxy", squid], rc=0)
    c.expect(rec, "ok", route="named", proxy=f"http://{squid}", proxy_status=200, http_status=200)


@case
def named_netsh_form(c):
    """http=h:p;https=h:p: each target scheme takes its own proxy (two ports of the open squid)."""
    addr = c.proxy_addr()
    http_port, https_port = c.sweep_ports()[:2]
    spec = f"http={addr}:{http_port};https={addr}:{https_port}"
    r = c.probe([c.valid_url(), c.plain_url()], "named", ["--named-proxy", spec], rc=0)
    check(len(r.records) == 2, f"{len(r.records)} records, expected 2")
    recs = {rec["url"]: rec for rec in r.records}
    c.expect(recs[c.valid_url()], "ok", route="named", proxy=f"http://{addr}:{https_port}", proxy_status=200)
    c.expect(recs[c.plain_url()], "ok", route="named", proxy=f"http://{addr}:{http_port}", http_status=200)


# ------------------------------------------------------------------------------------------------
# default: the environment's proxy, curl's semantics
# ------------------------------------------------------------------------------------------------

@case
def default_env_https_proxy(c):
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    rec = c.probe_one(c.valid_url(), "default", env={"https_proxy": f"http://{squid}"}, rc=0)
    c.expect(rec, "ok", route="default", proxy=f"http://{squid}", proxy_status=200, http_status=200)


@case
def default_env_no_proxy(c):
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    rec = c.probe_one(c.valid_url(), "default",
                      env={"https_proxy": f"http://{squid}", "no_proxy": "valid.probe.test"}, rc=0)
    c.expect(rec, "ok", route="default", proxy=ABSENT, proxy_status=ABSENT, http_status=200)


@case
def default_env_no_proxy_suffix(c):
    """A no_proxy domain with a leading dot covers its subdomains; other names still use the proxy."""
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    env = {"https_proxy": f"http://{squid}", "http_proxy": f"http://{squid}", "no_proxy": ".probe.test"}
    r = c.probe([c.valid_url(), f"http://{c.fxv('URLPROBE_ORIGIN')}:{c.fxv('URLPROBE_PORT_HTTP')}/"],
                "default", env=env, rc=0)
    recs = {rec["url"]: rec for rec in r.records}
    check(len(recs) == 2, f"{len(r.records)} records, expected 2")
    c.expect(recs[c.valid_url()], "ok", proxy=ABSENT)
    ip_url = f"http://{c.fxv('URLPROBE_ORIGIN')}:{c.fxv('URLPROBE_PORT_HTTP')}/"
    c.expect(recs[ip_url], "ok", proxy=f"http://{squid}", http_status=200)


@case
def default_env_per_scheme(c):
    """http_proxy for http targets, all_proxy as the fallback for https (curl's order)."""
    addr = c.proxy_addr()
    http_port, all_port = c.sweep_ports()[2:4]
    env = {"http_proxy": f"http://{addr}:{http_port}", "all_proxy": f"http://{addr}:{all_port}"}
    r = c.probe([c.valid_url(), c.plain_url()], "default", env=env, rc=0)
    recs = {rec["url"]: rec for rec in r.records}
    check(len(recs) == 2, f"{len(r.records)} records, expected 2")
    c.expect(recs[c.valid_url()], "ok", route="default", proxy=f"http://{addr}:{all_port}", proxy_status=200)
    c.expect(recs[c.plain_url()], "ok", route="default", proxy=f"http://{addr}:{http_port}", http_status=200)


@case
def default_env_upper_case(c):
    addr = c.proxy_addr()
    port = c.sweep_ports()[4]
    rec = c.probe_one(c.valid_url(), "default", env={"HTTPS_PROXY": f"http://{addr}:{port}"}, rc=0)
    c.expect(rec, "ok", route="default", proxy=f"http://{addr}:{port}", proxy_status=200)


@case
def default_env_dead_proxy(c):
    dead = c.fxv("URLPROBE_DEAD_PROXY")
    rec = c.probe_one(c.valid_url(), "default", env={"https_proxy": f"http://{dead}"}, rc=1)
    c.expect(rec, "proxy_unreachable", route="default", proxy=f"http://{dead}", http_status=ABSENT)


# ------------------------------------------------------------------------------------------------
# Basic auth (squid with basic_ncsa_auth)
# ------------------------------------------------------------------------------------------------

@case
def auth_required_without_credentials(c):
    squid = c.fxv("URLPROBE_SQUID_AUTH")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"http://{squid}"], rc=1)
    c.expect(rec, "proxy_auth_required", r"\bBasic\b", proxy_status=407, http_status=ABSENT)


@case
def auth_user_and_env_password(c):
    squid = c.fxv("URLPROBE_SQUID_AUTH")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"http://{squid}", "--proxy-user", c.user],
                      env={"URLPROBE_PROXY_PASSWORD": c.password}, rc=0)
    c.expect(rec, "ok", proxy_status=200, http_status=200)
    check(rec["proxy"] in (f"http://{c.user}:***@{squid}", f"http://{squid}"),
          f"proxy {rec['proxy']!r}, expected http://{c.user}:***@{squid} (or without the user)")


@case
def auth_password_file(c):
    squid = c.fxv("URLPROBE_SQUID_AUTH")
    with tmpdir() as tmp:
        pw = Path(tmp) / "password"
        pw.write_text(c.password + "\n")  # a trailing newline, as editors write it
        rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"http://{squid}", "--proxy-user", c.user,
                                                 "--proxy-password-file", str(pw)], rc=0)
    c.expect(rec, "ok", proxy_status=200, http_status=200)


@case
def auth_credentials_in_url(c):
    squid = c.fxv("URLPROBE_SQUID_AUTH")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"http://{c.user}:{c.password}@{squid}"], rc=0)
    c.expect(rec, "ok", proxy=f"http://{c.user}:***@{squid}", proxy_status=200, http_status=200)


@case
def auth_wrong_password(c):
    squid = c.fxv("URLPROBE_SQUID_AUTH")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"http://{c.user}:wrong-password@{squid}"], rc=1)
    c.expect(rec, "proxy_auth_required", r"\bBasic\b", proxy=f"http://{c.user}:***@{squid}", proxy_status=407)


@case
def auth_named_proxy_with_user(c):
    """--proxy-user applies to the named proxy too (it has no place for credentials)."""
    squid = c.fxv("URLPROBE_SQUID_AUTH")
    rec = c.probe_one(c.valid_url(), "named", ["--named-proxy", squid, "--proxy-user", c.user],
                      env={"URLPROBE_PROXY_PASSWORD": c.password}, rc=0)
    c.expect(rec, "ok", route="named", proxy_status=200, http_status=200)


@case
def auth_plain_http_target(c):
    """Absolute-form GET through the auth squid: 407 without, the origin's 200 with credentials."""
    squid = c.fxv("URLPROBE_SQUID_AUTH")
    rec = c.probe_one(c.plain_url(), "cli", ["--proxy", f"http://{squid}"], rc=1)
    c.expect(rec, "proxy_auth_required", r"\bBasic\b", proxy_status=407, http_status=ABSENT)
    rec = c.probe_one(c.plain_url(), "cli", ["--proxy", f"http://{c.user}:{c.password}@{squid}"], rc=0)
    c.expect(rec, "ok", http_status=200)


# ------------------------------------------------------------------------------------------------
# Denials and proxy errors
# ------------------------------------------------------------------------------------------------

@case
def allowlist_squid(c):
    squid = c.fxv("URLPROBE_SQUID_ALLOW")
    r = c.probe([c.valid_url(), c.expired_url()], "cli", ["--proxy", f"http://{squid}"], rc=1)
    recs = {rec["url"]: rec for rec in r.records}
    check(len(recs) == 2 == len(r.records), f"{len(r.records)} records, expected one per URL")
    c.expect(recs[c.valid_url()], "ok", proxy_status=200, http_status=200)
    c.expect(recs[c.expired_url()], "proxy_denied", proxy_status=403, http_status=ABSENT, tls=ABSENT)


@case
def tinyproxy_filter(c):
    """tinyproxy's filter 403s expired.probe.test (refused before it would resolve the name);
    an IP-literal target passes it (tinyproxy cannot resolve the fixture's names)."""
    tiny = c.fxv("URLPROBE_TINYPROXY")
    ip_url = c.plain_url(host=c.fxv("URLPROBE_ORIGIN"))
    r = c.probe([c.expired_url(), ip_url], "cli", ["--proxy", f"http://{tiny}"], rc=1)
    recs = {rec["url"]: rec for rec in r.records}
    check(len(recs) == 2 == len(r.records), f"{len(r.records)} records, expected one per URL")
    c.expect(recs[c.expired_url()], "proxy_denied", proxy=f"http://{tiny}", proxy_status=403, http_status=ABSENT)
    c.expect(recs[ip_url], "ok", proxy=f"http://{tiny}", http_status=200)


@case
def tinyproxy_error_page_is_the_proxys(c):
    """Issue 18: through tinyproxy, a plain-HTTP origin that refuses the connection: tinyproxy
    answers with its own 500 page ("Unable to connect"). That is the proxy's failure, with its
    reason, not the origin's answer."""
    tiny = c.fxv("URLPROBE_TINYPROXY")
    url = f"http://{c.fxv('URLPROBE_ORIGIN')}:{c.fxv('URLPROBE_PORT_CLOSED')}/"
    rec = c.probe_one(url, "cli", ["--proxy", f"http://{tiny}"], rc=1)
    c.expect(rec, "proxy_error", r"could not reach the target \(500\) \(tinyproxy/[^:]*: \"Unable to connect\"\)",
             proxy_status=500, http_status=ABSENT)
    # The origin's own 503, forwarded by the same proxy, stays the origin's answer.
    origin_503 = c.plain_url(host=c.fxv("URLPROBE_ORIGIN"), path="/status/503")
    rec = c.probe_one(origin_503, "cli", ["--proxy", f"http://{tiny}"], rc=0)
    c.expect(rec, "ok", http_status=503)


@case
def squid_port_not_allowed(c):
    """CONNECT to a port outside squid's SSL_ports: 403 from the proxy."""
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    rec = c.probe_one("https://valid.probe.test:22/", "cli", ["--proxy", f"http://{squid}"], rc=1)
    c.expect(rec, "proxy_denied", proxy_status=403)


@case
def squid_cannot_reach_origin(c):
    """squid's CONNECT to a closed origin port: 503 from the proxy, a proxy_error."""
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    url = f"https://refused.probe.test:{c.fxv('URLPROBE_PORT_CLOSED')}/"
    rec = c.probe_one(url, "cli", ["--proxy", f"http://{squid}"], rc=1)
    c.expect(rec, "proxy_error", proxy_status=503, http_status=ABSENT)


@case
def origin_failure_through_proxy(c):
    """The tunnel is fine (200); the origin's certificate is not: an origin outcome."""
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    rec = c.probe_one(c.expired_url(), "cli", ["--proxy", f"http://{squid}"], rc=1)
    c.expect(rec, "tls_untrusted", r"expired", proxy_status=200, http_status=ABSENT)


@case
def dead_proxy(c):
    dead = c.fxv("URLPROBE_DEAD_PROXY")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"http://{dead}"], rc=1)
    c.expect(rec, "proxy_unreachable", r"refused", proxy=f"http://{dead}", proxy_status=ABSENT,
             http_status=ABSENT)


@case
def proxy_name_nxdomain(c):
    port = c.fxv("URLPROBE_SQUID_OPEN").rsplit(":", 1)[1]
    proxy = f"http://{c.fxv('URLPROBE_PROXY_NXDOMAIN')}:{port}"
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", proxy], rc=1)
    c.expect(rec, "proxy_unreachable", r"DNS|NXDOMAIN|resolve", proxy=proxy, http_status=ABSENT)


@case
def named_dead_proxy(c):
    dead = c.fxv("URLPROBE_DEAD_PROXY")
    rec = c.probe_one(c.valid_url(), "named", ["--named-proxy", dead], rc=1)
    c.expect(rec, "proxy_unreachable", route="named", proxy=f"http://{dead}")


# ------------------------------------------------------------------------------------------------
# SOCKS5 (microsocks)
# ------------------------------------------------------------------------------------------------

@case
def socks5_local_resolution(c):
    """socks5://: urlprobe resolves valid.probe.test itself and sends the address."""
    socks = c.fxv("URLPROBE_SOCKS")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"socks5://{socks}"], rc=0)
    c.expect(rec, "ok", proxy=f"socks5://{socks}", http_status=200)
    check(rec.get("tls", {}).get("verified") is True, "tls.verified is not true")


@case
def socks5h_ip_literal(c):
    """socks5h://: the proxy resolves; an IP literal, since microsocks asks the system resolver."""
    socks = c.fxv("URLPROBE_SOCKS")
    url = c.plain_url(host=c.fxv("URLPROBE_ORIGIN"))
    rec = c.probe_one(url, "cli", ["--proxy", f"socks5h://{socks}"], rc=0)
    c.expect(rec, "ok", proxy=f"socks5h://{socks}", http_status=200)


@case
def socks5h_ip_literal_tls(c):
    """TLS through socks5h to an IP literal: the tunnel works, the leaf does not name the IP."""
    socks = c.fxv("URLPROBE_SOCKS")
    url = f"https://{c.fxv('URLPROBE_ORIGIN')}:{c.fxv('URLPROBE_PORT_VALID')}/"
    rec = c.probe_one(url, "cli", ["--proxy", f"socks5h://{socks}"], rc=1)
    c.expect(rec, "tls_untrusted", r"host ?name|IP|address|mismatch")


@case
def socks5_auth_ok(c):
    socks = c.fxv("URLPROBE_SOCKS_AUTH")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"socks5://{c.user}:{c.password}@{socks}"], rc=0)
    c.expect(rec, "ok", proxy=f"socks5://{c.user}:***@{socks}", http_status=200)
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"socks5://{socks}", "--proxy-user", c.user],
                      env={"URLPROBE_PROXY_PASSWORD": c.password}, rc=0)
    c.expect(rec, "ok", http_status=200)


@case
def socks5_auth_wrong(c):
    socks = c.fxv("URLPROBE_SOCKS_AUTH")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"socks5://{c.user}:wrong-password@{socks}"], rc=1)
    c.expect(rec, "proxy_auth_required", proxy=f"socks5://{c.user}:***@{socks}", http_status=ABSENT)


@case
def socks5_auth_missing(c):
    """No credentials offered to a SOCKS5 proxy that requires them (it answers 'no acceptable
    method'): anonymous traffic is blocked, as a 407 would say."""
    socks = c.fxv("URLPROBE_SOCKS_AUTH")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"socks5://{socks}"], rc=1)
    c.expect(rec, "proxy_auth_required", http_status=ABSENT)


@case
def socks5_dead(c):
    dead = c.fxv("URLPROBE_DEAD_PROXY")
    rec = c.probe_one(c.valid_url(), "cli", ["--proxy", f"socks5://{dead}"], rc=1)
    c.expect(rec, "proxy_unreachable", proxy=f"socks5://{dead}")


# ------------------------------------------------------------------------------------------------
# --proxies: many proxies, one route each
# ------------------------------------------------------------------------------------------------

def sweep_list(c, bad_line=True):
    """The open squid's 50 extra ports in three spellings (URL, bare host:port, name=URL), with
    comments and blank lines, and optionally one bad line. Returns (lines, entries, bad_lineno)
    where entries are (redacted proxy, name or None)."""
    addr = c.proxy_addr()
    lines = ["# 50 egress points (the same squid on 50 ports)", ""]
    entries = []
    for i, port in enumerate(c.sweep_ports()):
        if i % 3 == 0:
            lines.append(f"http://{addr}:{port}")
            entries.append((f"http://{addr}:{port}", None))
        elif i % 3 == 1:
            lines.append(f"{addr}:{port}")
            entries.append((f"http://{addr}:{port}", None))
        else:
            lines.append(f"egress{i:02d}=http://{addr}:{port}")
            entries.append((f"http://{addr}:{port}", f"egress{i:02d}"))
        if i == 24:
            lines.append("  # a comment in the middle")
    bad = None
    if bad_line:
        lines.insert(10, "gopher://127.0.77.4:3128")
        bad = 11
    return lines, entries, bad


@case
def proxy_list_sweep_50(c):
    lines, entries, bad = sweep_list(c)
    urls = [c.valid_url("/?sweep=1"), c.valid_url("/?sweep=2"), c.plain_url(path="/?sweep=3")]
    with tmpdir() as tmp:
        path = Path(tmp) / "proxies.txt"
        path.write_text("\n".join(lines) + "\n")
        r = c.run([*c.args("direct"), "--proxies", str(path), "--per-proxy", "2", *urls])
    check(r.rc == 2, f"exit status {r.rc}, expected 2 (a bad line in the proxy list)")
    check(re.search(re.escape(f"{path}:{bad}:") + r"\d+: error", r.stderr),
          f"stderr does not name {path}:{bad}:COL: error")
    check(len(r.records) == len(urls) * (len(entries) + 1),
          f"{len(r.records)} records, expected {len(urls)} URLs x {len(entries) + 1} routes")
    want = {(u, "direct", None) for u in urls} | {(u, "proxy", p) for u in urls for p, _ in entries}
    got = [(rec["url"], rec["route"], rec.get("proxy")) for rec in r.records]
    dupes = sorted({k for k in got if got.count(k) > 1}, key=str)
    check(not dupes, f"(url, route, proxy) reported more than once: {dupes[:5]}")
    check(set(got) == want, f"missing: {sorted(want - set(got), key=str)[:5]}; "
          f"unexpected: {sorted(set(got) - want, key=str)[:5]}")
    names = dict(entries)
    for rec in r.records:
        if rec["route"] == "proxy":
            want_name = names[rec["proxy"]]
            if want_name:
                check(rec.get("proxy_name") == want_name, f"proxy_name {rec.get('proxy_name')!r}, expected {want_name!r}: {json.dumps(rec)}")
            else:
                check("proxy_name" not in rec, f"proxy_name on an entry without a name: {json.dumps(rec)}")
        c.expect_outcome(rec, "ok")


@case
def proxy_list_text_matrix(c):
    lines, entries, _ = sweep_list(c, bad_line=False)
    lines.append(f"dead={c.fxv('URLPROBE_DEAD_PROXY')}")
    entries.append((f"http://{c.fxv('URLPROBE_DEAD_PROXY')}", "dead"))
    urls = [c.valid_url("/?matrix=1"), c.plain_url(path="/?matrix=2")]
    with tmpdir() as tmp:
        path = Path(tmp) / "proxies.txt"
        path.write_text("\n".join(lines) + "\n")
        r = c.run([*c.args("direct", fmt="text"), "--proxies", str(path), *urls], jsonl=False)
    check(r.rc == 1, f"exit status {r.rc}, expected 1 (the dead proxy)")
    for url in urls:
        check(f"Testing URL : {url}" in r.stdout, f"no analyzer block for {url}")
    out = r.stdout.splitlines()
    last_block = max(i for i, line in enumerate(out) if line.startswith("Testing URL :"))
    header = next((i for i, line in enumerate(out) if i > last_block
                   and re.search(r"matrix|per[- ]proxy|proxies", line, re.IGNORECASE)), None)
    check(header is not None, "no matrix/per-proxy section after the analyzer blocks")
    section = "\n".join(out[header:])
    missing = [name or proxy for proxy, name in entries if (name or proxy) not in section]
    check(not missing, f"the matrix/summary section does not name {missing[:5]}")
    check(re.search(r"proxy_unreachable|unreachable", section), "the section does not show the dead proxy's failure")


@case
def proxy_list_dead_among_many(c):
    """20 targets through 10 live proxies and 2 dead ones (refused; a name that does not resolve):
    every (target, proxy) pair gets its own record, the dead ones proxy_unreachable."""
    addr = c.proxy_addr()
    live = [f"http://{addr}:{p}" for p in c.sweep_ports()[:10]]
    dead = [f"http://{c.fxv('URLPROBE_DEAD_PROXY')}",
            f"http://{c.fxv('URLPROBE_PROXY_NXDOMAIN')}:{c.fxv('URLPROBE_SQUID_OPEN').rsplit(':', 1)[1]}"]
    urls = [c.valid_url(f"/?t={i}") for i in range(20)]
    with tmpdir() as tmp:
        path = Path(tmp) / "proxies.txt"
        path.write_text("\n".join(dead[:1] + live + dead[1:]) + "\n")
        r = c.run([*c.args("direct", timeout="2"), "--proxies", str(path), "--per-proxy", "4", *urls])
    check(r.rc == 1, f"exit status {r.rc}, expected 1")
    got = [(rec["url"], rec["route"], rec.get("proxy")) for rec in r.records]
    want = {(u, "direct", None) for u in urls} | {(u, "proxy", p) for u in urls for p in live + dead}
    check(len(got) == len(want), f"{len(got)} records, expected {len(want)}")
    check(set(got) == want, f"missing: {sorted(want - set(got), key=str)[:5]}")
    for rec in r.records:
        if rec.get("proxy") in dead:
            c.expect_outcome(rec, "proxy_unreachable")
        else:
            c.expect_outcome(rec, "ok")


@case
def proxy_list_mixed_kinds(c):
    """One list, every kind of fixture proxy: each entry's own outcome."""
    fx = c.fixture()
    entries = {
        f"open=http://{fx['URLPROBE_SQUID_OPEN']}": ("ok", 200),
        f"auth=http://{fx['URLPROBE_SQUID_AUTH']}": ("proxy_auth_required", 407),
        f"authed=http://{c.user}:{c.password}@{fx['URLPROBE_SQUID_AUTH']}": ("ok", 200),
        f"allow=http://{fx['URLPROBE_SQUID_ALLOW']}": ("proxy_denied", 403),
        f"tiny=http://{fx['URLPROBE_TINYPROXY']}": ("proxy_denied", 403),
        f"socks=socks5://{fx['URLPROBE_SOCKS']}": ("ok", None),
        f"dead={fx['URLPROBE_DEAD_PROXY']}": ("proxy_unreachable", None),
    }
    with tmpdir() as tmp:
        path = Path(tmp) / "proxies.txt"
        path.write_text("\n".join(entries) + "\n")
        r = c.run([*c.args("direct"), "--proxies", str(path), c.expired_url()])
    check(r.rc == 1, f"exit status {r.rc}, expected 1")
    recs = {}
    for rec in r.records:
        key = rec.get("proxy_name", rec["route"])
        check(key not in recs, f"{key} reported twice")
        recs[key] = rec
    check(sorted(recs) == sorted([e.split("=", 1)[0] for e in entries] + ["direct"]),
          f"records for {sorted(recs)}")
    # expired.probe.test: through a proxy that lets it pass, the origin's certificate fails.
    c.expect(recs["direct"], "tls_untrusted")
    for line, (outcome, status) in entries.items():
        name = line.split("=", 1)[0]
        want = "tls_untrusted" if outcome == "ok" else outcome
        fields = {"proxy_status": status} if status else {}
        c.expect(recs[name], want, **fields)
    check(recs["authed"]["proxy"].endswith(f"{c.user}:***@{fx['URLPROBE_SQUID_AUTH']}"),
          f"authed proxy shown as {recs['authed']['proxy']!r}")


@case
def proxy_list_with_proxy_user(c):
    """--proxy-user and the env password apply to list entries without credentials."""
    squid = c.fxv("URLPROBE_SQUID_AUTH")
    with tmpdir() as tmp:
        path = Path(tmp) / "proxies.txt"
        path.write_text(f"a={squid}\nb=http://other:bad@{squid}\n")
        r = c.run([*c.args("direct"), "--proxies", str(path), "--proxy-user", c.user, c.valid_url()],
                  env={"URLPROBE_PROXY_PASSWORD": c.password})
    check(r.rc == 1, f"exit status {r.rc}, expected 1 (entry b has its own, wrong credentials)")
    recs = {rec.get("proxy_name", rec["route"]): rec for rec in r.records}
    check(sorted(recs) == ["a", "b", "direct"], f"records for {sorted(recs)}")
    c.expect(recs["a"], "ok", proxy_status=200)
    c.expect(recs["b"], "proxy_auth_required", proxy_status=407)


# ------------------------------------------------------------------------------------------------
# Bad input and secrets
# ------------------------------------------------------------------------------------------------

@case
def bad_proxy_options(c):
    squid = c.fxv("URLPROBE_SQUID_OPEN")
    bad = [
        (["--proxy", f"ftp://{squid}"], "--proxy"),
        (["--proxy", f"http://{c.user}:%zz@{squid}"], "--proxy"),
        (["--proxy", f"http://{c.proxy_addr()}:"], "--proxy"),
        (["--named-proxy", c.proxy_addr()], "--named-proxy"),
        (["--named-proxy", f"http={squid};gopher"], "--named-proxy"),
    ]
    for extra, option in bad:
        r = c.run([*c.args("cli,named"), *extra, c.valid_url()])
        check(r.rc == 2, f"{extra}: exit status {r.rc}, expected 2")
        check(option in r.stderr, f"{extra}: stderr does not name {option}")
        check(not r.records, f"{extra}: bad usage must probe nothing")


@case
def bad_proxy_list(c):
    with tmpdir() as tmp:
        missing = Path(tmp) / "nope" / "proxies.txt"
        r = c.run([*c.args("direct"), "--proxies", str(missing), c.valid_url()])
        check(r.rc == 2, f"exit status {r.rc}, expected 2 (unreadable list)")
        check(str(missing) in r.stderr, f"stderr does not name {missing}")
        path = Path(tmp) / "proxies.txt"
        path.write_text(f"ok={c.fxv('URLPROBE_SQUID_OPEN')}\n{c.proxy_addr()}:99999\nsocks4://{c.proxy_addr()}:1080\n")
        r = c.run([*c.args("direct"), "--proxies", str(path), c.valid_url()])
    check(r.rc == 2, f"exit status {r.rc}, expected 2")
    for line in (2, 3):
        check(re.search(re.escape(f"{path}:{line}:") + r"\d+: error", r.stderr),
              f"stderr does not name {path}:{line}:COL: error")
    routes = sorted(rec.get("proxy_name", rec["route"]) for rec in r.records)
    check(routes == ["direct", "ok"], f"records for {routes}, expected the good entry and direct")


@case
def password_never_leaks(c):
    """The password in a --proxy URL, in the environment, in a file, in a proxy list, in
    https_proxy, in bad input: in no stdout, stderr or output file (run() checks the streams)."""
    fx = c.fixture()
    squid_auth, socks_auth = fx["URLPROBE_SQUID_AUTH"], fx["URLPROBE_SOCKS_AUTH"]
    pw = c.password
    with tmpdir() as tmp:
        tmp = Path(tmp)
        (tmp / "password").write_text(pw + "\n")
        (tmp / "proxies.txt").write_text(
            f"a=http://{c.user}:{pw}@{squid_auth}\n"
            f"b=socks5://{c.user}:{pw}@{socks_auth}\n"
            f"c=http://nobody:{pw}@{squid_auth}\n"          # right password, wrong user: 407
            f"d=gopher://{c.user}:{pw}@{squid_auth}\n"      # bad line holding the password
            f"e=http://{c.user}:{pw}%zz@{squid_auth}\n")    # bad escape inside the password
        targets = [c.valid_url(), c.plain_url()]
        runs = [
            (["--methods", "cli", "--proxy", f"http://{c.user}:{pw}@{squid_auth}"], {}, 0),
            (["--methods", "cli", "--proxy", f"socks5://{c.user}:{pw}@{socks_auth}"], {}, 0),
            (["--methods", "cli,named", "--proxy", f"http://{squid_auth}", "--named-proxy", squid_auth,
              "--proxy-user", c.user], {"URLPROBE_PROXY_PASSWORD": pw}, 0),
            (["--methods", "cli", "--proxy", f"http://{squid_auth}", "--proxy-user", c.user,
              "--proxy-password-file", str(tmp / "password")], {}, 0),
            (["--methods", "default"], {"https_proxy": f"http://{c.user}:{pw}@{squid_auth}",
                                        "http_proxy": f"http://{c.user}:{pw}@{squid_auth}"}, 0),
            (["--methods", "cli", "--proxy", f"http://nobody:{pw}@{squid_auth}"], {}, 1),
            (["--methods", "cli", "--proxy", f"http://{c.user}:{pw}@{fx['URLPROBE_DEAD_PROXY']}"], {}, 1),
            (["--methods", "direct", "--proxies", str(tmp / "proxies.txt")], {}, 2),
            # Bad input: the whole run is refused (exit 2) without echoing the secret.
            (["--methods", "cli", "--proxy", f"gopher://{c.user}:{pw}@{squid_auth}"], {}, 2),
            (["--methods", "cli", "--proxy", f"http://{c.user}:{pw}%zz@{squid_auth}"], {}, 2),
            (["--methods", "cli", "--proxy", f"http://{c.user}:{pw}@{c.proxy_addr()}:notaport"], {}, 2),
            (["--methods", "named", "--named-proxy", f"http://{c.user}:{pw}@{squid_auth};x"], {}, 2),
        ]
        for i, (extra, env, rc) in enumerate(runs):
            for fmt in ("jsonl", "text"):
                outs = [tmp / f"out{i}{fmt}.jsonl", tmp / f"out{i}{fmt}.txt"]
                args = ["--format", fmt, "--dns-server", fx["URLPROBE_DNS"], *harness.trust_args(fx),
                        "--timeout", "3", *extra, "-o", str(outs[0]), "-o", str(outs[1]), *targets]
                r = c.run(args, env=env, jsonl=fmt == "jsonl")
                check(r.rc == rc, f"run {i} ({fmt}): exit status {r.rc}, expected {rc}")
                for out in outs:
                    if out.exists():
                        c.no_secrets(out.read_text(), out.name)
                    else:
                        check(rc == 2, f"run {i} ({fmt}): {out.name} not written")
                if rc == 2 and "--proxies" not in extra:
                    check(not r.records, f"run {i}: bad usage must probe nothing")


@case
def serve_keeps_proxy_passwords_out_of_every_page(c):
    """`urlprobe serve` with a --proxies entry that carries a password: the exporter probes
    through it (so the password was used), and no page it serves, no /probe answer (the
    refusal that lists the routes included) and no log line holds the password or its Basic
    token."""
    import os, signal, subprocess, time, urllib.error, urllib.request
    fx = c.fixture()
    url = c.valid_url()
    with tmpdir() as tmp:
        proxies = Path(tmp) / "proxies.txt"
        proxies.write_text(f"corp=http://{c.user}:{c.password}@{c.fxv('URLPROBE_SQUID_AUTH')}\n"
                           f"open=http://{c.fxv('URLPROBE_SQUID_OPEN')}\n")
        log = Path(tmp) / "serve.log"
        argv = [c.binary, "serve", "--listen", "127.0.0.1:0", "--every", "1h", "--methods", "direct",
                "--proxies", str(proxies), "--dns-server", fx["URLPROBE_DNS"],
                *harness.trust_args(fx), "--timeout", "3", url]
        with open(log, "w") as err:
            proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err,
                                    env=harness.clean_environ(), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + harness.RUN_LIMIT_S  # a hang guard only

        def wait_for(what, fn):
            while time.monotonic() < deadline:
                check(proc.poll() is None, f"serve exited ({proc.returncode}) before {what}:\n"
                      + c.redact(log.read_text()))
                got = fn()
                if got:
                    return got
                time.sleep(0.1)
            raise harness.Fail(f"no {what} within {harness.RUN_LIMIT_S} s:\n" + c.redact(log.read_text()))

        def get(path):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()
            except OSError:
                return 0, ""

        try:
            found = wait_for("listening line", lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)",
                                                                 log.read_text()))
            port = int(found.group(1))
            wait_for("/-/ready 200", lambda: get("/-/ready")[0] == 200)
            pages = {path: get(path) for path in
                     ["/", "/metrics", "/results.jsonl", "/report.html", "/readiness"]}
            for path, (status, _) in pages.items():
                check(status == 200, f"{path}: status {status}, expected 200")
            q = urllib.parse.quote(url, safe="")
            for path in [f"/probe?target={q}&proxy=corp", f"/probe?target={q}&route=proxy",
                         f"/probe?target={q}&route=nosuch"]:
                pages[path] = get(path)
            records = c.parse_records(pages["/results.jsonl"][1])
            corp = [r for r in records
                    if r.get("route") == "proxy" and c.fxv("URLPROBE_SQUID_AUTH") in r["proxy"]]
            check(corp and all(r["outcome"] == "ok" for r in corp),
                  f"the sweep through the password proxy: {corp}")
            status, body = pages[f"/probe?target={q}&proxy=corp"]
            check(status == 200 and re.search(r"^probe_success 1$", body, re.M),
                  f"/probe through corp: {status}\n{c.redact(body)}")
            status, body = pages[f"/probe?target={q}&route=proxy"]
            check(status == 200 and re.search(r"^probe_success 1$", body, re.M),
                  f"/probe route=proxy (the list's first, corp): {status}\n{c.redact(body)}")
            status, body = pages[f"/probe?target={q}&route=nosuch"]
            check(status == 400 and "proxy=corp" in body and "proxy=open" in body,
                  f"/probe route=nosuch should be 400 naming the routes: {status} {c.redact(body)}")
            for path, (_, body) in pages.items():
                c.no_secrets(body, path)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        check(proc.returncode == 0, f"serve exit status {proc.returncode} after SIGTERM, expected 0")
        c.no_secrets(log.read_text(), "the serve log")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__, Case))
