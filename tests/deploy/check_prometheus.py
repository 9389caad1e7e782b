#!/usr/bin/python3
"""ctest deploy.prometheus_config, deploy.alert_rules, deploy.alert_rules_mutants.

  check_prometheus.py config  DEPLOY_DIR ENGINE_DIR   promtool check config on each
      prometheus*.yml (which also checks the rule files they name) and on the YAML snippet of
      deploy/README.md's Exporter section, as pasted; their /probe jobs are blackbox-style
  check_prometheus.py rules   DEPLOY_DIR ENGINE_DIR   promtool check rules and test rules; every
      alert has severity, summary, description; every expression uses the metric contract
  check_prometheus.py mutants DEPLOY_DIR ENGINE_DIR   the rule tests catch each planted bug: a
      copy of the rules with one expression weakened must fail `promtool test rules`
"""
import glob, os, re, shutil, subprocess, sys, tempfile
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metric_contract

ALERTS = {"UrlprobeRequiredUrlUnreachable", "UrlprobeProxyAuthRequired",
          "UrlprobeHttpsInspectionOnPinnedUrl", "UrlprobeCertificateExpiresSoon",
          "UrlprobeNoCompleteSweep"}

# (alert, text in its expr, replacement): each a bug the unit tests must notice.
MUTANTS = [
    ("UrlprobeRequiredUrlUnreachable", ">= 2", ">= 1"),                       # one sweep pages
    ("UrlprobeRequiredUrlUnreachable", 'urlprobe_url_reachable{required="true"}',
     "urlprobe_url_reachable"),                                                # optional URLs page
    ("UrlprobeProxyAuthRequired", 'outcome="proxy_auth_required"', 'outcome=~"proxy_.*"'),
    ("UrlprobeProxyAuthRequired", "route, proxy)", "route)"),                  # proxy not named
    ("UrlprobeProxyAuthRequired", ',proxy!=""}', "}"),                        # /probe jobs alert
    ("UrlprobeHttpsInspectionOnPinnedUrl", "[1d] offset 1h", "[1d]"),         # never "newly"
    ("UrlprobeHttpsInspectionOnPinnedUrl", 'inspected{excluded="true"} == 1)', "inspected == 1)"),
    ("UrlprobeHttpsInspectionOnPinnedUrl", 'or urlprobe_probe_tls_inspected{excluded="true"} == 1',
     ""),                                                                      # excluded hosts missed
    ("UrlprobeHttpsInspectionOnPinnedUrl", "== 1) unless", "== 1) or"),       # fires forever
    ("UrlprobeCertificateExpiresSoon", "< 14 * 86400", "< 7 * 86400"),
    ("UrlprobeCertificateExpiresSoon",
     "unless on (job, instance, url, route, proxy) urlprobe_probe_tls_inspected == 1", ""),
    ("UrlprobeCertificateExpiresSoon", "min by (job, instance, site, url)", "min by (job, instance, url)"),
    ("UrlprobeNoCompleteSweep", "unless on (job, instance) urlprobe_sweep_end_timestamp_seconds",
     ""),                                                                      # fires while healthy
    ("UrlprobeNoCompleteSweep", "3 * urlprobe_sweep_interval_seconds\n)", "5 * urlprobe_sweep_interval_seconds\n)"),
]

errors, notes = [], []


def run(cmd, cwd):
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)


def promtool():
    p = shutil.which("promtool")
    if not p:
        sys.exit("check_prometheus: promtool not found (scripts/install-deps test: prometheus)")
    return p


def readme_snippet(deploy):
    """The first ```yaml block of deploy/README.md's Exporter section."""
    text = open(os.path.join(deploy, "README.md")).read()
    m = re.search(r"^## Exporter\b.*?^```yaml\n(.*?)^```", text, re.S | re.M)
    return m.group(1) if m else None


def check_config(deploy):
    prom_dir = os.path.join(deploy, "prometheus")
    files = sorted(glob.glob(os.path.join(prom_dir, "prometheus*.yml")))
    if not files:
        errors.append(f"{prom_dir}: no prometheus*.yml")
    for path in files:
        check_config_file(prom_dir, os.path.basename(path))
    snippet = readme_snippet(deploy)
    if snippet is None:
        errors.append("deploy/README.md: no ```yaml block in the Exporter section")
        return
    # As a user pastes it: into an empty prometheus.yml with the rules file beside it.
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write(snippet)
        shutil.copy(os.path.join(prom_dir, "urlprobe.rules.yml"), tmp)
        check_config_file(tmp, "prometheus.yml", "deploy/README.md Exporter snippet")


