#!/usr/bin/python3
"""ctest integration.serve_prometheus: `urlprobe serve` at two sites, scraped by Debian's real
Prometheus, with the repository's alert rules, asserted through Prometheus's HTTP API.

The test makes its own network namespaces, joined by veth pairs (addresses of 10.77.0.0/16 that
exist only inside them):

  hub     10.77.0.1 (on its lo): the origin (HTTP :8080, HTTPS :8443 with a CA made here);
          prometheus on 127.0.0.1:9090; 10.77.1.1 and 10.77.2.1 face the sites
  site a  10.77.1.2: squid "open" (:3128) and `urlprobe serve` (:9815)
  site b  10.77.2.2: squid demanding Basic credentials (:3128) and `urlprobe serve` (:9815);
          its proxies list names that squid twice, once without credentials (-> 407,
          proxy_auth_required) and once with them (-> ok)

Prometheus scrapes both exporters' /metrics (job urlprobe, label site=a / site=b), evaluates
deploy/prometheus/urlprobe.rules.yml as it is, and scrapes /probe blackbox-style through each
site's proxy. Through /api/v1 the test asserts: both targets up; both sites' series arrived; site
b's unauthenticated proxy is proxy_auth_required and its authenticated route ok; the alert
UrlprobeProxyAuthRequired is pending or firing for site b's proxy and for nothing else; /probe
through site a's proxy is probe_success 1 with outcome ok, through site b's 407 proxy
probe_success 0 with proxy_auth_required; and the proxy password is in no label Prometheus holds
(the authenticated route's proxy label is user:***@).

Usage: serve_sites.py URLPROBE RULES_YML    exit 0 pass, 1 fail, 77 no namespaces here
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

PASSWORD = "s3cr3t-Pa55"
USER = "probe"
TAG = f"upp{os.getpid()}"
HUB, SITE_A, SITE_B = f"{TAG}-hub", f"{TAG}-a", f"{TAG}-b"
HUB_IP = "10.77.0.1"
SITES = {  # name: (namespace, hub side of the link, site address)
    "a": (SITE_A, "10.77.1.1", "10.77.1.2"),
    "b": (SITE_B, "10.77.2.1", "10.77.2.2"),
}
PROM = "127.0.0.1:9090"  # the hub's own loopback
# The metrics' proxy label is the list entry's URL, redacted (user:***@), not its name=.
PROXY_A = f"http://{SITES['a'][2]}:3128"
PROXY_B = f"http://{SITES['b'][2]}:3128"
PROXY_B_AUTHED = f"http://{USER}:***@{SITES['b'][2]}:3128"
HTTPS_URL = f"https://{HUB_IP}:8443/"
HTTP_URL = f"http://{HUB_IP}:8080/"
# Hang guards, not timing assertions: each condition is polled until it holds or this passes.
# Together they stay under the ctest TIMEOUT, so the finally below always gets to clean up.
START_S = 60
ASSERT_S = 120
CLONE_NEWNET = 0x40000000


class Failed(Exception):
    pass


def redact(text):
    return text.replace(PASSWORD, "<password>")


def say(text):
    print(redact(text), flush=True)


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)


def poll(what, fn, limit):
    """fn() until it returns something true; (its value, the last thing it saw) or Failed."""
    end = time.monotonic() + limit
    last = None
    while True:
        try:
            got = fn()
            if got:
                return got
        except (OSError, ValueError, KeyError) as e:
            last = e
        if time.monotonic() > end:
            raise Failed(f"{what}: not within {limit}s (last error: {last})")
        time.sleep(0.25)


def listening(addr, port):
    with socket.create_connection((addr, port), timeout=2):
        return True


def make_namespaces():
    sh("ip", "netns", "add", HUB)
    sh("ip", "-n", HUB, "link", "set", "lo", "up")
    sh("ip", "-n", HUB, "addr", "add", f"{HUB_IP}/32", "dev", "lo")
    for i, (name, (ns, hub_side, site_ip)) in enumerate(sorted(SITES.items()), 1):
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # Both ends are made in the hub and one end moved, so nothing ever exists in this
        # namespace (the veth names are short and fixed: they live only in the test's own).
        sh("ip", "-n", HUB, "link", "add", f"site{name}", "type", "veth", "peer", "name", "hub")
        sh("ip", "-n", HUB, "link", "set", "hub", "netns", ns)
        sh("ip", "-n", HUB, "addr", "add", f"{hub_side}/24", "dev", f"site{name}")
        sh("ip", "-n", HUB, "link", "set", f"site{name}", "up")
        sh("ip", "-n", ns, "addr", "add", f"{site_ip}/24", "dev", "hub")
        sh("ip", "-n", ns, "link", "set", "hub", "up")
        # The origin is on the hub's lo: each site reaches it through its link, and only it.
        sh("ip", "-n", ns, "route", "add", f"{HUB_IP}/32", "via", hub_side)


def enter(ns):
    """Moves this (single-threaded) process into ns; children started later are there too."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {ns}")
    finally:
        os.close(fd)


