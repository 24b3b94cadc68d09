#!/usr/bin/env bash
# Runs a command and checks its exit code and that its output (stdout+stderr) matches a regex.
# Usage: expect.sh EXIT_CODE REGEX command [args...]
set -u
want=$1; regex=$2; shift 2
out=$("$@" 2>&1); code=$?
if [ "$code" != "$want" ]; then
  echo "expected exit $want, got $code from: $*"; echo "$out"; exit 1
fi
if ! grep -Eq -- "$regex" <<<"$out"; then
  echo "output does not match /$regex/ from: $*"; echo "$out"; exit 1
fi
echo "ok: exit $code, output matches /$regex/"
