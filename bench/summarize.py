#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark guest's BENCH,... lines into raw CSV files, a Markdown
table and gnuplot data, and check that every arm ran (exit 1 if not).

    summarize.py GUEST_LOG OUT_DIR [READCOST_LOG...] [--icount ICOUNT_LOG...]

Each READCOST_LOG is the log of a further boot that only timed the reader-cost
rows: the table then also gives each row's ratio in every boot (the main one
first) and their median, and readcost_boots.csv has them raw. Each ICOUNT_LOG
is such a boot under QEMU's -icount shift=0,sleep=off, where the guest clock
advances one nanosecond per executed instruction: its "ms" are millions of
instructions; the reader-cost table gets their ratio per boot, and
readcost_icount.csv has them raw.
"""
import csv
import statistics
import sys
from pathlib import Path

ARMS = ["none", "proc_maps", "ours_maps", "ours_mmap", "proc_rollup", "ours_rollup",
        "proc_numa", "ours_numa"]
ARM_TEXT = {
    "none": "no reader (floor)",
    "proc_maps": "/proc/PID/maps (7.3: per-VMA locks in C)",
    "ours_maps": "our maps (per-VMA locks)",
    "ours_mmap": "our maps, lock_mode=1 (mmap_read_lock per chunk)",
    "proc_rollup": "/proc/PID/smaps_rollup (7.3: mmap_read_lock)",
    "ours_rollup": "our smaps_rollup (per-VMA locks)",
    "proc_numa": "/proc/PID/numa_maps (7.3: per-VMA locks in C)",
    "ours_numa": "our numa_maps (per-VMA locks)",
}


RARMS = ["busy_none", "idle_proc_cmdline", "idle_ours_cmdline", "proc_cmdline", "ours_cmdline",
         "proc_maps", "ours_maps", "proc_rollup", "ours_rollup"]
RARM_TEXT = {
    "busy_none": "no reader (busy target)",
    "idle_proc_cmdline": "/proc/PID/cmdline, idle target",
    "idle_ours_cmdline": "our cmdline, idle target",
    "proc_cmdline": "/proc/PID/cmdline (7.3: access_remote_vm, mmap_read_lock)",
    "ours_cmdline": "our cmdline (per-VMA lock)",
    "proc_maps": "/proc/PID/maps (7.3: per-VMA locks in C)",
    "ours_maps": "our maps",
    "proc_rollup": "/proc/PID/smaps_rollup (7.3: mmap_read_lock)",
    "ours_rollup": "our smaps_rollup",
}


def median(values):
    return statistics.median(values) if values else float("nan")


def ratio(a, b):
    return a / b if b else float("nan")


def readcost_row(f):
    """A BENCH,readcost,... line split on commas, as a dict."""
    return dict(file=f[2], vmas=int(f[3]), touched_mb=int(f[4]), reps=int(f[5]),
                bytes=int(f[6]), proc_ms=float(f[7]), ours_ms=float(f[8]),
                same_size=len(f) == 9)


def readcost_of(log):
    """The BENCH,readcost,... rows of a guest log."""
    fields = (line.split(",") for line in log.read_text(errors="replace").splitlines()
              if line.startswith("BENCH,readcost,"))
    return [readcost_row(f) for f in fields if len(f) >= 9]


def boots_table(boots):
    """Markdown lines and CSV rows: each reader-cost row's ratio per boot, and the median."""
    rows, md = [], ["", f"Reader cost over {len(boots)} boots (ours / /proc in each boot, "
                    "both timed side by side in it; the median over boots, then the range):", "",
                    "| file | VMAs | touched MiB | per boot | median | range |",
                    "| --- | --- | --- | --- | --- | --- |"]
    for r in boots[0]:
        key = (r["file"], r["vmas"], r["touched_mb"])
        same = [b for boot in boots for b in boot if (b["file"], b["vmas"], b["touched_mb"]) == key]
        ratios = [ratio(b["ours_ms"], b["proc_ms"]) for b in same]
        for k, b in enumerate(same):
            rows.append(dict(boot=k, **b))
        mismatch = "" if all(b["same_size"] for b in same) else " (SIZE MISMATCH)"
        md.append(f"| {r['file']} | {r['vmas']} | {r['touched_mb']} | "
                  + " ".join(f"{x:.2f}" for x in ratios)
                  + f" | {median(ratios):.2f}x{mismatch} | {min(ratios):.2f}-{max(ratios):.2f} |")
    return md, rows


ARGS_STATS = ("args_reads_vma_locked", "args_fallbacks_no_vma_lock", "args_fallbacks_vma_kind",
              "args_fallbacks_not_present")


