#!/usr/bin/python3
"""Integration cases for a Windows machine's exported proxy configuration: the built urlprobe
binary with --winhttp (netsh winhttp show proxy / dump) and --registry (a regedit .reg export)
through the real squids of tests/fixtures/start.

    winconfig_cases.py BINARY FIXTURE_DIR SCHEMA CASE
    winconfig_cases.py --list

Each CASE is one ctest, winconfig.<CASE> (tests/integration/CMakeLists.txt). The inputs are
written here as Windows writes them: CRLF, and the .reg file in UTF-16LE with a byte order mark.
Dot-less and *.bypass.test names are pinned with --resolve to the fixture's origin (127.0.77.2);
probe.test names resolve through the fixture's dnsmasq.

/usr/bin/python3 on purpose: Debian's python3-jsonschema imports only there.
"""
import json
import sys

sys.dont_write_bytecode = True  # no __pycache__ beside the sources
from harness import check  # noqa: E402
import harness  # noqa: E402

CASES, case = harness.case_registry()

OPEN_SQUID = "127.0.77.4:3128"
AUTH_SQUID = "127.0.77.4:3129"  # 407 without credentials


def crlf(*lines):
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def regedit(*lines):
    """A .reg file as regedit exports it: UTF-16LE with a BOM, CRLF."""
    return b"\xff\xfe" + ("\r\n".join(lines) + "\r\n").encode("utf-16-le")


class Case(harness.Case):
    def origin_port(self):
        return self.fixture()["URLPROBE_PORT_HTTP"]

    def base_args(self):
        fx = self.fixture()
        port = self.origin_port()
        return ["--dns-server", fx["URLPROBE_DNS"], "--timeout", "5",
                "--resolve", f"origin:{port}:127.0.77.2",
                "--resolve", f"direct.bypass.test:{port}:127.0.77.2"]

    def urls(self):
        port = self.origin_port()
        return {"local": f"http://origin:{port}/",
                "wildcard": f"http://direct.bypass.test:{port}/",
                "proxied": f"http://plain.probe.test:{port}/"}

    def write(self, name, data):
        path = self.tmp / name
        path.write_bytes(data)
        return str(path)

    def run_json(self, args):
        r = self.run([*self.base_args(), *args, "--format", "json"], jsonl=False)
        check(r.stdout.strip().startswith("{"), f"no json document on stdout (exit {r.rc})")
        doc = json.loads(r.stdout)
        for n, rec in enumerate(doc["results"], 1):
            errors = [e.message for e in self.validator.iter_errors(rec)]
            check(not errors, f"record {n} does not match the schema: {errors}"
                  f"\n  record: {json.dumps(rec)}")
        return r, doc


def by_url_route(records):
    return {(r["url"], r["route"]): r for r in records}


@case
def winhttp_bypass_names_the_entry(c):
    """netsh winhttp show proxy with a bypass list: route default goes through the open squid,
    except the targets the list bypasses, which go direct and name their entry."""
    netsh = c.write("proxy.txt", crlf(
        "", "Current WinHTTP proxy settings:", "",
        f"    Proxy Server(s) :  {OPEN_SQUID}",
        "    Bypass List     :  <local>;*.bypass.test", ""))
    u = c.urls()
    r, doc = c.run_json(["--winhttp", netsh, "--methods", "default", "--verbose", *u.values()])
    check(r.rc == 0, f"exit status {r.rc}, expected 0")
    recs = by_url_route(doc["results"])
    local, wildcard, proxied = (recs[(u[k], "default")] for k in ("local", "wildcard", "proxied"))
    check(local.get("bypassed_by") == "<local>" and "proxy" not in local,
          f"the dot-less name did not go direct by <local>: {json.dumps(local)}")
    check(wildcard.get("bypassed_by") == "*.bypass.test" and "proxy" not in wildcard,
          f"*.bypass.test did not bypass: {json.dumps(wildcard)}")
    check(proxied.get("proxy") == f"http://{OPEN_SQUID}" and "bypassed_by" not in proxied,
          f"plain.probe.test did not go through the WinHTTP proxy: {json.dumps(proxied)}")
    for rec in (local, wildcard, proxied):
        c.expect_outcome(rec, "ok")
    imported = doc["run"].get("imported", [])
    settings = {(m["setting"], m["line"]) for m in imported}
    check(("Proxy Server(s)", 4) in settings and ("Bypass List", 5) in settings,
          f"the run metadata does not say what --winhttp set: {imported}")
    check(f"proxy.txt:5: Bypass List = <local>;*.bypass.test" in r.stderr,
          "--verbose did not print the bypass list it understood")


@case
def winhttp_dump_direct(c):
    """netsh winhttp dump with `reset proxy`: route default is the direct path, even with an
    https_proxy in the environment (WinHTTP does not read it)."""
    dump = c.write("dump.txt", crlf(
        "", "#========================", "# WinHTTP Proxy Configuration",
        "#========================", "pushd winhttp", "", "", "reset proxy", "", "", "popd", "",
        "# End of WinHTTP Proxy Configuration"))
    u = c.urls()
    r = c.run([*c.base_args(), "--winhttp", dump, "--methods", "default", u["proxied"]],
              env={"http_proxy": f"http://{AUTH_SQUID}"})
    rec = r.only_record()
    check("proxy" not in rec, f"route default used a proxy: {json.dumps(rec)}")
    c.expect_outcome(rec, "ok")


