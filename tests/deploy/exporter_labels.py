#!/usr/bin/python3
"""ctest deploy.exporter_labels: the alert rules and the dashboard against what the real
`urlprobe serve` prints, not only against the list in metric_contract.py.

In a network namespace of its own (unshare --net; 127.0.0.1 there is the test's alone) it starts
an HTTP and an HTTPS origin, and `urlprobe serve` on a small sheet (a pinned HTTPS row, a
required URL that refuses, an optional one, a wildcard that is skipped), waits for /-/ready and
reads /metrics. Then, for every selector in deploy/prometheus/urlprobe.rules.yml and
deploy/grafana/*.json: the metric is printed, and each label it matches on, groups by or joins
on is one the metric (or the other side of the join) has. A label the exporter does not print
makes a selector that matches nothing: an alert that never fires, an empty panel.

Usage: exporter_labels.py URLPROBE DEPLOY_DIR      exit 0 pass, 1 fail, 77 no namespace here
"""
import json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import metric_contract
import yaml

SERVE = "127.0.0.1:9815"
TARGET_LABELS = metric_contract.TARGET
# Printed on every complete sweep of this sheet: their absence is a failure, not a note.
ALWAYS = {"urlprobe_probe_success", "urlprobe_probe_outcome", "urlprobe_outcomes",
          "urlprobe_url_reachable", "urlprobe_url_unreachable_sweeps",
          "urlprobe_sweep_duration_seconds", "urlprobe_sweep_end_timestamp_seconds",
          "urlprobe_sweep_interval_seconds", "urlprobe_sweeps_total", "urlprobe_sweeps_late_total",
          "urlprobe_probe_tls_expiry_timestamp_seconds", "urlprobe_probe_tls_inspected",
          "urlprobe_probe_not_probed", "process_start_time_seconds",
          "process_cpu_seconds_total", "process_resident_memory_bytes"}
DEADLINE_S = 120  # a hang guard for the first sweep; nothing asserts on time


def in_own_netns():
    if os.environ.get("URLPROBE_EXPORTER_LABELS_NETNS") == "1":
        return
    if not shutil.which("unshare") or os.geteuid() != 0:
        print("exporter_labels: skipped: needs root and unshare for a network namespace")
        sys.exit(77)
    env = dict(os.environ, URLPROBE_EXPORTER_LABELS_NETNS="1")
    r = subprocess.run(["unshare", "--net", "--", sys.executable, *sys.argv], env=env)
    sys.exit(r.returncode)


def poll(what, fn):
    end = time.monotonic() + DEADLINE_S
    last = None
    while time.monotonic() < end:
        try:
            got = fn()
            if got:
                return got
        except OSError as e:
            last = e
        time.sleep(0.2)
    raise SystemExit(f"exporter_labels: FAIL: {what} within {DEADLINE_S}s ({last})")


def listening(port):
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        return True


def get(path):
    with urllib.request.urlopen(f"http://{SERVE}{path}", timeout=10) as r:
        return r.status, r.read().decode()


def parse_exposition(text):
    labels = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s", line)
        if not m:
            continue
        names = set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', m.group(3) or ""))
        labels.setdefault(m.group(1), set()).update(names)
    return labels


def selectors(expr):
    """(metric, {label names matched}) for each metric the expression names."""
    bare = metric_contract.strip_strings(expr)
    out = []
    for m in re.finditer(r"(?<![A-Za-z0-9_.$])([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{[^}]*\})?", expr):
        name = m.group(1)
        if name in metric_contract.METRICS:
            out.append((name, set(re.findall(r'([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*"',
                                             m.group(2) or ""))))
    groups = [set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", g.group(2)))
              for g in re.finditer(r"\b(by|on|group_left|group_right)\s*\(([^)]*)\)", bare)]
    return out, groups


