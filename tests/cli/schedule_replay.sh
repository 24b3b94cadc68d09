#!/usr/bin/env bash
# A schedule written by `fusesim compile --emit-schedule` and replayed with `fusesim run
# --schedule` takes exactly the cycles of the run that planned it.
# Usage: schedule_replay.sh FUSESIM WORKDIR [PLANNING-ARGS...] -- RUN-ARGS...
# Planning args (--fusion, --fuse, --tile) plan the schedule; the replay leaves them out, as
# --schedule may not be combined with them.
set -eu
exe=$1; dir=$2; shift 2
plan=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do plan+=("$1"); shift; done
[ $# -gt 0 ] && shift
rm -rf "$dir"; mkdir -p "$dir"
"$exe" compile "$@" "${plan[@]}" --emit-schedule "$dir/schedule.yaml"
"$exe" run "$@" "${plan[@]}" --mode timing --out "$dir/planned" --quiet --no-timeline
"$exe" run "$@" --schedule "$dir/schedule.yaml" --mode timing --out "$dir/replayed" --quiet --no-timeline
cycles() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['cycles'])" "$1/report.json"; }
cp=$(cycles "$dir/planned"); cr=$(cycles "$dir/replayed")
echo "planned $cp cycles, replayed $cr cycles"
[ "$cp" = "$cr" ] && [ "$cp" -gt 0 ]
