#!/usr/bin/env python3
"""ONNX recurrent layers' layouts and directions against the plain forward, time-major layer.
Layout: layers with layout=1 (batch-major) against the same layers with layout=0:
for each of LSTM, GRU and RNN, one model reads X as [T, B, I] (layout 0, checked against
PyTorch elsewhere: zoo.pytorch.*), the other the same X transposed to [B, T, I] with layout=1
and the same weights; fusesim runs both in fp32 and the batch-major Y and Y_h must be the
time-major ones transposed ([T, 1, B, H] -> [B, T, 1, H], [1, B, H] -> [B, 1, H]).
T and B > 1, so that the two orders differ (ONNX's own batchwise tests have T = 1).
Direction: a reverse layer equals the forward one run on X reversed in time, its Y reversed back
(Y_h equal); a bidirectional one, with the forward weights in direction 0 and other weights in
direction 1, equals the two side by side on num_directions (Y [T, 2, B, H], Y_h [2, B, H]).
Peepholes: an LSTM with P against NumPy's LSTM equations (ONNX's), fp32 to 1e-5, forward and
bidirectional (ONNX's own peephole test has one step, where c_{t-1} is zero).
Initial state: LSTM (with peepholes), GRU and RNN with a nonzero initial_h (and initial_c) against
NumPy, fp32 to 1e-5, forward and bidirectional, B = 3 sequences each from its own state.
Refusal: an initial_h of the wrong shape is exit 2, naming the node, the op and the reason.
Usage: recurrent_layout.py FUSESIM WORKDIR"""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

exe, work = sys.argv[1], sys.argv[2]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
rng = np.random.default_rng(7)
T, B, I, H = 5, 3, 4, 6
ok = True
load = lambda p: numpy_helper.to_array(onnx.load_tensor(p))


