#!/usr/bin/env bash
# Installs missing Debian packages, then configures and builds fusesim (Release) into build/.
# Usage: scripts/build.sh [extra cmake args...]   e.g. -DFUSESIM_WERROR=ON
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
BUILD_TYPE=${BUILD_TYPE:-Release}
if [ ! -f build/CMakeCache.txt ] || [ $# -gt 0 ]; then
  cmake -S . -B build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" "$@"
fi
cmake --build build -j "$(nproc)"
