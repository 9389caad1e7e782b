#!/usr/bin/python3
"""Guards the benchmarks against regressions: `make bench-check` / `make bench-baseline`.

Two measures, each a ratio to the in-binary floor (BM_InMemoryTlsHandshake, the crypto work of
one TLS 1.3 handshake, client and server), so the speed of the machine cancels out:

--metric instructions (the default, and what CI runs): the guarded set runs once under callgrind;
  each benchmark's instructions per iteration (every thread: client, in-process servers, proxies)
  are counted in Google Benchmark's extra run after its timed one (urlprobe_bench.cpp,
  CallgrindMarks), set-up left out (bench/untimed.hpp). Counted instructions do not move with
  the machine's load: a CI run on a shared VM once saw the CPU-time ratio of the direct TLS probe
  32 % over its baseline with no code change, which no choice of threshold on time can tell
  from a real regression without also letting real ones through.

--metric time (`make bench-check-time`): CPU and wall time, which is what users feel but what a
  noisy machine distorts:
  * the whole guarded set runs RUNS times (3) as separate processes, so the floor and the others
    interleave and share the machine's state; each benchmark keeps its best (lowest) time;
  * the compared time is CPU time of the benchmark thread (the event loop, for the probe
    benchmarks: threads=1), which other processes on the machine cannot inflate much
    (measured on a loaded VM, load average 4-8: within +-11 % run to run);
  * wall time is compared too for the probe benchmarks (their wall time is the throughput),
    but against a looser threshold (--real-threshold, 100 %): with client and server threads
    sharing two vCPUs with whatever else runs, wall time moved by up to +49 % between runs on
    a loaded VM (load average 9). It catches the gross latency bugs (a stray timer, a
    serialised wait) that CPU time does not see;
  * a benchmark over the threshold is run RUNS more times together with the floor, and fails
    only if the best of all runs is still over it.
Exit status: 0 no regression, 1 regression, 2 the benchmarks could not be run or compared.
Only the Python standard library is used (run by /usr/bin/python3).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

FLOOR = "BM_InMemoryTlsHandshake/real_time"

# The guarded set: fast enough to run three times in well under a minute, and covering the
# probe path (direct, plain, tunnel), the resolver, the scheduler, TLS facts, and the per-result
# report work. Name -> metrics compared ("cpu": thread CPU time, "real": wall time).
GUARDED = {
    FLOOR: ("cpu",),
    "BM_DirectTlsProbe/concurrency:64/probes:256/real_time": ("cpu", "real"),
    "BM_PlainHttpProbe/concurrency:64/probes:1024/real_time": ("cpu", "real"),
    "BM_ConnectTunnelTlsProbe/concurrency:64/probes:256/real_time": ("cpu", "real"),
    "BM_ReadTlsFacts": ("cpu",),
    "BM_ResolverMiss/real_time": ("cpu",),
    "BM_ResolverHit/real_time": ("cpu",),
    "BM_SchedulerNoopProbe/probes:100000/real_time": ("cpu",),
    "BM_ResultAggregationSummary": ("cpu",),
    "BM_ResultDiff/results:10000": ("cpu",),
    "BM_ParseTargetUrl": ("cpu",),
    "BM_SheetParseBuiltin": ("cpu",),
    "BM_PacFindProxy": ("cpu",),
}

UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

# CallgrindMarks in urlprobe_bench.cpp reports num_allocs = 2**40, so the report's
# allocs_per_iter (num_allocs / iterations of the counted run) gives the iteration count back.
ITERATIONS_MARK = 1 << 40
DUMP_TRIGGER = "Trigger: Client Request: urlprobe_bench"


def benchmark_filter(names):
    return "^(" + "|".join(re.escape(n.removesuffix("/real_time")) for n in names) + ")(/real_time)?$"


def iteration_runs(data):
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") != "iteration":
            continue
        if b.get("error_occurred"):
            raise RuntimeError(f"{b['name']}: {b.get('error_message', 'error')}")
        yield b


def run_callgrind(binary, names, min_time):
    """One process under callgrind; returns {name: {"instructions": per iteration}}."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/callgrind.%p",
               "--dump-instr=no", "--dump-line=no", binary,
               f"--benchmark_filter={benchmark_filter(names)}", f"--benchmark_min_time={min_time}",
               f"--benchmark_out={out}", "--benchmark_out_format=json"]
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
        with open(out, encoding="utf-8") as f:
            data = json.load(f)
        dumps = {}  # callgrind's part number -> instructions; parts are in benchmark order
        for entry in os.listdir(tmp):
            if not entry.startswith("callgrind."):
                continue
            with open(os.path.join(tmp, entry), encoding="utf-8", errors="replace") as f:
                text = f.read()
            if DUMP_TRIGGER not in text:
                continue  # the dump at exit
            part = re.search(r"^part: (\d+)$", text, re.M)
            total = re.search(r"^summary: (\d+)$", text, re.M)
            if not part or not total:
                raise RuntimeError(f"unreadable callgrind dump {entry}")
            dumps[int(part.group(1))] = int(total.group(1))
    runs = list(iteration_runs(data))
    if len(dumps) != len(runs):
        raise RuntimeError(f"{len(runs)} benchmarks ran but callgrind dumped {len(dumps)} counts")
    results = {}
    for b, part in zip(runs, sorted(dumps)):
        per_iteration = b.get("allocs_per_iter")
        if not per_iteration:
            raise RuntimeError(f"{b['name']}: no counted run (was urlprobe_bench run under valgrind?)")
        iterations = round(ITERATIONS_MARK / per_iteration)
        results[b["name"]] = {"instructions": dumps[part] / iterations}
    return results, data.get("context", {})


