#!/usr/bin/env bash
# Builds if needed, installs the test data packages, and runs the whole suite through ctest.
# Usage: scripts/test.sh [ctest args...]   e.g. -R Isa
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh libonnx-testdata python3-onnx python3-torchvision
scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