def expressions(deploy):
    rules = yaml.safe_load(open(os.path.join(deploy, "prometheus", "urlprobe.rules.yml")))
    for g in rules["groups"]:
        for rule in g["rules"]:
            yield f"urlprobe.rules.yml {rule.get('alert') or rule.get('record')}", rule["expr"]
    gdir = os.path.join(deploy, "grafana")
    for f in sorted(os.listdir(gdir)):
        if f.endswith(".json"):
            dash = json.load(open(os.path.join(gdir, f)))
            for p in dash.get("panels") or []:
                for t in p.get("targets") or []:
                    if t.get("expr"):
                        yield f"grafana/{f} panel {p.get('title')!r}", t["expr"]


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    in_own_netns()
    urlprobe, deploy = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:P-256", "-nodes", "-keyout", f"{tmp}/key.pem",
                            "-out", f"{tmp}/cert.pem", "-days", "10", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
            with open(f"{tmp}/index.html", "w") as f:
                f.write("ok\n")
            with open(f"{tmp}/tls_origin.py", "w") as f:
                f.write("import http.server, ssl, sys\n"
                        "s = http.server.ThreadingHTTPServer(('127.0.0.1', 18443),"
                        " http.server.SimpleHTTPRequestHandler)\n"
                        "c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
                        "c.load_cert_chain(sys.argv[1], sys.argv[2])\n"
                        "s.socket = c.wrap_socket(s.socket, server_side=True)\n"
                        "s.serve_forever()\n")
            with open(f"{tmp}/sheet.csv", "w") as f:
                f.write("Geography,URL,Required/Optional,Trust\n"
                        "WW,http://127.0.0.1:18080/,Required,\n"
                        "WW,https://127.0.0.1:18443/,Required,local\n"
                        "WW,http://127.0.0.1:18082/,Required,\n"      # refused: unreachable
                        "WW,http://127.0.0.1:18081/,Optional,\n"
                        "WW,*.wild.example,Optional,\n")              # skipped: not_probed
            quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
            procs.append(subprocess.Popen([sys.executable, "-m", "http.server", "--bind",
                                           "127.0.0.1", "18080"], **quiet))
            procs.append(subprocess.Popen([sys.executable, f"{tmp}/tls_origin.py",
                                           f"{tmp}/cert.pem", f"{tmp}/key.pem"], **quiet))
            # The first sweep starts at once: the origins must be listening before it.
            for port in (18080, 18443):
                poll(f"the origin on 127.0.0.1:{port} listens", lambda: listening(port))
            log = open(f"{tmp}/serve.log", "w")
            procs.append(subprocess.Popen(
                [urlprobe, "serve", f"{tmp}/sheet.csv", "--pin", f"local={tmp}/cert.pem",
                 "--methods", "direct", "--timeout", "5s", "--every", "1h", "--listen", SERVE],
                stdout=log, stderr=subprocess.STDOUT, cwd=tmp))
            try:
                poll("/-/ready answers 200 after the first sweep", lambda: get("/-/ready")[0] == 200)
            except SystemExit:
                print(open(f"{tmp}/serve.log").read()[-4000:], file=sys.stderr)
                raise
            status, text = get("/metrics")
        finally:
            for p in reversed(procs):
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()

    printed = parse_exposition(text)
    errors = []
    for name in sorted(ALWAYS - printed.keys()):
        errors.append(f"/metrics: {name} not printed after a complete sweep of this sheet")
    checked = 0
    for where, expr in expressions(deploy):
        sels, groups = selectors(expr)
        present = [(n, ls) for n, ls in sels if n in printed]
        for name, matched in sels:
            if name not in printed:
                if name != "up" and name.startswith(("urlprobe_", "process_")):
                    errors.append(f"{where}: {name} is not printed by urlprobe serve")
                continue
            for label in sorted(matched - TARGET_LABELS - printed[name]):
                errors.append(f"{where}: {name} has no label {label!r} in /metrics "
                              f"(it has {sorted(printed[name])}): the selector matches nothing")
            checked += 1
        have = set().union(*(printed[n] for n, _ in present)) if present else set()
        for g in groups:
            for label in sorted(g - TARGET_LABELS - have):
                errors.append(f"{where}: groups or joins on {label!r}, which none of "
                              f"{sorted(n for n, _ in present)} has in /metrics")
    for e in errors:
        print(f"exporter_labels: FAIL: {e}", file=sys.stderr)
    if errors:
        print("--- /metrics ---\n" + text, file=sys.stderr)
        sys.exit(1)
    print(f"exporter_labels: {checked} selectors against {len(printed)} metric families: ok")


if __name__ == "__main__":
    main()