def readlat_table(readlats, hogvictims, args_stats):
    """Markdown lines of the reader's side: each arm's read latency and the target's own."""
    if not readlats:
        return []
    per = {}
    for arm in RARMS:
        r = [x for x in readlats if x["arm"] == arm]
        v = [x for x in hogvictims if x["arm"] == arm]
        per[arm] = dict(runs=len(r), reads=median([x["reads"] for x in r]),
                        p50=median([x["p50"] for x in r]), p99=median([x["p99"] for x in r]),
                        max=median([x["max"] for x in r]), errors=sum(x["errors"] for x in r),
                        vmean=median([x["mean"] for x in v]), vp99=median([x["p99"] for x in v]))
    md = ["", "The reader's side (bench/hog.c: one thread maps 64 MiB with MAP_POPULATE and "
          "unmaps it in a loop, another maps and unmaps 4 KiB pages; idle: only the latter; "
          "one reader times every whole read; medians over runs):", "",
          "| arm | runs | reads/run | read p50 (ms) | read p99 (ms) | read max (ms) "
          "| errors | target's 4 KiB mmap+munmap mean (ms) | its p99 (ms) |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for arm in RARMS:
        p = per[arm]
        md.append(f"| {RARM_TEXT[arm]} | {p['runs']} | {p['reads']:.0f} | {p['p50']:.4f} "
                  f"| {p['p99']:.4f} | {p['max']:.3f} | {p['errors']} | {p['vmean']:.4f} "
                  f"| {p['vp99']:.4f} |" if arm != "busy_none" else
                  f"| {RARM_TEXT[arm]} | {len([x for x in hogvictims if x['arm'] == arm])} "
                  f"| - | - | - | - | - | {p['vmean']:.4f} | {p['vp99']:.4f} |")
    pc, oc, ic = per["proc_cmdline"], per["ours_cmdline"], per["idle_ours_cmdline"]
    pr, orl, no = per["proc_rollup"], per["ours_rollup"], per["busy_none"]
    md += ["", f"- read p99, /proc cmdline / our cmdline: {ratio(pc['p99'], oc['p99']):.1f}x; "
           f"/proc smaps_rollup / our smaps_rollup: {ratio(pr['p99'], orl['p99']):.1f}x; "
           f"/proc smaps_rollup / our cmdline: {ratio(pr['p99'], oc['p99']):.1f}x",
           f"- our cmdline, busy target / idle target: p50 {ratio(oc['p50'], ic['p50']):.2f}x, "
           f"p99 {ratio(oc['p99'], ic['p99']):.2f}x",
           "- the target's 4 KiB mmap+munmap mean against no reader: with /proc cmdline "
           f"{ratio(pc['vmean'], no['vmean']):.2f}x, with our cmdline "
           f"{ratio(oc['vmean'], no['vmean']):.2f}x, with /proc smaps_rollup "
           f"{ratio(pr['vmean'], no['vmean']):.2f}x, with our smaps_rollup "
           f"{ratio(orl['vmean'], no['vmean']):.2f}x",
           "- module counters during our cmdline arms (idle and busy targets): " +
           ", ".join(f"{k} {args_stats.get(k, 0)}" for k in ARGS_STATS)]
    return md


def main():
    log, out = Path(sys.argv[1]), Path(sys.argv[2])
    rest = sys.argv[3:]
    split = rest.index("--icount") if "--icount" in rest else len(rest)
    extra_logs = [Path(p) for p in rest[:split]]
    icount_logs = [Path(p) for p in rest[split + 1:]]
    out.mkdir(parents=True, exist_ok=True)
    victims, scanners, readcost, stats, settings = [], [], [], {}, ""
    readlats, hogvictims, args_stats = [], [], {}
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("BENCH,"):
            continue
        f = line.split(",")
        if f[1] == "victim" and len(f) == 10:
            victims.append(dict(arm=f[2], run=int(f[3]), ops=int(f[4]), mean=float(f[5]),
                                p50=float(f[6]), p99=float(f[7]), p999=float(f[8]),
                                max=float(f[9])))
        elif f[1] == "scanner" and len(f) == 8:
            scanners.append(dict(arm=f[2], run=int(f[3]), scans=int(f[4]),
                                 scans_per_s=float(f[5]), bytes_per_scan=float(f[6]),
                                 errors=int(f[7])))
        elif f[1] == "readcost" and len(f) >= 9:
            readcost.append(readcost_row(f))
        elif f[1] == "armstats" and len(f) == 6:
            arm_stats = stats.setdefault(f[2], {})
            for key, value in zip(("vma_locked_rcu", "mmap_lock_fallbacks"),
                                  f[4:]):
                arm_stats[key] = arm_stats.get(key, 0) + int(value)
        elif f[1] == "readlat" and len(f) == 11:
            readlats.append(dict(arm=f[2], run=int(f[3]), reads=int(f[4]), mean=float(f[5]),
                                 p50=float(f[6]), p99=float(f[7]), max=float(f[8]),
                                 bytes=int(f[9]), errors=int(f[10])))
        elif f[1] == "hogvictim" and len(f) == 10:
            hogvictims.append(dict(arm=f[2], run=int(f[3]), ops=int(f[4]), mean=float(f[5]),
                                   p50=float(f[6]), p99=float(f[7]), p999=float(f[8]),
                                   max=float(f[9])))
        elif f[1] == "argsstats" and len(f) == 8:
            for key, value in zip(ARGS_STATS, f[4:]):
                args_stats[key] = args_stats.get(key, 0) + int(value)
        elif f[1] == "settings":
            settings = ", ".join(f[2:])

    for name, rows in (("victim_runs.csv", victims), ("scanner_runs.csv", scanners),
                       ("readcost.csv", readcost), ("readlat_runs.csv", readlats),
                       ("hogvictim_runs.csv", hogvictims)):
        if rows:
            with open(out / name, "w", newline="") as fh:
                w = csv.DictWriter(fh, fieldnames=list(rows[0]))
                w.writeheader()
                w.writerows(rows)

    # The arms the guest ran (the numa_maps ones only on a kernel with CONFIG_NUMA).
    ran = settings.split("arms=")[1].split(";") if "arms=" in settings else ARMS
    arms = [a for a in ARMS if a in ran]
    per = {}
    for arm in arms:
        v = [r for r in victims if r["arm"] == arm]
        s = [r for r in scanners if r["arm"] == arm]
        per[arm] = dict(
            runs=len(v),
            mean=median([r["mean"] for r in v]),
            p99=median([r["p99"] for r in v]),
            max=median([r["max"] for r in v]),
            over=sum(r["max"] > 0.5 for r in v),
            ops=median([r["ops"] for r in v]),
            scans=median([r["scans_per_s"] for r in s]),
            mbps=median([r["scans_per_s"] * r["bytes_per_scan"] / 1e6 for r in s]),
            bytes=median([r["bytes_per_scan"] for r in s]),
            errors=sum(r["errors"] for r in s),
        )

    md = [f"Settings: {settings}", "",
          "| arm | runs | median of run means (ms) | median of run p99 (ms) "
          "| median of run max (ms) | runs with max > 0.5 ms | victim ops/run "
          "| scans/s per scanner | bytes/scan | MB/s per scanner | scanner errors |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for arm in arms:
        p = per[arm]
        reader = arm != "none"
        md.append(f"| {ARM_TEXT[arm]} | {p['runs']} | {p['mean']:.4f} | {p['p99']:.4f} "
                  f"| {p['max']:.3f} | {p['over']}/{p['runs']} | {p['ops']:.0f} "
                  f"| {p['scans']:.1f} | {p['bytes']:.0f} | {p['mbps']:.2f} | {p['errors']} |"
                  if reader else
                  f"| {ARM_TEXT[arm]} | {p['runs']} | {p['mean']:.4f} | {p['p99']:.4f} "
                  f"| {p['max']:.3f} | {p['over']}/{p['runs']} | {p['ops']:.0f} | - | - | - | - |")
    o, pm, mm, pr, orl, no = (per[a] for a in ("ours_maps", "proc_maps", "ours_mmap",
                                               "proc_rollup", "ours_rollup", "none"))
    md += ["", "Ratios (same boot):", "",
           f"- our maps / /proc maps: median of run max {ratio(o['max'], pm['max']):.2f}x, "
           f"median of run means {ratio(o['mean'], pm['mean']):.2f}x, "
           f"scanner throughput {ratio(o['mbps'], pm['mbps']):.2f}x in bytes/s "
           f"({ratio(o['scans'], pm['scans']):.2f}x in scans/s; a slower scanner sees a "
           "victim with more VMAs per scan)",
           f"- mmap_lock baseline / our maps: median of run max {ratio(mm['max'], o['max']):.2f}x, "
           f"median of run p99 {ratio(mm['p99'], o['p99']):.2f}x, "
           f"median of run means {ratio(mm['mean'], o['mean']):.2f}x",
           f"- /proc smaps_rollup / our smaps_rollup: median of run means "
           f"{ratio(pr['mean'], orl['mean']):.2f}x, median of run p99 {ratio(pr['p99'], orl['p99']):.2f}x, "
           f"median of run max {ratio(pr['max'], orl['max']):.2f}x; "
           f"scanner throughput ours / /proc {ratio(orl['mbps'], pr['mbps']):.2f}x in bytes/s",
           f"- against no reader, median of run means: /proc smaps_rollup "
           f"{ratio(pr['mean'], no['mean']):.2f}x, our smaps_rollup {ratio(orl['mean'], no['mean']):.2f}x"]
    if "ours_numa" in per and "proc_numa" in per:
        on, pn = per["ours_numa"], per["proc_numa"]
        md += [f"- our numa_maps / /proc numa_maps: median of run means "
               f"{ratio(on['mean'], pn['mean']):.2f}x, median of run p99 {ratio(on['p99'], pn['p99']):.2f}x, "
               f"median of run max {ratio(on['max'], pn['max']):.2f}x; scanner throughput "
               f"{ratio(on['mbps'], pn['mbps']):.2f}x in bytes/s"]
    md += readlat_table(readlats, hogvictims, args_stats)
    icounts = [readcost_of(p) for p in icount_logs]
    if readcost:
        instr_head = (" | /proc (M instructions) | ours (M instructions) | ours / proc, "
                      "instructions (each -icount boot)") if icounts else ""
        md += ["", "Reader cost (target stopped, whole file, median of the reps"
               + ("; instructions: QEMU -icount boots, the guest's clock counting executed "
                  "instructions, both vCPUs'" if icounts else "") + "):", "",
               "| file | VMAs | touched MiB (4 KiB pages; -1: VMAs separated by holes) | bytes "
               "| /proc (ms) | ours (ms) | ours / proc" + instr_head + " |",
               "| --- " * (7 + (3 if icounts else 0)) + "|"]
        for r in readcost:
            key = (r["file"], r["vmas"], r["touched_mb"])
            instr = ""
            if icounts:
                same = [b for boot in icounts for b in boot
                        if (b["file"], b["vmas"], b["touched_mb"]) == key]
                instr = (f" | {same[0]['proc_ms']:.2f} | {same[0]['ours_ms']:.2f} | "
                         + " ".join(f"{ratio(b['ours_ms'], b['proc_ms']):.3f}x" for b in same)
                         if same else " | - | - | -")
            md.append(f"| {r['file']} | {r['vmas']} | {r['touched_mb']} | {r['bytes']} "
                      f"| {r['proc_ms']:.2f} "
                      f"| {r['ours_ms']:.2f} | {ratio(r['ours_ms'], r['proc_ms']):.2f}x"
                      f"{'' if r['same_size'] else ' (SIZE MISMATCH)'}{instr} |")
    if icounts:
        with open(out / "readcost_icount.csv", "w", newline="") as fh:
            rows = [dict(boot=k, **b) for k, boot in enumerate(icounts) for b in boot]
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if readcost and extra_logs:
        boots_md, boots_rows = boots_table([readcost] + [readcost_of(p) for p in extra_logs])
        md += boots_md
        with open(out / "readcost_boots.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(boots_rows[0]))
            w.writeheader()
            w.writerows(boots_rows)
    for arm, arm_stats in stats.items():
        locked = arm_stats.get("vma_locked_rcu", 0) + arm_stats.get("mmap_lock_fallbacks", 0)
        md += ["", f"Module counters during the {ARM_TEXT[arm]} arms (all runs): " +
               ", ".join(f"{k} {v}" for k, v in arm_stats.items()) +
               f" (fallback share {100 * ratio(arm_stats.get('mmap_lock_fallbacks', 0), locked):.2f} %)"]
    (out / "table.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))

    # gnuplot data: arm index, per-run max latency (ms).
    with open(out / "max_latency.dat", "w") as fh:
        for arm in arms:
            i = ARMS.index(arm)
            for r in victims:
                if r["arm"] == arm:
                    fh.write(f"{i} {r['max']}\n")

    missing = [a for a in arms if per[a]["runs"] == 0 or per[a]["ops"] == 0 or
               (a != "none" and not per[a]["scans"] > 0)]
    missing += [a for a in RARMS
                if (a != "busy_none" and not any(r["arm"] == a and r["reads"] > 0 for r in readlats))
                or not any(r["arm"] == a and r["ops"] > 0 for r in hogvictims)]
    if missing:
        print(f"arms that did not run or produced no numbers: {', '.join(missing)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
