#!/usr/bin/env bash
# JetStream stream publishes and pull consumers: tern-server (durable default, and
# sync_interval "2m" for publishes) against nats-server, alternating servers run by run, and
# prints markdown tables of medians with ratios (>1: Tern is better). See bench/README.md
# ("Streams"). Usage: bench/run_js.sh [--quick] ...
set -euo pipefail

ORIG_ARGS="$*"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$ROOT/build/bench"
TERN="$BUILD/server/tern-server"
TERN_IS_DEFAULT=1
NATS=/usr/sbin/nats-server
ROUNDS=5
SIZE_ROUNDS=2
MSGS=200000
SYNC_MSGS=2000
SIZE_MSGS=1000000
WINDOW=256
SIZE=128
FSYNC_COUNT=200
PULL_ROUNDS=3
PULL_MSGS=1000000
FILL_WINDOW=4096
WQ_WORKERS=4
ONLY=""
SETTLE=1
QUICK=0
OUT=""

usage() {
  cat <<EOF
usage: bench/run_js.sh [options]
  --tern PATH        tern-server binary (default: $BUILD/server/tern-server, built if needed)
  --nats PATH        nats-server binary (default: $NATS)
  --rounds R         rounds for the async and sync groups (default $ROUNDS); medians are reported
  --size-rounds R    rounds for the on-disk size group (default $SIZE_ROUNDS)
  --msgs M           messages per async run (default $MSGS)
  --sync-msgs K      publishes per sync run (default $SYNC_MSGS, plus a warm-up of min(100, K/10))
  --size-msgs M      telemetry messages per on-disk size run (default $SIZE_MSGS)
  --window W         async publishes in flight (default $WINDOW)
  --size S           payload bytes for async and sync (default $SIZE)
  --fsync-count N    write+fdatasync probes per round (default $FSYNC_COUNT)
  --pull-rounds R    rounds of the pull and workqueue groups (default $PULL_ROUNDS)
  --pull-msgs M      messages pre-filled and consumed per pull / workqueue run (default $PULL_MSGS)
  --fill-window W    async publishes in flight while pre-filling (default $FILL_WINDOW; not measured)
  --workers N        competing workers in the workqueue group (default $WQ_WORKERS)
  --build DIR        build directory for the bench tools and the default tern-server (default $BUILD)
  --only LIST        comma-separated subset: async,sync,size,pull,workqueue
  --settle SEC       pause after each run (default $SETTLE)
  --quick            smoke run: 2 rounds, 50k async msgs, 500 sync, 200k telemetry msgs, 1 size round,
                     100k msgs per pull / workqueue run
  --out FILE         also write the report to FILE
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --tern) TERN="$2"; TERN_IS_DEFAULT=0; shift 2 ;;
    --nats) NATS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --size-rounds) SIZE_ROUNDS="$2"; shift 2 ;;
    --msgs) MSGS="$2"; shift 2 ;;
    --sync-msgs) SYNC_MSGS="$2"; shift 2 ;;
    --size-msgs) SIZE_MSGS="$2"; shift 2 ;;
    --window) WINDOW="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    --fsync-count) FSYNC_COUNT="$2"; shift 2 ;;
    --pull-rounds) PULL_ROUNDS="$2"; shift 2 ;;
    --pull-msgs) PULL_MSGS="$2"; shift 2 ;;
    --fill-window) FILL_WINDOW="$2"; shift 2 ;;
    --workers) WQ_WORKERS="$2"; shift 2 ;;
    --build) BUILD="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --settle) SETTLE="$2"; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_js.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ $TERN_IS_DEFAULT == 1 ]] && TERN="$BUILD/server/tern-server"
if [[ $QUICK == 1 ]]; then  # smaller defaults; options given explicitly still win
  [[ " $ORIG_ARGS " == *" --rounds "* ]] || ROUNDS=2
  [[ " $ORIG_ARGS " == *" --size-rounds "* ]] || SIZE_ROUNDS=1
  [[ " $ORIG_ARGS " == *" --msgs "* ]] || MSGS=50000
  [[ " $ORIG_ARGS " == *" --sync-msgs "* ]] || SYNC_MSGS=500
  [[ " $ORIG_ARGS " == *" --size-msgs "* ]] || SIZE_MSGS=200000
  [[ " $ORIG_ARGS " == *" --pull-rounds "* ]] || PULL_ROUNDS=2
  [[ " $ORIG_ARGS " == *" --pull-msgs "* ]] || PULL_MSGS=100000
  [[ " $ORIG_ARGS " == *" --settle "* ]] || SETTLE=0.3
