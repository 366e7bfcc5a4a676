#!/usr/bin/env bash
# Install what building and testing ckpt needs on Debian (12+).  Idempotent:
# installs only packages that are missing.  Python packages are NOT needed to
# build or test; pass --fixtures to also get what models/make_*.py use.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libzip-dev libopenblas-dev
      libcjson-dev zlib1g-dev libbz2-dev liblzma-dev liblz4-dev)
if [ "${1:-}" = "--fixtures" ]; then
  pkgs+=(python3 python3-numpy python3-sklearn python3-torch python3-joblib)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