def run_suite(binary, names, min_time):
    """One process running `names`; returns {name: {"cpu": ns, "real": ns}}."""
    pattern = benchmark_filter(names)
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [binary, f"--benchmark_filter={pattern}", f"--benchmark_min_time={min_time}",
               f"--benchmark_out={out.name}", "--benchmark_out_format=json"]
        proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
        with open(out.name, encoding="utf-8") as f:
            data = json.load(f)
    results = {}
    for b in iteration_runs(data):
        scale = UNIT_NS[b.get("time_unit", "ns")]
        results[b["name"]] = {"cpu": b["cpu_time"] * scale, "real": b["real_time"] * scale}
    return results, data.get("context", {})


def best_of(runs):
    best = {}
    for run in runs:
        for name, values in run.items():
            cur = best.setdefault(name, dict(values))
            for metric, value in values.items():
                cur[metric] = min(cur[metric], value)
    return best


def metrics_of(name, mode):
    return ("instructions",) if mode == "instructions" else GUARDED[name]


def ratios(best, mode):
    if FLOOR not in best:
        raise RuntimeError(f"the floor {FLOOR} did not run")
    floor = best[FLOOR]["instructions" if mode == "instructions" else "cpu"]
    return {name: {m: best[name][m] / floor for m in metrics_of(name, mode)}
            for name in best if name in GUARDED}


def compare(current, baseline, mode, threshold, real_threshold):
    """Returns (rows, regressions): rows for printing, regressions as (name, metric)."""
    rows, regressions = [], []
    for name in GUARDED:
        if name == FLOOR:
            continue
        for metric in metrics_of(name, mode):
            base = baseline.get(name, {}).get(metric)
            cur = current.get(name, {}).get(metric)
            if base is None or cur is None:
                rows.append((name, metric, base, cur, None, "no baseline" if cur else "missing"))
                if cur is None:
                    regressions.append((name, metric))
                continue
            limit = real_threshold if metric == "real" else threshold
            change = cur / base - 1
            verdict = "REGRESSION" if change > limit else ("faster" if change < -limit else "ok")
            rows.append((name, metric, base, cur, change, verdict))
            if change > limit:
                regressions.append((name, metric))
    return rows, regressions


def print_rows(rows):
    print(f"{'benchmark':62} {'metric':12} {'baseline':>10} {'now':>10} {'change':>8}")
    for name, metric, base, cur, change, verdict in rows:
        b = f"{base:10.4f}" if base is not None else f"{'-':>10}"
        c = f"{cur:10.4f}" if cur is not None else f"{'-':>10}"
        ch = f"{change:+8.1%}" if change is not None else f"{'':>8}"
        print(f"{name:62} {metric:12} {b} {c} {ch}  {verdict}")