fi

log() { echo "run_js.sh: $*" >&2; }

# ---- build ---------------------------------------------------------------------------
targets=(tern-bench-js tern-bench-core)
[[ $TERN_IS_DEFAULT == 1 ]] && targets+=(tern-server)
if [[ ! -f "$BUILD/build.ninja" ]]; then
  log "configuring $BUILD (Release)"
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTERN_BUILD_TESTS=OFF >&2
fi
log "building ${targets[*]}"
ninja -C "$BUILD" -j2 "${targets[@]}" >&2
JS="$BUILD/bench/tern-bench-js"
CORE="$BUILD/bench/tern-bench-core"
[[ -x "$TERN" ]] || { log "no tern-server at $TERN"; exit 1; }
[[ -x "$NATS" ]] || { log "no nats-server at $NATS"; exit 1; }

# ---- servers -------------------------------------------------------------------------
# tern: durable default (ack after fsync); ternint: jetstream { sync_interval: "2m" } from a
# config file (ack after write, like nats-server); nats: nats-server defaults (ack before sync).
# Each has its own store directory in WORK, so all stores share one filesystem.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench-js.XXXXXX")
# ternint serves only the async and workqueue groups. When --tern is nats-server (the plumbing check), it
# runs without the config file, which nats-server would refuse (unknown field).
SERVERS=(tern nats)
TERN_IS_NATS=0
"$TERN" --version 2>/dev/null | grep -q '^nats-server' && TERN_IS_NATS=1
declare -A PID PORT
printf 'jetstream {\n  sync_interval: "2m"\n}\n' >"$WORK/ternint.conf"

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if selected async || selected workqueue; then SERVERS+=(ternint); fi

start_server() {  # start_server tern|ternint|nats
  local s=$1 port
  port=$("$CORE" --free-port)
  mkdir -p "$WORK/store.$s"
  case $s in
    tern) "$TERN" -a 127.0.0.1 -p "$port" -js -sd "$WORK/store.$s" >>"$WORK/$s.log" 2>&1 & ;;
    ternint)
      if [[ $TERN_IS_NATS == 1 ]]; then
        "$TERN" -a 127.0.0.1 -p "$port" -js -sd "$WORK/store.$s" >>"$WORK/$s.log" 2>&1 &
      else
        "$TERN" -a 127.0.0.1 -p "$port" -js -sd "$WORK/store.$s" -c "$WORK/ternint.conf" >>"$WORK/$s.log" 2>&1 &
      fi ;;
    nats) "$NATS" -a 127.0.0.1 -p "$port" -js -sd "$WORK/store.$s" >>"$WORK/$s.log" 2>&1 & ;;
  esac
  PID[$s]=$!
  PORT[$s]=$port
  for _ in $(seq 100); do
    if "$CORE" --probe --port "$port"; then return 0; fi
    kill -0 "${PID[$s]}" 2>/dev/null || break
    sleep 0.1
  done
  log "$s did not come up on port $port; its log:"
  tail -20 "$WORK/$s.log" >&2
  exit 1
}

ensure_running() {
  local s=$1
  if ! kill -0 "${PID[$s]}" 2>/dev/null; then
    log "$s died (log: $(tail -3 "$WORK/$s.log" | tr '\n' ' ')); restarting"
    echo "$s" >>"$WORK/deaths"
    start_server "$s"
  fi
}

for s in "${SERVERS[@]}"; do start_server "$s"; done
log "tern pid ${PID[tern]} port ${PORT[tern]}; ternint pid ${PID[ternint]:-none} port ${PORT[ternint]:-none};" \
  "nats pid ${PID[nats]} port ${PORT[nats]}; stores in $WORK"
if [[ " ${SERVERS[*]} " == *" ternint "* ]] && ! grep -q 'Sync interval: *2m' "$WORK/ternint.log"; then
  log "warning: ternint's log does not confirm sync_interval 2m"
