#!/bin/bash
# Installs libtern from a build tree into a temporary prefix, then builds client/examples
# against it twice: with find_package(tern) (CMake) and with pkg-config (tern.pc). When
# nats-server is installed, runs the example's demo against it.
#   install_example_test.sh <build dir> <examples dir> <cmake> [extra compile/link flags]
set -eu
build=$1 examples=$2 cmake=$3 flags=${4:-}
work=$(mktemp -d /tmp/tern-install-test.XXXXXX)
server_pid=
cleanup() {
  status=$?
  set +e
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

"$cmake" --install "$build" --component libtern --prefix "$work/prefix" >/dev/null

# Only the client's files are installed.
test -f "$work/prefix/include/tern/client.h"
test -f "$work/prefix/include/tern/status.h"
if find "$work/prefix" -name 'tern-server' | grep -q .; then echo "server installed with libtern" >&2; exit 1; fi

# 1. CMake package.
"$cmake" -S "$examples" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >"$work/configure.log" 2>&1 ||
  { cat "$work/configure.log" >&2; exit 1; }
"$cmake" --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }

# 2. pkg-config.
pcdir=$(dirname "$(find "$work/prefix" -name tern.pc | head -n1)")
PKG_CONFIG_PATH=$pcdir
export PKG_CONFIG_PATH
c++ -std=c++20 $flags -o "$work/echo_pc" "$examples/echo_service.cpp" $(pkg-config --cflags --libs tern)

# 3. Run both against a real server.
if [ -x /usr/sbin/nats-server ]; then
  port=$(( 20000 + $$ % 20000 ))
  /usr/sbin/nats-server -a 127.0.0.1 -p "$port" >"$work/server.log" 2>&1 &
  server_pid=$!
  i=0
  until (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null || [ $i -ge 200 ]; do sleep 0.05; i=$((i+1)); done
  NATS_URL=nats://127.0.0.1:$port
  export NATS_URL
  for exe in "$work/build/echo_service" "$work/echo_pc"; do
    out=$("$exe")
    echo "$out"
    echo "$out" | grep -q "echo: hello from libtern (Demo header: yes)"
    echo "$out" | grep -q "no responders"
  done
fi
echo "install_example: ok"
