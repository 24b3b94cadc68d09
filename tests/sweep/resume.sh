#!/usr/bin/env bash
# Runs a sweep uninterrupted, and again killed with SIGKILL after a few rows plus a torn last
# row, then --resume; the two result sets must hold the same rows, once each.
# Usage: resume.sh FUSESIM SPEC WORKDIR
set -eu
fusesim=$1; spec=$2; work=$3
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; for f in "$work"/*.log; do echo "== $f"; cat "$f"; done; exit 1; }

"$fusesim" sweep "$spec" -j 2 --out "$work/full" >"$work/full.log" 2>&1 || fail "uninterrupted sweep exited $?"
total=$(wc -l <"$work/full/results.jsonl")

"$fusesim" sweep "$spec" -j 2 --out "$work/killed" >"$work/killed.log" 2>&1 &
pid=$!
for _ in $(seq 1 6000); do
  [ "$(cat "$work/killed/results.jsonl" 2>/dev/null | wc -l)" -ge 3 ] && break
  sleep 0.005
done
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
at_kill=$(wc -l <"$work/killed/results.jsonl")
[ "$at_kill" -ge 3 ] && [ "$at_kill" -lt "$total" ] || fail "kill landed after $at_kill of $total rows: not midway"
printf '{"id":"torn","model":"le' >>"$work/killed/results.jsonl"   # a row cut short by the kill

"$fusesim" sweep "$spec" -j 2 --out "$work/killed" --resume >"$work/resume.log" 2>&1 || fail "resume exited $?"
grep -q "$at_kill already done, 1 partial or duplicate rows dropped; $((total - at_kill)) to run" "$work/resume.log" ||
  fail "resume did not report $at_kill done points and the torn row"

python3 - "$work/full" "$work/killed" <<'PY' || fail "rows differ"
import csv, json, sys
def load(d):
    rows = [json.loads(l) for l in open(d + "/results.jsonl")]
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), f"{d}: duplicated ids"
    with open(d + "/results.csv") as f:
        csv_rows = list(csv.DictReader(f))
    assert sorted(r["id"] for r in csv_rows) == sorted(ids), f"{d}: results.csv and results.jsonl disagree"
    strip = lambda r: {k: v for k, v in r.items() if k != "wall_s"}
    return ({r["id"]: strip(r) for r in rows},
            sorted(json.dumps(strip(r), sort_keys=True) for r in csv_rows))
full, full_csv = load(sys.argv[1])
killed, killed_csv = load(sys.argv[2])
assert set(full) == set(killed), f"ids differ: {set(full) ^ set(killed)}"
for i in full:
    assert full[i] == killed[i], f"row {i} differs:\n{full[i]}\n{killed[i]}"
assert full_csv == killed_csv, "results.csv rows differ"
ok = sum(r["status"] == "ok" for r in full.values())
assert ok == len(full), f"only {ok} of {len(full)} points ran ok"
print(f"ok: {len(full)} rows, same set after SIGKILL + resume")
PY
