#!/usr/bin/env bash
# A one-line edit of a repo file (model, arch or sweep spec) must give exit 2 with an error that
# names the edited line: "fusesim: error: .../NAME:LINE:COL: MESSAGE". The line is found by
# comparing the edited copy with the original, so the expectation follows the file.
# Usage: bad_edit.sh FUSESIM ORIGINAL EDITED SED_EXPR MESSAGE_REGEX fusesim-args... (@FILE@ = EDITED)
set -u
fusesim=$1 original=$2 edited=$3 sed_expr=$4 regex=$5
shift 5
mkdir -p "$(dirname "$edited")"
sed -E "$sed_expr" "$original" >"$edited"
line=$(diff "$original" "$edited" | sed -nE '1s/^[0-9]+(,[0-9]+)?[acd]([0-9]+).*/\2/p')
if [ -z "$line" ]; then echo "the edit '$sed_expr' changed nothing in $original"; exit 1; fi
args=()
for a in "$@"; do args+=("${a//@FILE@/$edited}"); done
exec "$(dirname "$0")/expect.sh" 2 "^fusesim: error: ([^ ]*/)?$(basename "$edited"):$line:[0-9]+: $regex" \
  "$fusesim" "${args[@]}"
