#!/usr/bin/env bash
# Builds everything with ASan+UBSan and runs the whole test suite: unit, integration (against
# tern-server and, as the reference, nats-server), compat (the NATS C client), and a short
# libFuzzer run of each parser (clang build).
set -euo pipefail
cd "$(dirname "$0")/.."
TERN_WITH_FUZZ=1 scripts/setup.sh

jobs=$(nproc)
cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERN_SANITIZE=ON >/dev/null
cmake --build build/test -j "$jobs"

cmake -S . -B build/fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DTERN_FUZZ=ON -DTERN_BUILD_TESTS=OFF -DTERN_BUILD_BENCH=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ >/dev/null
cmake --build build/fuzz -j "$jobs" --target fuzz_all

# Sanitizer reports fail the run; leak checks stay on for the server processes the tests start.
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
status=0
ctest --test-dir build/test --output-on-failure -j "$jobs" --timeout 300 || status=1
ctest --test-dir build/fuzz --output-on-failure --timeout 300 || status=1
exit $status