def run(op, tag, x, inits, attrs, y_shape, h_shape):
    """Builds a one-node model, runs fusesim in fp32 on x; returns (Y, Y_h)."""
    node = helper.make_node(op, ["x", "w", "r", "b"], ["y", "y_h"], name=op.lower(), hidden_size=H, **attrs)
    graph = helper.make_graph([node], f"{op}_{tag}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape),
                               helper.make_tensor_value_info("y_h", TensorProto.FLOAT, h_shape)],
                              [numpy_helper.from_array(a, k) for k, a in zip(("w", "r", "b"), inits)])
    base = os.path.join(work, f"{op}_{tag}")
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), base + ".onnx")
    with open(base + "_x.pb", "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(x), "x").SerializeToString())
    subprocess.run([exe, "run", "--model", base + ".onnx", "--input", base + "_x.pb", "--dtype", "fp32", "--quiet",
                    "--no-timeline", "--out", base + "_out", "--dump-output", base + "_y.pb", "--dump-output", base + "_h.pb"],
                   check=True)
    return load(base + "_y.pb").reshape(y_shape), load(base + "_h.pb").reshape(h_shape)


def same(what, a, b):
    global ok
    diff = np.abs(a - b).max()
    print(f"{what}: max diff {diff:.3g}")
    ok = ok and diff == 0


for op, G in (("LSTM", 4), ("GRU", 3), ("RNN", 1)):
    extra = {"linear_before_reset": 1} if op == "GRU" else {}
    w = rng.uniform(-0.5, 0.5, (2, G * H, I)).astype(np.float32)
    r = rng.uniform(-0.5, 0.5, (2, G * H, H)).astype(np.float32)
    b = rng.uniform(-0.3, 0.3, (2, 2 * G * H)).astype(np.float32)
    fwd = (w[:1], r[:1], b[:1])
    x = rng.uniform(-1, 1, (T, B, I)).astype(np.float32)
    y0, h0 = run(op, "forward", x, fwd, extra, [T, 1, B, H], [1, B, H])
    y1, h1 = run(op, "batchwise", x.transpose(1, 0, 2), fwd, dict(extra, layout=1), [B, T, 1, H], [B, 1, H])
    same(f"{op} layout 1 Y vs layout 0 transposed", y1, y0.transpose(2, 0, 1, 3))
    same(f"{op} layout 1 Y_h vs layout 0 transposed", h1, h0.transpose(1, 0, 2))
    yr, hr = run(op, "reverse", x[::-1], fwd, dict(extra, direction="reverse"), [T, 1, B, H], [1, B, H])
    same(f"{op} reverse Y vs forward on reversed X", yr[::-1], y0)
    same(f"{op} reverse Y_h vs forward", hr, h0)
    yq, hq = run(op, "reverse_other", x, (w[1:], r[1:], b[1:]), dict(extra, direction="reverse"), [T, 1, B, H], [1, B, H])
    yb, hb = run(op, "bidirectional", x, (w, r, b), dict(extra, direction="bidirectional"), [T, 2, B, H], [2, B, H])
    same(f"{op} bidirectional Y vs forward and reverse", yb, np.concatenate([y0, yq], axis=1))
    same(f"{op} bidirectional Y_h vs forward and reverse", hb, np.concatenate([h0, hq], axis=0))


sig = lambda v: 1 / (1 + np.exp(-v))


def numpy_lstm(x, w, r, b, p, reverse=False, h0=None, c0=None):
    """ONNX's LSTM equations, gate order i, o, f, c; x [T, B, I]; returns Y [T, B, H], Y_h [B, H]."""
    h = np.zeros((x.shape[1], H), np.float64) if h0 is None else h0.astype(np.float64)
    c = np.zeros_like(h) if c0 is None else c0.astype(np.float64)
    ys = [None] * T
    for k in range(T):
        t = T - 1 - k if reverse else k
        g = x[t] @ w.T + h @ r.T + b[:4 * H] + b[4 * H:]
        i = sig(g[:, :H] + p[:H] * c)
        f = sig(g[:, 2 * H:3 * H] + p[2 * H:] * c)
        c = f * c + i * np.tanh(g[:, 3 * H:])
        o = sig(g[:, H:2 * H] + p[H:2 * H] * c)
        h = o * np.tanh(c)
        ys[t] = h
    return np.stack(ys), h


def close(what, a, b):
    global ok
    diff = np.abs(a - b).max()
    print(f"{what}: max diff {diff:.3g}")
    ok = ok and diff <= 1e-5


w = rng.uniform(-0.5, 0.5, (2, 4 * H, I)).astype(np.float32)
r = rng.uniform(-0.5, 0.5, (2, 4 * H, H)).astype(np.float32)
b = rng.uniform(-0.3, 0.3, (2, 8 * H)).astype(np.float32)
p = rng.uniform(-0.8, 0.8, (2, 3 * H)).astype(np.float32)
x = rng.uniform(-1, 1, (T, B, I)).astype(np.float32)


def run_peep(tag, inits, attrs, y_shape, h_shape, op="LSTM", names=("w", "r", "b", "p")):
    slots = {"w": 1, "r": 2, "b": 3, "h0": 5, "c0": 6, "p": 7}
    node_inputs = ["x"] + [""] * max(slots[k] for k in names)
    for k in names:
        node_inputs[slots[k]] = k
    node = helper.make_node(op, node_inputs, ["y", "y_h"], name=op.lower(), hidden_size=H, **attrs)
    graph = helper.make_graph([node], op + "_" + tag, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape),
                               helper.make_tensor_value_info("y_h", TensorProto.FLOAT, h_shape)],
                              [numpy_helper.from_array(a, k) for k, a in zip(names, inits)])
    base = os.path.join(work, op + "_" + tag)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), base + ".onnx")
    with open(base + "_x.pb", "wb") as f:
        f.write(numpy_helper.from_array(x, "x").SerializeToString())
    subprocess.run([exe, "run", "--model", base + ".onnx", "--input", base + "_x.pb", "--dtype", "fp32", "--quiet",
                    "--no-timeline", "--out", base + "_out", "--dump-output", base + "_y.pb", "--dump-output", base + "_h.pb"],
                   check=True)
    return load(base + "_y.pb").reshape(y_shape), load(base + "_h.pb").reshape(h_shape)


yf, hf = numpy_lstm(x.astype(np.float64), w[0], r[0], b[0], p[0])
yp, hp = run_peep("peepholes", (w[:1], r[:1], b[:1], p[:1]), {}, [T, 1, B, H], [1, B, H])
close("LSTM peepholes Y vs NumPy", yp[:, 0], yf)
close("LSTM peepholes Y_h vs NumPy", hp[0], hf)
yr, hr = numpy_lstm(x.astype(np.float64), w[1], r[1], b[1], p[1], reverse=True)
yb, hb = run_peep("peepholes_bidirectional", (w, r, b, p), {"direction": "bidirectional"}, [T, 2, B, H], [2, B, H])
close("LSTM peepholes bidirectional Y vs NumPy", yb, np.stack([yf, yr], axis=1))
close("LSTM peepholes bidirectional Y_h vs NumPy", hb, np.stack([hf, hr]))

