#!/usr/bin/env bash
# A program takes the same cycles in timing-only and functional mode.
# Usage: same_cycles.sh FUSESIM WORKDIR run-args...
set -eu
exe=$1; dir=$2; shift 2
rm -rf "$dir"; mkdir -p "$dir"
"$exe" run "$@" --mode functional --out "$dir/f" --quiet
"$exe" run "$@" --mode timing --out "$dir/t" --quiet
cf=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['cycles'])" "$dir/f/report.json")
ct=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['cycles'])" "$dir/t/report.json")
echo "functional $cf cycles, timing $ct cycles"
[ "$cf" = "$ct" ] && [ "$cf" -gt 0 ]