def make_pki(tmp):
    ca_key, ca = f"{tmp}/ca.key", f"{tmp}/ca.pem"
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
       "-nodes", "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=urlprobe site test CA")
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
       "-keyout", f"{tmp}/origin.key", "-out", f"{tmp}/origin.csr", "-subj", f"/CN={HUB_IP}")
    with open(f"{tmp}/origin.ext", "w") as f:
        f.write(f"subjectAltName=IP:{HUB_IP}\nextendedKeyUsage=serverAuth\n")
    sh("openssl", "x509", "-req", "-in", f"{tmp}/origin.csr", "-CA", ca, "-CAkey", ca_key,
       "-CAcreateserial", "-days", "2", "-extfile", f"{tmp}/origin.ext",
       "-out", f"{tmp}/origin.pem")
    return ca


ORIGIN = """\
import http.server, ssl, sys, threading
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\\n")
    do_HEAD = do_GET
    def log_message(self, fmt, *args):
        sys.stderr.write("origin: " + (fmt % args) + "\\n")
addr = sys.argv[1]
plain = http.server.ThreadingHTTPServer((addr, 8080), Ok)
tls = http.server.ThreadingHTTPServer((addr, 8443), Ok)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
threading.Thread(target=plain.serve_forever, daemon=True).start()
tls.serve_forever()
"""


def squid_conf(d, name, ip, auth):
    lines = [
        f"visible_hostname urlprobe-site-{name}",
        f"http_port {ip}:3128",
        "pid_filename none",
        f"cache_log {d}/cache.log",
        f"access_log stdio:{d}/access.log",
        "cache_store_log none",
        "netdb_filename none",
        f"coredump_dir {d}",
        "cache deny all",
        "cache_mem 8 MB",
        "pinger_enable off",
        "shutdown_lifetime 0 seconds",
        # Only addresses are probed; no name is ever resolved, and nothing answers on 127.0.0.1:53.
        f"hosts_file {d}/hosts",
        "dns_nameservers 127.0.0.1",
        "dns_timeout 2 seconds",
        "forwarded_for delete",
        "via off",
        "connect_timeout 5 seconds",
        "acl CONNECT method CONNECT",
        "acl SSL_ports port 8443",
        "acl Safe_ports port 8080 8443",
        f"acl origin dst {HUB_IP}/32",
        "http_access deny !Safe_ports",
        "http_access deny CONNECT !SSL_ports",
        # Never forward anywhere but the test's origin.
        "http_access deny !origin",
    ]
    if auth:
        lines += [
            f"auth_param basic program /usr/lib/squid/basic_ncsa_auth {d}/passwd",
            "auth_param basic children 2 startup=1 idle=1",
            f"auth_param basic realm urlprobe site {name}",
            "acl authenticated proxy_auth REQUIRED",
            "http_access allow authenticated",
            "http_access deny all",
        ]
    else:
        lines.append("http_access allow all")
    return "\n".join(lines) + "\n"


def prometheus_conf(rules):
    a, b = SITES["a"][2], SITES["b"][2]

    def probe_job(name, site, addr, proxy):
        return {
            "job_name": name,
            "metrics_path": "/probe",
            "scrape_interval": "2s",
            "scrape_timeout": "2s",
            "params": {"route": ["proxy"], "proxy": [proxy]},
            "static_configs": [{"targets": [HTTPS_URL], "labels": {"site": site}}],
            "relabel_configs": [
                {"source_labels": ["__address__"], "target_label": "__param_target"},
                {"source_labels": ["__param_target"], "target_label": "instance"},
                {"target_label": "__address__", "replacement": f"{addr}:9815"},
            ],
        }

    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [rules],
        "scrape_configs": [
            {"job_name": "urlprobe", "metrics_path": "/metrics",
             "static_configs": [{"targets": [f"{a}:9815"], "labels": {"site": "a"}},
                                {"targets": [f"{b}:9815"], "labels": {"site": "b"}}]},
            probe_job("urlprobe-probe-a", "a", a, "open-a"),
            probe_job("urlprobe-probe-b", "b", b, "noauth-b"),
        ],
    }