fi


# The stream's directory in a server's store (tern: jetstream/streams/BENCH; nats:
# jetstream/$G/streams/BENCH).
stream_dir() { find "$WORK/store.$1" -type d -name BENCH -path '*streams*' 2>/dev/null | head -1; }

# run_one ID SERVER ARGS: runs tern-bench-js, appends metric values to $WORK/ID.SERVER.<metric>
run_one() {
  local id=$1 s=$2 args=$3 line rc=0 c0 c1
  c0=$(cpu_ticks "$s")
  line=$(timeout 600 "$JS" --port "${PORT[$s]}" $args 2>>"$WORK/js.err") || rc=$?
  sleep "$SETTLE"
  c1=$(cpu_ticks "$s")
  line=$(grep '^RESULT' <<<"$line" || true)
  if [[ -z $line || $rc != 0 ]]; then
    log "$id on $s: no result or errors (exit $rc): $(tail -1 "$WORK/js.err")"
    echo x >>"$WORK/$id.$s.failed"
    ensure_running "$s"
    [[ -z $line ]] && return
  fi
  local ops
  ops=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$line")
  if [[ -n $ops && $ops -gt 0 && -n $c0 && -n $c1 ]]; then
    awk -v t=$((c1 - c0)) -v hz="$CLK_TCK" -v n="$ops" 'BEGIN {printf "%.1f\n", t / hz * 1e9 / n}' \
      >>"$WORK/$id.$s.cpu_ns"
  fi
  if [[ $id == size_* ]]; then
    local d bytes
    d=$(stream_dir "$s")
    bytes=$(du -sb "$d" | cut -f1)
    echo "$bytes" >>"$WORK/$id.$s.disk"
    line+=" disk_bytes=$bytes"
  fi
  for key in rate p50_us p99_us payload_avg; do
    local v
    v=$(sed -n "s/.* $key=\([0-9.]*\).*/\1/p" <<<"$line")
    [[ -n $v ]] && echo "$v" >>"$WORK/$id.$s.$key"
  done
  echo "$id $s $line" >>"$WORK/raw"
  ensure_running "$s"
}

fsync_probe() {  # the write+fdatasync latency on the stores' filesystem
  local line
  for gap in 0 2000; do
    line=$("$JS" --fsync-dir "$WORK" --fsync-count "$FSYNC_COUNT" --fsync-gap-us "$gap" | grep '^RESULT')
    echo "fsync gap$gap $line" >>"$WORK/raw"
    for key in p50_us p99_us mean_us; do
      sed -n "s/.* $key=\([0-9.]*\).*/\1/p" <<<"$line" >>"$WORK/fsync$gap.$key"
    done
  done
}

ASYNC_ARGS="--workload async --msgs $MSGS --window $WINDOW --size $SIZE"
SYNC_ARGS="--workload sync --msgs $SYNC_MSGS --size $SIZE"
SIZE_ARGS="--workload async --msgs $SIZE_MSGS --window $WINDOW --payload telemetry"
# Pull groups: the fill (its own run, so neither its time nor its CPU counts) and the consume.
FILL_ARGS="--workload fill --stream BENCH --msgs $PULL_MSGS --window $FILL_WINDOW --size $SIZE"
WQFILL_ARGS="--workload fill --stream BENCHWQ --retention workqueue --msgs $PULL_MSGS --window $FILL_WINDOW --size $SIZE"
PULL_ARGS="--workload pull --stream BENCH --msgs $PULL_MSGS"
WQ_ARGS="--workload workqueue --stream BENCHWQ --msgs $PULL_MSGS --batch 100 --workers $WQ_WORKERS"

T_START=$(date +%s)
if selected async || selected sync; then
  for ((r = 1; r <= ROUNDS; r++)); do
    if selected async; then
      for s in tern nats ternint; do
        log "round $r/$ROUNDS: async on $s"
        run_one async "$s" "$ASYNC_ARGS"
      done
    fi
    if selected sync; then
      for s in tern nats; do
        log "round $r/$ROUNDS: sync on $s"
        run_one sync "$s" "$SYNC_ARGS"
      done
      log "round $r/$ROUNDS: fsync probe"
      fsync_probe
    fi
  done
