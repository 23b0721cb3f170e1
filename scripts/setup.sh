#!/usr/bin/env bash
# Installs every Debian 12 package Tern's build, tests and benchmarks need.
# Skips what is already present, so it is cheap to run before every build.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libuv1-dev libmsgpack-cxx-dev liblz4-dev libzstd-dev
  catch2 libcxxopts-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libssl-dev libcrypt-dev libcpp-httplib-dev
  nats-server libnats-dev
)
# Node.js 18+ and npm for the nats.js compat tests (tests/compat/js; the build runs `npm ci`).
# A machine image may bring its own Node (e.g. a newer nodejs package that bundles npm), so
# this looks for the commands, and takes Debian's packages only for what is missing.
if ! command -v node >/dev/null 2>&1; then PACKAGES+=(nodejs); fi
if ! command -v npm >/dev/null 2>&1; then PACKAGES+=(npm); fi
# clang for the libFuzzer targets (scripts/test.sh asks for it).
if [[ "${TERN_WITH_FUZZ:-0}" == 1 ]]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
