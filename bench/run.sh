#!/usr/bin/env bash
# Runs the same workloads against tern-server and nats-server, alternating servers round
# by round (ABAB), and prints a markdown table of medians with ratios (>1: Tern is better).
# See bench/README.md. Usage: bench/run.sh [--quick] [--rounds R] [--msgs M] [--size S] ...
set -euo pipefail

ORIG_ARGS="$*"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build/bench"
TERN="$BUILD/server/tern-server"
TERN_IS_DEFAULT=1
NATS=/usr/sbin/nats-server
ROUNDS=5
MSGS=5000000
SIZE=128
PUBS=4
REQS=20000
QUICK=0
OUT=""
ONLY=""
SETTLE=1

usage() {
  cat <<EOF
usage: bench/run.sh [options]
  --tern PATH     tern-server binary (default: $BUILD/server/tern-server, built if needed)
  --nats PATH     nats-server binary (default: $NATS)
  --rounds R      rounds per workload and server (default $ROUNDS); medians are reported
  --msgs M        messages per throughput run (default $MSGS); fan-out 1:K publishes M/K,
                  so every throughput workload delivers M messages in total
  --size S        payload bytes (default $SIZE)
  --pubs N        publishers for the "pub-only, N pubs" row (default $PUBS)
  --reqs K        request/reply round trips per run (default $REQS)
  --only LIST     comma-separated subset: pub1,pubN,pubsub,fan10,fan100,reqrep
  --settle SEC    pause after each run, so work it left behind (a Go GC, socket teardown)
                  lands on its CPU account and not in the next run (default $SETTLE)
  --quick         smoke run: 2 rounds, small counts (< 30 s)
  --out FILE      also write the report to FILE
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --tern) TERN="$2"; TERN_IS_DEFAULT=0; shift 2 ;;
    --nats) NATS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --msgs) MSGS="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    --pubs) PUBS="$2"; shift 2 ;;
    --reqs) REQS="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [[ $QUICK == 1 ]]; then
  ROUNDS=2; MSGS=1000000; REQS=3000; SETTLE=0.2
fi

log() { echo "run.sh: $*" >&2; }

# ---- build ---------------------------------------------------------------------------
targets=(tern-bench-core)
[[ $TERN_IS_DEFAULT == 1 ]] && targets+=(tern-server)
if [[ ! -f "$BUILD/build.ninja" ]]; then
  log "configuring $BUILD (Release)"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_BUILD_TESTS=OFF >&2
fi
log "building ${targets[*]}"
ninja -C "$BUILD" -j2 "${targets[@]}" >&2
CORE="$BUILD/bench/tern-bench-core"
[[ -x "$TERN" ]] || { log "no tern-server at $TERN"; exit 1; }
[[ -x "$NATS" ]] || { log "no nats-server at $NATS"; exit 1; }

# ---- servers -------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX")
SERVERS=(tern nats)
declare -A PID PORT BIN
BIN[tern]="$TERN"
BIN[nats]="$NATS"

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_server() {  # start_server tern|nats
  local s=$1 port
  port=$("$CORE" --free-port)
  "${BIN[$s]}" -a 127.0.0.1 -p "$port" >>"$WORK/$s.log" 2>&1 &
  PID[$s]=$!
  PORT[$s]=$port
  for _ in $(seq 100); do
    if "$CORE" --probe --port "$port"; then return 0; fi
    kill -0 "${PID[$s]}" 2>/dev/null || break
    sleep 0.1
  done
  log "$s (${BIN[$s]}) did not come up on port $port; its log:"
  tail -20 "$WORK/$s.log" >&2
  exit 1
}

ensure_running() {  # a server that died in a run is restarted, and that is reported
  local s=$1
  if ! kill -0 "${PID[$s]}" 2>/dev/null; then
    log "$s died (log: $(tail -3 "$WORK/$s.log" | tr '\n' ' ')); restarting"
    echo "$s" >>"$WORK/deaths"
    start_server "$s"
  fi
}

start_server tern
start_server nats
log "tern-server pid ${PID[tern]} port ${PORT[tern]}; nats-server pid ${PID[nats]} port ${PORT[nats]}"

# ---- workloads -----------------------------------------------------------------------
# id | row label | tern-bench-core arguments
WORKLOADS=(
  "pub1|pub-only, 1 publisher (msgs/s)|--workload pub --pubs 1 --msgs $MSGS"
  "pubN|pub-only, $PUBS publishers (msgs/s)|--workload pub --pubs $PUBS --msgs $MSGS"
  "pubsub|pub/sub 1:1 (msgs/s received)|--workload pubsub --msgs $MSGS"
  "fan10|fan-out 1:10, bench.fan.> (msgs/s delivered)|--workload fanout --subs 10 --msgs $((MSGS / 10))"
  "fan100|fan-out 1:100, bench.fan.> (msgs/s delivered)|--workload fanout --subs 100 --msgs $((MSGS / 100))"
  "reqrep|request/reply|--workload reqrep --msgs $REQS"
)


