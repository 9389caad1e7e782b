#!/usr/bin/python3
"""ctest deploy.manifests: checks deploy/kubernetes/*.yaml and deploy/systemd/*.

Every YAML document parses and has apiVersion, kind, metadata.name; an Indexed Job's
completions equals the N of its `--shard K/N` (and parallelism); a CronJob's schedule is a
5-field cron; every container has image, command or args, and resources.limits; shell scripts
parse (sh -n). A Deployment running `urlprobe serve` listens on all interfaces on a declared
port, is probed on /-/ready and /-/healthy, and runs non-root on a read-only root; a Service with
prometheus.io/scrape names one of its ports and selects such a Deployment's pods. With systemd-analyze, the units verify (skipped with a note where it cannot run).
Usage: check_manifests.py DEPLOY_DIR
"""
import glob, os, re, shutil, subprocess, sys, tempfile
import yaml

errors = []
def err(where, msg): errors.append(f"{where}: {msg}")

CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
CRON_RANGES = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
NAMES = {3: "jan feb mar apr may jun jul aug sep oct nov dec", 4: "sun mon tue wed thu fri sat"}

def check_cron(where, schedule):
    if not isinstance(schedule, str):
        return err(where, f"schedule is not a string: {schedule!r}")
    fields = schedule.split()
    if len(fields) != 5:
        return err(where, f"schedule '{schedule}' has {len(fields)} fields, want 5")
    for i, f in enumerate(fields):
        g = f.lower()
        for name in NAMES.get(i, "").split():
            g = g.replace(name, "1")
        if not CRON_FIELD.match(g):
            err(where, f"schedule field {i + 1} '{f}' is not cron syntax")
            continue
        lo, hi = CRON_RANGES[i]
        for n in re.findall(r"(?<![/\d])\d+", g):
            if not lo <= int(n) <= hi:
                err(where, f"schedule field {i + 1} '{f}': {n} outside {lo}-{hi}")

def shard_ns(container):
    text = " ".join(str(x) for x in (container.get("command") or []) + (container.get("args") or []))
    return [int(n) for n in re.findall(r"--shard[ =]+(?:\$\(\([^)]*\)\)|[^\s/]+)/(\d+)\b", text)], text

def check_pod(where, pod, job=None):
    containers = (pod.get("initContainers") or []) + (pod.get("containers") or [])
    if not pod.get("containers"):
        err(where, "pod has no containers")
    for c in containers:
        w = f"{where}: container {c.get('name')!r}"
        if not c.get("name"): err(w, "no name")
        if not c.get("image"): err(w, "no image")
        if not (c.get("command") or c.get("args")): err(w, "neither command nor args")
        limits = (c.get("resources") or {}).get("limits") or {}
        if not ("cpu" in limits and "memory" in limits):
            err(w, f"resources.limits needs cpu and memory, has {sorted(limits)}")
        ns, text = shard_ns(c)
        if job is not None and job.get("completionMode") == "Indexed":
            if not ns:
                err(w, "an Indexed Job's container has no --shard K/N")
            if "JOB_COMPLETION_INDEX" in text and not re.search(r"JOB_COMPLETION_INDEX *\+ *1", text):
                err(w, "--shard K is 1-based: use $((JOB_COMPLETION_INDEX + 1))")
        for n in ns:
            if job is None:
                err(w, "--shard outside a Job")
            elif job.get("completionMode") != "Indexed":
                err(w, "--shard in a Job that is not completionMode: Indexed")
            else:
                if job.get("completions") != n:
                    err(w, f"--shard .../{n} but completions is {job.get('completions')}")
                if job.get("parallelism", n) != n:
                    err(w, f"--shard .../{n} but parallelism is {job.get('parallelism')}")
        for m in re.finditer(r"finish\.sh\"?\s+(\d+)", text):
            if job is not None and job.get("completionMode") == "Indexed" and \
                    job.get("completions") != int(m.group(1)):
                err(w, f"finish.sh {m.group(1)} but completions is {job.get('completions')}")

def serve_listen(container):
    args = [str(a) for a in (container.get("command") or []) + (container.get("args") or [])]
    if "serve" not in args:
        return None
    for i, a in enumerate(args):
        if a.startswith("--listen="):
            return a.split("=", 1)[1]
        if a == "--listen" and i + 1 < len(args):
            return args[i + 1]
    return ""

