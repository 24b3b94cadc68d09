#!/usr/bin/env python3
"""Regenerates issue 12's bad-input campaign: seeded mutations of the five front ends' inputs, each
run through the fusesim CLI under a time and memory bound, and the figures the issue asks for.

Inputs (all derived from files in the repo, deterministic for a given --seed):
  model   models/{lenet5,tinydag,shuffle_unit,nfu3_functions}.yaml     -> fusesim compile --model F
  arch    configs/arch/*.yaml (+ --set overrides on diannao.yaml)       -> fusesim compile --model
                                                                           models/lenet5.yaml --arch F
  sweep   configs/sweeps/*.yaml                                         -> fusesim sweep F --dry-run
  onnx    models/onnx/*.onnx                                            -> fusesim compile --model F
  tensor  a LeNet-5 output dumped by `run --dump-output`, a 1x32x32 input and
          tests/fuzz/corpus/tensor/*.pb                                 -> fusesim run --model
                                                                           models/lenet5.yaml --expect F
                                                                           (or --input F)
Mutations: deleted, duplicated, swapped lines; numbers replaced by 0, -1, huge, 2^31, 2^62, 1e300,
nan, strings...; keys misspelt or unknown; duplicate keys; truncation; deep nesting; empty and
scalar files; byte flips and protobuf field edits (varints, deletions, duplications) for the
binaries; `--set arch.K=V` with bad values.

Results: out/bad_input_campaign/results.csv (one row per input) and inputs/ (every input, so each
row's reproducer exists). Prints exits by code, signals (crashes), time-outs (hangs), OOMs, the share
of exit-2 messages with a location, the exit-1 "internal error" count, and every case that is not
exit 0 or exit 2 with its reproducer.

Exit status 1 when any input is not exit 0, exit 2 or an --expect mismatch; with --strict also
when an exit-2 message has no location. ctest runs it that way (bad_input.campaign).

Usage: scripts/bad_input_campaign.py [--fusesim build/fusesim] [--seed 12] [--jobs 2]
       [--timeout 20] [--mem-gib 4] [--scale 1.0] [--out out/bad_input_campaign]
       [--strict] [--min-inputs N]
"""
import argparse
import collections
import concurrent.futures as cf
import csv
import os
import random
import re
import resource
import shutil
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BAD_NUMBERS = ["0", "-1", "-0", "99999999999999999999999", "2147483648", "2147483647", "-2147483649",
               "4294967296", "4611686018427387904", "9223372036854775807", "9223372036854775808",
               "1e300", "-1e300", "1e-300", "nan", ".nan", ".inf", "-.inf", "abc", '"12"', "0x10",
               "1.5", "~", "[]", "{}", "true", "1KiB", "16EiB"]
SCALAR_FILES = ["", "\n", "42", "~", "null", "- a\n- b\n", "foo", "[1, 2, 3]", "{}", "\"just a string\"",
                "\t\x00\x01garbage", "\ufeffname: x\n", "---\n---\n", "a: &a [*a]\n", "? [a]\n: b\n"]


# ---------------------------------------------------------------------------------------- text
def lines_of(text):
    return text.splitlines(keepends=True)


NUM_RE = re.compile(r"(?<![\w.])-?\d+(\.\d+)?([eE][-+]?\d+)?(KiB|MiB|GiB|KB|MB|B)?(?![\w.])")
KEY_RE = re.compile(r"([A-Za-z_][\w]*)(\s*):(?=\s)")