def _rfc3339_seconds(stamp):
    """Prometheus's lastEvaluation, e.g. 2026-12-06T19:50:01.123456789Z, as Unix seconds."""
    import datetime
    whole, _, frac = stamp.rstrip("Z").partition(".")
    base = datetime.datetime.fromisoformat(whole).replace(tzinfo=datetime.timezone.utc)
    return base.timestamp() + (float("0." + frac[:6]) if frac else 0.0)


def api(path, **params):
    url = f"http://{PROM}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params, doseq=True)
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise ValueError(f"{path}: {body}")
    return body["data"]


class Checks:
    def __init__(self):
        self.last = {}  # what each check saw last, printed when it fails

    def query(self, expr):
        got = api("query", query=expr)["result"]
        self.last[expr] = got
        return got

    def holds(self, what, fn):
        poll(what, fn, ASSERT_S)
        say(f"ok: {what}")

    def series(self, expr, want_value=None):
        """A poll function: expr's series, or [] unless each has want_value."""
        def fn():
            got = self.query(expr)
            if want_value is None:
                return got
            return got if all(float(s["value"][1]) == want_value for s in got) else []
        return fn


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    urlprobe, rules = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    if os.geteuid() != 0:
        print("serve_prometheus: skipped: needs root for network namespaces")
        return 77
    for tool in ("ip", "squid", "prometheus", "openssl"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"serve_prometheus: skipped: {tool} is not installed")
            return 77
    try:
        sh("ip", "netns", "add", f"{TAG}-try")
        sh("ip", "netns", "del", f"{TAG}-try")
    except subprocess.CalledProcessError as e:
        print(f"serve_prometheus: skipped: ip netns add fails here: {e.stderr.strip()}")
        return 77

    def stop(signum, frame):
        raise Failed(f"signal {signum}: stopped")
    # ctest's TIMEOUT and ^C end the test through the finally below, which stops the daemons
    # and deletes the namespaces.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    procs = {}  # name: (Popen, log path)
    tmp = tempfile.mkdtemp(prefix="urlprobe-sites-")
    checks = Checks()
    ok = False
    try:
        os.chmod(tmp, 0o755)  # squid and its auth helper read their files as user proxy
        make_namespaces()
        enter(HUB)
        ca = make_pki(tmp)

        def spawn(name, argv, ns=None, env=None):
            log = f"{tmp}/{name}.log"
            with open(log, "w") as f:
                cmd = (["ip", "netns", "exec", ns] if ns else []) + argv
                procs[name] = (subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f,
                                                stderr=subprocess.STDOUT, cwd=tmp, env=env),
                               log)

        spawn("origin", [sys.executable, "-c", ORIGIN, HUB_IP, f"{tmp}/origin.pem",
                         f"{tmp}/origin.key"])

        with open(f"{tmp}/sheet.csv", "w") as f:
            f.write("Geography,URL,Required/Optional\n"
                    f"WW,{HTTPS_URL},Required\n"
                    f"WW,{HTTP_URL},Optional\n")

        hashed = subprocess.run(["openssl", "passwd", "-apr1", "-stdin"], input=PASSWORD,
                                check=True, capture_output=True, text=True).stdout.strip()
        for name, (ns, _, ip) in sorted(SITES.items()):
            d = f"{tmp}/squid-{name}"
            os.mkdir(d)
            open(f"{d}/hosts", "w").close()
            if name == "b":
                with open(f"{d}/passwd", "w") as f:
                    f.write(f"{USER}:{hashed}\n")
                os.chmod(f"{d}/passwd", 0o640)
            with open(f"{tmp}/squid-{name}.conf", "w") as f:
                f.write(squid_conf(d, name, ip, auth=name == "b"))
            shutil.chown(d, "proxy", "proxy")
            for entry in os.listdir(d):
                shutil.chown(f"{d}/{entry}", "root" if entry == "passwd" else "proxy", "proxy")
            sh("squid", "-k", "parse", "-f", f"{tmp}/squid-{name}.conf")
            spawn(f"squid-{name}", ["squid", "-N", "-n", f"{TAG}{name}", "-f",
                                    f"{tmp}/squid-{name}.conf"], ns)

        for addr, port, what in [(HUB_IP, 8080, "origin http"), (HUB_IP, 8443, "origin https"),
                                 (SITES["a"][2], 3128, "squid a"),
                                 (SITES["b"][2], 3128, "squid b")]:
            poll(f"{what} listens on {addr}:{port}", lambda: listening(addr, port), START_S)

        # Site b names its squid twice: as devices that do not authenticate reach it, and with
        # the credentials (which must show in no label).
        proxies = {
            "a": f"open-a=http://{SITES['a'][2]}:3128\n",
            "b": (f"noauth-b=http://{SITES['b'][2]}:3128\n"
                  f"authed-b=http://{USER}:{PASSWORD}@{SITES['b'][2]}:3128\n"),
        }
        env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        for name, (ns, _, ip) in sorted(SITES.items()):
            path = f"{tmp}/proxies-{name}.txt"
            with open(path, "w") as f:
                f.write(proxies[name])
            spawn(f"urlprobe-{name}",
                  [urlprobe, "serve", f"{tmp}/sheet.csv", "--proxies", path, "--methods",
                   "direct", "--ca-file", ca, "--public-roots", ca, "--timeout", "5s",
                   "--every", "5s", "--listen", f"{ip}:9815"], ns, env)

        with open(f"{tmp}/prometheus.yml", "w") as f:
            json.dump(prometheus_conf(rules), f, indent=1)  # JSON is YAML
        spawn("prometheus", ["prometheus", f"--config.file={tmp}/prometheus.yml",
                             f"--storage.tsdb.path={tmp}/tsdb",
                             f"--web.listen-address={PROM}", "--log.level=info"])
        poll("prometheus answers /-/ready",
             lambda: urllib.request.urlopen(f"http://{PROM}/-/ready", timeout=2).status == 200,
             START_S)
        groups = api("rules")["groups"]
        loaded = {r["name"] for g in groups for r in g["rules"]}
        if "UrlprobeProxyAuthRequired" not in loaded:
            raise Failed(f"the rules of {rules} are not loaded: {sorted(loaded)}")
        say(f"ok: prometheus loaded {len(loaded)} rules from {rules}")

        q = checks.series
        checks.holds("up{job=urlprobe} is 1 for site a and site b",
                     lambda: {s["metric"]["site"] for s in
                              checks.query('up{job="urlprobe"} == 1')} == {"a", "b"})
        checks.holds("both sites' sweep series arrived",
                     lambda: {s["metric"]["site"] for s in checks.query(
                         'urlprobe_sweeps_total{job="urlprobe"} >= 1 and on (instance) '
                         'urlprobe_probe_outcome')} == {"a", "b"})
        checks.holds("site a: through its open squid, both URLs ok",
                     lambda: len(q('urlprobe_probe_outcome{job="urlprobe",site="a",'
                                   f'route="proxy",proxy="{PROXY_A}",outcome="ok"}}', 1)()) == 2)
        checks.holds("site b: without credentials its squid is proxy_auth_required",
                     lambda: len(q('urlprobe_probe_outcome{job="urlprobe",site="b",'
                                   f'route="proxy",proxy="{PROXY_B}",'
                                   'outcome="proxy_auth_required"}', 1)()) == 2)
        checks.holds("site b: with credentials the same squid is ok",
                     lambda: len(q('urlprobe_probe_outcome{job="urlprobe",site="b",'
                                   f'route="proxy",proxy="{PROXY_B_AUTHED}",outcome="ok"}}', 1)()) == 2)

        def alert_sites():
            alerts = api("alerts")["alerts"]
            checks.last["alerts"] = alerts
            mine = [a for a in alerts if a["labels"].get("alertname") ==
                    "UrlprobeProxyAuthRequired"]
            return mine if mine and all(a["state"] in ("pending", "firing") for a in mine) else None
        checks.holds("alert UrlprobeProxyAuthRequired pending or firing", alert_sites)
        alerts = alert_sites()
        # The /probe job through site b's 407 squid (job urlprobe-probe-b, no proxy label) must
        # not raise one of its own: the rule is about a sweep's proxies.
        named = sorted((a["labels"].get("job"), a["labels"].get("site"),
                        a["labels"].get("proxy", "")) for a in alerts)
        if named != [("urlprobe", "b", PROXY_B)]:
            raise Failed(f"UrlprobeProxyAuthRequired is for {named}, want only site b's "
                         f"{PROXY_B} (not site a, not the authenticated route)")
        say(f"ok: UrlprobeProxyAuthRequired is {alerts[0]['state']} for site b, proxy "
            f"{PROXY_B} only")
        # Site a's 407-free series are there (above), so an alert absent for it is a verdict.
        if checks.query('urlprobe_probe_outcome{site="a",outcome="proxy_auth_required"}'):
            raise Failed("site a has proxy_auth_required series")

        checks.holds("/probe through site a's squid: probe_success 1",
                     q('probe_success{job="urlprobe-probe-a",site="a"}', 1))
        checks.holds("/probe through site a's squid: urlprobe_probe_outcome ok",
                     q('urlprobe_probe_outcome{job="urlprobe-probe-a",outcome="ok"} == 1'))
        # The blackbox_exporter names a dashboard built for it reads, as Prometheus stored them.
        checks.holds("/probe through site a's squid: probe_http_status_code 200",
                     q('probe_http_status_code{job="urlprobe-probe-a"}', 200))
        checks.holds("/probe through site a's squid: probe_duration_seconds > 0",
                     q('probe_duration_seconds{job="urlprobe-probe-a"} > 0'))
        checks.holds("/probe through site a's squid: probe_ssl_earliest_cert_expiry in the future",
                     q('probe_ssl_earliest_cert_expiry{job="urlprobe-probe-a"} > time()'))
        checks.holds("/probe through site a's squid: probe_http_duration_seconds by phase",
                     lambda: {"resolve", "connect", "tls", "processing", "transfer"} <= {
                         s["metric"].get("phase") for s in checks.query(
                             'probe_http_duration_seconds{job="urlprobe-probe-a"}')})
        checks.holds("/probe through site b's 407 squid: probe_success 0",
                     q('probe_success{job="urlprobe-probe-b",site="b"}', 0))
        checks.holds("/probe through site b's 407 squid: urlprobe_probe_outcome "
                     "proxy_auth_required",
                     q('urlprobe_probe_outcome{job="urlprobe-probe-b",'
                       'outcome="proxy_auth_required"} == 1'))
        # With that series held, the rule has evaluated it twice (1s interval) once Prometheus's
        # own clock is two evaluations on; the /probe job must still have no 407 alert.
        seen_at = float(api("query", query="time()")["result"][1])
        def evaluated_since():
            return all(_rfc3339_seconds(r["lastEvaluation"]) > seen_at + 1
                       for g in api("rules")["groups"] for r in g["rules"]
                       if r["name"] == "UrlprobeProxyAuthRequired")
        checks.holds("the 407 rule evaluated after /probe b's series arrived", evaluated_since)
        strays = [a for a in api("alerts")["alerts"]
                  if a["labels"].get("alertname") == "UrlprobeProxyAuthRequired"
                  and a["labels"].get("job") != "urlprobe"]
        if strays:
            raise Failed(f"a /probe job raised UrlprobeProxyAuthRequired: {strays}")
        say("ok: the /probe job through site b's 407 squid raised no 407 alert of its own")

        # Everything Prometheus holds about these targets: no label value carries the password.
        held = json.dumps([api("series", **{"match[]": ['{job=~"urlprobe.*"}']}),
                           api("alerts"), api("rules"),
                           api("label/proxy/values"), api("targets")])
        if PASSWORD in held:
            raise Failed("the proxy password is in Prometheus's series, targets or alerts")
        if PROXY_B_AUTHED not in held:
            raise Failed(f"the authenticated route's label {PROXY_B_AUTHED} is not in the series")
        say("ok: the proxy password is in no series, label, target or alert")
        ok = True
    except Failed as e:
        say(f"serve_prometheus: FAIL: {e}")
    except subprocess.CalledProcessError as e:
        say(f"serve_prometheus: FAIL: {e}: {e.stderr}")
    finally:
        for name, (p, _) in reversed(list(procs.items())):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for name, (p, _) in procs.items():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if not ok:
            for expr, got in checks.last.items():
                say(f"--- last answer to {expr}:\n{json.dumps(got)[:3000]}")
            for name, (_, log) in procs.items():
                with open(log, errors="replace") as f:
                    say(f"--- {name} log (last 3000 characters):\n{f.read()[-3000:]}")
            for name in SITES:
                path = f"{tmp}/squid-{name}/cache.log"
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        say(f"--- squid-{name} cache.log:\n{f.read()[-2000:]}")
        for ns in (SITE_A, SITE_B, HUB):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    if ok:
        say("serve_prometheus: ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