# a nonzero initial state: each of the B sequences (and each direction) from its own h0 (and c0)
h0 = rng.uniform(-0.8, 0.8, (2, B, H)).astype(np.float32)
c0 = rng.uniform(-1.5, 1.5, (2, B, H)).astype(np.float32)
yf, hf = numpy_lstm(x.astype(np.float64), w[0], r[0], b[0], p[0], h0=h0[0], c0=c0[0])
yr, hr = numpy_lstm(x.astype(np.float64), w[1], r[1], b[1], p[1], reverse=True, h0=h0[1], c0=c0[1])
names = ("w", "r", "b", "h0", "c0", "p")
ys, hs = run_peep("initial_state", (w[:1], r[:1], b[:1], h0[:1], c0[:1], p[:1]), {}, [T, 1, B, H], [1, B, H], names=names)
close("LSTM initial h, c Y vs NumPy", ys[:, 0], yf)
close("LSTM initial h, c Y_h vs NumPy", hs[0], hf)
ys, hs = run_peep("initial_state_bidirectional", (w, r, b, h0, c0, p), {"direction": "bidirectional"}, [T, 2, B, H], [2, B, H],
                  names=names)
close("LSTM initial h, c bidirectional Y vs NumPy", ys, np.stack([yf, yr], axis=1))
close("LSTM initial h, c bidirectional Y_h vs NumPy", hs, np.stack([hf, hr]))


def numpy_gru(x, w, r, b, h, lbr):
    """ONNX's GRU equations, gate order z, r, h; returns Y [T, B, H]."""
    h = h.astype(np.float64)
    wb, rb = b[:3 * H], b[3 * H:]
    ys = []
    for t in range(T):
        gx = x[t] @ w.T + wb
        zr = sig(gx[:, :2 * H] + h @ r[:2 * H].T + rb[:2 * H])
        z, rr = zr[:, :H], zr[:, H:]
        if lbr:
            hh = np.tanh(gx[:, 2 * H:] + rr * (h @ r[2 * H:].T + rb[2 * H:]))
        else:
            hh = np.tanh(gx[:, 2 * H:] + (rr * h) @ r[2 * H:].T + rb[2 * H:])
        h = (1 - z) * hh + z * h
        ys.append(h)
    return np.stack(ys)


for lbr in (0, 1):
    wg = rng.uniform(-0.5, 0.5, (1, 3 * H, I)).astype(np.float32)
    rg = rng.uniform(-0.5, 0.5, (1, 3 * H, H)).astype(np.float32)
    bg = rng.uniform(-0.3, 0.3, (1, 6 * H)).astype(np.float32)
    yg, _ = run_peep(f"initial_h_lbr{lbr}", (wg, rg, bg, h0[:1]), {"linear_before_reset": lbr}, [T, 1, B, H], [1, B, H],
                     op="GRU", names=("w", "r", "b", "h0"))
    close(f"GRU (linear_before_reset {lbr}) initial h Y vs NumPy", yg[:, 0],
          numpy_gru(x.astype(np.float64), wg[0], rg[0], bg[0], h0[0], lbr))
wn = rng.uniform(-0.5, 0.5, (1, H, I)).astype(np.float32)
rn = rng.uniform(-0.5, 0.5, (1, H, H)).astype(np.float32)
bn = rng.uniform(-0.3, 0.3, (1, 2 * H)).astype(np.float32)
yn, _ = run_peep("initial_h", (wn, rn, bn, h0[:1]), {}, [T, 1, B, H], [1, B, H], op="RNN", names=("w", "r", "b", "h0"))
hn, want = h0[0].astype(np.float64), []
for t in range(T):
    hn = np.tanh(x[t] @ wn[0].T + hn @ rn[0].T + bn[0, :H] + bn[0, H:])
    want.append(hn)
close("RNN initial h Y vs NumPy", yn[:, 0], np.stack(want))

node = helper.make_node("LSTM", ["x", "w", "r", "", "", "h0"], ["y"], name="lstm_h0", hidden_size=H)
graph = helper.make_graph([node], "lstm_h0", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [T, B, I])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [T, 1, B, H])],
                          [numpy_helper.from_array(w[:1], "w"), numpy_helper.from_array(r[:1], "r"),
                           numpy_helper.from_array(np.full((1, 1, H), 0.5, np.float32), "h0")])
bad = os.path.join(work, "lstm_h0.onnx")
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), bad)
res = subprocess.run([exe, "compile", "--model", bad], capture_output=True, text=True)
want = "node 'lstm_h0' (LSTM)"
print(f"initial_h of the wrong shape: exit {res.returncode}: {res.stderr.strip()}")
ok = ok and res.returncode == 2 and want in res.stderr and "initial_h has shape [1,1,6]" in res.stderr
sys.exit(0 if ok else 1)
