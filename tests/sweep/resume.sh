#!/usr/bin/env bash
# Runs a sweep uninterrupted, and again killed with SIGKILL after a few rows plus a torn last
# row, then --resume; the two result sets must hold the same rows, once each. Then the same with
# Ctrl-C (SIGINT to the whole process group, workers included) and with SIGTERM to the sweep
# alone: the sweep dies of the signal, says how to resume, and leaves the points it stopped
# pending, never failed; --resume again gives the uninterrupted rows. Last, SIGTERM to one
# worker only: the sweep goes on, leaves that point without a row, exits 1 naming --resume.
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

compare() {
python3 - "$work/full" "$1" <<'PY' || fail "rows of $1 differ"
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
print(f"ok: {len(full)} rows, same set after {sys.argv[2].rsplit('/', 1)[-1]} + resume")
PY
}
compare "$work/killed"

# Ctrl-C in a terminal (SIGINT to the process group) and kill (SIGTERM to the sweep only).
for sig in INT TERM; do
  dir=$work/sig$sig
  set -m  # a process group of its own, as a terminal's foreground job has; SIGINT not ignored
  "$fusesim" sweep "$spec" -j 2 --out "$dir" >"$work/sig$sig.log" 2>&1 &
  pid=$!
  set +m
  for _ in $(seq 1 6000); do
    [ "$(cat "$dir/results.jsonl" 2>/dev/null | wc -l)" -ge 3 ] && break
    sleep 0.005
  done
  if [ "$sig" = INT ]; then kill -INT -- "-$pid"; else kill -TERM "$pid"; fi
  status=0
  wait "$pid" || status=$?
  expected=$((128 + $(kill -l "$sig")))
  [ "$status" -eq "$expected" ] || fail "SIG$sig: the sweep exited $status, expected $expected (died of the signal)"
  at_stop=$(wc -l <"$dir/results.jsonl")
  [ "$at_stop" -lt "$total" ] || fail "SIG$sig landed after all $total rows: not midway"
  grep -q "^sweep interrupted by signal $(kill -l "$sig") .*: $at_stop of $total points recorded, $((total - at_stop)) left without a row; to run them: fusesim sweep .* --resume" \
    "$work/sig$sig.log" || fail "SIG$sig: no line saying what was recorded and how to resume"
  ! grep -q '"status":"failed"' "$dir/results.jsonl" || fail "SIG$sig: a stopped point was recorded as failed"
  [ ! -e "$dir/.work" ] || fail "SIG$sig: the workers' directories were left behind"
  "$fusesim" sweep "$spec" -j 2 --out "$dir" --resume >"$work/resume$sig.log" 2>&1 || fail "resume after SIG$sig exited $?"
  grep -q "$at_stop already done; $((total - at_stop)) to run" "$work/resume$sig.log" ||
    fail "resume after SIG$sig did not find $at_stop done points"
  compare "$dir"
done

# SIGTERM to one worker, not to the sweep: that point is stopped, not failed; the rest run.
dir=$work/worker
"$fusesim" sweep "$spec" -j 2 --out "$dir" >"$work/worker.log" 2>&1 &
pid=$!
victim=
for _ in $(seq 1 6000); do
  if [ "$(cat "$dir/results.jsonl" 2>/dev/null | wc -l)" -ge 2 ]; then
    for w in $(pgrep -P "$pid"); do  # a running worker, not one that has exited (a zombie)
      [ "$(awk '{print $3}' "/proc/$w/stat" 2>/dev/null)" = R ] || [ "$(awk '{print $3}' "/proc/$w/stat" 2>/dev/null)" = S ] || continue
      kill -TERM "$w" 2>/dev/null && victim=$w && break
    done
    [ -n "$victim" ] && break
  fi
  sleep 0.005
done
[ -n "$victim" ] || fail "no worker process found to stop"
status=0
wait "$pid" || status=$?
[ "$status" -eq 1 ] || fail "a sweep with a point stopped from outside exited $status, expected 1"
grep -q "^stopped: .*: its worker was killed by signal 15 (Terminated); no row, --resume runs it again" "$work/worker.log" ||
  fail "no line for the stopped worker"
grep -q "^summary: $total points, $((total - 1)) ok, 0 failed, 1 without a row$" "$work/worker.log" ||
  fail "the summary does not count the point without a row"
grep -q "^1 point stopped from outside has no row; to run it: fusesim sweep .* --resume" "$work/worker.log" ||
  fail "the sweep's last line does not name --resume"
[ "$(wc -l <"$dir/results.jsonl")" -eq $((total - 1)) ] || fail "expected $((total - 1)) rows with one point stopped"
! grep -q '"status":"failed"' "$dir/results.jsonl" || fail "the stopped point was recorded as failed"
"$fusesim" sweep "$spec" -j 2 --out "$dir" --resume >"$work/resumeWorker.log" 2>&1 || fail "resume after a stopped worker exited $?"
grep -q "$((total - 1)) already done; 1 to run" "$work/resumeWorker.log" || fail "resume did not run just the stopped point"
compare "$dir"
