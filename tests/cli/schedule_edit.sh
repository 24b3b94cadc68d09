#!/usr/bin/env bash
# Writes a model's schedule, applies a sed edit to it (as a person editing it would) and
# replays it; exits with the replay's exit code, so expect.sh can check the error.
# Usage: schedule_edit.sh FUSESIM WORKDIR SED-SCRIPT RUN-ARGS...
set -u
exe=$1; dir=$2; edit=$3; shift 3
rm -rf "$dir"; mkdir -p "$dir"
"$exe" compile "$@" --emit-schedule "$dir/written.yaml" || exit 100
sed -E "$edit" "$dir/written.yaml" > "$dir/edited.yaml"
cmp -s "$dir/written.yaml" "$dir/edited.yaml" && { echo "the edit changed nothing"; exit 101; }
"$exe" run "$@" --schedule "$dir/edited.yaml" --mode timing --quiet
