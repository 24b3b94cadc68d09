#!/usr/bin/env python3
"""ONNX recurrent layers with layout=1 (batch-major) against the same layers with layout=0:
for each of LSTM, GRU and RNN, one model reads X as [T, B, I] (layout 0, checked against
PyTorch elsewhere: zoo.pytorch.*), the other the same X transposed to [B, T, I] with layout=1
and the same weights; fusesim runs both in fp32 and the batch-major Y and Y_h must be the
time-major ones transposed ([T, 1, B, H] -> [B, T, 1, H], [1, B, H] -> [B, 1, H]).
T and B > 1, so that the two orders differ (ONNX's own batchwise tests have T = 1).
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
for op, G in (("LSTM", 4), ("GRU", 3), ("RNN", 1)):
    w = rng.uniform(-0.5, 0.5, (1, G * H, I)).astype(np.float32)
    r = rng.uniform(-0.5, 0.5, (1, G * H, H)).astype(np.float32)
    b = rng.uniform(-0.3, 0.3, (1, 2 * G * H)).astype(np.float32)
    x_tm = rng.uniform(-1, 1, (T, B, I)).astype(np.float32)
    outs = {}
    for layout in (0, 1):
        x_shape, y_shape, h_shape = ([T, B, I], [T, 1, B, H], [1, B, H]) if layout == 0 else ([B, T, I], [B, T, 1, H], [B, 1, H])
        attrs = {"hidden_size": H}
        if layout:
            attrs["layout"] = 1
        if op == "GRU":
            attrs["linear_before_reset"] = 1
        node = helper.make_node(op, ["x", "w", "r", "b"], ["y", "y_h"], name=op.lower(), **attrs)
        graph = helper.make_graph([node], f"{op}_layout{layout}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape),
                                   helper.make_tensor_value_info("y_h", TensorProto.FLOAT, h_shape)],
                                  [numpy_helper.from_array(w, "w"), numpy_helper.from_array(r, "r"), numpy_helper.from_array(b, "b")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
        base = os.path.join(work, f"{op}_{layout}")
        onnx.save(model, base + ".onnx")
        x = x_tm if layout == 0 else np.ascontiguousarray(x_tm.transpose(1, 0, 2))
        with open(base + "_x.pb", "wb") as f:
            f.write(numpy_helper.from_array(x, "x").SerializeToString())
        subprocess.run([exe, "run", "--model", base + ".onnx", "--input", base + "_x.pb", "--dtype", "fp32", "--quiet",
                        "--no-timeline", "--out", base + "_out", "--dump-output", base + "_y.pb", "--dump-output", base + "_h.pb"],
                       check=True)
        load = lambda p: numpy_helper.to_array(onnx.load_tensor(p))
        outs[layout] = (load(base + "_y.pb").reshape(y_shape), load(base + "_h.pb").reshape(h_shape))
    (y0, h0), (y1, h1) = outs[0], outs[1]
    dy = np.abs(y1 - y0.transpose(2, 0, 1, 3)).max()
    dh = np.abs(h1 - h0.transpose(1, 0, 2)).max()
    print(f"{op}: layout 1 vs layout 0 transposed: Y max diff {dy:.3g}, Y_h max diff {dh:.3g}")
    ok = ok and dy == 0 and dh == 0
sys.exit(0 if ok else 1)