def check_config_file(prom_dir, name, shown=None):
    shown = shown or name
    r = run([promtool(), "check", "config", name], prom_dir)
    print(r.stdout + r.stderr, end="")
    if r.returncode:
        errors.append(f"promtool check config {shown} failed")
        return
    cfg = yaml.safe_load(open(os.path.join(prom_dir, name)))
    jobs = cfg.get("scrape_configs") or []
    metrics = [j for j in jobs if j.get("metrics_path", "/metrics") == "/metrics"]
    probes = [j for j in jobs if j.get("metrics_path") == "/probe"]
    if not metrics:
        errors.append(f"{shown}: no job scrapes /metrics")
    for j in metrics:
        for sc in j.get("static_configs") or []:
            if "site" not in (sc.get("labels") or {}):
                errors.append(f"{shown}: job {j['job_name']}: static_config {sc.get('targets')} has no site label")
    if not probes:
        errors.append(f"{shown}: no blackbox-style /probe job")
    for j in probes:
        w = f"{shown}: job {j['job_name']}"
        route = ((j.get("params") or {}).get("route") or [None])[0]
        if route not in metric_contract.ROUTES:
            errors.append(f"{w}: params.route {route!r} is not a route ({sorted(metric_contract.ROUTES)})")
        rl = j.get("relabel_configs") or []
        # What blackbox users write, in this order: target from the address, instance from the
        # target, then the address replaced by the exporter's.
        want = [(["__address__"], "__param_target"), (["__param_target"], "instance"), (None, "__address__")]
        got = [(r.get("source_labels"), r.get("target_label")) for r in rl]
        if got[:3] != want:
            errors.append(f"{w}: relabel_configs {got} are not the blackbox pattern {want}")
        elif not str(rl[2].get("replacement", "")).rsplit(":", 1)[-1].isdigit():
            errors.append(f"{w}: the __address__ replacement must be the serve HOST:PORT")
        for sc in j.get("static_configs") or []:
            for t in sc.get("targets") or []:
                if not str(t).startswith(("http://", "https://")) and "." not in str(t):
                    errors.append(f"{w}: target {t!r} is neither a URL nor a host")
            if "site" not in (sc.get("labels") or {}):
                errors.append(f"{w}: static_config has no site label")


def check_rules(prom_dir, engine_dir):
    p = promtool()
    for cmd in (["check", "rules", "urlprobe.rules.yml"], ["test", "rules", "urlprobe.rules.test.yml"]):
        r = run([p, *cmd], prom_dir)
        print(r.stdout + r.stderr, end="")
        if r.returncode:
            errors.append(f"promtool {' '.join(cmd)} failed")
    rules = yaml.safe_load(open(os.path.join(prom_dir, "urlprobe.rules.yml")))
    seen, used = set(), set()
    for g in rules["groups"]:
        for rule in g["rules"]:
            name = rule.get("alert") or rule.get("record")
            seen.add(name)
            w = f"urlprobe.rules.yml {name}"
            errors.extend(metric_contract.check_expr(rule["expr"], w))
            used |= metric_contract.metric_names(rule["expr"])
            if "alert" in rule:
                if (rule.get("labels") or {}).get("severity") not in ("critical", "warning", "info"):
                    errors.append(f"{w}: severity label must be critical, warning or info")
                for a in ("summary", "description"):
                    if not (rule.get("annotations") or {}).get(a):
                        errors.append(f"{w}: no {a} annotation")
    for missing in sorted(ALERTS - seen):
        errors.append(f"urlprobe.rules.yml: no alert {missing}")
    tests = yaml.safe_load(open(os.path.join(prom_dir, "urlprobe.rules.test.yml")))
    tested = {(t["alertname"], bool(t.get("exp_alerts")))
              for case in tests["tests"] for t in case.get("alert_rule_test") or []}
    for a in sorted(ALERTS):
        if (a, True) not in tested:
            errors.append(f"urlprobe.rules.test.yml: no test where {a} fires")
        if (a, False) not in tested:
            errors.append(f"urlprobe.rules.test.yml: no test where {a} must not fire")
    errs, note = metric_contract.check_engine(used, engine_dir, "urlprobe.rules.yml")
    errors.extend(errs)
    if note:
        notes.append(note)


def check_mutants(prom_dir):
    p = promtool()
    text = open(os.path.join(prom_dir, "urlprobe.rules.yml")).read()
    rules = yaml.safe_load(text)
    for alert, old, new in MUTANTS:
        w = f"mutant {alert}: {old.strip()!r} -> {new.strip()!r}"
        mutated = yaml.safe_load(text)
        hit = False
        for g in mutated["groups"]:
            for rule in g["rules"]:
                if rule.get("alert") == alert and old in rule["expr"]:
                    rule["expr"] = rule["expr"].replace(old, new, 1)
                    hit = True
        if not hit:
            errors.append(f"{w}: the text is not in the rule (update MUTANTS with the rule)")
            continue
        with tempfile.TemporaryDirectory() as tmp:
            yaml.safe_dump(mutated, open(os.path.join(tmp, "urlprobe.rules.yml"), "w"), sort_keys=False)
            shutil.copy(os.path.join(prom_dir, "urlprobe.rules.test.yml"), tmp)
            if run([p, "check", "rules", "urlprobe.rules.yml"], tmp).returncode:
                errors.append(f"{w}: the mutant is not even a valid rule; pick another")
                continue
            r = run([p, "test", "rules", "urlprobe.rules.test.yml"], tmp)
            if r.returncode == 0:
                errors.append(f"{w}: survived, the rule tests did not notice")
            else:
                print(f"check_prometheus: {w}: caught")
    del rules


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("config", "rules", "mutants"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    mode, deploy, engine = sys.argv[1:]
    prom_dir = os.path.join(deploy, "prometheus")
    {"config": lambda: check_config(deploy), "rules": lambda: check_rules(prom_dir, engine),
     "mutants": lambda: check_mutants(prom_dir)}[mode]()
    for n in notes:
        print(f"check_prometheus: {n}")
    for e in errors:
        print(f"check_prometheus: FAIL: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"check_prometheus: {mode}: ok")


if __name__ == "__main__":
    main()
