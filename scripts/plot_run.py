#!/usr/bin/env python3
"""Plots one fusesim run: DRAM bandwidth over time, and cycles and NFU utilization per layer.

Usage: scripts/plot_run.py DIR      (DIR is the --out directory of `fusesim run`)
Writes DIR/bandwidth.png and DIR/layers.png. Needs python3-matplotlib (Debian).
"""
import csv
import json
import os
import sys

try:
    import matplotlib
except ImportError:
    # Debian's python3-matplotlib belongs to /usr/bin/python3; another python3 may come first
    # on the PATH (pyenv, a venv). Run under the system interpreter then.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("plot_run.py: needs matplotlib (Debian: apt install python3-matplotlib)", file=sys.stderr)
    sys.exit(2)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def plot_bandwidth(d, report):
    rows = read_csv(os.path.join(d, "bandwidth.csv"))
    if not rows:
        return None
    # Merge windows so that at most ~1500 steps are drawn (a long run has tens of thousands);
    # bandwidth of a merged step = its bytes / its cycles, so nothing is lost but resolution.
    k = max(1, len(rows) // 1500)
    x, rd, wr = [], [], []
    for i in range(0, len(rows), k):
        chunk = rows[i:i + k]
        c0 = int(chunk[0]["cycle_start"])
        span = sum(int(r["cycle_end"]) - int(r["cycle_start"]) for r in chunk)
        x.append(c0)
        rd.append(sum(float(r["read_GBps"]) * (int(r["cycle_end"]) - int(r["cycle_start"])) for r in chunk) / span)
        wr.append(sum(float(r["write_GBps"]) * (int(r["cycle_end"]) - int(r["cycle_start"])) for r in chunk) / span)
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.fill_between(x, rd, step="post", alpha=0.6, label="read")
    ax.fill_between(x, wr, step="post", alpha=0.6, label="write")
    peak = report.get("dram_peak_gbps")
    if peak:
        ax.axhline(peak, color="k", linestyle="--", linewidth=0.8, label="peak")
    ax.set_xlabel("cycle")
    ax.set_ylabel("DRAM bandwidth (GB/s)")
    ax.set_title(f"{report.get('model', '')} on {report.get('arch', '')}: DRAM bandwidth "
                 f"(window {k * (int(rows[0]['cycle_end']) - int(rows[0]['cycle_start']))} cycles)")
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
