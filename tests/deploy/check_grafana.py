#!/usr/bin/python3
"""ctest deploy.grafana and deploy.grafana_rejects: deploy/grafana/*.json without a Grafana.

  check_grafana.py check     DEPLOY_DIR ENGINE_DIR
  check_grafana.py self-test DEPLOY_DIR ENGINE_DIR   each planted fault is reported

A dashboard is JSON with a uid, a title and schemaVersion >= 36; the data source is the
variable ${DS_PROMETHEUS} (so file provisioning and the import dialog both work) and there is a
`site` variable that every urlprobe selector filters on. Every panel has a known type, a gridPos
inside the 24 columns that overlaps no other panel, and targets with a refId and an expression.
Every expression, with Grafana's variables substituted, is valid PromQL: they are written as
recording rules into a temporary rules file for `promtool check rules`. Every metric and label
they name is in the contract (metric_contract.py), and the panels the issue asks for are there.
"""
import copy, json, os, re, shutil, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metric_contract

PANEL_TYPES = {"stat", "timeseries", "table", "state-timeline", "status-history", "bargauge",
               "heatmap", "gauge", "text", "barchart"}
# Grafana's own variables and ours, as a value that keeps the expression's meaning.
SUBSTITUTE = [(r"\$\{?__rate_interval\}?", "5m"), (r"\$\{?__interval\}?", "1m"),
              (r"\$\{?__range\}?", "1h"), (r"\$\{?__range_s\}?", "3600"), (r"\$\{?site\}?", ".*")]
# What issue 20 asks the dashboard to show: (what, a metric one of the panels must use).
REQUIRED = [("failures by cause", "urlprobe_outcomes"),
            ("sweep duration", "urlprobe_sweep_duration_seconds"),
            ("certificate expiry", "urlprobe_probe_tls_expiry_timestamp_seconds"),
            ("unreachable required URLs", "urlprobe_url_unreachable_sweeps")]


def panels_of(dash):
    out = []
    for p in dash.get("panels") or []:
        out.append(p)
        out.extend(p.get("panels") or [])  # a collapsed row holds its panels
    return out


def grafana_vars(expr):
    for pattern, value in SUBSTITUTE:
        expr = re.sub(pattern, value, expr)
    return expr


def check_structure(dash, name):
    errors = []
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        errors.append(f"{name}: schemaVersion {dash.get('schemaVersion')!r}, want >= 36")
    for key in ("uid", "title"):
        if not dash.get(key):
            errors.append(f"{name}: no {key}")
    variables = {v.get("name"): v for v in (dash.get("templating") or {}).get("list") or []}
    ds = variables.get("DS_PROMETHEUS")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        errors.append(f"{name}: no datasource variable DS_PROMETHEUS of type prometheus")
    site = variables.get("site")
    if not site:
        errors.append(f"{name}: no `site` variable")
    else:
        q = site.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if not re.fullmatch(r"label_values\(\s*\w+\s*,\s*site\s*\)", str(q or "")):
            errors.append(f"{name}: variable site: query {q!r} is not label_values(METRIC, site)")
        elif site.get("includeAll") and site.get("allValue") != ".*":
            errors.append(f"{name}: variable site: allValue must be .* (the selectors use =~)")
    ids, rects = set(), []
    for p in panels_of(dash):
        w = f"{name}: panel {p.get('id')} {p.get('title')!r}"
        if p.get("type") == "row":
            continue
        if p.get("type") not in PANEL_TYPES:
            errors.append(f"{w}: type {p.get('type')!r} is not one of {sorted(PANEL_TYPES)}")
        if p.get("id") in ids:
            errors.append(f"{w}: id used twice")
        ids.add(p.get("id"))
        g = p.get("gridPos") or {}
        if not all(isinstance(g.get(k), int) for k in "xywh"):
            errors.append(f"{w}: gridPos needs integer x, y, w, h, has {g}")
        else:
            if g["x"] < 0 or g["y"] < 0 or g["w"] < 1 or g["h"] < 1 or g["x"] + g["w"] > 24:
                errors.append(f"{w}: gridPos {g} is outside the 24 columns")
            for other, og in rects:
                if (g["x"] < og["x"] + og["w"] and og["x"] < g["x"] + g["w"] and
                        g["y"] < og["y"] + og["h"] and og["y"] < g["y"] + g["h"]):
                    errors.append(f"{w}: gridPos {g} overlaps {other} {og}")
            rects.append((f"panel {p.get('id')}", g))
        if (p.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
            errors.append(f"{w}: datasource must be ${{DS_PROMETHEUS}}, is {p.get('datasource')}")
        targets = p.get("targets") or []
        if p.get("type") != "text" and not targets:
            errors.append(f"{w}: no targets")
        refs = set()
        for t in targets:
            if not t.get("refId") or t["refId"] in refs:
                errors.append(f"{w}: target without a refId of its own")
            refs.add(t.get("refId"))
            if not str(t.get("expr", "")).strip():
                errors.append(f"{w}: target {t.get('refId')} has no expr")
            if (t.get("datasource") or p.get("datasource") or {}).get("uid") != "${DS_PROMETHEUS}":
                errors.append(f"{w}: target {t.get('refId')} datasource must be ${{DS_PROMETHEUS}}")
    return errors


def expressions(dash):
    for p in panels_of(dash):
        for t in p.get("targets") or []:
            if t.get("expr"):
                yield f"panel {p.get('id')} {p.get('title')!r} {t.get('refId')}", p, t["expr"]


def check_metrics(dash, name, engine_dir, notes):
    errors, used = [], set()
    for where, _, expr in expressions(dash):
        errors.extend(metric_contract.check_expr(expr, f"{name}: {where}"))
        used |= metric_contract.metric_names(expr)
        # A panel that ignores the site picker shows every site whatever the user chose.
        for m in re.finditer(r"\b(urlprobe_[a-z_]+|process_[a-z_]+)\b(\{[^}]*\})?", expr):
            if "and on" in expr[:m.start()]:
                continue  # the right side of a filter, not what the panel shows
            if not m.group(2) or not re.search(r'site=~"\$\{?site\}?"', m.group(2)):
                errors.append(f"{name}: {where}: {m.group(1)} is not filtered by site=~\"$site\"")
    for what, metric in REQUIRED:
        if metric not in used:
            errors.append(f"{name}: no panel shows {what} ({metric})")
    if not any(p.get("type") in ("state-timeline", "status-history", "heatmap") and
               re.search(r"by \([^)]*\burl\b[^)]*\broute\b", e) for _, p, e in expressions(dash)):
        errors.append(f"{name}: no state-timeline/heatmap of outcomes by url and route")
    errs, note = metric_contract.check_engine(used, engine_dir, name)
    if note:
        notes.append(note)
    return errors + errs


def check_promql(dash, name):
    promtool = shutil.which("promtool")
    if not promtool:
        sys.exit("check_grafana: promtool not found (scripts/install-deps test: prometheus)")
    rules, where = [], {}
    for i, (w, _, expr) in enumerate(expressions(dash)):
        record = f"grafana:expr_{i}"
        where[record] = w
        rules.append({"record": record, "expr": grafana_vars(expr)})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dashboard.rules.yml")
        with open(path, "w") as f:
            json.dump({"groups": [{"name": "dashboard", "rules": rules}]}, f)  # JSON is YAML
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True, timeout=60)
    if r.returncode == 0:
        return []
    text = r.stdout + r.stderr
    for record, w in where.items():
        text = text.replace(record, f"{record} ({w})")
    return [f"{name}: promtool check rules on the panel expressions:\n{text.strip()}"]


