#!/usr/bin/env bash
# Load: one daemon with SYNCS dir syncs (20 files each) polling every second for SECONDS seconds,
# one file of one sync changed every second. Samples RSS, open file descriptors and CPU time of the
# daemon every 10 s after a 30 s warm-up and prints a markdown table (docs/reliability.md).
#   bash bench/load.sh [SYNCS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
SYNCS=${1:-50}
SECONDS_TOTAL=${2:-180}
bench_init
PORT=$(free_port)
{
  printf 'http:\n  listen: "127.0.0.1:%s"\nsyncs:\n' "$PORT"
  for s in $(seq 1 "$SYNCS"); do
    mkdir -p "$T/src/s$s"
    for f in $(seq 1 20); do echo "sync $s file $f" > "$T/src/s$s/f$f.yaml"; done
    printf '  - name: s%s\n    source: { type: dir, path: %s }\n    target: { root: %s, grace: 2s }\n    interval: 1s\n' "$s" "$T/src/s$s" "$T/vol/s$s"
  done
} > "$T/config.yaml"
$CS run --config "$T/config.yaml" > "$T/daemon.log" 2>&1 &
DAEMON=$!
until curl -sf "127.0.0.1:$PORT/readyz" >/dev/null; do sleep 0.2; done
ticks=$(getconf CLK_TCK)
sample() { # elapsed rss_mib fds cpu_seconds syncs_total
  local stat cpu rss fds total
  stat=($(cut -d' ' -f14,15 "/proc/$DAEMON/stat"))
  cpu=$(python3 -c "print(round(($((stat[0] + stat[1])))/$ticks, 1))")
  rss=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$DAEMON/status")
  fds=$(ls "/proc/$DAEMON/fd" | wc -l)
  total=$(curl -s "127.0.0.1:$PORT/metrics" | awk '/^configsync_sync_total/ {s += $2} END {print int(s)}')
  echo "$1 $rss $fds $cpu $total"
}
start=$(date +%s)
rows=()
i=0
while [ $(( $(date +%s) - start )) -lt "$SECONDS_TOTAL" ]; do
  s=$(( (i % SYNCS) + 1 )); echo "change $i" > "$T/src/s$s/f1.yaml"; i=$((i + 1))
  elapsed=$(( $(date +%s) - start ))
  if [ "$elapsed" -ge 30 ] && [ $(( elapsed % 10 )) -eq 0 ] && [ "${last:-}" != "$elapsed" ]; then rows+=("$(sample "$elapsed")"); last=$elapsed; fi
  sleep 1
done
kill -0 "$DAEMON"
echo "| seconds | RSS MiB | open fds | CPU seconds (total) | sync attempts (total) |"
echo "|---|---|---|---|---|"
for r in "${rows[@]}"; do set -- $r; echo "| $1 | $2 | $3 | $4 | $5 |"; done
set -- ${rows[0]}; first=($@); set -- ${rows[-1]}; lastr=($@)
python3 - "${first[@]}" "${lastr[@]}" <<'PY'
import sys
a = list(map(float, sys.argv[1:6])); b = list(map(float, sys.argv[6:11]))
span = b[0] - a[0]
print(f"\nFrom {int(a[0])} s to {int(b[0])} s: RSS {int(a[1])} -> {int(b[1])} MiB, fds {int(a[2])} -> {int(b[2])}, "
      f"CPU {((b[3]-a[3])/span*60):.1f} s per minute ({(b[3]-a[3])/span*100:.1f}% of one core), {int((b[4]-a[4])/span*60)} sync attempts per minute.")
PY