def check_serve(where, pod):
    """Returns the serve containers' ports: what a scraping Service may name."""
    ports = {}
    for c in pod.get("containers") or []:
        listen = serve_listen(c)
        if listen is None:
            continue
        w = f"{where}: container {c.get('name')!r}"
        host, _, port = (listen or "").rpartition(":")
        # The default 127.0.0.1 would leave the kubelet and Prometheus outside the pod.
        if host not in ("0.0.0.0", "[::]"):
            err(w, f"serve must --listen on all interfaces (0.0.0.0:PORT), has {listen!r}")
        declared = {p.get("containerPort"): p.get("name") for p in c.get("ports") or []}
        if not port.isdigit() or int(port) not in declared:
            err(w, f"--listen port {port!r} is not a containerPort ({sorted(declared)})")
        else:
            ports[int(port)] = declared[int(port)]
        listen_port = int(port) if port.isdigit() else None
        for probe, path in (("readinessProbe", "/-/ready"), ("livenessProbe", "/-/healthy")):
            got = ((c.get(probe) or {}).get("httpGet") or {})
            if got.get("path") != path:
                err(w, f"{probe} must be httpGet {path}, has {got.get('path')!r}")
            elif got.get("port") not in (listen_port, declared.get(listen_port)):
                err(w, f"{probe} port {got.get('port')!r} is not the --listen port")
        sc = c.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True: err(w, "readOnlyRootFilesystem must be true")
        if sc.get("allowPrivilegeEscalation") is not False: err(w, "allowPrivilegeEscalation must be false")
        if (pod.get("securityContext") or {}).get("runAsNonRoot") is not True:
            err(where, "serve pods must set runAsNonRoot")
    return ports

def check_scrape_service(where, doc, serve_pods):
    ann = (doc.get("metadata") or {}).get("annotations") or {}
    if ann.get("prometheus.io/scrape") != "true":
        return
    spec = doc.get("spec") or {}
    sel = spec.get("selector") or {}
    pods = [p for p in serve_pods if sel and all(p["labels"].get(k) == v for k, v in sel.items())]
    if not pods:
        return err(where, f"prometheus.io/scrape, but selector {sel} selects no urlprobe serve pod")
    port = str(ann.get("prometheus.io/port", ""))
    svc_ports = spec.get("ports") or []
    if not any(str(p.get("port")) == port for p in svc_ports):
        err(where, f"prometheus.io/port {port!r} is none of the Service's ports")
    for p in svc_ports:
        if str(p.get("port")) == port:
            target = p.get("targetPort", p.get("port"))
            if not any(target in (n, name) for pod in pods for n, name in pod["ports"].items()):
                err(where, f"port {port} targets {target!r}, which is not serve's --listen port")
    if not str(ann.get("prometheus.io/path", "/metrics")).startswith("/"):
        err(where, "prometheus.io/path must start with /")

def check_job_spec(where, spec):
    if spec.get("completionMode") == "Indexed" and not isinstance(spec.get("completions"), int):
        err(where, "Indexed Job without completions")
    tmpl = (spec.get("template") or {}).get("spec") or {}
    if tmpl.get("restartPolicy") not in ("Never", "OnFailure"):
        err(where, f"Job pods need restartPolicy Never/OnFailure, not {tmpl.get('restartPolicy')}")
    check_pod(where, tmpl, job=spec)

def check_scripts(where, doc):
    for key, text in (doc.get("data") or {}).items():
        if key.endswith(".sh"):
            r = subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True)
            if r.returncode: err(f"{where}: {key}", f"sh -n: {r.stderr.strip()}")

def check_inline_shell(where, pod):
    for c in pod.get("containers") or []:
        cmd = c.get("command") or []
        if cmd[:2] == ["/bin/sh", "-c"] and c.get("args"):
            r = subprocess.run(["sh", "-n", "-c", c["args"][0]], capture_output=True, text=True)
            if r.returncode: err(f"{where}: container {c.get('name')!r}", f"sh -n: {r.stderr.strip()}")

