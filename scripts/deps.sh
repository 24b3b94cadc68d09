#!/usr/bin/env bash
# Installs the Debian packages fusesim needs, only those that are missing (idempotent).
# Usage: scripts/deps.sh [extra-package...]
set -euo pipefail
PKGS=(build-essential cmake pkg-config libsystemc-dev libyaml-cpp-dev libboost-program-options-dev
      libgtest-dev libonnx-dev libprotobuf-dev protobuf-compiler python3 "$@")
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "fusesim: installing missing packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
