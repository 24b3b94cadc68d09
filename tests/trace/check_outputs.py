#!/usr/bin/env python3
"""Checks the output files of `fusesim run --out DIR` against each other and first principles.

Usage: check_outputs.py DIR [--window FROM TO]
- report.json: energy_pj equals the sum of count x energy per access (docs/energy.md);
- layers.csv: every additive column sums to the report.json total;
- bandwidth.csv: windows tile [0, cycles) and their bytes sum to the report.json totals;
- timeline.json: one "X" slice per executed instruction, never overlapping within a unit;
- trace.vcd (if present): header, $var lines, strictly increasing timestamps, declared ids,
  busy high time == unit busy cycles (whole-run traces), timestamps inside --window;
- trace.gtkw (if present): every trace line names a signal the VCD declares.
Exit 1 with one line per failure.
"""
import argparse
import csv
import json
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--window", nargs=2, type=int, metavar=("FROM", "TO"))
a = ap.parse_args()
errors = []


def check(cond, msg):
    if not cond:
        errors.append(msg)


def close(x, y, rel=1e-9):
    return abs(x - y) <= rel * max(1.0, abs(x), abs(y))


rep = json.load(open(os.path.join(a.dir, "report.json")))
cycles = rep["cycles"]

# ---- energy = sum of count x energy per access ----
e = rep["energy_per_access_pj"]
buf = rep["buffers"]
acc = lambda b: buf[b]["read_bytes"] + buf[b]["write_bytes"]
want = {
    "mac": rep["macs"] * e["mac"],
    "nbin": acc("nbin") * e["nbin_byte"],
    "sb": acc("sb") * e["sb_byte"],
    "nbout": acc("nbout") * e["nbout_byte"],
    "dram": (rep["dram_read_bytes"] + rep["dram_write_bytes"]) * e["dram_byte"],
    "static": e["static_mw"] * cycles * e["period_ns"],
}
for k, v in want.items():
    check(close(rep["energy_breakdown_pj"][k], v), f"energy {k}: {rep['energy_breakdown_pj'][k]} != {v}")
check(close(rep["energy_pj"], sum(want.values())), f"energy_pj {rep['energy_pj']} != {sum(want.values())}")

# ---- layers.csv sums ----
rows = list(csv.DictReader(open(os.path.join(a.dir, "layers.csv"))))
check(len(rows) > 0, "layers.csv has no rows")
col = lambda c: sum(int(r[c]) for r in rows)
units = rep["units"]
sums = {
    "macs": rep["macs"],
    "attributed_cycles": cycles,
    "dram_read_bytes": rep["dram_read_bytes"],
    "dram_write_bytes": rep["dram_write_bytes"],
    "fetch_bytes": rep["dram_fetch_bytes"],
    "nfu_busy_cycles": units["compute"]["busy_cycles"],
}
for u in ("load", "compute", "store"):
    sums[f"stall_{u}_token"] = units[u]["stall_cycles"]["token"]
    sums[f"stall_{u}_fetch"] = units[u]["stall_cycles"]["fetch"]
for cause, v in rep["stall_cycles_by_cause"].items():
    sums[f"stall_{cause}"] = v
for b in ("nbin", "sb", "nbout"):
    sums[f"{b}_read_bytes"] = buf[b]["read_bytes"]
    sums[f"{b}_write_bytes"] = buf[b]["write_bytes"]
for c, total in sums.items():
    check(col(c) == total, f"layers.csv {c}: sum {col(c)} != report {total}")
esum = sum(float(r["energy_pj"]) for r in rows)
check(close(esum, rep["energy_pj"], 1e-6), f"layers.csv energy_pj: sum {esum} != report {rep['energy_pj']}")
for r in rows:
    check(int(r["end_cycle"]) >= int(r["start_cycle"]), f"layer {r['name']}: end before start")
    check(0 <= float(r["nfu_utilization"]) <= 1, f"layer {r['name']}: utilization {r['nfu_utilization']}")

# ---- bandwidth.csv ----
bw = list(csv.DictReader(open(os.path.join(a.dir, "bandwidth.csv"))))
check(sum(int(r["dram_read_bytes"]) for r in bw) == rep["dram_read_bytes"], "bandwidth.csv read bytes != report")
check(sum(int(r["dram_write_bytes"]) for r in bw) == rep["dram_write_bytes"], "bandwidth.csv write bytes != report")
prev = 0
for r in bw:
    check(int(r["cycle_start"]) == prev, f"bandwidth.csv gap at {r['cycle_start']}")
    prev = int(r["cycle_end"])
