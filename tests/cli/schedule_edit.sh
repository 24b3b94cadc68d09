#!/usr/bin/env bash
# Writes a model's schedule, applies a sed edit to it (as a person editing it would) and
# replays it; exits with the replay's exit code, so expect.sh can check the result.
# Usage: schedule_edit.sh FUSESIM WORKDIR SED-SCRIPT COMPILE-ARGS... [-- RUN-ONLY-ARGS...]
# The replay runs with the compile args minus --fusion (a schedule replaces it), then the run args.
set -u
exe=$1; dir=$2; edit=$3; shift 3
args=(); replay=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  if [ "$1" = "--fusion" ]; then args+=("$1" "$2"); shift 2; continue; fi
  args+=("$1"); replay+=("$1"); shift
done
[ $# -gt 0 ] && shift
rm -rf "$dir"; mkdir -p "$dir"
"$exe" compile "${args[@]}" --emit-schedule "$dir/written.yaml" > /dev/null || exit 100
sed -E "$edit" "$dir/written.yaml" > "$dir/edited.yaml"
cmp -s "$dir/written.yaml" "$dir/edited.yaml" && { echo "the edit changed nothing"; exit 101; }
diff "$dir/written.yaml" "$dir/edited.yaml"
"$exe" run "${replay[@]}" --schedule "$dir/edited.yaml" "$@"