def mutate_text(rng, text):
    """One mutation of a YAML text; returns (kind, new_text)."""
    ls = lines_of(text)
    kind = rng.choice(["delete_line", "dup_line", "swap_lines", "number", "number", "number", "number",
                       "key_typo", "key_unknown", "key_swap", "dup_key", "dup_key", "truncate",
                       "deep_nesting", "scalar_file", "indent", "value_to_list"])
    if kind in ("delete_line", "dup_line", "swap_lines", "indent") and len(ls) < 2:
        kind = "truncate"
    if kind == "delete_line":
        i = rng.randrange(len(ls))
        del ls[i]
        return kind, "".join(ls)
    if kind == "dup_line":
        i = rng.randrange(len(ls))
        ls.insert(i, ls[i])
        return kind, "".join(ls)
    if kind == "swap_lines":
        i, j = rng.sample(range(len(ls)), 2)
        ls[i], ls[j] = ls[j], ls[i]
        return kind, "".join(ls)
    if kind == "indent":
        i = rng.randrange(len(ls))
        ls[i] = rng.choice(["  ", " ", "\t", "    "]) + ls[i] if rng.random() < 0.6 else ls[i].lstrip()
        return kind, "".join(ls)
    if kind == "number":
        m = [m for m in NUM_RE.finditer(text) if not _in_comment(text, m.start())]
        if m:
            m = rng.choice(m)
            return kind, text[:m.start()] + rng.choice(BAD_NUMBERS) + text[m.end():]
        kind = "key_typo"
    keys = [m for m in KEY_RE.finditer(text) if not _in_comment(text, m.start())]
    if kind in ("key_typo", "key_unknown", "key_swap", "dup_key", "value_to_list") and not keys:
        kind = "truncate"
    if kind == "key_typo":
        m = rng.choice(keys)
        k = m.group(1)
        i = rng.randrange(len(k))
        op = rng.randrange(4)
        if op == 0 and len(k) > 1:
            k2 = k[:i] + k[i + 1:]
        elif op == 1:
            k2 = k[:i] + k[i] + k[i:]
        elif op == 2 and len(k) > 1:
            i = min(i, len(k) - 2)
            k2 = k[:i] + k[i + 1] + k[i] + k[i + 2:]
        else:
            k2 = k.upper()
        return kind, text[:m.start(1)] + k2 + text[m.end(1):]
    if kind == "key_unknown":
        m = rng.choice(keys)
        return kind, text[:m.start(1)] + rng.choice(["bogus", "unknown_key", "x", "layers2", "__proto__"]) + text[m.end(1):]
    if kind == "key_swap":
        m, m2 = rng.choice(keys), rng.choice(keys)
        return kind, text[:m.start(1)] + m2.group(1) + text[m.end(1):]
    if kind == "dup_key":
        m = rng.choice(keys)
        # the same key again right after this one, in the same map: flow maps get ", k: v", block
        # maps get a copy of the line
        ls_start = text.rfind("\n", 0, m.start()) + 1
        ls_end = text.find("\n", m.end())
        ls_end = len(text) if ls_end < 0 else ls_end + 1
        line = text[ls_start:ls_end]
        before = text[ls_start:m.start()]
        if "{" in before or ("," in before and "-" not in before.strip()[:1]):
            val = rng.choice(["1", "0", "x", "[1]", "-1"])
            return kind, text[:m.start()] + f"{m.group(1)}: {val}, " + text[m.start():]
        return kind, text[:ls_end] + line + text[ls_end:]
    if kind == "value_to_list":
        m = rng.choice(keys)
        return kind, text[:m.end()] + " " + rng.choice(["[", "[[1]]", "{a: 1}", "*nope", "!!binary x", "&a", "|"]) + text[m.end():]
    if kind == "truncate":
        n = rng.randrange(len(text)) if text else 0
        return kind, text[:n]
    if kind == "deep_nesting":
        n = rng.choice([64, 512, 4096, 20000])
        nest = rng.choice([("[" * n, "]" * n), ("{a: " * n, "}" * n)])
        m = [m for m in NUM_RE.finditer(text) if not _in_comment(text, m.start())]
        if m:
            m = rng.choice(m)
            return kind, text[:m.start()] + nest[0] + "1" + nest[1] + text[m.end():]
        return kind, text + "\nx: " + nest[0] + "1" + nest[1] + "\n"
    return "scalar_file", rng.choice(SCALAR_FILES)


def _in_comment(text, pos):
    start = text.rfind("\n", 0, pos) + 1
    return "#" in text[start:pos]


# ---------------------------------------------------------------------------------------- protobuf
def _varint(data, i):
    v = shift = 0
    while True:
        if i >= len(data) or shift > 63:
            raise ValueError
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def _enc_varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_parse(data, depth=0):
    """A message as a list of [field, wire, value]; length-delimited values that parse as messages
    become lists themselves (a guess, good enough to mutate)."""
    out, i = [], 0
    while i < len(data):
        key, i = _varint(data, i)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise ValueError
        if wire == 0:
            v, i = _varint(data, i)
        elif wire == 1:
            if i + 8 > len(data):
                raise ValueError
            v, i = data[i:i + 8], i + 8
        elif wire == 5:
            if i + 4 > len(data):
                raise ValueError
            v, i = data[i:i + 4], i + 4
        elif wire == 2:
            n, i = _varint(data, i)
            if i + n > len(data):
                raise ValueError
            v, i = data[i:i + n], i + n
            if depth < 12 and n > 0:
                try:
                    v = pb_parse(v, depth + 1)
                except ValueError:
                    pass
        else:
            raise ValueError
        out.append([field, wire, v])
    return out


