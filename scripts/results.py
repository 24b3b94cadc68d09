#!/usr/bin/env python3
"""Generates docs/results.md from simulations; nothing in it is typed by hand.

  scripts/results.py [--fusesim build/fusesim] [--sweep-dir out/fusion-pipeline] [--out docs/results.md]

1. Runs (or resumes) configs/sweeps/fusion-pipeline.yaml: every zoo network x {diannao,
   diannao-large} x fusion x pipeline x elimination, timing mode, int16.
2. Tabulates per network and preset: (fusion none, pipeline none), (none, full) and the best
   combination, their speedups, and the lower bound max(MACs / Tn^2, compulsory bytes / DRAM
   bytes per cycle) with achieved/bound.
3. Checks the compiler's two invariants over every point: fusion never increases DRAM traffic
   (same pipeline and elimination), and pipeline full never takes more cycles than none.
4. Cost model error: estimated against simulated cycles, per network (fusion none and optimal, pipeline full).
5. Bandwidth sensitivity of fusion (memory-bound settings), the overlap modes, and VGG-16's
   conv1_1..conv3_1 fused beside the published fused-layer design.
6. Batch: AlexNet's classifier layers per sample at several batch sizes (fc weight tiles shared
   across the samples). `scripts/results.py --only-batch` regenerates this section alone, in place.
"""
import argparse
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETS = ["lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "squeezenet1_0", "googlenet"]
PRESETS = ["diannao", "diannao-large"]


def arch_figures(path):
    """Tn, clock and DRAM bandwidth from an arch YAML (flat regexes over the documented keys)."""
    text = open(path).read()
    tn = int(re.search(r"^\s*tn:\s*(\d+)", text, re.M).group(1))
    clock = float(re.search(r"^clock_ghz:\s*([\d.]+)", text, re.M).group(1))
    bw = float(re.search(r"^\s*bandwidth_gbps:\s*([\d.]+)", text, re.M).group(1))
    return tn, clock, bw


def run(cmd):
    r = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit("results.py: %s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr.strip()))
    return r.stdout


def report(fusesim, args):
    with tempfile.TemporaryDirectory() as d:
        run([fusesim, "run", "--mode", "timing", "--quiet", "--no-timeline", "--out", d] + args)
        return json.load(open(os.path.join(d, "report.json")))


def feature_onchip(fusesim, args, layers=None):
    """(largest NBin + NBout slot bytes of a group, number of line-buffered groups) from the emitted schedule;
    with `layers`, only the groups holding one of them. The schedule's flow-style lines are parsed directly."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.yaml")
        run([fusesim, "compile"] + args + ["--emit-schedule", path])
        text = open(path).read()
    best, lines = 0, 0
    for g in re.split(r"^  - layers: ", text, flags=re.M)[1:]:
        names = [x.strip() for x in g[g.index("[") + 1:g.index("]")].split(",")]
        if layers and not set(names) & set(layers):
            continue
        fm = sum(int(b) * int(c) for buf, b, c in re.findall(r"\{buffer: (\w+), addr: \d+, bytes: (\d+), count: (\d+)", g)
                 if buf in ("NBin", "NBout"))
        best = max(best, fm)
        lines += 1 if re.search(r"overlap: cache-", g) else 0
    return best, lines


def fmt_int(x):
    return "{:,}".format(int(x))


def mb(x):
    return "%.1f" % (float(x) / 1e6)


BATCH_HEADING = "## Batch: AlexNet's classifier layers per sample"


def batch_section(fusesim):
    """The batch table: AlexNet at several batches, timing mode, int16, fusion none, pipeline full."""
    lines = [BATCH_HEADING + "\n",
             "`fusesim run --model models/alexnet.yaml --arch ARCH --batch N --mode timing` (int16, fusion none, "
             "pipeline full). An fc weight tile is loaded once per pass of *samples* inputs (the tile's "
             "`samples=`), whose output tiles share NBout: co x samples 4-byte accumulators. Cycles per sample "
             "are a group's simulated cycles (first to last instruction) divided by the batch; *NFU bound* is the "
             "fc layers' MACs / Tn^2 per sample, the cycles they would take compute-bound. DRAM and energy are the "
             "whole network's, per sample.\n",
             "| arch | batch | fc6 | fc7 | fc8 | fc6..fc8 cycles / sample | NFU bound | total cycles | "
             "cycles / sample | DRAM MB / sample | energy mJ / sample | fc tiles |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for arch, batches in [("diannao", [1, 4, 16]), ("diannao-large", [1, 16, 64])]:
        tn = arch_figures(os.path.join(ROOT, "configs", "arch", arch + ".yaml"))[0]
        for n in batches:
            rep = report(fusesim, ["--model", "models/alexnet.yaml", "--arch", "configs/arch/%s.yaml" % arch,
                                   "--batch", str(n)])
            fcs = [e for e in rep["schedule"] if e["name"] in ("fc6", "fc7", "fc8")]
            per = [e["sim_cycles_per_sample"] for e in fcs]
            bound = sum(e["macs"] for e in fcs) / n / (tn * tn)
            if n == 1:
                first_ratio = sum(per) / bound
            tiles = "; ".join(re.sub(r" rows=1 cols=1| \(whole buffers\)", "", e["tiles"]) for e in fcs)
            lines.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %.2f | %.3f | %s |" % (
                arch, n, fmt_int(per[0]), fmt_int(per[1]), fmt_int(per[2]), fmt_int(sum(per)), fmt_int(bound),
                fmt_int(rep["cycles"]), fmt_int(rep["cycles_per_sample"]),
                (rep["dram_read_bytes"] + rep["dram_write_bytes"]) / n / 1e6, rep["energy_pj_per_sample"] / 1e9,
                tiles))
    lines.append("\nOn diannao the classifier stays DRAM-bound through batch 16: NBout's 512 accumulators cap "
                 "co x samples, so a sample's input vector is reloaded once per output-channel tile while the "
                 "weights are shared by the samples; per MAC the fc reads at least 2/samples + 2/co bytes with "
                 "co x samples <= 512. diannao-large's 64 KiB NBout lets both grow: at batch %d fc6..fc8 take "
                 "%.2fx their NFU bound (%.1fx at batch 1).\n" % (n, sum(per) / bound, first_ratio))
    return lines


def splice_batch_section(path, lines):
    """Replaces the batch section of an existing results.md (or appends it)."""
    text = open(path).read()
    start = text.find(BATCH_HEADING)
    section = "\n".join(lines) + "\n"
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(BATCH_HEADING))
        text = text[:start] + section + (text[end + 1:] if end >= 0 else "")
    open(path, "w").write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fusesim", default=os.path.join(ROOT, "build", "fusesim"))
    ap.add_argument("--sweep-dir", default=os.path.join(ROOT, "out", "fusion-pipeline"))
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "results.md"))
    ap.add_argument("-j", default="2")
    ap.add_argument("--only-batch", action="store_true", help="regenerate only the batch section, in place")
    a = ap.parse_args()
    if a.only_batch:
        splice_batch_section(a.out, batch_section(a.fusesim))
        print("wrote the batch section of", a.out)
        return

    spec = os.path.join(ROOT, "configs", "sweeps", "fusion-pipeline.yaml")
    if not os.path.exists(os.path.join(a.sweep_dir, "results.csv")):
        run([a.fusesim, "sweep", spec, "-j", a.j, "--out", a.sweep_dir])
    else:
        run([a.fusesim, "sweep", spec, "-j", a.j, "--out", a.sweep_dir, "--resume"])
    rows = list(csv.DictReader(open(os.path.join(a.sweep_dir, "results.csv"))))

    def key_of(r):
        net = os.path.splitext(os.path.basename(r["model"]))[0]
        arch = os.path.splitext(os.path.basename(r["arch"]))[0]
        return net, arch

    points = {}
    failed = []
    for r in rows:
        net, arch = key_of(r)
        if r["status"] != "ok":
            failed.append((net, arch, r["fusion"], r["pipeline"], r["elimination"], r.get("error", "")))
            continue
        points[(net, arch, r["fusion"], r["pipeline"], r["elimination"])] = r

    out = []
    w = out.append
    w("# Results\n")
    w("Generated by `scripts/results.py` from `fusesim sweep configs/sweeps/fusion-pipeline.yaml` "
      "(timing mode, int16, %d points, %d failed). Do not edit by hand.\n" % (len(rows), len(failed)))
    w("Cycles are simulated by the SystemC model; DRAM bytes are read + write, including "
      "instruction fetch. *Bound* is max(MACs / Tn^2, compulsory bytes / DRAM bytes per cycle), "
      "where compulsory bytes are every weight and bias, the input and the output, each once.\n")
    for arch in PRESETS:
        tn, clock, bw = arch_figures(os.path.join(ROOT, "configs", "arch", arch + ".yaml"))
        bpc = bw / clock
        w("\n## %s (Tn %d, %.2f GHz, %.1f GB/s)\n" % (arch, tn, clock, bw))
        w("| network | MACs | (none, none) cycles | DRAM MB | (none, full) cycles | DRAM MB | best: fusion/pipeline/elim"
          " | cycles | DRAM MB | full vs none | best vs (none, full) | bound cycles | achieved/bound |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        ratios = []
        for net in NETS:
            base = points.get((net, arch, "none", "none", "on"))
            full = points.get((net, arch, "none", "full", "on"))
            # ties go to the simplest choice: fusion none < greedy < optimal, elimination on
            rank = {"none": 0, "greedy": 1, "optimal": 2, "fine": 1, "coarse": 2, "full": 3, "on": 0, "off": 1}
            cand = [(int(r["cycles"]), rank[k[2]], rank[k[3]], rank[k[4]], k) for k, r in points.items()
                    if k[0] == net and k[1] == arch]
            if not base or not full or not cand:
                w("| %s | (missing points) |||||||||||| " % net)
                continue
            bc, _, _, _, bk = min(cand)
            best = points[bk]
            dram = lambda r: int(r["dram_read_bytes"]) + int(r["dram_write_bytes"])
            macs = int(full["macs"])
            comp = int(full["compulsory_dram_bytes"])
            bound = max(macs / (tn * tn), comp / bpc)
            w("| %s | %s | %s | %s | %s | %s | %s/%s/%s | %s | %s | %.2fx | %.2fx | %s | %.2f |" % (
                net, fmt_int(macs), fmt_int(base["cycles"]), mb(dram(base)), fmt_int(full["cycles"]), mb(dram(full)),
                bk[2], bk[3], bk[4], fmt_int(bc), mb(dram(best)), int(base["cycles"]) / int(full["cycles"]),
                int(full["cycles"]) / bc, fmt_int(bound), bc / bound))
            if net != "lenet5":
                ratios.append(bc / bound)
        w("\nGeometric mean of achieved/bound over the seven torchvision networks: %.2f." %
          math.exp(sum(math.log(r) for r in ratios) / len(ratios)))

    # invariants
    w("\n## Invariants over every point\n")
    viol_f, viol_p = [], []
    for (net, arch, fu, pi, el), r in points.items():
        if fu != "none":
            n = points.get((net, arch, "none", pi, el))
            if n and int(r["dram_read_bytes"]) + int(r["dram_write_bytes"]) > int(n["dram_read_bytes"]) + int(n["dram_write_bytes"]):
                viol_f.append("%s %s fusion %s pipeline %s elimination %s" % (net, arch, fu, pi, el))
        if pi == "full":
            n = points.get((net, arch, fu, "none", el))
            if n and int(r["cycles"]) > int(n["cycles"]):
                viol_p.append("%s %s fusion %s elimination %s: full %s > none %s" % (net, arch, fu, el, r["cycles"], n["cycles"]))
    w("- Fusion never increases DRAM traffic: %s." % ("holds at every point" if not viol_f else
                                                    "**violated** at " + "; ".join(viol_f)))
    w("- Pipeline full never takes more cycles than none: %s." % ("holds at every point" if not viol_p else
                                                                 "**violated** at " + "; ".join(viol_p)))
    if failed:
        w("- Failed points: " + "; ".join("%s %s %s/%s/%s: %s" % f for f in failed))

    # cost model error
    w("\n## Cost model against the simulator (pipeline full)\n")
    w("Groups overlap (store fences, no barrier between groups), so the comparison is of whole runs: the sum "
      "of the groups' estimates against the simulated cycles of the run.\n")
    w("| network | preset | fusion | estimated cycles | simulated cycles | error |")
    w("|---|---|---|---|---|---|")
    errs = {"none": [], "optimal": []}
    for arch in PRESETS:
        for net in NETS:
            for fu in ["none", "optimal"]:
                rep = report(a.fusesim, ["--model", "models/%s.yaml" % net, "--arch", "configs/arch/%s.yaml" % arch,
                                         "--fusion", fu])
                est = sum(s["est_cycles"] for s in rep["schedule"])
                sim = rep["cycles"]
                err = (est - sim) / sim
                errs[fu].append(abs(err))
                w("| %s | %s | %s | %s | %s | %+.1f%% |" % (net, arch, fu, fmt_int(est), fmt_int(sim), 100 * err))
    every = errs["none"] + errs["optimal"]
    gerr = {"fused": [], "unfused": []}
    for arch in PRESETS:
        for net in NETS:
            rep = report(a.fusesim, ["--model", "models/%s.yaml" % net, "--arch", "configs/arch/%s.yaml" % arch,
                                     "--fusion", "optimal"])
            for s_ in rep["schedule"]:
                if s_.get("sim_cycles", 0) >= 20000:
                    gerr["fused" if len(s_["layers"]) > 1 else "unfused"].append(
                        abs(s_["est_cycles"] - s_["sim_cycles"]) / s_["sim_cycles"])
    w("\nMean absolute error %.1f%%, worst %.1f%% (fusion none: mean %.1f%%, worst %.1f%%; fusion optimal: "
      "mean %.1f%%, worst %.1f%%)." % (100 * sum(every) / len(every), 100 * max(every),
                                       100 * sum(errs["none"]) / len(errs["none"]), 100 * max(errs["none"]),
                                       100 * sum(errs["optimal"]) / len(errs["optimal"]), 100 * max(errs["optimal"])))
    w("\nPer group (fusion optimal, both presets, groups whose simulated span is at least 20,000 cycles; a "
      "group's span overlaps its neighbours', so these errors include the overlap): fused groups mean %.1f%% "
      "over %d groups, unfused groups mean %.1f%% over %d groups.\n" % (
          100 * sum(gerr["fused"]) / max(1, len(gerr["fused"])), len(gerr["fused"]),
          100 * sum(gerr["unfused"]) / max(1, len(gerr["unfused"])), len(gerr["unfused"])))

    # bandwidth sensitivity
    w("\n## Fusion when DRAM is the bottleneck (diannao-large, pipeline full)\n")
    w("At the presets' 12.8 GB/s most layers of the zoo are compute- or overhead-bound, so keeping "
      "intermediates on chip saves bytes but little time. Lower bandwidth makes the saved bytes count:\n")
    w("| network | DRAM GB/s | fusion none cycles | DRAM MB | fusion optimal cycles | DRAM MB | speedup |")
    w("|---|---|---|---|---|---|---|")
    for net in ["mobilenet_v2", "resnet50", "vgg16"]:
        for bwv in ["12.8", "3.2", "1.6"]:
            common = ["--model", "models/%s.yaml" % net, "--arch", "configs/arch/diannao-large.yaml",
                      "--set", "arch.dram.bandwidth_gbps=" + bwv]
            n = report(a.fusesim, common + ["--fusion", "none"])
            o = report(a.fusesim, common + ["--fusion", "optimal"])
            w("| %s | %s | %s | %s | %s | %s | %.2fx |" % (
                net, bwv, fmt_int(n["cycles"]), mb(n["dram_read_bytes"] + n["dram_write_bytes"]), fmt_int(o["cycles"]),
                mb(o["dram_read_bytes"] + o["dram_write_bytes"]), n["cycles"] / o["cycles"]))

    # overlap modes
    w("\n## Overlap modes (diannao-large, fusion optimal, pipeline full)\n")
    w("`--fusion-overlap`: recompute (halos recomputed per tile), cache-rows and cache-all (line-buffered groups: "
      "intermediates as 16-bit data in NBin rings, overlapping rows, or rows and columns, kept), auto (the cost "
      "model's choice per group; the default). *Feature-map on-chip* is the largest, over the groups, of the NBin "
      "and NBout bytes the schedule's slots take (every half); weights are not counted.\n")
    w("| network | overlap | cycles | DRAM MB | feature-map on-chip KiB | line-buffered groups |")
    w("|---|---|---|---|---|---|")
    for net in NETS[1:]:
        for ov in ["recompute", "cache-rows", "cache-all", "auto"]:
            args = ["--model", "models/%s.yaml" % net, "--arch", "configs/arch/diannao-large.yaml", "--fusion", "optimal",
                    "--fusion-overlap", ov]
            rep = report(a.fusesim, args)
            fm, lines = feature_onchip(a.fusesim, args)
            w("| %s | %s | %s | %s | %.1f | %d |" % (net, ov, fmt_int(rep["cycles"]),
                                                    mb(rep["dram_read_bytes"] + rep["dram_write_bytes"]), fm / 1024, lines))

    # VGG-16 first five conv layers fused
    w("\n## VGG-16 conv1_1 to conv3_1 fused (with pool1 and pool2)\n")
    layers = ["conv1_1", "conv1_2", "pool1", "conv2_1", "conv2_2", "pool2", "conv3_1"]
    inspect = json.loads(run([a.fusesim, "inspect", "--model", "models/vgg16.yaml", "--json"]))
    wbytes = 2 * sum(l["params"] for l in inspect["layers"] if l["name"] in layers)
    w("Architectures `configs/arch/diannao-linebuf.yaml` (diannao-large with a 224 KiB NBin for the line buffers "
      "and a 1.25 MiB SB, so that the group's %s MB of weights stay in SB) and `configs/arch/diannao-linebuf-small.yaml` "
      "(the same with a 160 KiB NBin, too small for full-width rings, so the planner cuts the group into column "
      "strips, and one DDR3-1066 channel, 8.53 GB/s), pipeline full, int16, timing mode. Feature-map traffic is the "
      "DRAM read + write of the seven layers minus their weights, instruction fetch excluded. Feature-map on-chip "
      "is the NBin and NBout bytes of the schedule's slots for these layers (every half); the weights live in SB.\n"
      % mb(wbytes))
    w("| arch | run | feature-map DRAM traffic | cycles | feature-map on-chip bytes | schedule |")
    w("|---|---|---|---|---|---|")

    def first5(tag, arch_args, extra, d):
        out_dir = os.path.join(d, tag)
        args = ["--model", "models/vgg16.yaml"] + arch_args + extra
        r = subprocess.run([a.fusesim, "run", "--mode", "timing", "--quiet", "--no-timeline", "--out", out_dir] + args,
                           cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            return None, r.stderr.strip().replace("|", "/")
        lrows = list(csv.DictReader(open(os.path.join(out_dir, "layers.csv"))))
        sel = [x for x in lrows if set(x["layers"].split(";")) & set(layers)]
        rd = sum(int(x["dram_read_bytes"]) - int(x["fetch_bytes"]) for x in sel)
        wr = sum(int(x["dram_write_bytes"]) for x in sel)
        sched = ""
        if extra:
            sp = os.path.join(d, tag + ".yaml")
            run([a.fusesim, "compile"] + args + ["--emit-schedule", sp])
            m = re.search(r"layers: \[conv1_1, conv1_2.*?\n\s*fused: \{([^}]*)\}", open(sp).read(), re.S)
            sched = m.group(1) if m else ""
        return (rd + wr - wbytes, sum(int(x["cycles"]) for x in sel), feature_onchip(a.fusesim, args, layers)[0], sched), ""

    with tempfile.TemporaryDirectory() as d:
        for arch in ["diannao-linebuf", "diannao-linebuf-small"]:
            arch_args = ["--arch", "configs/arch/%s.yaml" % arch, "--pipeline", "full"]
            for tag, extra in [("unfused", []),
                               ("fused, recompute", ["--fuse", "conv1_1:conv3_1", "--fusion-overlap", "recompute"]),
                               ("fused, cache-rows", ["--fuse", "conv1_1:conv3_1", "--fusion-overlap", "cache-rows"]),
                               ("fused, cache-all", ["--fuse", "conv1_1:conv3_1", "--fusion-overlap", "cache-all"])]:
                fig, err = first5(arch + tag.replace(" ", "").replace(",", "_"), arch_args, extra, d)
                if fig is None:
                    w("| %s | %s | does not fit: %s ||||" % (arch, tag, err))
                    continue
                w("| %s | %s | %.2f MB | %s | %s | %s |" % (arch, tag, fig[0] / 1e6, fmt_int(fig[1]), fmt_int(fig[2]), fig[3]))
        w("\nColumn strips recompute the halo columns of the strips' inner edges (4.5% more MACs for two strips), "
          "so whether they beat the unfused layers depends on how much the unfused layers stall on DRAM. Cycles of "
          "the seven layers against the DRAM bandwidth (`--set arch.dram.bandwidth_gbps=B`; full-width rings on "
          "diannao-linebuf, two strips on diannao-linebuf-small's 160 KiB NBin):\n")
        w("| DRAM GB/s | unfused | fused, full-width rings | fused, two strips | strips vs unfused |")
        w("|---|---|---|---|---|")
        for bw in ["12.8", "10.66", "8.53", "6.4"]:
            bwset = ["--set", "arch.dram.bandwidth_gbps=" + bw]
            fuse = ["--fuse", "conv1_1:conv3_1", "--fusion-overlap", "cache-all"]
            u = first5("u" + bw, ["--arch", "configs/arch/diannao-linebuf.yaml"] + bwset, [], d)[0]
            f = first5("f" + bw, ["--arch", "configs/arch/diannao-linebuf.yaml"] + bwset, fuse, d)[0]
            st = first5("s" + bw, ["--arch", "configs/arch/diannao-linebuf-small.yaml"] + bwset, fuse, d)[0]
            w("| %s | %s | %s (%s B on chip) | %s (%s B on chip) | %.3fx |" % (
                bw, fmt_int(u[1]), fmt_int(f[1]), fmt_int(f[2]), fmt_int(st[1]), fmt_int(st[2]), u[1] / st[1]))
    w("\nCompulsory feature-map traffic: the 3x224x224 input (0.30 MB) and conv3_1's 256x56x56 output (1.61 MB). "
      "Published (Alwani et al., MICRO 2016, VGGNet-E, same layers, 32-bit data): 77 MB of feature-map traffic "
      "unfused, 3.6 MB fused, with 362 KB of on-chip storage; fusesim moves 16-bit data, so the comparable "
      "published figures are half: 38.5 MB, 1.8 MB and 181 KB.\n")
    out.append("")
    out.extend(batch_section(a.fusesim))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    open(a.out, "w").write("\n".join(out) + "\n")
    print("wrote", a.out)


if __name__ == "__main__":
    main()
