#!/usr/bin/env python3
"""Plots one fusesim run: DRAM bandwidth over time, and cycles and NFU utilization per layer.

Usage: scripts/plot_run.py DIR      (DIR is the --out directory of `fusesim run`)
Writes DIR/bandwidth.png and DIR/layers.png. Needs python3-matplotlib (Debian).
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_bandwidth(d, report):
    rows = read_csv(os.path.join(d, "bandwidth.csv"))
    if not rows:
        return None
    x = [int(r["cycle_start"]) for r in rows]
    rd = [float(r["read_GBps"]) for r in rows]
    wr = [float(r["write_GBps"]) for r in rows]
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.fill_between(x, rd, step="post", alpha=0.6, label="read")
    ax.fill_between(x, wr, step="post", alpha=0.6, label="write")
    peak = report.get("dram_peak_gbps")
    if peak:
        ax.axhline(peak, color="k", linestyle="--", linewidth=0.8, label="peak")
    ax.set_xlabel("cycle")
    ax.set_ylabel("DRAM bandwidth (GB/s)")
    ax.set_title(f"{report.get('model', '')} on {report.get('arch', '')}: DRAM bandwidth "
                 f"(window {int(rows[0]['cycle_end']) - int(rows[0]['cycle_start'])} cycles)")
    ax.legend(loc="upper right")
    fig.tight_layout()
    out = os.path.join(d, "bandwidth.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_layers(d, report):
    rows = read_csv(os.path.join(d, "layers.csv"))
    if not rows:
        return None
    names = [r["name"] for r in rows]
    cycles = [int(r["cycles"]) for r in rows]
    util = [100.0 * float(r["nfu_utilization"]) for r in rows]
    fig, ax = plt.subplots(figsize=(max(8, 0.35 * len(rows)), 4.5))
    ax.bar(range(len(rows)), cycles, color="tab:blue")
    ax.set_ylabel("cycles", color="tab:blue")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(names, rotation=70, ha="right", fontsize=7)
    ax2 = ax.twinx()
    ax2.plot(range(len(rows)), util, "o-", color="tab:red", markersize=3)
    ax2.set_ylabel("NFU utilization (%)", color="tab:red")
    ax2.set_ylim(0, 100)
    ax.set_title(f"{report.get('model', '')} on {report.get('arch', '')}: cycles and NFU utilization per layer")
    fig.tight_layout()
    out = os.path.join(d, "layers.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    try:
        report = json.load(open(os.path.join(d, "report.json")))
    except OSError as e:
        print(f"plot_run.py: {e}", file=sys.stderr)
        return 2
    for out in (plot_bandwidth(d, report), plot_layers(d, report)):
        if out:
            print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
