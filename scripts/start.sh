#!/usr/bin/env bash
# Builds tern-server and the tern CLI (release) and starts the server with defaults; extra arguments go to the server,
# e.g. scripts/start.sh -p 4333 -c conf/tern.conf
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_BUILD_TESTS=OFF >/dev/null
cmake --build build/release --target tern-server tern
exec build/release/server/tern-server "$@"
