#!/bin/bash
# Installs libtern from a build tree into a temporary prefix, then builds client/examples
# against it twice: with find_package(tern) (CMake) and with pkg-config (tern.pc). When
# nats-server is installed, runs the echo demo against it; runs orders_service (JetStream)
# against <build dir>/server/tern-server -js.
#   install_example_test.sh <build dir> <examples dir> <cmake> [extra compile/link flags]
set -eu
build=$1 examples=$2 cmake=$3 flags=${4:-}
work=$(mktemp -d /tmp/tern-install-test.XXXXXX)
server_pid= tern_pid=
cleanup() {
  status=$?
  set +e
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; fi
  if [ -n "$tern_pid" ]; then kill "$tern_pid" 2>/dev/null; wait "$tern_pid" 2>/dev/null; fi
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
c++ -std=c++20 $flags -o "$work/orders_pc" "$examples/orders_service.cpp" $(pkg-config --cflags --libs tern)

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
# 4. orders_service against tern-server with JetStream on a fresh store, on a free port. The
# second run finds the stream and the durable consumer in place and goes on from seq 20.
tern_server=$build/server/tern-server
[ -x "$tern_server" ] || { echo "no tern-server at $tern_server" >&2; exit 1; }
js_port=
for _ in $(seq 1 50); do
  p=$(( 20000 + RANDOM % 20000 ))
  if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then js_port=$p; break; fi
done
[ -n "$js_port" ] || { echo "no free port" >&2; exit 1; }
mkdir "$work/js"
"$tern_server" -a 127.0.0.1 -p "$js_port" -js -sd "$work/js" >"$work/tern.log" 2>&1 &
tern_pid=$!
i=0
until (exec 3<>/dev/tcp/127.0.0.1/$js_port) 2>/dev/null; do
  if ! kill -0 "$tern_pid" 2>/dev/null || [ $i -ge 200 ]; then cat "$work/tern.log" >&2; exit 1; fi
  sleep 0.05; i=$((i+1))
done
NATS_URL=nats://127.0.0.1:$js_port
export NATS_URL
last=0
for exe in "$work/build/orders_service" "$work/orders_pc"; do
  rc=0
  out=$(timeout 60 "$exe" 20 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -eq 0 ] || { echo "$exe exited with $rc" >&2; exit 1; }
  last=$((last + 20))
  echo "$out" | grep -qx "published 20 orders, last seq $last"
  echo "$out" | grep -qx 'processed {"id":20} (seq '"$last"')'
  [ "$(echo "$out" | grep -c '^processed {"id":')" -eq 20 ]
  echo "$out" | grep -qx "processed 20 orders"
done
# And a clear error, not a hang, when JetStream is not there.
if [ -n "$server_pid" ]; then
  rc=0
  out=$(NATS_URL=nats://127.0.0.1:$port timeout 30 "$work/build/orders_service" 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -eq 1 ]
  echo "$out" | grep -q "^orders_service: "
fi
echo "install_example: ok"
