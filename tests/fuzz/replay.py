#!/usr/bin/env python3
"""Replays the fuzz corpus of one front end (tests/fuzz/corpus/TARGET) through the fusesim CLI.

Each input was a fuzzer finding (or a near miss): it must now give exit 0 (the mutation happens to
be valid) or exit 2 with a "fusesim: error:" line, within a time bound; exit 1 ("internal error"),
a signal or a time-out fails the test. The command per target is the one its fuzz target mirrors
(docs/hardening.md, "Fuzzing").

Usage: replay.py FUSESIM SOURCE_DIR WORK_DIR TARGET
"""
import os
import shutil
import subprocess
import sys

TIMEOUT_S = 20


def command(fusesim, src, work, target, path):
    """The CLI arguments for one corpus file, after copying it to WORK with its loader's extension."""
    data = open(path, "rb").read()
    if target == "arch":  # the arch text, a NUL byte, then one KEY=VALUE override per line
        text, _, sets = data.partition(b"\0")
        arch = os.path.join(work, "arch.yaml")
        open(arch, "wb").write(text)
        args = ["compile", "--model", os.path.join(src, "models", "lenet5.yaml"), "--arch", arch]
        for line in sets.decode("utf-8", "replace").splitlines():
            if "=" in line:
                args += ["--set", line]
        return [fusesim] + args
    ext = {"model": ".yaml", "sweep": ".yaml", "onnx": ".onnx", "tensor": ".pb"}[target]
    copy = os.path.join(work, "input" + ext)
    shutil.copyfile(path, copy)
    if target in ("model", "onnx"):
        return [fusesim, "compile", "--model", copy]
    if target == "sweep":
        return [fusesim, "sweep", copy, "--dry-run", "--out", os.path.join(work, "sweep-out")]
    return [fusesim, "run", "-q", "--model", os.path.join(src, "models", "lenet5.yaml"), "--input", copy,
            "--no-timeline"]


def main():
    fusesim, src, work = (os.path.abspath(a) for a in sys.argv[1:4])
    target = sys.argv[4]
    corpus = os.path.join(src, "tests", "fuzz", "corpus", target)
    files = sorted(f for f in os.listdir(corpus) if not f.startswith("."))
    if not files:
        print(f"no inputs in {corpus}")
        return 1
    os.makedirs(work, exist_ok=True)
    failures = 0
    for name in files:
        cmd = command(fusesim, src, work, target, os.path.join(corpus, name))
        try:
            r = subprocess.run(cmd, cwd=work, capture_output=True, text=True, errors="replace", timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print(f"FAIL {name}: no answer within {TIMEOUT_S} s")
            failures += 1
            continue
        last = (r.stderr.strip().splitlines() or [""])[-1]
        ok = r.returncode == 0 or (r.returncode == 2 and "fusesim: error:" in r.stderr)
        print(f"{'ok  ' if ok else 'FAIL'} {name}: exit {r.returncode} {last[:160]}")
        failures += not ok
    print(f"{len(files) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
