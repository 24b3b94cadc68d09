#!/usr/bin/env bash
# Builds if needed, installs the test data packages, and runs the whole suite through ctest.
# Usage: scripts/test.sh [--sanitize [--fast]] [ctest args...]   e.g. -R Isa
#   --sanitize   the suite built with ASan + UBSan in build-sanitize/ (docs/hardening.md)
#   --fast       with --sanitize: skip the tests labelled "slow" (whole networks), as CI does
set -euo pipefail
cd "$(dirname "$0")/.."
# gtkwave brings vcd2fst, which the FST trace test runs.
scripts/deps.sh libonnx-testdata python3-onnx python3-torchvision gtkwave
# The Slurm executor's test brings up a one-node cluster from these (scripts/slurm-local.sh);
# without them it is skipped, so a failed install must not stop the rest of the suite.
scripts/deps.sh slurm-wlm munge ||
  echo "fusesim: slurm-wlm and munge could not be installed: sweep.slurm_local_cluster will be skipped"
if [ "${1:-}" != --sanitize ]; then
  scripts/build.sh
  cd build
  ctest --output-on-failure -j "$(nproc)" "$@"
  exit
fi
shift
if [ "${1:-}" = --fast ]; then shift; set -- -LE slow "$@"; fi
# --sanitize: the same suite built with ASan and UBSan (FUSESIM_SANITIZE) in build-sanitize/.
# UBSan stops at its first report, so a report fails the test; LeakSanitizer is on, with no
# suppressions. Every sanitizer report exits with 23, so that a CLI test expecting exit 1 (a
# failed run) cannot pass on a report. Why no ASan option is needed for SystemC:
# docs/hardening.md ("Sanitizers").
if [ ! -f build-sanitize/CMakeCache.txt ]; then
  cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUSESIM_SANITIZE=ON
fi
cmake --build build-sanitize -j "$(nproc)"
cd build-sanitize
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1:exitcode=23}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:exitcode=23}
ctest --output-on-failure -j "$(nproc)" "$@"
