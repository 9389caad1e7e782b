#!/usr/bin/python3
"""ctest deploy.serve_manifest: each Deployment under deploy/kubernetes that runs
`urlprobe serve` runs, as written, with the built binary.

The Kubernetes schemas check the shape of a manifest, not its command line: a misspelt flag
(`--evry 15m`) passes them, and the pod crash-loops. Here, in a network namespace of its own, the
container's command and args are run with the files its volumes mount (the ConfigMaps' data,
written to a temporary folder and the paths rewritten to it), and the pod's own probes are made:
the livenessProbe's path answers 200, the readinessProbe's answers 200 once the first sweep has
ended, and SIGTERM (what the kubelet sends) ends the process with status 0.

Usage: serve_manifest.py URLPROBE DEPLOY_DIR      exit 0 pass, 1 fail, 77 no namespace here
"""
import glob, os, re, shutil, signal, subprocess, sys, tempfile, time, urllib.error, urllib.request
import yaml

DEADLINE_S = 120  # hang guards; nothing asserts on time


def in_own_netns():
    if os.environ.get("URLPROBE_SERVE_MANIFEST_NETNS") == "1":
        return
    if not shutil.which("unshare") or os.geteuid() != 0:
        print("serve_manifest: skipped: needs root and unshare for a network namespace")
        sys.exit(77)
    env = dict(os.environ, URLPROBE_SERVE_MANIFEST_NETNS="1")
    sys.exit(subprocess.run(["unshare", "--net", "--", sys.executable, *sys.argv], env=env).returncode)


def status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def poll(what, fn, proc):
    end = time.monotonic() + DEADLINE_S
    last = None
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"{what}: it exited with status {proc.returncode}")
        try:
            if fn():
                return
        except OSError as e:
            last = e
        time.sleep(0.2)
    raise AssertionError(f"{what} within {DEADLINE_S}s ({last})")


def docs(deploy):
    for path in sorted(glob.glob(os.path.join(deploy, "kubernetes", "*.y*ml"))):
        for d in yaml.safe_load_all(open(path)):
            if isinstance(d, dict):
                yield os.path.relpath(path, deploy), d


def run_container(urlprobe, where, pod, container, configmaps, tmp):
    # Each configMap volume becomes a folder with its data; the mount path in the arguments
    # becomes that folder.
    mounts = {}
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    for m in container.get("volumeMounts") or []:
        v = volumes.get(m["name"]) or {}
        folder = os.path.join(tmp, m["name"])
        os.makedirs(folder, exist_ok=True)
        if "configMap" in v:
            data = configmaps.get(v["configMap"]["name"])
            if data is None:
                raise AssertionError(f"volume {m['name']}: no ConfigMap {v['configMap']['name']} "
                                     "among the manifests")
            for key, text in data.items():
                with open(os.path.join(folder, key), "w") as f:
                    f.write(text)
        mounts[m["mountPath"]] = folder
    argv = list(container.get("command") or []) + list(container.get("args") or [])
    if not argv or os.path.basename(argv[0]) != "urlprobe":
        raise AssertionError(f"command {argv[:1]} is not urlprobe")
    # One pass, longest mount first: a rewritten path must not be rewritten again (the temporary
    # folder itself lies under /tmp, which the pod also mounts).
    pattern = re.compile("|".join(re.escape(m + "/") for m in sorted(mounts, key=len, reverse=True)))
    fixed = [pattern.sub(lambda m: mounts[m.group(0)[:-1]] + "/", a) if mounts else a for a in argv[1:]]
    port = next(p["containerPort"] for p in container.get("ports") or [])
    names = {p.get("name"): p["containerPort"] for p in container.get("ports") or []}

    def probe_url(kind):
        get = container[kind]["httpGet"]
        p = names.get(get["port"], get["port"])
        return f"http://127.0.0.1:{p}{get['path']}"

    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    log = open(os.path.join(tmp, "serve.log"), "w")
    proc = subprocess.Popen([urlprobe, *fixed], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)
    try:
        poll(f"{where}: livenessProbe {probe_url('livenessProbe')} answers 200",
             lambda: status(probe_url("livenessProbe")) == 200, proc)
        poll(f"{where}: readinessProbe {probe_url('readinessProbe')} answers 200 after the first sweep",
             lambda: status(probe_url("readinessProbe")) == 200, proc)
        if status(f"http://127.0.0.1:{port}/metrics") != 200:
            raise AssertionError(f"{where}: /metrics on the containerPort {port} is not 200")
    except AssertionError:
        proc.kill()
        proc.wait()
        print(open(os.path.join(tmp, "serve.log")).read()[-4000:], file=sys.stderr)
        raise
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"{where}: still running 30 s after SIGTERM")
    if rc != 0:
        raise AssertionError(f"{where}: SIGTERM ended it with status {rc}, want 0")
    print(f"serve_manifest: {where}: {' '.join(argv)}: live, ready, stops cleanly on SIGTERM")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    in_own_netns()
    urlprobe, deploy = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    all_docs = list(docs(deploy))
    configmaps = {d["metadata"]["name"]: d.get("data") or {} for _, d in all_docs if d.get("kind") == "ConfigMap"}
    ran, errors = 0, []
    for name, d in all_docs:
        if d.get("kind") != "Deployment":
            continue
        pod = d["spec"]["template"]["spec"]
        for c in pod.get("containers") or []:
            if "serve" not in (c.get("args") or []) + (c.get("command") or []):
                continue
            where = f"{name} {d['metadata']['name']}/{c['name']}"
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    run_container(urlprobe, where, pod, c, configmaps, tmp)
                    ran += 1
                except AssertionError as e:
                    errors.append(str(e))
    if ran == 0 and not errors:
        errors.append("no Deployment under deploy/kubernetes runs urlprobe serve")
    for e in errors:
        print(f"serve_manifest: FAIL: {e}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