def write_baseline(path, mode, current, context, args):
    """Replaces this mode's ratios in the baseline file and keeps the other mode's."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        doc = {}
    doc["comment"] = (f"ratios to the floor ({FLOOR}): instructions per iteration under callgrind, "
                      "and best CPU / wall time; written by `make bench-baseline` "
                      "(bench/check.py --update)")
    doc["floor"] = FLOOR
    taken = doc.setdefault("taken", {})
    taken[mode] = {
        "machine": {k: context.get(k) for k in ("host_name", "num_cpus", "mhz_per_cpu")},
        "date": context.get("date"),
        "min_time": args.min_time,
        "runs": args.runs,
    }
    for key in ("date", "machine", "min_time", "runs"):  # the layout before instruction counts
        doc.pop(key, None)
    table = doc.setdefault("ratios", {})
    for name, values in table.items():
        for metric in [m for m in values if (m == "instructions") == (mode == "instructions")]:
            del values[metric]
    for name, values in current.items():
        table.setdefault(name, {}).update(values)
    doc["ratios"] = {name: values for name, values in table.items() if values}
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/urlprobe_bench")
    ap.add_argument("--baseline", default=os.path.join(here, "baseline.json"))
    ap.add_argument("--metric", choices=("instructions", "time"), default="instructions")
    ap.add_argument("--min-time", default=None,
                    help="--benchmark_min_time per benchmark (s); default 0.2 for time, and 0.5 "
                         "under callgrind, enough for 16 counted iterations of the small ones")
    ap.add_argument("--runs", type=int, default=None,
                    help="runs of the set, the lowest value counts (default: 3 for time, 1 for "
                         "instructions)")
    ap.add_argument("--threshold", type=float, default=0.15, help="allowed slow-down (0.15 = 15%%)")
    ap.add_argument("--real-threshold", type=float, default=1.0,
                    help="allowed wall-time slow-down of the probe benchmarks (1.0 = 2x)")
    ap.add_argument("--update", action="store_true", help="write the baseline instead of comparing")
    args = ap.parse_args()
    mode = args.metric
    counting = mode == "instructions"
    args.min_time = args.min_time or ("0.5" if counting else "0.2")
    args.runs = args.runs or (1 if counting else 3)
    run_once = run_callgrind if counting else run_suite

    started = time.monotonic()
    try:
        runs, context = [], {}
        for _ in range(args.runs):
            result, context = run_once(args.binary, list(GUARDED), args.min_time)
            runs.append(result)
        current = ratios(best_of(runs), mode)
        if args.update:
            write_baseline(args.baseline, mode, current, context, args)
            print(f"bench-check: wrote {mode} ratios to {args.baseline} ({len(current)} benchmarks, "
                  f"{time.monotonic() - started:.0f} s)")
            return 0
        with open(args.baseline, encoding="utf-8") as f:
            baseline = json.load(f)["ratios"]
        rows, regressions = compare(current, baseline, mode, args.threshold, args.real_threshold)
        if regressions:
            # Confirm: the suspects and the floor again, RUNS more times, lowest of everything.
            suspects = sorted({n for n, _ in regressions} | {FLOOR})
            print(f"bench-check: {len(regressions)} over the threshold; running "
                  f"{len(suspects) - 1} again to confirm", flush=True)
            for _ in range(args.runs):
                result, _ = run_once(args.binary, suspects, args.min_time)
                runs.append(result)
            current = ratios(best_of(runs), mode)
            rows, regressions = compare(current, baseline, mode, args.threshold, args.real_threshold)
    except (RuntimeError, OSError, KeyError, ValueError) as e:
        print(f"bench-check: error: {e}", file=sys.stderr)
        return 2
    print_rows(rows)
    elapsed = time.monotonic() - started
    what = "instructions" if counting else f"CPU / {args.real_threshold:.0%} wall"
    if regressions:
        print(f"bench-check: FAILED: {len(regressions)} regression(s) over {args.threshold:.0%} "
              f"{what}, relative to the floor ({elapsed:.0f} s)")
        return 1
    print(f"bench-check: ok, no regression over {args.threshold:.0%} {what} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
