#!/usr/bin/env python3
"""An unrolled LSTM's MACs in layers.csv, summed per LSTM layer (rows named LAYER.tK.*), equal
4 H (I + H) T - 4 H^2 (step 0 has no recurrent product: h_{-1} = 0).
Usage: lstm_macs.py FUSESIM WORKDIR MODEL LAYER:T:I:H..."""
import csv
import os
import shutil
import subprocess
import sys

exe, work, model, specs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
shutil.rmtree(work, ignore_errors=True)
subprocess.run([exe, "run", "--model", model, "--mode", "timing", "--out", work, "--quiet", "--no-timeline"], check=True)
rows = list(csv.DictReader(open(os.path.join(work, "layers.csv"))))
ok = True
for spec in specs:
    name, T, I, H = spec.split(":")
    T, I, H = int(T), int(I), int(H)
    got = sum(int(r["macs"]) for r in rows if r["name"].startswith(name + ".t"))
    want = 4 * H * (I + H) * T - 4 * H * H
    print(f"{name}: {got} MACs, 4*{H}*({I}+{H})*{T} - 4*{H}^2 = {want}")
    ok = ok and got == want
sys.exit(0 if ok else 1)
