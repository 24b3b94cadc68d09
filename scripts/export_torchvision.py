#!/usr/bin/env python3
"""Exports torchvision networks to ONNX test-case folders for `fusesim onnx-test` (development machines).

Each network becomes OUTDIR/NAME/model.onnx plus test_data_set_0/{input_0,output_0}.pb, the output being
PyTorch's own on a 1x3x224x224 input (torch.onnx.export, opset 13, eval mode). Nothing here is committed.

Weights: pretrained when torchvision has them cached locally (TORCH_HOME); otherwise random init with a
fixed seed (torch.manual_seed), which is what a machine without network access gets. The script prints
which one each network used.

Needs Debian's python3-torchvision (apt install python3-torchvision). Usage:
  /usr/bin/python3 scripts/export_torchvision.py OUTDIR [NAME...]
  build/fusesim onnx-test OUTDIR
  build/fusesim run --model OUTDIR/resnet18/model.onnx --dtype fp32 \\
      --input OUTDIR/resnet18/test_data_set_0/input_0.pb --expect OUTDIR/resnet18/test_data_set_0/output_0.pb
"""
import os
import sys

import torch
import torchvision
from onnx import numpy_helper

NETWORKS = ["resnet18", "resnet50", "mobilenet_v2", "squeezenet1_0", "googlenet", "shufflenet_v2_x1_0"]
SEED = 20240501


def build(name):
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    ctor = getattr(torchvision.models, name)
    try:
        model = ctor(weights="DEFAULT", **kwargs)  # only succeeds with a local weight cache
        source = "pretrained"
    except Exception:  # no network access: a seeded random init
        torch.manual_seed(SEED)
        model = ctor(weights=None, **kwargs)
        source = f"random init (seed {SEED})"
    return model.eval(), source


def write_pb(array, name, path):
    t = numpy_helper.from_array(array, name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def export(name, out):
    model, source = build(name)
    case = os.path.join(out, name)
    data = os.path.join(case, "test_data_set_0")
    os.makedirs(data, exist_ok=True)
    torch.manual_seed(SEED + 1)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        y = model(x)
    path = os.path.join(case, "model.onnx")
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                      do_constant_folding=True)
    write_pb(x.numpy(), "input", os.path.join(data, "input_0.pb"))
    write_pb(y.numpy(), "output", os.path.join(data, "output_0.pb"))
    print(f"{name}: {source}, {os.path.getsize(path) / 1e6:.1f} MB, output {tuple(y.shape)}", flush=True)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    for name in sys.argv[2:] or NETWORKS:
        export(name, out)


if __name__ == "__main__":
    main()