check(prev == cycles, f"bandwidth.csv ends at {prev}, run at {cycles}")

# ---- timeline.json ----
tl = json.load(open(os.path.join(a.dir, "timeline.json")))
slices = [ev for ev in tl["traceEvents"] if ev.get("ph") == "X"]
want_slices = sum(u["instructions"] for u in units.values())
check(len(slices) == want_slices, f"timeline.json: {len(slices)} slices, {want_slices} instructions")
for tid in (0, 1, 2):
    mine = sorted((ev["args"]["start_cycle"], ev["args"]["end_cycle"], ev) for ev in slices if ev["tid"] == tid)
    for (s0, e0, ev0), (s1, e1, ev1) in zip(mine, mine[1:]):
        check(e0 <= s1, f"timeline.json tid {tid}: instr {ev0['args']['instr']} overlaps {ev1['args']['instr']}")
    for s0, e0, ev in mine:
        # The simulator's clock period is whole picoseconds.
        check(abs(ev["ts"] + ev["dur"] - e0 * round(e["period_ns"] * 1000) / 1e6) < 1e-6,
              f"timeline.json: instr {ev['args']['instr']} ts + dur != end_cycle")

# ---- trace.vcd and trace.gtkw ----
vcd_path = os.path.join(a.dir, "trace.vcd")
if os.path.exists(vcd_path):
    ids, names, stamps, busy = {}, set(), [], {}
    defs, now, timescale = True, None, False
    period_ps = round(e["period_ns"] * 1000)
    with open(vcd_path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            if defs:
                tok = line.split()
                if tok[0] == "$timescale":
                    timescale = tok[1] == "1ps"
                elif tok[0] == "$var":
                    check(len(tok) >= 6 and tok[-1] == "$end", f"bad $var: {line}")
                    ids[tok[3]] = tok[4]
                    names.add(tok[4] + (tok[5] if tok[5] != "$end" else ""))
                elif tok[0] == "$enddefinitions":
                    defs = False
                continue
            if line[0] == "#":
                t = int(line[1:])
                check(now is None or t > now, f"vcd: timestamp {t} after {now}")
                now = t
                stamps.append(t)
                continue
            if line[0] == "$":
                continue
            vid = line[1:] if line[0] in "01" else line.split()[1]
            check(vid in ids, f"vcd: undeclared id in {line}")
            if ids.get(vid, "").startswith("busy_"):
                busy.setdefault(ids[vid], []).append((now, int(line[0])))
    check(timescale, "vcd: no $timescale 1ps")
    check(not defs, "vcd: no $enddefinitions")
    check(len(stamps) > 0, "vcd: no timestamps")
    if a.window:
        lo, hi = a.window[0] * period_ps, min(a.window[1], cycles) * period_ps
        check(stamps and stamps[0] == lo and stamps[-1] <= hi, f"vcd: stamps {stamps[0]}..{stamps[-1]} outside window")
    else:
        for u in ("load", "compute", "store"):
            high, since, on = 0, 0, 0
            for t, v in busy.get("busy_" + u, []):
                if on:
                    high += t - since
                on, since = v, t
            if on:
                high += cycles * period_ps - since
            check(high == units[u]["busy_cycles"] * period_ps,
                  f"vcd: busy_{u} high {high} ps != {units[u]['busy_cycles']} cycles")
    gtkw = os.path.join(a.dir, "trace.gtkw")
    check(os.path.exists(gtkw), "trace.gtkw missing next to trace.vcd")
    if os.path.exists(gtkw):
        for line in open(gtkw):
            line = line.strip()
            if line and line[0] not in "[@-*":
                check(line.startswith("accel.") and line[6:] in names, f"gtkw names an undeclared signal: {line}")
    print(f"vcd: {os.path.getsize(vcd_path)} bytes, {len(stamps)} timestamps, {len(ids)} signals")

for msg in errors:
    print("FAIL:", msg)
if errors:
    sys.exit(1)
print(f"ok: {len(rows)} layer rows, {len(bw)} bandwidth windows, {len(slices)} timeline slices agree with report.json")