@case
def registry_named_defender_and_readiness(c):
    """A UTF-16LE .reg export: TelemetryProxyServer (the 407 squid) is route named, the Defender
    policy's ProxyServer (the open squid) route defender with its ProxyBypass, and readiness says
    that DisableEnterpriseAuthProxy makes the 407 a blocker."""
    reg = c.write("policy.reg", regedit(
        "Windows Registry Editor Version 5.00", "",
        r"[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\DataCollection]",
        '"AllowTelemetry"=dword:00000001',
        f'"TelemetryProxyServer"="{AUTH_SQUID}"',
        '"DisableEnterpriseAuthProxy"=dword:00000001', "",
        r"[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows Defender]",
        f'"ProxyServer"="http://{OPEN_SQUID}"',
        '"ProxyBypass"="*.bypass.test"', ""))
    u = c.urls()
    r, doc = c.run_json(["--registry", reg, "--methods", "named", "--verbose",
                         u["proxied"], u["wildcard"]])
    recs = by_url_route(doc["results"])
    named = recs[(u["proxied"], "named")]
    check(named.get("proxy") == f"http://{AUTH_SQUID}",
          f"route named is not TelemetryProxyServer: {json.dumps(named)}")
    c.expect_outcome(named, "proxy_auth_required")
    defender = recs[(u["proxied"], "defender")]
    check(defender.get("proxy") == f"http://{OPEN_SQUID}",
          f"route defender is not the Defender ProxyServer: {json.dumps(defender)}")
    c.expect_outcome(defender, "ok")
    bypassed = recs[(u["wildcard"], "defender")]
    check(bypassed.get("bypassed_by") == "*.bypass.test" and "proxy" not in bypassed,
          f"ProxyBypass did not send *.bypass.test direct: {json.dumps(bypassed)}")
    notes = doc["readiness"]["notes"]
    auth = [n for n in notes if "DisableEnterpriseAuthProxy" in n]
    check(auth and "blocker" in auth[0] and f"http://{AUTH_SQUID}" in auth[0]
          and f"policy.reg:6" in auth[0],
          f"readiness does not say the 407 proxy blocks the sensor: {notes}")
    check("policy.reg:5: TelemetryProxyServer = 127.0.77.4:3129: route named" in r.stderr,
          "--verbose did not say TelemetryProxyServer became route named")


@case
def registry_defender_pac(c):
    """The Defender policy's ProxyPacUrl (the fixture's PAC script, served over http) decides
    route defender per URL, before its ProxyServer, which is then not probed."""
    fx = c.fixture()
    reg = c.write("defender.reg", regedit(
        "Windows Registry Editor Version 5.00", "",
        r"[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows Defender]",
        f'"ProxyPacUrl"="{fx["URLPROBE_PAC_URL"]}"',
        f'"ProxyServer"="http://{AUTH_SQUID}"', ""))
    port = c.origin_port()
    plain, valid = f"http://plain.probe.test:{port}/", f"http://valid.probe.test:{port}/"
    r, doc = c.run_json(["--registry", reg, "--methods", "direct", "--verbose", plain, valid])
    recs = by_url_route(doc["results"])
    direct = recs[(plain, "defender")]
    check(direct.get("pac", {}).get("answer") == "DIRECT" and "proxy" not in direct,
          f"the PAC script's DIRECT for plain.probe.test was not followed: {json.dumps(direct)}")
    proxied = recs[(valid, "defender")]
    check("PROXY" in proxied.get("pac", {}).get("answer", "")
          and proxied.get("proxy") == f"http://{OPEN_SQUID}",
          f"the PAC chain for valid.probe.test did not end at the open squid: {json.dumps(proxied)}")
    c.expect_outcome(proxied, "ok")
    check(f"http://{AUTH_SQUID}" not in json.dumps(doc["results"]),
          "the Defender ProxyServer was probed although ProxyPacUrl is set")
    check("ProxyServer (Defender) = http://127.0.77.4:3129: not probed" in r.stderr,
          "--verbose did not say ProxyServer is not probed")


@case
def registry_malformed_line_is_file_line(c):
    """Every malformed line of a .reg file is named FILE:LINE, exit 2, and nothing is probed."""
    reg = c.write("bad.reg", regedit(
        "Windows Registry Editor Version 5.00", "",
        r"[HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\DataCollection]",
        "TelemetryProxyServer=10.0.0.6:8080",
        '"DisableEnterpriseAuthProxy"=dword:1x'))
    r = c.run([*c.base_args(), "--registry", reg, c.urls()["proxied"]])
    check(r.rc == 2, f"exit status {r.rc}, expected 2")
    check(not r.records, "records were written for a malformed --registry")
    check("bad.reg:4:1:" in r.stderr and "bad.reg:5:" in r.stderr,
          "the malformed lines 4 and 5 are not both named")


if __name__ == "__main__":
    sys.exit(harness.main(sys.argv, CASES, __doc__, Case))