def pb_serialize(msg):
    out = bytearray()
    for field, wire, v in msg:
        out += _enc_varint(field << 3 | wire)
        if wire == 0:
            out += _enc_varint(v)
        elif wire == 2:
            b = pb_serialize(v) if isinstance(v, list) else v
            out += _enc_varint(len(b)) + b
        else:
            out += v
    return bytes(out)


def pb_nodes(msg, acc=None):
    acc = [] if acc is None else acc
    for e in msg:
        acc.append((msg, e))
        if e[1] == 2 and isinstance(e[2], list):
            pb_nodes(e[2], acc)
    return acc


BAD_VARINTS = [0, 1, (1 << 64) - 1, 1 << 31, (1 << 31) - 1, 1 << 32, 1 << 62, (1 << 63) - 1, 1 << 63, 255, 65536,
               (1 << 64) - 100]


def mutate_binary(rng, data):
    """One mutation of a protobuf file; returns (kind, new_bytes)."""
    kind = rng.choice(["byte_flip", "byte_flips", "truncate", "varint", "varint", "varint", "delete_field",
                       "dup_field", "bytes_field", "insert_bytes", "empty"])
    if kind in ("varint", "delete_field", "dup_field", "bytes_field"):
        try:
            msg = pb_parse(data)
        except ValueError:
            msg = None
        nodes = pb_nodes(msg) if msg else []
        if kind == "varint":
            cand = [(p, e) for p, e in nodes if e[1] == 0]
            if cand:
                _, e = rng.choice(cand)
                e[2] = rng.choice(BAD_VARINTS)
                return kind, pb_serialize(msg)
        elif kind == "delete_field" and nodes:
            p, e = rng.choice(nodes)
            p.remove(e)
            return kind, pb_serialize(msg)
        elif kind == "dup_field" and nodes:
            p, e = rng.choice(nodes)
            p.insert(p.index(e), [e[0], e[1], e[2]])
            return kind, pb_serialize(msg)
        elif kind == "bytes_field":
            cand = [(p, e) for p, e in nodes if e[1] == 2 and not isinstance(e[2], list)]
            if cand:
                _, e = rng.choice(cand)
                e[2] = rng.choice([b"", b"x", b"Relu", b"Conv", b"\xff" * 7, b"../../etc/passwd", b"offset",
                                   e[2][: len(e[2]) // 2], e[2] + e[2]])
                return kind, pb_serialize(msg)
        kind = "byte_flip"
    b = bytearray(data)
    if kind == "empty" or not b:
        return "empty", b"" if rng.random() < 0.5 else bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    if kind == "truncate":
        return kind, bytes(b[:rng.randrange(len(b))])
    if kind == "insert_bytes":
        i = rng.randrange(len(b))
        return kind, bytes(b[:i] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16))) + b[i:])
    n = 1 if kind == "byte_flip" else rng.choice([2, 4, 16, 64])
    for _ in range(n):
        i = rng.randrange(len(b))
        b[i] = rng.randrange(256) if rng.random() < 0.5 else b[i] ^ (1 << rng.randrange(8))
    return kind, bytes(b)


def float_tensor_pb(dims, values, name="input"):
    """A TensorProto (FLOAT, raw_data) by hand: dims=1, data_type=2, name=8, raw_data=9."""
    out = bytearray()
    for d in dims:
        out += _enc_varint(1 << 3 | 0) + _enc_varint(d)
    out += _enc_varint(2 << 3 | 0) + _enc_varint(1)
    nb = name.encode()
    out += _enc_varint(8 << 3 | 2) + _enc_varint(len(nb)) + nb
    raw = struct.pack(f"<{len(values)}f", *values)
    out += _enc_varint(9 << 3 | 2) + _enc_varint(len(raw)) + raw
    return bytes(out)


# ---------------------------------------------------------------------------------------- arch --set
def arch_keys():
    import yaml  # PyYAML: only to list the arch's key paths
    doc = yaml.safe_load(open(os.path.join(ROOT, "configs/arch/diannao.yaml")))
    out = []

    def walk(d, prefix):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, prefix + k + ".")
            else:
                out.append(prefix + k)
    walk(doc, "")
    return out


