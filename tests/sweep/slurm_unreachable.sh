#!/usr/bin/env bash
# --executor slurm where no Slurm command is installed: exit 2, one line naming sbatch, and
# nothing written into DIR (runs with or without slurm-wlm: PATH is emptied of it).
# Usage: slurm_unreachable.sh FUSESIM SPEC WORKDIR
set -eu
fusesim=$1; spec=$2; work=$3
rm -rf "$work"; mkdir -p "$work"
status=0
PATH=/nonexistent "$fusesim" sweep "$spec" --executor slurm --out "$work/out" >"$work/log" 2>&1 || status=$?
cat "$work/log"
[ "$status" -eq 2 ] || { echo "FAIL: exit $status, expected 2"; exit 1; }
[ "$(wc -l <"$work/log")" -eq 1 ] || { echo "FAIL: expected one line"; exit 1; }
grep -q "^fusesim: error: --executor slurm: Slurm is not reachable: sbatch not found on PATH$" "$work/log" ||
  { echo "FAIL: the line does not name sbatch"; exit 1; }
[ ! -e "$work/out" ] || { echo "FAIL: DIR was created"; exit 1; }
echo "ok: no sbatch: exit 2, one line, DIR untouched"
