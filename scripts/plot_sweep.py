#!/usr/bin/env python3
"""Plots a fusesim sweep from DIR/results.csv (written by `fusesim sweep ... --out DIR`).

Usage: scripts/plot_sweep.py DIR
Writes into DIR, for what the sweep varied:
  cycles_vs_<arch key>.png    cycles against each numeric arch axis, one panel per model
  speedup_fusion_pipeline.png speedup of each fusion x pipeline x elimination choice over
                              fusion none / pipeline none / elimination on, per arch preset
  pareto.png                  cycles against on-chip bytes, with the Pareto front, per model
Needs python3-matplotlib (Debian).
"""
import csv
import math
import os
import re
import sys

try:
    import matplotlib
except ImportError:  # e.g. a pyenv python3 first on PATH: use Debian's, which has matplotlib
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != "/usr/bin/python3" \
            and not os.environ.get("FUSESIM_PLOT_REEXEC"):
        os.environ["FUSESIM_PLOT_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    sys.exit("plot_sweep.py: matplotlib is missing: apt install python3-matplotlib")

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

UNITS = {"": 1, "b": 1, "k": 1024, "kib": 1024, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30,
         "kb": 1000, "mb": 1000 ** 2, "gb": 1000 ** 3}
CHOICES = ("fusion", "pipeline", "elimination")
ORDER = {"none": 0, "greedy": 1, "optimal": 2, "fine": 1, "coarse": 2, "full": 3, "on": 0, "off": 1}


def number(text):
    """2KiB -> 2048.0, 12.8 -> 12.8; None when not a number or size."""
    m = re.fullmatch(r"\s*([0-9.]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z]*)\s*", text or "")
    if not m or m.group(2).lower() not in UNITS:
        return None
    try:
        return float(m.group(1)) * UNITS[m.group(2).lower()]
    except ValueError:
        return None


def human(v):
    for unit, size in (("MiB", 1 << 20), ("KiB", 1024)):
        if v >= size and v % size == 0:
            return f"{int(v // size)}{unit}"
    return f"{v:g}"


def varying(rows, col):
    return len({r.get(col, "") for r in rows}) > 1


def panels(n):
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 4.2 * rows), squeeze=False)
    flat = [a for row in axes for a in row]
    for a in flat[n:]:
        a.set_visible(False)
    return fig, flat


