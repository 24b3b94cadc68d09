#!/usr/bin/env python3
"""Checks a model's totals: runs `FUSESIM inspect --model MODEL --json` and compares the top-level
`macs` and `params` with the expected figures.

Usage: check_totals.py FUSESIM MODEL EXPECTED_MACS EXPECTED_PARAMS
Exit 0 if both match, 1 if either differs or the command fails.
"""
import json
import subprocess
import sys


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    fusesim, model, want_macs, want_params = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    proc = subprocess.run([fusesim, "inspect", "--model", model, "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        print("fusesim inspect exited %d:\n%s" % (proc.returncode, proc.stderr), file=sys.stderr)
        return 1
    try:
        totals = json.loads(proc.stdout)
        got = {"macs": int(totals["macs"]), "params": int(totals["params"])}
    except (ValueError, KeyError, TypeError) as e:
        print("cannot read macs/params from the JSON: %s" % e, file=sys.stderr)
        return 1
    ok = True
    for key, want in (("macs", want_macs), ("params", want_params)):
        status = "ok" if got[key] == want else "MISMATCH (diff %+d)" % (got[key] - want)
        ok &= got[key] == want
        print("%s %s: got %s, expected %s  %s" % (model, key, "{:,}".format(got[key]), "{:,}".format(want), status))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