def main():
    deploy = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "../../deploy")
    files = sorted(glob.glob(os.path.join(deploy, "kubernetes", "*.yaml")) +
                   glob.glob(os.path.join(deploy, "kubernetes", "*.yml")))
    if not files:
        err(deploy, "no Kubernetes manifests")
    kinds = {}
    serve_pods, services = [], []
    for path in files:
        name = os.path.relpath(path, deploy)
        try:
            docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
        except yaml.YAMLError as e:
            err(name, f"YAML: {e}")
            continue
        for i, doc in enumerate(docs):
            where = f"{name}[{i}]"
            if not isinstance(doc, dict):
                err(where, "not a mapping"); continue
            for key in ("apiVersion", "kind"):
                if not doc.get(key): err(where, f"no {key}")
            meta = doc.get("metadata") or {}
            if not meta.get("name"): err(where, "no metadata.name")
            kind = doc.get("kind")
            kinds[kind] = kinds.get(kind, 0) + 1
            where = f"{name} {kind}/{meta.get('name')}"
            spec = doc.get("spec") or {}
            if kind == "Job":
                check_job_spec(where, spec)
                check_inline_shell(where, (spec.get("template") or {}).get("spec") or {})
            elif kind == "CronJob":
                check_cron(where, spec.get("schedule"))
                jspec = (spec.get("jobTemplate") or {}).get("spec") or {}
                check_job_spec(where, jspec)
                check_inline_shell(where, (jspec.get("template") or {}).get("spec") or {})
            elif kind in ("Deployment", "StatefulSet", "DaemonSet"):
                tmpl = spec.get("template") or {}
                check_pod(where, tmpl.get("spec") or {})
                ports = check_serve(where, tmpl.get("spec") or {})
                if ports:
                    serve_pods.append({"labels": (tmpl.get("metadata") or {}).get("labels") or {},
                                       "ports": ports})
            elif kind == "Service":
                services.append((where, doc))
            elif kind == "ConfigMap":
                check_scripts(where, doc)
            elif kind == "PersistentVolumeClaim":
                if not spec.get("accessModes"): err(where, "no accessModes")
    for where, doc in services:
        check_scrape_service(where, doc, serve_pods)
    if not serve_pods: err(deploy, "no Deployment runs urlprobe serve")
    if not any(((d.get("metadata") or {}).get("annotations") or {}).get("prometheus.io/scrape") == "true"
               for _, d in services):
        err(deploy, "no Service with prometheus.io/scrape for urlprobe serve")
    for want in ("Job", "CronJob", "PersistentVolumeClaim", "ConfigMap"):
        if not kinds.get(want): err(deploy, f"no {want} among the manifests")
    indexed = False
    for path in files:
        for doc in yaml.safe_load_all(open(path)):
            if isinstance(doc, dict):
                s = doc.get("spec") or {}
                s = (s.get("jobTemplate") or {}).get("spec") or s
                indexed |= s.get("completionMode") == "Indexed"
    if not indexed: err(deploy, "no Indexed Job")
    print(f"check_manifests: {len(files)} files, kinds {dict(sorted(kinds.items()))}")

    units = sorted(glob.glob(os.path.join(deploy, "systemd", "*.service")) +
                   glob.glob(os.path.join(deploy, "systemd", "*.timer")))
    if len(units) < 2: err(deploy, "want systemd/urlprobe.service and urlprobe.timer")
    for u in units:
        text = open(u).read()
        if u.endswith(".timer"):
            for need in ("OnCalendar=", "Persistent=true"):
                if need not in text: err(u, f"no {need}")
        else:
            for need in ("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=urlprobe",
                         "NoNewPrivileges=yes"):
                if need not in text: err(u, f"no {need}")
            if not re.search(r"^CapabilityBoundingSet=\s*$", text, re.M):
                err(u, "CapabilityBoundingSet must be empty")
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("check_manifests: note: systemd-analyze not installed; units not verified")
    elif units:
        with tempfile.TemporaryDirectory() as tmp:
            r = subprocess.run([analyze, "verify", *units], capture_output=True, text=True,
                               timeout=60, env={**os.environ, "SYSTEMD_LOG_LEVEL": "warning"})
            lines = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
            # man:urlprobe(1) resolves only once the package is installed.
            real = [l for l in lines if not re.search(r"Command 'man urlprobe\(1\)' failed", l)]
            if any(re.search(r"Failed to (connect|initialize|create|set up)|System has not been booted|"
                             r"Operation not permitted|Permission denied", l) for l in real):
                print("check_manifests: note: systemd-analyze verify cannot run here; skipped:\n  "
                      + "\n  ".join(real))
            elif real:
                err("systemd-analyze verify", "\n  " + "\n  ".join(real))
            else:
                print("check_manifests: systemd-analyze verify: ok")

    kubectl = shutil.which("kubectl")
    if kubectl and subprocess.run([kubectl, "version", "--request-timeout=3s"],
                                  capture_output=True).returncode == 0:
        r = subprocess.run([kubectl, "apply", "--dry-run=client", "-o", "name", *sum((["-f", f] for f in files), [])],
                           capture_output=True, text=True, timeout=120)
        if r.returncode: err("kubectl apply --dry-run=client", r.stderr.strip())
        else: print("check_manifests: kubectl --dry-run=client: ok")
    else:
        print("check_manifests: note: no reachable Kubernetes API; kubectl --dry-run skipped")

    for e in errors: print(f"check_manifests: FAIL: {e}", file=sys.stderr)
    if errors: sys.exit(1)
    print("check_manifests: ok")

if __name__ == "__main__":
    main()
