#!/usr/bin/env python3
"""Checks a report.json against bounds derived from first principles.

Usage: check_report.py REPORT.json [--macs N] [--min-read-bytes N] [--tn N]
  --macs N            report macs must equal N
  --min-read-bytes N  dram_read_bytes must be >= N (e.g. every weight once)
  --tn N              cycles must be >= macs / (N*N) (the NFU's peak)
Also checks the invariants every report must hold: utilization in (0, 1], unit cycle accounting.
"""
import argparse, json, sys

ap = argparse.ArgumentParser()
ap.add_argument("report")
ap.add_argument("--macs", type=int)
ap.add_argument("--min-read-bytes", type=int)
ap.add_argument("--tn", type=int, default=16)
a = ap.parse_args()
r = json.load(open(a.report))
errors = []
for k in ("cycles", "macs", "dram_read_bytes", "dram_write_bytes", "nfu_utilization"):
    if k not in r:
        errors.append(f"missing key {k}")
if not errors:
    if a.macs is not None and r["macs"] != a.macs:
        errors.append(f"macs {r['macs']} != {a.macs}")
    if a.min_read_bytes is not None and r["dram_read_bytes"] < a.min_read_bytes:
        errors.append(f"dram_read_bytes {r['dram_read_bytes']} < {a.min_read_bytes}")
    bound = r["macs"] / (a.tn * a.tn)
    if r["cycles"] < bound:
        errors.append(f"cycles {r['cycles']} < macs/(Tn*Tn) = {bound}")
    if not (0 < r["nfu_utilization"] <= 1):
        errors.append(f"nfu_utilization {r['nfu_utilization']} not in (0, 1]")
    for name, u in r.get("units", {}).items():
        st = u["stall_cycles"]
        total = u["busy_cycles"] + st["token"] + st["fetch"] + st["idle"]
        if total != r["cycles"]:
            errors.append(f"unit {name}: busy + stalls = {total} != cycles {r['cycles']}")
for e in errors:
    print("FAIL:", e)
if errors:
    sys.exit(1)
print(f"ok: cycles {r['cycles']}, macs {r['macs']}, dram_read_bytes {r['dram_read_bytes']}")