fi
if selected size; then
  for ((r = 1; r <= SIZE_ROUNDS; r++)); do
    for c in none nats lz4 zstd; do
      if [[ $c == nats ]]; then
        log "size round $r/$SIZE_ROUNDS: telemetry on nats"
        run_one size_none nats "$SIZE_ARGS"
      else
        log "size round $r/$SIZE_ROUNDS: telemetry on tern, compression $c"
        run_one "size_$c" tern "$SIZE_ARGS --compression $c"
      fi
    done
  done
fi
if selected pull || selected workqueue; then
  for ((r = 1; r <= PULL_ROUNDS; r++)); do
    for s in tern nats ternint; do
      if selected pull && [[ $s != ternint ]]; then
        log "pull round $r/$PULL_ROUNDS: fill $PULL_MSGS on $s"
        run_one fill "$s" "$FILL_ARGS"
        for b in 100 256; do
          log "pull round $r/$PULL_ROUNDS: pull batch $b on $s"
          run_one "pull$b" "$s" "$PULL_ARGS --batch $b --consumer P$b"
        done
        # Next round refills; drop the stream now so its store does not sit beside the rest.
        "$JS" --port "${PORT[$s]}" --workload drop --stream BENCH >/dev/null 2>>"$WORK/js.err" || true
      fi
      if selected workqueue; then
        # ternint too: a workqueue ack removes the message, and a durable-default Tern syncs
        # that removal; ternint shows the like-for-like number (nats-server syncs on its own clock).
        log "workqueue round $r/$PULL_ROUNDS: fill $PULL_MSGS on $s"
        run_one wqfill "$s" "$WQFILL_ARGS"
        log "workqueue round $r/$PULL_ROUNDS: $WQ_WORKERS workers on $s"
        run_one wq "$s" "$WQ_ARGS"
      fi
    done
  done
fi
T_END=$(date +%s)

