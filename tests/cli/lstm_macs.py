#!/usr/bin/env python3
"""An unrolled recurrent layer's MACs in layers.csv, summed per layer (rows named LAYER.tK.*),
equal G H (I + H) T, G the gates: 4 for an LSTM (the default), 3 for a GRU, 1 for an RNN; minus
G H^2 when the layer starts from a zero state (step 0 has no recurrent product: h_{-1} = 0);
plus E per step (a GRU negates its candidate, a depthwise 1x1 of H MACs per step).
A spec that starts with '+' is a layer with an initial state (`initial_state: carried`).
Usage: lstm_macs.py FUSESIM WORKDIR MODEL [+]LAYER:T:I:H[:G[:E]]..."""
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
    carried = spec.startswith("+")
    parts = spec.lstrip("+").split(":")
    name, (T, I, H) = parts[0], map(int, parts[1:4])
    G = int(parts[4]) if len(parts) > 4 else 4
    E = int(parts[5]) if len(parts) > 5 else 0
    got = sum(int(r["macs"]) for r in rows if r["name"].startswith(name + ".t"))
    zero = 0 if carried else G * H * H
    want = G * H * (I + H) * T - zero + E * T
    print(f"{name}: {got} MACs, {G}*{H}*({I}+{H})*{T}" + ("" if carried else f" - {G}*{H}^2") + f" + {E}*{T} = {want}")
    ok = ok and got == want
sys.exit(0 if ok else 1)