def save(fig, d, name):
    path = os.path.join(d, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print("wrote", path)


def plot_cycles_vs(d, rows, models, col, categorical):
    fig, axes = panels(len(models))
    series_cols = [c for c in categorical if c != col]
    for ax, model in zip(axes, models):
        mr = [r for r in rows if r["model"] == model]
        xs = [number(r[col]) for r in mr]
        ax.scatter(xs, [r["cycles_f"] for r in mr], s=10, color="0.7", label="every point", zorder=1)
        groups = {}
        for r, x in zip(mr, xs):
            groups.setdefault(tuple(r.get(c, "") for c in series_cols), {}).setdefault(x, []).append(r["cycles_f"])
        if len(groups) > 8:  # too many lines to read: the best per value instead
            best = {}
            for g in groups.values():
                for x, cs in g.items():
                    best[x] = min(best.get(x, math.inf), min(cs))
            groups = {("best",): {x: [c] for x, c in best.items()}}
        for key, pts in sorted(groups.items()):
            xv = sorted(pts)
            label = " ".join(f"{c}={v}" for c, v in zip(series_cols, key)) if key != ("best",) else "best"
            ax.plot(xv, [min(pts[x]) for x in xv], marker="o", markersize=3, label=label or "best", zorder=2)
        x_all = [x for x in xs if x]
        if x_all and max(x_all) / min(x_all) >= 8:
            ax.set_xscale("log", base=2)
        ticks = sorted(set(x_all))
        if len(ticks) <= 12:
            ax.set_xticks(ticks)
            ax.set_xticklabels([human(t) for t in ticks], rotation=45, fontsize=7)
        ax.set_yscale("log")
        ax.set_xlabel(col)
        ax.set_ylabel("cycles")
        ax.set_title(model)
        ax.legend(fontsize=6)
    save(fig, d, f"cycles_vs_{col}.png")


def plot_speedup(d, rows, models):
    varied = [c for c in CHOICES if varying(rows, c)]
    archs = sorted({r["arch"] for r in rows})
    other = [c for c in rows[0] if c not in CHOICES + ("model", "arch") and c.startswith("arch.") and varying(rows, c)]
    combos = sorted({tuple(r[c] for c in varied) for r in rows}, key=lambda k: [ORDER.get(v, 9) for v in k])
    fig, axes = plt.subplots(len(archs), 1, figsize=(max(6, 1.1 * len(models) + 3), 0.32 * len(combos) * len(archs) + 2.5),
                             squeeze=False)
    for ax, arch in zip([a[0] for a in axes], archs):
        grid = [[math.nan] * len(models) for _ in combos]
        for j, model in enumerate(models):
            mr = [r for r in rows if r["model"] == model and r["arch"] == arch]
            # Same other parameters as the baseline; with other swept arch keys, the first value.
            if other:
                first = {c: mr[0][c] for c in other} if mr else {}
                mr = [r for r in mr if all(r[c] == first[c] for c in other)]
            base = [r for r in mr if all(r.get(c) == v for c, v in zip(CHOICES, ("none", "none", "on")) if c in varied)]
            if not base:
                continue
            for i, combo in enumerate(combos):
                hit = [r for r in mr if tuple(r[c] for c in varied) == combo]
                if hit:
                    grid[i][j] = base[0]["cycles_f"] / hit[0]["cycles_f"]
        finite = [v for row in grid for v in row if not math.isnan(v)]
        lim = max([abs(math.log2(v)) for v in finite if v > 0] + [0.05])
        im = ax.imshow([[math.log2(v) if v > 0 else math.nan for v in row] for row in grid], cmap="RdYlGn",
                       vmin=-lim, vmax=lim, aspect="auto")
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                if not math.isnan(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6)
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels(models, rotation=30, fontsize=7)
        ax.set_yticks(range(len(combos)))
        ax.set_yticklabels([" / ".join(k) for k in combos], fontsize=6)
        ax.set_ylabel(" / ".join(varied))
        ax.set_title(f"{arch}: speedup over fusion none / pipeline none / elimination on")
        fig.colorbar(im, ax=ax, label="log2 speedup")
    save(fig, d, "speedup_fusion_pipeline.png")


def pareto(points):
    """Indices of (x, y) points no other point beats in both (both minimized), by x."""
    front, best = [], math.inf
    for i in sorted(range(len(points)), key=lambda i: points[i]):
        if points[i][1] < best:
            front.append(i)
            best = points[i][1]
    return front


def plot_pareto(d, rows, models):
    fig, axes = panels(len(models))
    for ax, model in zip(axes, models):
        pts = [(float(r["onchip_bytes"]), r["cycles_f"]) for r in rows if r["model"] == model]
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, color="0.6", label="points")
        front = [pts[i] for i in pareto(pts)]
        ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="tab:red", marker="o",
                markersize=4, label="Pareto front")
        if pts and max(p[0] for p in pts) / max(1, min(p[0] for p in pts)) >= 8:
            ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("on-chip bytes (NBin + NBout + SB)")
        ax.set_ylabel("cycles")
        ax.set_title(model)
        ax.legend(fontsize=7)
    save(fig, d, "pareto.png")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    d = sys.argv[1]
    with open(os.path.join(d, "results.csv"), newline="") as f:
        all_rows = list(csv.DictReader(f))
    rows = [r for r in all_rows if r["status"] == "ok" and r["cycles"]]
    print(f"{len(all_rows)} rows, {len(rows)} ok")
    if not rows:
        sys.exit("plot_sweep.py: no successful points to plot")
    for r in rows:
        r["cycles_f"] = float(r["cycles"])
    models = sorted({r["model"] for r in rows})
    arch_cols = [c for c in rows[0] if c.startswith("arch.") and varying(rows, c)]
    numeric = [c for c in arch_cols if all(number(r[c]) is not None for r in rows)]
    categorical = [c for c in ("arch", "dtype", "mode") + CHOICES + tuple(arch_cols) if c not in numeric and varying(rows, c)]
    for col in numeric:
        plot_cycles_vs(d, rows, models, col, categorical)
    if any(varying(rows, c) for c in CHOICES):
        plot_speedup(d, rows, models)
    if varying(rows, "onchip_bytes"):
        plot_pareto(d, rows, models)


if __name__ == "__main__":
    main()