# ---- report --------------------------------------------------------------------------
notes() {
  [[ -s $WORK/$1.$2.failed ]] && echo -n " (failed $(wc -l <"$WORK/$1.$2.failed") run(s))"
  true
}
# cell ID SERVER METRIC FMT -> formatted median (and notes)
cell() {
  local m
  m=$(median "$WORK/$1.$2.$3")
  echo -n "${m:+$($4 "$m")}$(notes "$1" "$2")"
}
# ratio FILE_A FILE_B HIGHER_IS_BETTER(1|0): tern/nats for rates, nats/tern for times
ratio() {
  local a b
  a=$(median "$1"); b=$(median "$2")
  [[ -n $a && -n $b ]] || { echo -n "n/a"; return; }
  if [[ $3 == 1 ]]; then awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a/b}'; else awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", b/a}'; fi
}
# row LABEL TERN_ID TERN_SERVER NATS_ID METRIC FMT HIGHER_IS_BETTER [EXTRA_COLUMN]
row() {
  local label=$1 tid=$2 ts=$3 nid=$4 metric=$5 fmt=$6 hib=$7 extra=${8-}
  local st sn
  st=$(spread "$WORK/$tid.$ts.$metric"); sn=$(spread "$WORK/$nid.nats.$metric")
  echo "| $label | $(cell "$tid" "$ts" "$metric" "$fmt") | $(cell "$nid" nats "$metric" "$fmt") |" \
    "$(ratio "$WORK/$tid.$ts.$metric" "$WORK/$nid.nats.$metric" "$hib") | ${st:-n/a} / ${sn:-n/a} |${extra:+ $extra |}"
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
fsinfo=$(df -T "$WORK" 2>/dev/null | awk 'NR==2 {print $2 " on " $1}')

report() {
  echo "## tern-server vs nats-server: JetStream stream publishes and pull consumers"
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr); stores on ${fsinfo:-unknown fs} ($(dirname "$WORK"))"
  echo "- tern-server: commit $commit$dirty, build type ${build_type:-unknown}"
  echo "- nats-server: ${nats_ver:-unknown} ($NATS), defaults (acks before its fsync)"
  echo "- settings: servers alternated run by run, medians shown; async/sync ${ROUNDS} rounds, size ${SIZE_ROUNDS} round(s);" \
    "window ${WINDOW}; ${MSGS} msgs per async run; ${SYNC_MSGS} per sync run; ${SIZE_MSGS} telemetry msgs per size run;" \
    "payload ${SIZE} B; wall time $((T_END - T_START)) s"
  echo "- command: bench/run_js.sh ${ORIG_ARGS}"
  if selected pull || selected workqueue; then
    echo "- pull groups: ${PULL_ROUNDS} round(s), ${PULL_MSGS} msgs of ${SIZE} B pre-filled per run (async window ${FILL_WINDOW}," \
      "not timed), tern durable default (workqueue also with sync_interval 2m); ${WQ_WORKERS} workqueue workers"
  fi
  if selected async; then
    echo
    echo "### 1. Stream publish, async (${WINDOW} in flight, ${MSGS} msgs of ${SIZE} B)"
    echo
    echo "Reproduce: \`bench/run_js.sh --only async --rounds ${ROUNDS} --msgs ${MSGS} --window ${WINDOW}\`"
    echo
    echo "| workload | tern | nats | ratio | spread tern / nats |"
    echo "|---|---:|---:|---:|---:|"
    row "acks/s, tern durable (ack after fsync) vs nats default" async tern async rate fmt_rate 1
    row "acks/s, tern sync_interval 2m vs nats default (like for like)" async ternint async rate fmt_rate 1
    row "server CPU per ack, tern durable" async tern async cpu_ns fmt_ns 0
    row "server CPU per ack, tern sync_interval 2m" async ternint async cpu_ns fmt_ns 0
  fi
  if selected sync; then
    echo
    echo "### 2. Stream publish, sync (1 in flight, ${SYNC_MSGS} msgs of ${SIZE} B)"
    echo
    echo "Reproduce: \`bench/run_js.sh --only sync --rounds ${ROUNDS} --sync-msgs ${SYNC_MSGS}\`"
    echo
    local f50 f99 fmean g50 c_rate
    f50=$(median "$WORK/fsync0.p50_us"); f99=$(median "$WORK/fsync0.p99_us"); g50=$(median "$WORK/fsync2000.p50_us")
    fmean=$(median "$WORK/fsync0.mean_us")
    c_rate=$(awk -v v="$fmean" 'BEGIN {if (v > 0) printf "%.0f", 1e6 / v}')
    echo "| workload | tern durable | nats | ratio | spread tern / nats | disk: 128 B write + fdatasync |"
    echo "|---|---:|---:|---:|---:|---:|"
    row "acks/s" sync tern sync rate fmt_rate 1 "1/mean = ${c_rate:+$(fmt_rate "$c_rate")}"
    row "ack latency p50" sync tern sync p50_us fmt_us 0 "p50 ${f50:+$(fmt_us "$f50")} (2 ms apart: ${g50:+$(fmt_us "$g50")})"
    row "ack latency p99" sync tern sync p99_us fmt_us 0 "p99 ${f99:+$(fmt_us "$f99")}"
    echo
    echo "The last column is the machine's floor for a durable ack: ${FSYNC_COUNT} appends of 128 B, each"
    echo "followed by fdatasync, on a file in the stores' directory, back to back (median over rounds"
    echo "of each round's percentile), and the same with 2 ms pauses between them. A sync run's acks/s"
    echo "is 1 / its mean ack latency, so the floor for it is 1 / mean fsync latency."
  fi
  if selected size; then
    echo
    echo "### 3. On-disk size, ${SIZE_MSGS} JSON telemetry messages (async, window ${WINDOW}, tern durable)"
    echo
    echo "Reproduce: \`bench/run_js.sh --only size --size-rounds ${SIZE_ROUNDS} --size-msgs ${SIZE_MSGS}\`"
    echo
    local pavg raw nats_disk
    pavg=$(median "$WORK/size_none.tern.payload_avg")
    raw=$(awk -v a="${pavg:-0}" -v n="$SIZE_MSGS" 'BEGIN {printf "%.0f", a * n}')
    nats_disk=$(median "$WORK/size_none.nats.disk")
    echo "| server, compression | du -sb of stream dir | bytes/msg | vs raw payloads | size ratio nats/tern | publish rate | rate ratio tern/nats | spread (rate) | server CPU per msg |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    for id in size_none size_lz4 size_zstd nats; do
      local s=tern rid=$id
      [[ $id == nats ]] && { s=nats; rid=size_none; }
      local d
      d=$(median "$WORK/$rid.$s.disk")
      local label="tern, ${rid#size_}"
      [[ $s == nats ]] && label="nats-server 2.9 (no compression)"
      local per vs sr rr
      per=$(awk -v d="${d:-0}" -v n="$SIZE_MSGS" 'BEGIN {printf "%.1f", d / n}')
      vs=$(awk -v d="${d:-0}" -v r="$raw" 'BEGIN {if (r > 0) printf "%.2fx", d / r}')
      sr=$(awk -v d="${d:-0}" -v n="${nats_disk:-0}" 'BEGIN {if (d > 0) printf "%.2f", n / d}')
      rr=$(ratio "$WORK/$rid.$s.rate" "$WORK/size_none.nats.rate" 1)
      echo "| $label | ${d:+$(fmt_mb "$d")} | $per | $vs | $sr | $(cell "$rid" "$s" rate fmt_rate) | $rr |" \
        "$(spread "$WORK/$rid.$s.rate") | $(cell "$rid" "$s" cpu_ns fmt_ns) |"
    done
    echo
    echo "Raw payload bytes: ${raw} (${pavg} B per message on average); every message has subject"
    echo "bench.js.x. Tern compresses sealed 8 MiB blocks; the last (tail) block stays uncompressed."
  fi
  if selected pull || selected workqueue; then
    echo
    echo "### 4. Pull consumers, explicit ack (${PULL_MSGS} pre-filled msgs of ${SIZE} B)"
    echo
    echo "Reproduce: \`bench/run_js.sh --only pull,workqueue --pull-rounds ${PULL_ROUNDS} --pull-msgs ${PULL_MSGS}\`"
    echo
    echo "| workload | tern | nats | ratio | spread tern / nats |"
    echo "|---|---:|---:|---:|---:|"
    if selected pull; then
      row "pull batch 100, 1 worker, ack each (msgs/s)" pull100 tern pull100 rate fmt_rate 1
      row "pull batch 256, 1 worker, ack each (msgs/s)" pull256 tern pull256 rate fmt_rate 1
    fi
    if selected workqueue; then
      row "workqueue, ${WQ_WORKERS} workers, batch 100 (msgs/s), tern durable" wq tern wq rate fmt_rate 1
      row "workqueue, ${WQ_WORKERS} workers, batch 100 (msgs/s), tern sync_interval 2m (like for like)" wq ternint wq rate fmt_rate 1
    fi
    if selected pull; then
      row "server CPU per message, pull batch 100" pull100 tern pull100 cpu_ns fmt_ns 0
      row "server CPU per message, pull batch 256" pull256 tern pull256 cpu_ns fmt_ns 0
    fi
    if selected workqueue; then
      row "server CPU per message, workqueue, tern durable" wq tern wq cpu_ns fmt_ns 0
      row "server CPU per message, workqueue, tern sync_interval 2m" wq ternint wq cpu_ns fmt_ns 0
    fi
    selected pull && row "pre-fill publish rate (not part of the ratio above; async window ${FILL_WINDOW})" fill tern fill rate fmt_rate 1
    selected workqueue && row "pre-fill publish rate, workqueue stream, tern durable" wqfill tern wqfill rate fmt_rate 1
    echo
    echo "Rate: messages / (first pull request → every message received and acked, the acks"
    echo "confirmed read by a PING/PONG per worker). Each worker keeps one pull request"
    echo "(\`{\"batch\":B,\"expires\":5s}\`) outstanding and sends the next after the previous batch,"
    echo "like a nats.go Fetch loop; every message is acked with a plain PUB to its \`\$JS.ACK\` subject."
    echo "After each run consumer info must show num_ack_pending 0 and the ack floor at the last"
    echo "message, and the workqueue stream must be empty (else the cell says failed)."
  fi
  echo
  echo "Ratio: > 1 means Tern is better (tern/nats for rates, nats/tern for latency, CPU and size)."
  echo "Spread: half the min..max range over the rounds, relative to the median."
  report_footer
}
if [[ -n $OUT ]]; then report | tee "$OUT"; else report; fi