SET_VALUES = BAD_NUMBERS + ["", "2001", "1e-9", "closed", "open", "64KiB", "5GiB", "1TiB", "-1KiB",
                            "1.5KiB", "0B", "[1, 2]", "{a: 1}", "'", "\"", ":", "a: b"]


# ---------------------------------------------------------------------------------------- campaign
def build_inputs(args, scratch):
    """Every input as a dict: id, kind, base, mutation, path (reproducer file), cmd."""
    fus = args.fusesim
    lenet = os.path.join(ROOT, "models/lenet5.yaml")
    inputs_dir = os.path.join(args.out, "inputs")
    os.makedirs(inputs_dir, exist_ok=True)
    cases = []

    def rng_for(kind, i):
        return random.Random(f"{args.seed}:{kind}:{i}")

    def add(kind, base, mutation, ext, data, cmd_of, extra=""):
        cid = f"{kind}-{len([c for c in cases if c['kind'] == kind]):04d}"
        path = os.path.join(inputs_dir, cid + ext)
        with open(path, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
        cases.append({"id": cid, "kind": kind, "base": os.path.relpath(base, ROOT), "mutation": mutation + extra,
                      "path": os.path.relpath(path, ROOT), "cmd": cmd_of(path)})

    n = lambda k: max(1, int(round(k * args.scale)))

    # models
    models = [os.path.join(ROOT, "models", m) for m in
              ("lenet5.yaml", "tinydag.yaml", "shuffle_unit.yaml", "nfu3_functions.yaml")]
    for i in range(n(560)):
        rng = rng_for("model", i)
        base = models[i % len(models)]
        mk, text = mutate_text(rng, open(base).read())
        add("model", base, mk, ".yaml", text, lambda p: [fus, "compile", "--model", p])

    # arch files
    archs = sorted(os.path.join(ROOT, "configs/arch", f) for f in os.listdir(os.path.join(ROOT, "configs/arch"))
                   if f.endswith(".yaml"))
    for i in range(n(360)):
        rng = rng_for("arch", i)
        base = archs[i % len(archs)]
        mk, text = mutate_text(rng, open(base).read())
        add("arch", base, mk, ".yaml", text, lambda p: [fus, "compile", "--model", lenet, "--arch", p])

    # --set overrides on the default arch
    keys = arch_keys()
    diannao = os.path.join(ROOT, "configs/arch/diannao.yaml")
    for i in range(n(160)):
        rng = rng_for("set", i)
        r = rng.random()
        if r < 0.7:
            key = "arch." + rng.choice(keys)
        elif r < 0.85:
            key = "arch." + rng.choice(keys) + rng.choice([".x", "x", ".bytes.y"])
        else:
            key = rng.choice(["arch.bogus", "arch.", "arch", "nfu.tn", "arch.nfu", "arch.buffers.nbin", "arch..tn",
                              "model.x", "arch.dram.Bytes"])
        val = rng.choice(SET_VALUES)
        ov = f"{key}={val}"
        add("set", diannao, "set", ".yaml", open(diannao).read(),
            lambda p, ov=ov: [fus, "compile", "--model", lenet, "--arch", p, "--set", ov], extra=f" {ov}")

    # sweep specs
    sweeps = sorted(os.path.join(ROOT, "configs/sweeps", f) for f in os.listdir(os.path.join(ROOT, "configs/sweeps"))
                    if f.endswith(".yaml"))
    for i in range(n(240)):
        rng = rng_for("sweep", i)
        base = sweeps[i % len(sweeps)]
        mk, text = mutate_text(rng, open(base).read())
        out_dir = os.path.join(scratch, "sweep-out")
        add("sweep", base, mk, ".yaml", text,
            lambda p, od=out_dir: [fus, "sweep", p, "--dry-run", "--out", od + "-" + os.path.basename(p)])

    # ONNX
    onnxs = sorted(os.path.join(ROOT, "models/onnx", f) for f in os.listdir(os.path.join(ROOT, "models/onnx"))
                   if f.endswith(".onnx"))
    for i in range(n(240)):
        rng = rng_for("onnx", i)
        base = onnxs[i % len(onnxs)]
        mk, data = mutate_binary(rng, open(base, "rb").read())
        add("onnx", base, mk, ".onnx", data, lambda p: [fus, "compile", "--model", p])

    # tensors: an output of LeNet-5 (for --expect), a 1x32x32 input (for --input), the corpus ones
    out_pb = os.path.join(scratch, "lenet5_output.pb")
    subprocess.run([fus, "run", "-q", "--model", lenet, "--dump-output", out_pb, "--no-timeline",
                    "--out", os.path.join(scratch, "dump")], cwd=scratch, check=True, capture_output=True)
    in_pb = os.path.join(scratch, "lenet5_input.pb")
    vr = random.Random(args.seed)
    open(in_pb, "wb").write(float_tensor_pb([1, 1, 32, 32], [vr.uniform(-1, 1) for _ in range(1024)]))
    corpus = sorted(os.path.join(ROOT, "tests/fuzz/corpus/tensor", f)
                    for f in os.listdir(os.path.join(ROOT, "tests/fuzz/corpus/tensor")))
    tensor_bases = [(out_pb, "--expect"), (in_pb, "--input")] + [(c, "--expect") for c in corpus]
    for i in range(n(160)):
        rng = rng_for("tensor", i)
        base, flag = tensor_bases[i % 2] if rng.random() < 0.8 else rng.choice(tensor_bases)
        mk, data = mutate_binary(rng, open(base, "rb").read())
        base_rel = base if base.startswith(ROOT) else os.path.join(ROOT, "out", os.path.basename(base))
        add("tensor", base_rel, mk, ".pb", data,
            lambda p, flag=flag: [fus, "run", "-q", "--model", lenet, flag, p, "--no-timeline",
                                  "--out", os.path.join(scratch, "run-" + os.path.basename(p))], extra=f" {flag}")
    return cases


LOC_PATTERNS = [
    ("file:line:col", re.compile(r"[\w./+-]+\.(yaml|yml|onnx|pb):\d+(:\d+)?")),
    ("--set override", re.compile(r"override |--set")),
    ("key path", re.compile(r"(^|[\s'`])[A-Za-z_][\w-]*(\[\d+\])?(\.[A-Za-z_\d][\w-]*(\[\d+\])?)+:")),
    ("onnx node", re.compile(r"\bnode\b|\binitializer\b|\bgraph (input|output)\b", re.I)),
    # a protobuf file that does not parse: the byte where its wire format stops being valid
    ("byte offset", re.compile(r"[\w./+-]+\.(onnx|pb): byte \d+:")),
    # a whole-graph error (no runtime input): the graph, by name
    ("onnx graph", re.compile(r"\bgraph ('[^']*'|\(unnamed\)):")),
    ("tensor file", re.compile(r"[\w./+-]+\.pb\b")),
]


def classify(case, rc, stderr, timed_out, elapsed):
    last = ""
    for line in stderr.splitlines():
        if "fusesim: error" in line or "internal error" in line:
            last = line
    if not last:
        last = (stderr.strip().splitlines() or [""])[-1]
    oom = "bad_alloc" in stderr or "out of memory" in stderr.lower()
    if timed_out:
        cls = "hang"
    elif rc < 0:
        cls = "crash"
    elif oom:
        cls = "oom"
    elif rc == 1 and "internal error" in stderr:
        cls = "internal_error"
    elif rc == 1 and "expect failed:" in stderr:
        cls = "expect_mismatch"  # a flipped value in an --expect tensor: a true mismatch, exit 1 by design
    elif rc in (0, 2):
        cls = f"exit{rc}"
    else:
        cls = f"exit{rc}"
    loc = ""
    if rc == 2:
        for name, pat in LOC_PATTERNS:
            if pat.search(last):
                loc = name
                break
    return cls, loc, last


def run_one(case, timeout, mem_bytes, scratch):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (mem_bytes, mem_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    t0 = time.monotonic()
    timed_out = False
    try:
        r = subprocess.run(case["cmd"], cwd=scratch, capture_output=True, timeout=timeout, preexec_fn=limit)
        rc, err = r.returncode, r.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        rc, err, timed_out = -9, (e.stderr or b"").decode("utf-8", "replace"), True
    el = time.monotonic() - t0
    cls, loc, last = classify(case, rc, err, timed_out, el)
    return dict(case, exit=rc, cls=cls, location=loc, seconds=round(el, 3), message=last[:300])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fusesim", default=os.path.join(ROOT, "build/fusesim"))
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=20)
    ap.add_argument("--mem-gib", type=float, default=4)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every per-kind count")
    ap.add_argument("--out", default=os.path.join(ROOT, "out/bad_input_campaign"))
    ap.add_argument("--strict", action="store_true",
                    help="also fail when an exit-2 message has no location (the ctest's mode)")
    ap.add_argument("--min-inputs", type=int, default=0, help="fail when fewer inputs are generated")
    args = ap.parse_args()
    args.fusesim = os.path.abspath(args.fusesim)
    args.out = os.path.abspath(args.out)
    if os.path.exists(args.out):
        shutil.rmtree(args.out)
    scratch = os.path.join(args.out, "scratch")
    os.makedirs(scratch)
    cases = build_inputs(args, scratch)
    print(f"{len(cases)} malformed inputs (seed {args.seed}); running with {args.jobs} jobs, "
          f"{args.timeout:g} s and {args.mem_gib:g} GiB each", flush=True)
    t0 = time.monotonic()
    results = []
    with cf.ThreadPoolExecutor(args.jobs) as ex:
        futs = [ex.submit(run_one, c, args.timeout, int(args.mem_gib * (1 << 30)), scratch) for c in cases]
        for k, f in enumerate(futs, 1):
            results.append(f.result())
            if k % 200 == 0:
                print(f"  {k}/{len(cases)} ({time.monotonic() - t0:.0f} s)", flush=True)
    wall = time.monotonic() - t0

    csv_path = os.path.join(args.out, "results.csv")
    fields = ["id", "kind", "base", "mutation", "path", "exit", "cls", "location", "seconds", "message", "cmd"]
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in results:
            w.writerow(dict({k: r[k] for k in fields if k != "cmd"},
                            cmd=" ".join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in r["cmd"])))

    by_exit = collections.Counter(r["exit"] for r in results)
    by_cls = collections.Counter(r["cls"] for r in results)
    e2 = [r for r in results if r["exit"] == 2 and r["cls"] == "exit2"]
    located = [r for r in e2 if r["location"]]
    print(f"\ninputs: {len(results)}  (wall {wall:.0f} s)")
    print("per kind:", ", ".join(f"{k} {v}" for k, v in sorted(collections.Counter(r['kind'] for r in results).items())))
    print("exits by code:", ", ".join(f"{k}: {v}" for k, v in sorted(by_exit.items())))
    print(f"crashes (signals): {by_cls['crash']}")
    print(f"hangs (> {args.timeout:g} s): {by_cls['hang']}")
    print(f"out of memory ({args.mem_gib:g} GiB): {by_cls['oom']}")
    print(f"exit-1 internal errors: {by_cls['internal_error']}")
    print(f"exit 2 with a location: {len(located)} of {len(e2)} ({100.0 * len(located) / max(1, len(e2)):.1f}%)")
    print("  by location kind:", ", ".join(f"{k} {v}" for k, v in collections.Counter(r['location'] for r in located).most_common()))
    print("per kind, exit 2 located / exit 2 / exit 0:")
    for kind in sorted(set(r["kind"] for r in results)):
        rs = [r for r in results if r["kind"] == kind]
        k2 = [r for r in rs if r["exit"] == 2]
        print(f"  {kind:7s} {sum(1 for r in k2 if r['location'])} / {len(k2)} / {sum(1 for r in rs if r['exit'] == 0)}")
    unloc = collections.Counter(re.sub(r"\d+", "N", r["message"].split("error:", 1)[-1].strip())[:110]
                                for r in e2 if not r["location"])
    if unloc:
        print("exit-2 messages without a location (most common):")
        for msg, c in unloc.most_common(15):
            print(f"  {c:4d}  {msg}")
    print(f"exit-1 --expect mismatches (a mutated value in a well-formed tensor; exit 1 by design): {by_cls['expect_mismatch']}")
    bad = [r for r in results if r["cls"] not in ("exit0", "exit2", "expect_mismatch")]
    print(f"\nnot exit 0, exit 2 or an --expect mismatch: {len(bad)}")
    for r in bad:
        print(f"  {r['id']} {r['cls']} exit {r['exit']} {r['seconds']} s  {r['path']}  [{r['mutation']}]")
        print(f"      {' '.join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in r['cmd'])}")
        print(f"      {r['message'][:200]}")
    print(f"\nper-input results: {os.path.relpath(csv_path, ROOT)}")
    failed = bool(bad)
    if args.strict and len(located) < len(e2):
        print(f"--strict: {len(e2) - len(located)} exit-2 messages without a location:")
        for r in e2:
            if not r["location"]:
                print(f"  {r['id']} {r['path']}  [{r['mutation']}]\n      {r['message'][:200]}")
        failed = True
    if len(results) < args.min_inputs:
        print(f"--min-inputs: {len(results)} inputs, fewer than {args.min_inputs}")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
