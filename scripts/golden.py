#!/usr/bin/env python3
# Golden figures of the simulator (issue 13): per zoo network, preset, mode and fusion, the cycles,
# DRAM bytes and sha256 of layers.csv and bandwidth.csv of `fusesim run --out DIR`. A speed change
# must leave every figure identical; a compiler or timing-model change that moves them on purpose
# regenerates them (docs/performance.md, "Golden figures").
#
#   scripts/golden.py --update [--fusesim build/fusesim] [-j 2]   regenerate tests/golden/golden.csv
#   scripts/golden.py --check CASE [--fusesim ...]                 run one case, compare (exit 1 on drift)
#   scripts/golden.py --list                                       the case names (for ctest)
import argparse
import concurrent.futures
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden", "golden.csv")
ZOO = ["lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2", "squeezenet1_0",
       "googlenet", "tinydag", "shuffle_unit"]
ARCHS = ["diannao", "diannao-large"]
FUSIONS = ["none", "optimal"]
# Functional runs move real data: the small and fast networks only, so that the whole ctest stays
# around a minute on two cores. --update checks them bit-exact against the reference executor
# (slow: half a minute for alexnet); the ctest compares the sha256 of the dumped output instead.
FUNCTIONAL = ["lenet5", "tinydag", "alexnet", "resnet18"]
REPORT_KEYS = ["cycles", "dram_read_bytes", "dram_write_bytes", "dram_fetch_bytes",
               "dram_row_hits", "dram_row_misses", "instructions", "macs"]
FIELDS = ["case"] + REPORT_KEYS + ["layers_sha256", "bandwidth_sha256", "output_sha256"]


def cases():
    out = []
    for net in ZOO:
        for arch in ARCHS:
            for fusion in FUSIONS:
                out.append((net, arch, "timing", fusion))
    for net in FUNCTIONAL:
        for arch in ARCHS:
            out.append((net, arch, "functional", "none"))
    return out


def case_name(c):
    return ".".join(c)


def parse_case(name):
    for c in cases():
        if case_name(c) == name:
            return c
    raise SystemExit(f"golden.py: no case {name!r} (see --list)")


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run_case(fusesim, c, check_reference=False):
    net, arch, mode, fusion = c
    with tempfile.TemporaryDirectory(prefix="fusesim-golden.") as out:
        cmd = [fusesim, "run", "--model", os.path.join(ROOT, "models", net + ".yaml"),
               "--arch", os.path.join(ROOT, "configs", "arch", arch + ".yaml"),
               "--mode", mode, "--fusion", fusion, "--out", out, "--no-timeline", "--quiet"]
        output = os.path.join(out, "output.pb")
        if mode == "functional":
            cmd += ["--dump-output", output]
            if check_reference:
                cmd.append("--check")
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{case_name(c)}: exit {p.returncode}: {' '.join(cmd)}\n{p.stdout[-2000:]}")
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
        row = {"case": case_name(c)}
        for k in REPORT_KEYS:
            row[k] = str(report[k])
        row["layers_sha256"] = sha256(os.path.join(out, "layers.csv"))
        row["bandwidth_sha256"] = sha256(os.path.join(out, "bandwidth.csv"))
        row["output_sha256"] = sha256(output) if mode == "functional" else ""
        return row


def load_golden():
    with open(GOLDEN) as f:
        return {r["case"]: r for r in csv.DictReader(f)}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fusesim", default=os.path.join(ROOT, "build", "fusesim"))
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--check", metavar="CASE")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("-j", type=int, default=2)
    a = ap.parse_args()
    if a.list:
        print("\n".join(case_name(c) for c in cases()))
        return 0
    if a.check:
        want = load_golden().get(a.check)
        if want is None:
            print(f"golden.py: {a.check} has no golden row: run scripts/golden.py --update")
            return 1
        got = run_case(a.fusesim, parse_case(a.check))
        drift = [k for k in FIELDS if got[k] != want[k]]
        for k in drift:
            print(f"{a.check}: {k} golden {want[k]} now {got[k]}")
        if drift:
            return 1
        print(f"{a.check}: identical ({got['cycles']} cycles)")
        return 0
    if a.update:
        with concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as pool:
            rows = list(pool.map(lambda c: run_case(a.fusesim, c, check_reference=True), cases()))
        os.makedirs(os.path.dirname(GOLDEN), exist_ok=True)
        with open(GOLDEN, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        print(f"wrote {len(rows)} rows to {os.path.relpath(GOLDEN, ROOT)}")
        return 0
    ap.print_usage()
    return 2


if __name__ == "__main__":
    sys.exit(main())
