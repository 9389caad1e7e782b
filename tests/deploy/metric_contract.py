"""The metric names and labels `urlprobe serve` exposes (issue 20), which deploy/prometheus and
deploy/grafana may use. check_grafana.py and check_prometheus.py hold every PromQL expression
they ship against this list, so a renamed metric or a label that does not exist (say
`proxy_name`) fails a test instead of an empty panel or an alert that can never fire.

When engine/ already writes serve's metrics, the names are also looked up in its sources
(string literals), so the list cannot drift from what the program prints.
"""
import glob, os, re

PROBE = {"url", "route", "proxy"}
URL = {"url", "required", "geography"}
# Labels Prometheus adds: the scrape's own and the `site` each job in prometheus.yml sets.
TARGET = {"job", "instance", "site"}

METRICS = {
    # per probe
    "urlprobe_probe_success": PROBE,
    "urlprobe_probe_outcome": PROBE | {"outcome"},
    "urlprobe_probe_not_probed": PROBE | {"outcome"},
    "urlprobe_probe_duration_seconds": PROBE | {"phase"},
    "urlprobe_probe_http_status_code": PROBE,
    "urlprobe_probe_tls_expiry_timestamp_seconds": PROBE,
    "urlprobe_probe_tls_inspected": PROBE | {"pinned", "excluded"},
    # per URL
    "urlprobe_url_reachable": URL,
    "urlprobe_url_unreachable_sweeps": URL,
    # per sweep
    "urlprobe_outcomes": {"outcome", "route"},
    "urlprobe_sweep_duration_seconds": set(),
    "urlprobe_sweep_end_timestamp_seconds": set(),
    "urlprobe_sweeps_total": set(),
    "urlprobe_sweeps_late_total": set(),
    "urlprobe_sweep_running": set(),
    "urlprobe_sweep_interval_seconds": set(),
    "urlprobe_build_info": {"version", "compiler"},
    "urlprobe_config_last_reload_successful": set(),
    "urlprobe_config_last_reload_success_timestamp_seconds": set(),
    "process_cpu_seconds_total": set(),
    "process_resident_memory_bytes": set(),
    "process_virtual_memory_bytes": set(),
    "process_start_time_seconds": set(),
    "process_open_fds": set(),
    "process_max_fds": set(),
    # /probe, blackbox_exporter's names
    "probe_success": set(),
    "probe_duration_seconds": set(),
    "probe_http_status_code": set(),
    "probe_ssl_earliest_cert_expiry": set(),
    "probe_dns_lookup_time_seconds": set(),
    "probe_http_duration_seconds": {"phase"},
    "probe_http_ssl": set(),
    # Prometheus's own per target
    "up": set(),
}
# Only serve prints these: when engine/ has one of them, serve's metrics are in and every name
# above that starts with urlprobe_ must be in engine/ too.
SERVE_ONLY = {"urlprobe_sweeps_total", "urlprobe_sweep_interval_seconds", "urlprobe_url_reachable"}
OUTCOMES = {"ok", "unexpected_status", "dns_error", "connect_refused", "connect_timeout",
            "proxy_unreachable", "proxy_auth_required", "proxy_denied", "proxy_error",
            "tls_intercepted", "tls_untrusted", "tls_error", "http_error", "timeout", "local_error",
            "not_configured", "skipped"}
ROUTES = {"default", "wpad", "direct", "named", "cli", "proxy", "defender"}
ALL_LABELS = set().union(*METRICS.values()) | TARGET

PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk",
    "bottomk", "quantile", "count_values", "group", "time", "vector", "scalar", "abs", "ceil",
    "floor", "round", "clamp_min", "clamp_max", "clamp", "rate", "irate", "increase", "delta",
    "idelta", "changes", "resets", "deriv", "predict_linear", "sort", "sort_desc",
    "label_replace", "label_join", "absent", "absent_over_time", "present_over_time",
    "max_over_time", "min_over_time", "avg_over_time", "sum_over_time", "count_over_time",
    "last_over_time", "quantile_over_time", "stddev_over_time", "timestamp", "histogram_quantile",
    "inf", "nan", "e", "s", "m", "h", "d", "w", "y", "ms", "humanizeDuration", "atan2",
}


def strip_strings(expr):
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)


def check_expr(expr, where):
    """Problems with the metric names and labels one PromQL expression uses."""
    errors = []
    bare = strip_strings(expr)
    # Matchers: name{label op "value", ...}; a selector without a name is not used here.
    for m in re.finditer(r'([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}', expr):
        name, body = m.group(1), m.group(2)
        if name in PROMQL_WORDS:
            continue
        known = METRICS.get(name)
        for lm in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:\\.|[^"\\])*)"', body):
            label, op, value = lm.groups()
            if known is not None and label not in known | TARGET:
                errors.append(f"{where}: {name} has no label {label!r} (has {sorted(known | TARGET)})")
            if label == "outcome" and op in ("=", "!="):
                if value not in OUTCOMES:
                    errors.append(f"{where}: outcome {value!r} is not an outcome name")
            if label == "outcome" and op in ("=~", "!~"):
                for alt in value.split("|"):
                    if alt and re.fullmatch(r"[a-z_]+", alt) and alt not in OUTCOMES:
                        errors.append(f"{where}: outcome {alt!r} is not an outcome name")
            if label == "route" and op == "=" and value not in ROUTES:
                errors.append(f"{where}: route {value!r} is not a route name")
    # Grouping and matching labels.
    for m in re.finditer(r'\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)', bare):
        for label in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(2)):
            if label not in ALL_LABELS:
                errors.append(f"{where}: {m.group(1)} ({label}): no metric has that label")
    # Every identifier outside matchers and label lists that is not a keyword, a function or a
    # duration is a metric.
    for name in metric_like(bare):
        if name in PROMQL_WORDS:
            continue
        if name not in METRICS:
            errors.append(f"{where}: {name} is not a metric urlprobe serve exposes")
    return errors


def metric_like(bare):
    bare = re.sub(r"\{[^}]*\}", " ", bare)
    bare = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    return set(re.findall(r"(?<![A-Za-z0-9_.$])([A-Za-z_:][A-Za-z0-9_:]*)(?![A-Za-z0-9_])", bare))


def metric_names(expr):
    return {n for n in metric_like(strip_strings(expr)) if n in METRICS}


def engine_names(engine_dir):
    names = set()
    for path in glob.glob(os.path.join(engine_dir, "**", "*.[ch]pp"), recursive=True):
        with open(path, encoding="utf-8", errors="replace") as f:
            names |= set(re.findall(r'"[^"\n]*?\b((?:urlprobe|process|probe)_[a-z_]+)', f.read()))
    return names


def check_engine(used, engine_dir, where):
    """Names used that engine/ does not print, once engine/ prints serve's metrics."""
    have = engine_names(engine_dir)
    if not have & SERVE_ONLY:
        missing = sorted(n for n in used if n.startswith("urlprobe_") and n not in have)
        return [], (f"{where}: note: engine/ has no serve metrics yet; not checked against it: "
                    + ", ".join(missing)) if missing else None
    # urlprobe_* only: process_* and probe_* may be composed at run time.
    errors = [f"{where}: {n} is in the contract but engine/ never prints it"
              for n in sorted(used) if n.startswith("urlprobe_") and n not in have]
    return errors, None
