#!/usr/bin/python3
"""The zoo both ways (issue 4): each YAML zoo network and torchvision's ONNX export of it give the
same graph after import and canonicalization.

For every network: export the torchvision model (random init, eval, 1x3x224x224, opset 13) into a
temporary directory, run `fusesim inspect --canonical --json` on models/NAME.yaml and on the .onnx,
and compare
  - the total MACs, and
  - the sequence of (op, output shape, activation) over the live layers in topological order,
    leaving out the layers that only move data (identity, dropout, flatten, reshape).
Names differ between the two and are not compared. A mismatch names the layers on both sides.

Needs Debian's python3-torchvision; run with /usr/bin/python3 (not a pyenv python3). Exit codes:
0 all equal, 1 a mismatch, 2 bad usage, 77 torchvision is not importable (ctest's SKIP_RETURN_CODE).
Usage:
  /usr/bin/python3 scripts/zoo_onnx_check.py FUSESIM [--models DIR] [--keep DIR] [NAME...]
"""
import argparse
import difflib
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

NETWORKS = ["resnet18", "resnet50", "mobilenet_v2", "squeezenet1_0", "googlenet", "vgg16", "alexnet"]
DATA_MOVES = {"identity", "dropout", "flatten", "reshape"}
SKIP = 77


def export(torch, torchvision, name, path):
    # googlenet: no auxiliary heads (the zoo's googlenet has none); init_weights avoids the
    # deprecation warning of the default. Random init: only the structure matters here.
    kwargs = {"aux_logits": False, "init_weights": True} if name == "googlenet" else {}
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None, **kwargs).eval()
    x = torch.zeros(1, 3, 224, 224)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"],
                          do_constant_folding=True)


def inspect(fusesim, model):
    r = subprocess.run([fusesim, "inspect", "--canonical", "--json", "--model", model], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"fusesim inspect {model} failed (exit {r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def signature(report):
    """(op, output, act) per compared layer, and the layer names alongside."""
    sig, names = [], []
    for layer in report["layers"]:
        if layer["op"] in DATA_MOVES:
            continue
        sig.append((layer["op"], layer["output"], layer.get("act", "?")))
        names.append(layer["name"])
    return sig, names


def fmt(entry):
    op, out, act = entry
    return f"{op} {out}" + ("" if act == "none" else f" +{act}")


def compare(name, yaml_rep, onnx_rep):
    """Returns a list of human-readable differences (empty when the graphs agree)."""
    problems = []
    if yaml_rep["macs"] != onnx_rep["macs"]:
        problems.append(f"MACs differ: yaml {yaml_rep['macs']:,} onnx {onnx_rep['macs']:,} "
                        f"(onnx - yaml = {onnx_rep['macs'] - yaml_rep['macs']:,})")
    ys, yn = signature(yaml_rep)
    os_, on = signature(onnx_rep)
    if ys != os_:
        problems.append(f"layer lists differ: yaml {len(ys)} layers, onnx {len(os_)} layers")
        sm = difflib.SequenceMatcher(a=ys, b=os_, autojunk=False)
        for tag, i1, i2, j1, j2 in sm.get_opcodes():
            if tag == "equal":
                continue
            left = "; ".join(f"#{i} {yn[i]}: {fmt(ys[i])}" for i in range(i1, i2)) or "-"
            right = "; ".join(f"#{j} {on[j]}: {fmt(os_[j])}" for j in range(j1, j2)) or "-"
            problems.append(f"  {tag}: yaml [{left}]  onnx [{right}]")
        if sorted(ys) == sorted(os_):
            problems.append("  (the same layers in a different topological order)")
    if yaml_rep["params"] != onnx_rep["params"]:
        # canonicalized params: BatchNorm folded into conv biases on both sides, so they compare too
        problems.append(f"params differ: yaml {yaml_rep['params']:,} onnx {onnx_rep['params']:,}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("fusesim")
    ap.add_argument("--models", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
    ap.add_argument("--keep", help="export into this directory and keep the .onnx files")
    ap.add_argument("names", nargs="*", default=NETWORKS)
    args = ap.parse_args()
    unknown = [n for n in args.names if n not in NETWORKS]
    if unknown:
        print(f"zoo_onnx_check: unknown network(s) {unknown}; known: {NETWORKS}", file=sys.stderr)
        return 2
    try:
        import torch
        import torchvision
    except ImportError as e:
        print(f"zoo_onnx_check: SKIP: torchvision is not importable by {sys.executable} ({e}); "
              "install Debian's python3-torchvision", file=sys.stderr)
        return SKIP
    failed = []
    with tempfile.TemporaryDirectory(prefix="zoo_onnx_") as tmp:
        out_dir = args.keep or tmp
        os.makedirs(out_dir, exist_ok=True)
        for name in args.names:
            path = os.path.join(out_dir, name + ".onnx")
            t0 = time.time()
            export(torch, torchvision, name, path)
            t1 = time.time()
            try:
                yaml_rep = inspect(args.fusesim, os.path.join(args.models, name + ".yaml"))
                onnx_rep = inspect(args.fusesim, path)
                problems = compare(name, yaml_rep, onnx_rep)
            except RuntimeError as e:
                problems = [str(e)]
            finally:
                if not args.keep:
                    os.remove(path)  # vgg16 alone is 550 MB
            t2 = time.time()
            status = "ok" if not problems else "MISMATCH"
            print(f"{name}: {status} ({len(signature(yaml_rep)[0]) if not problems else '-'} layers, "
                  f"export {t1 - t0:.1f} s, inspect {t2 - t1:.1f} s)", flush=True)
            for p in problems:
                print(f"  {p}", flush=True)
            if problems:
                failed.append(name)
    print(f"{len(args.names) - len(failed)} of {len(args.names)} networks agree" +
          (f"; mismatches: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
