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
Refusal: an LSTM with a nonzero initial_h is exit 2, naming the node, the op and the reason.
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


def numpy_lstm(x, w, r, b, p, reverse=False):
    """ONNX's LSTM equations, gate order i, o, f, c; x [T, B, I]; returns Y [T, B, H], Y_h [B, H]."""
    sig = lambda v: 1 / (1 + np.exp(-v))
    h = np.zeros((x.shape[1], H), np.float64)
    c = np.zeros_like(h)
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


def run_peep(tag, inits, attrs, y_shape, h_shape):
    node_inputs = ["x", "w", "r", "b", "", "", "", "p"]
    node = helper.make_node("LSTM", node_inputs, ["y", "y_h"], name="lstm", hidden_size=H, **attrs)
    graph = helper.make_graph([node], "lstm_" + tag, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape),
                               helper.make_tensor_value_info("y_h", TensorProto.FLOAT, h_shape)],
                              [numpy_helper.from_array(a, k) for k, a in zip(("w", "r", "b", "p"), inits)])
    base = os.path.join(work, "LSTM_" + tag)
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

node = helper.make_node("LSTM", ["x", "w", "r", "", "", "h0"], ["y"], name="lstm_h0", hidden_size=H)
graph = helper.make_graph([node], "lstm_h0", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [T, B, I])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [T, 1, B, H])],
                          [numpy_helper.from_array(w[:1], "w"), numpy_helper.from_array(r[:1], "r"),
                           numpy_helper.from_array(np.full((1, B, H), 0.5, np.float32), "h0")])
bad = os.path.join(work, "lstm_h0.onnx")
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), bad)
res = subprocess.run([exe, "compile", "--model", bad], capture_output=True, text=True)
want = "node 'lstm_h0' (LSTM)"
print(f"nonzero initial_h: exit {res.returncode}: {res.stderr.strip()}")
ok = ok and res.returncode == 2 and want in res.stderr and "nonzero initial_h" in res.stderr
sys.exit(0 if ok else 1)
