#!/usr/bin/env bash
# Builds if needed, installs the test data packages, and runs the whole suite through ctest.
# Usage: scripts/test.sh [ctest args...]   e.g. -R Isa
set -euo pipefail
cd "$(dirname "$0")/.."
# gtkwave brings vcd2fst, which the FST trace test runs.
scripts/deps.sh libonnx-testdata python3-onnx python3-torchvision gtkwave
# The Slurm executor's test brings up a one-node cluster from these (scripts/slurm-local.sh);
# without them it is skipped, so a failed install must not stop the rest of the suite.
scripts/deps.sh slurm-wlm munge ||
  echo "fusesim: slurm-wlm and munge could not be installed: sweep.slurm_local_cluster will be skipped"
scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
