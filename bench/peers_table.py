#!/usr/bin/python3
"""Prints bench/peers.sh's results as markdown: per-tool medians, paired ratios, goals, memory.

Standard library only. Pass 0 is the warm-up and is left out. A paired ratio is taken within
one pass (urlprobe's run against the peer's run of the same pass and route), then the median
over passes, so the VM's drift between passes cancels.
"""

import argparse
import csv
import datetime
import json
import os
import statistics


def load(path):
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--memory")
    ap.add_argument("--sweep")
    ap.add_argument("--floor")
    ap.add_argument("--probes", type=int)
    ap.add_argument("--concurrency", type=int)
    ap.add_argument("--machine", default="")
    ap.add_argument("--versions", default="")
    args = ap.parse_args()

    rows = [r for r in load(args.results) if int(r["pass"]) > 0]
    if not rows:
        print("(no passes measured)")
    passes = sorted({int(r["pass"]) for r in rows})
    by = {}
    for r in rows:
        by.setdefault((r["tool"], r["route"]), {})[int(r["pass"])] = r
    order = [("urlprobe", "direct"), ("urlprobe", "squid"), ("urlprobe_pinned", "direct"), ("curl", "direct"), ("curl", "squid"),
             ("blackbox", "direct"), ("blackbox", "squid"), ("h2load", "direct")]
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n### bench/peers.sh, {now}\n")
    print(f"Machine: {args.machine}. {args.versions}. {args.probes} probes, "
          f"{args.concurrency} in flight, {len(passes)} passes after a warm-up; "
          f"load average at the end: {os.getloadavg()[0]:.1f}.\n")
    print("| tool | route | probes/s (median) | range | CPU µs/probe (median) | peak RSS KB (max) |"
          " probes/s: urlprobe ÷ tool (paired median, range) | CPU/probe: urlprobe ÷ tool |"
          " nginx µs/probe | squid µs/probe |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = {}
    for key in order:
        if key not in by:
            continue
        runs = by[key]
        rate = [float(runs[p]["probes_s"]) for p in passes if p in runs]
        cpu = [float(runs[p]["cpu_us"]) for p in passes if p in runs]
        rss = max(int(runs[p]["rss_kb"]) for p in passes if p in runs)
        up = by.get(("urlprobe", key[1] if key[0] != "h2load" else "direct"), {})
        thr = [float(up[p]["probes_s"]) / float(runs[p]["probes_s"]) for p in passes
               if p in runs and p in up]
        cpr = [float(up[p]["cpu_us"]) / float(runs[p]["cpu_us"]) for p in passes
               if p in runs and p in up]
        ratios[key] = (statistics.median(thr) if thr else None,
                       statistics.median(cpr) if cpr else None, thr)
        t, c = ratios[key][0], ratios[key][1]
        rt = "" if key[0] == "urlprobe" else f"{t:.2f} ({min(thr):.2f}–{max(thr):.2f})"
        rc = "" if key[0] == "urlprobe" else f"{c:.2f}"
        def side(col):
            vals = [float(runs[p][col]) for p in passes if p in runs and runs[p].get(col)]
            return f"{statistics.median(vals):,.0f}" if vals else ""
        squid = side("squid_cpu_us") if key[1] == "squid" else ""
        print(f"| {key[0]} | {key[1]} | {statistics.median(rate):,.0f} | "
              f"{min(rate):,.0f}–{max(rate):,.0f} | {statistics.median(cpu):,.0f} | {rss:,} | {rt} | {rc} |"
              f" {side('nginx_cpu_us')} | {squid} |")

    floor_us = None
    if args.floor and os.path.exists(args.floor):
        with open(args.floor, encoding="utf-8") as f:
            data = json.load(f)
        vals = [b["client_cpu_us/hs"] for b in data["benchmarks"]
                if b.get("run_type") == "iteration" and "client_cpu_us/hs" in b]
        if vals:
            floor_us = min(vals)

    def med(key, i):
        r = ratios.get(key)
        return r[i] if r else None

    up_runs = by.get(("urlprobe", "direct"), {})
    up_cpu = statistics.median(float(up_runs[p]["cpu_us"]) for p in passes) if up_runs else None
    goals = [
        ("probes/s ≥ 1.5× blackbox_exporter, direct", med(("blackbox", "direct"), 0), 1.5, True),
        ("probes/s ≥ 1.3× blackbox_exporter, via squid", med(("blackbox", "squid"), 0), 1.3, True),
        ("probes/s ≥ 2× curl, direct", med(("curl", "direct"), 0), 2.0, True),
        ("probes/s ≥ 2× curl, via squid", med(("curl", "squid"), 0), 2.0, True),
        ("CPU/probe ≤ 0.6× curl's, direct", med(("curl", "direct"), 1), 0.6, False),
        ("CPU/probe ≤ 0.6× curl's, via squid", med(("curl", "squid"), 1), 0.6, False),
        ("connections/s ≥ 0.8× h2load's", med(("h2load", "direct"), 0), 0.8, True),
    ]
    pinned = by.get(("urlprobe_pinned", "direct"), {})

    def pinned_ratio(peer, col):
        runs = by.get(peer, {})
        vals = [float(pinned[p][col]) / float(runs[p][col]) for p in passes if p in pinned and p in runs]
        return statistics.median(vals) if vals else None
    if pinned:
        goals += [
            ("same, urlprobe with names pinned like curl's: probes/s ≥ 2× curl, direct",
             pinned_ratio(("curl", "direct"), "probes_s"), 2.0, True),
            ("same, pinned: probes/s ≥ 1.5× blackbox_exporter, direct",
             pinned_ratio(("blackbox", "direct"), "probes_s"), 1.5, True),
            ("same, pinned: connections/s ≥ 0.8× h2load's",
             pinned_ratio(("h2load", "direct"), "probes_s"), 0.8, True),
            ("same, pinned: CPU/probe ≤ 0.6× curl's, direct",
             pinned_ratio(("curl", "direct"), "cpu_us"), 0.6, False),
        ]
    for floor_tool, what in (("floor", "self-signed leaf, IP"),
                             ("floor_chain", "leaf + intermediate + host name, this PKI")):
        floor_runs = by.get((floor_tool, "direct"), {})
        if not (floor_runs and up_runs):
            continue
        # Paired like the peers: the floor is measured in every pass, under that pass's load.
        pairs = [float(up_runs[p]["cpu_us"]) / float(floor_runs[p]["cpu_us"]) for p in passes
                 if p in up_runs and p in floor_runs]
        fl = statistics.median(float(floor_runs[p]["cpu_us"]) for p in passes if p in floor_runs)
        goals.append((f"CPU/probe ≤ 1.4× the in-memory handshake floor ({what}; client side, "
                      f"median {fl:.0f} µs; paired per pass, range {min(pairs):.2f}–{max(pairs):.2f})",
                      statistics.median(pairs), 1.4, False))
    if not by.get(("floor", "direct")) and floor_us and up_cpu:
        goals.append((f"CPU/probe ≤ 1.4× the in-memory handshake floor (client side, "
                      f"{floor_us:.0f} µs)", up_cpu / floor_us, 1.4, False))
    if rows:
        print("\n| goal | measured | met |\n|---|---:|---|")
    for name, value, target, higher in goals if rows else []:
        if value is None:
            print(f"| {name} | n/a | |")
            continue
        met = value >= target if higher else value <= target
        print(f"| {name} | {value:.2f} | {'yes' if met else '**no**'} |")

    if args.memory and os.path.exists(args.memory):
        mem = load(args.memory)
        if mem:
            for binary in dict.fromkeys(m.get("binary", "urlprobe") for m in mem):
                by_c = {}
                for m in mem:
                    if m.get("binary", "urlprobe") == binary:
                        by_c.setdefault(int(m["concurrency"]), []).append(int(m["rss_kb"]))
                cs = sorted(by_c)
                print(f"\n| {binary}: in flight | peak RSS KB (runs) |\n|---:|---|")
                for c in cs:
                    print(f"| {c} | {', '.join(f'{v:,}' for v in by_c[c])} |")
                if len(cs) >= 2:
                    lo, hi = cs[0], cs[-1]
                    per = (min(by_c[hi]) - min(by_c[lo])) / (hi - lo)
                    print(f"\n{binary}: KB per in-flight probe: ({min(by_c[hi]):,} − "
                          f"{min(by_c[lo]):,}) / ({hi} − {lo}) = **{per:.1f} KB** (goal ≤ 64)")
    if args.sweep and os.path.exists(args.sweep):
        sw = load(args.sweep)
        if sw:
            print("\n| elapsed s | RSS KB | CPU s |\n|---:|---:|---:|")
            step = max(1, len(sw) // 12)
            for s in sw[::step] + ([sw[-1]] if (len(sw) - 1) % step else []):
                print(f"| {float(s['elapsed_s']):.0f} | {int(s['rss_kb']):,} | {float(s['cpu_s']):.1f} |")


if __name__ == "__main__":
    main()
