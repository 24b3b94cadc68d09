#!/usr/bin/env python3
"""Batch on a network's classifier layers, from first principles (issue 10).

Usage: batch_fc.py FUSESIM MODEL ARCH WORKDIR MACS_PER_SAMPLE BATCH [BATCH...]

Runs MODEL in timing mode at every BATCH (ascending) and checks:
  - report.json: macs = BATCH x MACS_PER_SAMPLE, batch and the per-sample figures agree with the
    totals;
  - every fc layer's DRAM reads (layers.csv, instruction fetch excluded) are exactly its weights
    and biases once per pass of `samples` (the tile's samples sharing a weight tile) plus every
    sample's input vector once per output-channel tile: weights are not loaded per sample;
  - every fc layer's cycles per sample fall strictly from one batch to the next, and never
    beat the NFU's peak (Tn x Tn MACs a cycle).
"""
import csv, json, math, os, re, subprocess, sys


def run(fusesim, model, arch, out, batch):
    subprocess.run([fusesim, "run", "--model", model, "--arch", arch, "--mode", "timing", "--batch", str(batch),
                    "-q", "--no-timeline", "--out", out], check=True)
    report = json.load(open(os.path.join(out, "report.json")))
    layers = {r["name"]: r for r in csv.DictReader(open(os.path.join(out, "layers.csv")))}
    return report, layers


def main():
    fusesim, model, arch, work, macs = sys.argv[1:6]
    batches = [int(b) for b in sys.argv[6:]]
    errors = []
    prev = {}
    inspect = json.loads(subprocess.run([fusesim, "inspect", "--model", model, "--json"], check=True,
                                        capture_output=True, text=True).stdout)
    params = {l["name"]: l["params"] for l in inspect["layers"]}
    for n in batches:
        report, layers = run(fusesim, model, arch, os.path.join(work, f"batch{n}"), n)
        tn = 16
        if report["batch"] != n:
            errors.append(f"batch {n}: report.json batch {report['batch']}")
        if report["macs"] != n * int(macs):
            errors.append(f"batch {n}: macs {report['macs']} != {n} x {macs}")
        if abs(report["cycles_per_sample"] * n - report["cycles"]) > 1e-6 * report["cycles"]:
            errors.append(f"batch {n}: cycles_per_sample x batch != cycles")
        if abs(report["energy_pj_per_sample"] * n - report["energy_pj"]) > 1e-6 * report["energy_pj"]:
            errors.append(f"batch {n}: energy_pj_per_sample x batch != energy_pj")
        fcs = 0
        for entry in report["schedule"]:
            m = re.match(r"co=(\d+) ci=(\d+) rows=1 cols=1( samples=(\d+))?", entry["tiles"])
            name = entry["name"]
            if not name.startswith("fc") or not m:
                continue
            fcs += 1
            co, samples = int(m.group(1)), int(m.group(4) or 1)
            row = layers[name]
            # per sample: MACs = cout x cin (int16: 2 B an element)
            per_sample_macs = entry["macs"] // n
            reads = int(row["dram_read_bytes"]) - int(row["fetch_bytes"])
            # cout from the stores (every sample writes its cout outputs once), cin from the MACs
            cout = int(row["dram_write_bytes"]) // (2 * n)
            cin = per_sample_macs // cout
            weights = params[name]  # weights and biases (fusesim inspect)
            want = math.ceil(n / samples) * weights * 2 + n * cin * 2 * math.ceil(cout / co)
            if reads != want:
                errors.append(f"batch {n}: {name} reads {reads} B from DRAM, expected {want} "
                              f"(weights {weights} x {math.ceil(n / samples)} passes of {samples} samples, "
                              f"inputs {n} x {cin} x {math.ceil(cout / co)} co tiles, 2 B each)")
            per_sample = int(row["cycles"]) / n
            if per_sample < per_sample_macs / (tn * tn):
                errors.append(f"batch {n}: {name} {per_sample} cycles per sample beats the NFU peak")
            if name in prev and not per_sample < prev[name][1]:
                errors.append(f"batch {n}: {name} {per_sample:.0f} cycles per sample, not fewer than "
                              f"{prev[name][1]:.0f} at batch {prev[name][0]}")
            prev[name] = (n, per_sample)
            print(f"batch {n}: {name} tile {entry['tiles']}: {per_sample:.0f} cycles per sample, "
                  f"{reads} B read")
        if fcs == 0:
            errors.append(f"batch {n}: no fc layer in the schedule")
    for e in errors:
        print("FAIL:", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
