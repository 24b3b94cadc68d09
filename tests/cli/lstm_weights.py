#!/usr/bin/env python3
"""An unrolled LSTM whose W and R fit SB together reads each from DRAM once (keep_shared_weights):
from layers.csv, the DRAM bytes its steps' input products read (less instruction fetch) are
W and its bias once plus every step's input vector, 2 (4 H I + 4 H) + 2 T I, and its recurrent
products' are R once plus every step's h_{t-1}, 2 (4 H H) + 2 (T - 1) H (step 0 has none).
Usage: lstm_weights.py FUSESIM WORKDIR MODEL LAYER:T:I:H [RUN-ARGS...]"""
import csv
import os
import shutil
import subprocess
import sys

exe, work, model, spec, extra = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
shutil.rmtree(work, ignore_errors=True)
subprocess.run([exe, "run", "--model", model, "--mode", "timing", "--out", work, "--quiet", "--no-timeline"] + extra,
               check=True)
rows = list(csv.DictReader(open(os.path.join(work, "layers.csv"))))
name, T, I, H = spec.split(":")[0], *map(int, spec.split(":")[1:])
def read(kind):
    sel = [r for r in rows if r["name"].startswith(name + ".t") and r["name"].endswith("." + kind)]
    return sum(int(r["dram_read_bytes"]) - int(r["fetch_bytes"]) for r in sel), len(sel)
gx, nx = read("gates_x")
gh, nh = read("gates_h")
want_x = 2 * (4 * H * I + 4 * H) + 2 * T * I
want_h = 2 * 4 * H * H + 2 * (T - 1) * H
print(f"{name}: {nx} input products read {gx} B (W and bias once + the inputs: {want_x}); "
      f"{nh} recurrent products read {gh} B (R once + h: {want_h})")
sys.exit(0 if (gx, gh, nx, nh) == (want_x, want_h, T, T - 1) else 1)
