# Shared by bench/run.sh and bench/run_js.sh (sourced, not run). The caller sets:
#   WORK      its temp dir (server logs, per-run metric files); removed on exit
#   SERVERS   the server names it starts, e.g. (tern nats)
#   PID       an associative array: server name -> pid
# Metric files hold one value per line, one line per round.

# Stops every server this run started, by PID, and removes the work dir.
cleanup() {
  for s in "${SERVERS[@]}"; do
    local p=${PID[$s]:-}
    if [[ -n $p ]] && kill -0 "$p" 2>/dev/null; then
      kill "$p" 2>/dev/null || true
      wait "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

selected() { [[ -z $ONLY ]] || [[ ",$ONLY," == *",$1,"* ]]; }

CLK_TCK=$(getconf CLK_TCK)
# cpu_ticks SERVER: user+system CPU time the server process has used so far, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' "/proc/${PID[$1]}/stat" 2>/dev/null || true; }

median() {  # median FILE -> prints median or empty
  [[ -s $1 ]] || return 0
  sort -g "$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'
}
spread() {  # spread FILE -> "±N%": half the min..max range, relative to the median
  [[ -s $1 ]] || return 0
  sort -g "$1" | awk '{v[NR]=$1} END {m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2;
    if (m > 0) printf "±%.0f%%", 50*(v[NR]-v[1])/m}'
}
fmt_rate() { awk -v v="$1" 'BEGIN {if (v >= 1e6) printf "%.2f M/s", v/1e6; else printf "%.1f k/s", v/1e3}'; }
fmt_us() { awk -v v="$1" 'BEGIN {if (v >= 1000) printf "%.2f ms", v/1000; else printf "%.1f µs", v}'; }
fmt_ns() { awk -v v="$1" 'BEGIN {if (v >= 10000) printf "%.1f µs", v/1000; else printf "%.0f ns", v}'; }
fmt_mb() { awk -v v="$1" 'BEGIN {printf "%.1f MB", v/1e6}'; }

# The end of every report: servers that died and were restarted, and the raw results.
report_footer() {
  if [[ -s $WORK/deaths ]]; then
    echo
    echo "**Server deaths during the run (restarted):** $(sort "$WORK/deaths" | uniq -c | awk '{printf "%s%s x%d", NR > 1 ? ", " : "", $2, $1}')"
  fi
  echo
  echo "<details><summary>raw results</summary>"
  echo
  echo '```'
  cat "$WORK/raw" 2>/dev/null || true
  echo '```'
  echo "</details>"
}
