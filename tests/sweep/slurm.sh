#!/usr/bin/env bash
# The Slurm executor on a real one-node cluster (scripts/slurm-local.sh): the reduced
# buffer-sizes study gives the same rows as the local executor; an array task cancelled midway
# plus --resume gives them again, none lost or run twice; a failing point is recorded with its
# error; with the cluster stopped, --executor slurm is exit 2 with one line and writes nothing.
# Usage: slurm.sh FUSESIM SPEC WORKDIR        (exit 77: skipped, slurm-wlm is not installed)
set -eu
fusesim=$1; spec=$2; work=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
for p in sbatch scancel slurmctld slurmd munged; do
  command -v "$p" >/dev/null || {
    echo "SKIP: $p not found: slurm-wlm and munge are not installed (scripts/deps.sh slurm-wlm munge)"
    exit 77
  }
done
rm -rf "$work"; mkdir -p "$work"
# The state lives in a short /tmp path: munged's socket path must fit in 108 bytes.
state=$(mktemp -d /tmp/fusesim-slurm-test.XXXXXX)
export FUSESIM_SLURM_DIR=$state SLURM_CONF=$state/slurm.conf
fail() {
  echo "FAIL: $*"
  for f in "$work"/*.log; do echo "== $f"; cat "$f"; done
  for f in "$state"/log/*.log; do echo "== $f (last lines)"; tail -n 20 "$f"; done
  exit 1
}
cleanup() { "$root/scripts/slurm-local.sh" stop >/dev/null 2>&1 || true; rm -rf "$state"; }
trap cleanup EXIT
# A port pair that nothing else listens on (a developer's own local cluster uses 16817).
for port in 26817 26827 26837 26847; do
  export FUSESIM_SLURM_PORT=$port
  "$root/scripts/slurm-local.sh" start >"$work/cluster.log" 2>&1 && break
  grep -q "is in use" "$work/cluster.log" || fail "the local cluster did not start"
done
grep -q "^slurm-local: up" "$work/cluster.log" || fail "the local cluster did not start"

# Rows of a results.jsonl without the wall-time column, one JSON object a line in point order.
rows() {
  python3 - "$1" "$2" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/results.jsonl")]
ids = [r["id"] for r in rows]
assert len(ids) == len(set(ids)), f"{sys.argv[1]}: duplicated ids"
with open(sys.argv[2], "w") as out:
    for r in sorted(rows, key=lambda r: r["index"]):
        r.pop("wall_s")
        out.write(json.dumps(r, sort_keys=True) + "\n")
PY
}

"$fusesim" sweep "$spec" -j 2 --out "$work/local" >"$work/local.log" 2>&1 || fail "local sweep exited $?"
rows "$work/local" "$work/local.rows"
total=$(wc -l <"$work/local.rows")
[ "$total" -eq 12 ] || fail "the local sweep gave $total rows, expected 12"

# 1. The whole study as a job array of 3 tasks (4 points each), 2 running at a time.
"$fusesim" sweep "$spec" --executor slurm --out "$work/slurm" --chunk 4 --max-running 2 --wait \
  >"$work/slurm.log" 2>&1 || fail "slurm sweep --wait exited $?"
grep -Eq "^submitted job [0-9]+: array 0-2%2 \(3 tasks, 12 points\)" "$work/slurm.log" || fail "no submission line"
grep -q "12 done (12 ok, 0 failed), 0 pending" "$work/slurm.log" || fail "status after --wait is not 12 done"
[ "$(ls "$work/slurm/shards"/*.jsonl | wc -l)" -eq 3 ] || fail "expected 3 shards"
rows "$work/slurm" "$work/slurm.rows"
cmp "$work/local.rows" "$work/slurm.rows" || fail "Slurm rows differ from the local executor's"
head -1 "$work/local/results.csv" | cmp - <(head -1 "$work/slurm/results.csv") || fail "CSV headers differ"
echo "ok: job array gives the local executor's $total rows"

# 2. Cancel array task 2 (the 4 VGG-16 points, the slowest) after its first point. Its points
# last about a second; should the cancel still land after all 4 (a fast host, a slow scancel),
# the scenario starts over, up to 3 times.
for attempt in 1 2 3; do
  rm -rf "$work/cancel"
  "$fusesim" sweep "$spec" --executor slurm --out "$work/cancel" --chunk 4 --max-running 2 \
    >"$work/cancel.log" 2>&1 || fail "slurm sweep exited $?"
  job=$(sed -n 's/^submitted job \([0-9]*\):.*/\1/p' "$work/cancel.log")
  [ -n "$job" ] || fail "no job id printed"
  for _ in $(seq 1 3000); do
    [ "$(cat "$work/cancel/shards/0_2.jsonl" 2>/dev/null | wc -l)" -ge 1 ] && break
    sleep 0.05
  done
  scancel "${job}_2"
  status=0
  "$fusesim" sweep-status "$work/cancel" --wait >"$work/cancel-status.log" 2>&1 || status=$?
  at_cancel=$(wc -l <"$work/cancel/shards/0_2.jsonl")
  [ "$at_cancel" -ge 1 ] || fail "array task 2 was cancelled before its first point"
  [ "$at_cancel" -lt 4 ] && break
  echo "attempt $attempt: the cancel landed after all 4 points of task 2; again"
done
[ "$status" -eq 1 ] || fail "sweep-status --wait after scancel exited $status, expected 1 (points missing)"
[ "$at_cancel" -lt 4 ] || fail "in 3 attempts the cancel never landed before task 2's last point"
missing=$((4 - at_cancel))
grep -q "$missing points\? ha[sv]e\? no row and no array task is queued" "$work/cancel-status.log" ||
  fail "status does not report the $missing missing points"
# The point in flight when Slurm's SIGTERM came is pending, not failed; the task says so.
! grep -q '"status":"failed"' "$work/cancel/shards/0_2.jsonl" || fail "a point stopped by scancel was recorded as failed"
grep -q "^sweep interrupted by signal 15 (Terminated): $at_cancel of 4 points recorded, $missing left without a row; to run them: fusesim sweep .* --executor slurm --out .* --resume" \
  "$work/cancel/logs/${job}_2.out" || fail "the cancelled task's log does not say what it kept and how to resume"

"$fusesim" sweep "$spec" --executor slurm --out "$work/cancel" --chunk 4 --resume --wait \
  >"$work/resume.log" 2>&1 || fail "--resume --wait exited $?"
grep -q "12 points.*, $((12 - missing)) already done; $missing to run in 1 array task" "$work/resume.log" ||
  fail "--resume did not submit exactly the $missing missing points"
rows "$work/cancel" "$work/cancel.rows"
cmp "$work/local.rows" "$work/cancel.rows" || fail "rows after scancel + --resume differ from the local executor's"
run=$(cat "$work/cancel/shards"/*.jsonl | wc -l)
[ "$run" -eq 12 ] || fail "the shards hold $run rows: points were run twice or lost"
echo "ok: scancel of task 2 after $at_cancel of 4 points, --resume ran the $missing others; same $total rows"

# 3. A point that fails is recorded with its error, as by the local executor.
"$fusesim" sweep "$(dirname "$spec")/failing.yaml" --executor slurm --out "$work/failing" --wait \
  >"$work/failing.log" 2>&1 || fail "slurm sweep of failing.yaml exited $?"
python3 - "$work/failing" <<'PY' || fail "the failed point is not recorded with its error"
import csv, sys
rows = {r["arch.buffers.nbin.bytes"]: r for r in csv.DictReader(open(sys.argv[1] + "/results.csv"))}
assert set(rows) == {"64B", "2KiB"}, rows.keys()
assert rows["64B"]["status"] == "failed" and "no tile fits" in rows["64B"]["error"], rows["64B"]
assert rows["2KiB"]["status"] == "ok" and int(rows["2KiB"]["cycles"]) > 0, rows["2KiB"]
PY
echo "ok: failed point recorded through Slurm"

# 4. With the controller gone: exit 2, one line, nothing written.
"$root/scripts/slurm-local.sh" stop >>"$work/cluster.log" 2>&1
status=0
"$fusesim" sweep "$spec" --executor slurm --out "$work/down" >"$work/down.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || fail "--executor slurm with the controller down exited $status, expected 2"
[ "$(wc -l <"$work/down.log")" -eq 1 ] && grep -q "Slurm is not reachable: the controller does not respond" "$work/down.log" ||
  fail "expected one line saying the controller does not respond"
[ ! -e "$work/down" ] || fail "--executor slurm wrote into DIR although Slurm was not reachable"
echo "ok: controller down: $(cat "$work/down.log")"