# run_one ID SERVER ARGS: appends metric values to $WORK/ID.SERVER.<metric>
run_one() {
  local id=$1 s=$2 args=$3 line rc=0 c0 c1
  c0=$(cpu_ticks "$s")
  line=$(timeout 300 "$CORE" --port "${PORT[$s]}" --size "$SIZE" $args 2>>"$WORK/core.err") || rc=$?
  # The pause lets work the run left behind (a Go GC, socket teardown) finish, off the next
  # run's clock but on this run's CPU account.
  sleep "$SETTLE"
  c1=$(cpu_ticks "$s")
  line=$(grep '^RESULT' <<<"$line" || true)
  if [[ -z $line ]]; then
    log "$id on $s: no result (exit $rc): $(tail -1 "$WORK/core.err")"
    echo x >>"$WORK/$id.$s.failed"
    ensure_running "$s"
    return
  fi
  local lost
  lost=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' <<<"$line")
  [[ -n $lost && $lost != 0 ]] && echo "$lost" >>"$WORK/$id.$s.lost"
  local ops
  ops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$line")
  if [[ -n $ops && $ops -gt 0 && -n $c0 && -n $c1 ]]; then
    awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$ops" 'BEGIN {printf "%.1f\n", t / hz * 1e9 / n}' \
      >>"$WORK/$id.$s.cpu_ns"
    line+=" server_cpu_s=$(awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN {printf "%.2f", t / hz}')"
  fi
  for key in rate p50_us p99_us; do
    local v
    v=$(sed -n "s/.* $key=\([0-9.]*\).*/\1/p" <<<"$line")
    [[ -n $v ]] && echo "$v" >>"$WORK/$id.$s.$key"
  done
  echo "$id $s $line" >>"$WORK/raw"
  ensure_running "$s"
}

T_START=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
  for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r id label args <<<"$w"
    selected "$id" || continue
    for s in tern nats; do
      log "round $r/$ROUNDS: $id on $s"
      run_one "$id" "$s" "$args"
    done
  done
done
T_END=$(date +%s)

# ---- report --------------------------------------------------------------------------
notes() {  # lost / failed markers for one cell
  local id=$1 s=$2 n=""
  [[ -s $WORK/$id.$s.lost ]] && n+=" (lost msgs in $(wc -l <"$WORK/$id.$s.lost") run(s))"
  [[ -s $WORK/$id.$s.failed ]] && n+=" (failed $(wc -l <"$WORK/$id.$s.failed") run(s))"
  echo -n "$n"
}
row() {  # row ID LABEL METRIC KIND(rate|lat)
  local id=$1 label=$2 metric=$3 kind=$4 t n tc nc ratio
  t=$(median "$WORK/$id.tern.$metric")
  n=$(median "$WORK/$id.nats.$metric")
  if [[ $kind == cpu ]]; then
    tc=${t:+$(fmt_ns "$t")}; nc=${n:+$(fmt_ns "$n")}
    [[ -n $t && -n $n ]] && ratio=$(awk -v a="$n" -v b="$t" 'BEGIN {printf "%.2f", a/b}')
  elif [[ $kind == rate ]]; then
    tc=${t:+$(fmt_rate "$t")}; nc=${n:+$(fmt_rate "$n")}
    [[ -n $t && -n $n ]] && ratio=$(awk -v a="$t" -v b="$n" 'BEGIN {printf "%.2f", a/b}')
  else
    tc=${t:+$(fmt_us "$t")}; nc=${n:+$(fmt_us "$n")}
    [[ -n $t && -n $n ]] && ratio=$(awk -v a="$n" -v b="$t" 'BEGIN {printf "%.2f", a/b}')
  fi
  local st sn
  st=$(spread "$WORK/$id.tern.$metric")
  sn=$(spread "$WORK/$id.nats.$metric")
  echo "| $label | ${tc:-n/a}$(notes "$id" tern) | ${nc:-n/a}$(notes "$id" nats) | ${ratio:-n/a} | ${st:-n/a} / ${sn:-n/a} |"
}

commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty=" (with uncommitted changes)"
if [[ $TERN_IS_DEFAULT == 1 ]]; then
  build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
else
  build_type="external binary $TERN"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
nats_ver=$("$NATS" --version 2>/dev/null | head -1 || true)

report() {
  echo "## tern-server vs nats-server"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
  echo "- tern-server: commit $commit$dirty, build type ${build_type:-unknown}"
  echo "- nats-server: ${nats_ver:-unknown} ($NATS)"
  echo "- settings: ${ROUNDS} rounds per cell, servers alternated (ABAB), medians shown;" \
    "payload ${SIZE} B; ${MSGS} msgs delivered per throughput run; ${REQS} round trips per latency run;" \
    "wall time $((T_END - T_START)) s"
  echo "- command: bench/run.sh ${ORIG_ARGS}"
  echo
  echo "| workload | tern | nats | ratio | spread tern / nats |"
  echo "|---|---:|---:|---:|---:|"
  for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r id label args <<<"$w"
    selected "$id" || continue
    if [[ $id == reqrep ]]; then
      row reqrep "request/reply p50 latency" p50_us lat
      row reqrep "request/reply p99 latency" p99_us lat
    else
      row "$id" "$label" rate rate
    fi
  done
  echo
  echo "Server CPU time per message (user+system CPU of the server process over the run, divided by"
  echo "messages published for pub-only, delivered for the others, round trips for request/reply)."
  echo "Less sensitive to other load on the machine than the rates above. Ratio nats/tern."
  echo
  echo "| workload | tern | nats | ratio | spread tern / nats |"
  echo "|---|---:|---:|---:|---:|"
  for w in "${WORKLOADS[@]}"; do
    IFS='|' read -r id label args <<<"$w"
    selected "$id" || continue
    row "$id" "${label% (*}" cpu_ns cpu
  done
  echo
  echo "Ratio: tern/nats for throughput, nats/tern for latency and CPU, so > 1 means Tern is better."
  echo "Spread: half the min..max range over the rounds, relative to the median; a ratio closer to 1"
  echo "than the spreads is noise."
  report_footer
}
if [[ -n $OUT ]]; then report | tee "$OUT"; else report; fi