def check(dash, name, engine_dir, notes):
    return (check_structure(dash, name) + check_metrics(dash, name, engine_dir, notes)
            + check_promql(dash, name))


def self_test(dash, name, engine_dir):
    """Each fault planted in a copy of the dashboard must be reported."""
    def first(d, type_=None):
        return next(p for p in panels_of(d) if p.get("targets") and (type_ is None or p["type"] == type_))

    def overlap(d):
        ps = [p for p in panels_of(d) if p.get("gridPos")]
        ps[1]["gridPos"] = dict(ps[0]["gridPos"])

    def set_expr(text):
        return lambda d: first(d)["targets"][0].__setitem__("expr", text)

    faults = [
        ("overlapping gridPos", overlap, "overlaps"),
        ("gridPos past column 24", lambda d: first(d)["gridPos"].__setitem__("x", 20), "outside the 24"),
        ("no gridPos", lambda d: first(d).pop("gridPos"), "gridPos needs"),
        ("no targets", lambda d: first(d).__setitem__("targets", []), "no targets"),
        ("no type", lambda d: first(d).pop("type"), "is not one of"),
        ("a fixed data source", lambda d: first(d).__setitem__("datasource", {"uid": "prom1"}),
         "datasource must be"),
        ("PromQL syntax", set_expr('sum by (outcome (urlprobe_outcomes{site=~"$site"})'),
         "promtool check rules"),
        ("an unknown metric", set_expr('urlprobe_probe_ok{site=~"$site"}'), "is not a metric"),
        ("an unknown label", set_expr('urlprobe_probe_outcome{site=~"$site",proxy_name="x"}'),
         "has no label 'proxy_name'"),
        ("an unknown outcome", set_expr('urlprobe_outcomes{site=~"$site",outcome="auth_required"}'),
         "is not an outcome name"),
        ("the site picker ignored", set_expr("urlprobe_sweep_duration_seconds"),
         "not filtered by site"),
        ("no sweep duration panel",
         lambda d: [t.__setitem__("expr", t["expr"].replace("urlprobe_sweep_duration_seconds",
                                                            "urlprobe_sweep_interval_seconds"))
                    for p in panels_of(d) for t in p.get("targets") or []],
         "no panel shows sweep duration"),
        ("no site variable", lambda d: d["templating"]["list"].pop(
            next(i for i, v in enumerate(d["templating"]["list"]) if v["name"] == "site")),
         "no `site` variable"),
    ]
    errors = []
    for what, plant, expect in faults:
        broken = copy.deepcopy(dash)
        plant(broken)
        found = check(broken, name, engine_dir, [])
        if not any(expect in e for e in found):
            errors.append(f"self-test: {what}: not reported (want {expect!r}, got {found})")
        else:
            print(f"check_grafana: self-test: {what}: reported")
    return errors


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("check", "self-test"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    mode, deploy, engine = sys.argv[1:]
    files = sorted(f for f in os.listdir(os.path.join(deploy, "grafana")) if f.endswith(".json"))
    if not files:
        sys.exit(f"check_grafana: no dashboards in {deploy}/grafana")
    errors, notes = [], []
    for f in files:
        path = os.path.join(deploy, "grafana", f)
        try:
            dash = json.load(open(path))
        except json.JSONDecodeError as e:
            errors.append(f"grafana/{f}:{e.lineno}:{e.colno}: {e.msg}")
            continue
        if mode == "check":
            errors += check(dash, f"grafana/{f}", engine, notes)
            print(f"check_grafana: grafana/{f}: {len(panels_of(dash))} panels, "
                  f"{len(list(expressions(dash)))} expressions")
        else:
            errors += self_test(dash, f"grafana/{f}", engine)
    for n in notes:
        print(f"check_grafana: {n}")
    for e in errors:
        print(f"check_grafana: FAIL: {e}", file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"check_grafana: {mode}: ok")


if __name__ == "__main__":
    main()
