# Helpers the benchmark scripts share (sourced, not run).

# bench_init: publishes the daemon as the image does (CS runs it), makes a scratch folder (T), and on
# exit stops DAEMON and SERVER (when set) and removes T.
bench_init() {
  dotnet publish src/ConfigSync -c Release -o artifacts/configsync --nologo -v quiet >/dev/null
  CS="dotnet artifacts/configsync/configsync.dll"
  T=$(mktemp -d /tmp/configsync-bench-XXXX)
  SERVER=""
  DAEMON=""
  trap 'kill $DAEMON $SERVER 2>/dev/null || true; rm -rf "$T"' EXIT
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ms COMMAND...: runs it, prints its wall-clock time in milliseconds; a failure stops the benchmark.
ms() { local s=$(date +%s%N); "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }; echo $(( ($(date +%s%N) - s) / 1000000 )); }

median() { python3 -c 'import sys,statistics; print(int(statistics.median([int(x) for x in sys.argv[1:]])))' "$@"; }

# measure_daemon RUNS PORT CHANGE_COMMAND: against a daemon already listening on PORT with one sync
# named "default", triggers RUNS no-change and RUNS one-change syncs with POST /sync/default and reads
# each one's duration as the daemon measures it (configsync_sync_duration_seconds, no process start).
# Sets the arrays d_nochange and d_change (ms), FIRST (the first sync, ms) and RSS (MiB) of DAEMON.
measure_daemon() {
  local runs=$1 port=$2 change=$3 kind s0 c0 v
  until curl -sf "127.0.0.1:$port/readyz" >/dev/null; do sleep 0.1; done
  _metric() { curl -s "127.0.0.1:$port/metrics" | awk -v m="configsync_sync_duration_seconds_$1" 'index($1, m) == 1 {print $2}'; }
  FIRST=$(python3 -c "print(int(float('$(_metric sum)')*1000))")
  d_nochange=(); d_change=()
  for _ in $(seq 1 "$runs"); do
    for kind in nochange change; do
      [ "$kind" = change ] && $change
      s0=$(_metric sum); c0=$(_metric count)
      curl -s -XPOST "127.0.0.1:$port/sync/default" >/dev/null
      until [ "$(_metric count)" != "$c0" ]; do sleep 0.02; done
      v=$(python3 -c "print(int((float('$(_metric sum)')-float('$s0'))*1000))")
      if [ "$kind" = change ]; then d_change+=("$v"); else d_nochange+=("$v"); fi
    done
  done
  RSS=$(awk '/VmRSS/ {print int($2/1024)}' "/proc/$DAEMON/status")
}

# measure_with_config RUNS CONFIG_FN CHANGE_FN FILES: CONFIG_FN ROOT [LISTEN] prints a configuration
# with one sync named "default". Times `configsync once` (initial, no change, one change) RUNS times
# into cs_init, cs_nochange and cs_change, checks the first tree holds FILES files, then starts the
# daemon (DAEMON) and runs measure_daemon. Needs CS (the command) and T (a scratch folder).
measure_with_config() {
  local runs=$1 config=$2 change=$3 files=$4 i port
  cs_init=(); cs_nochange=(); cs_change=()
  for i in $(seq 1 "$runs"); do
    $config "$T/cs$i" > "$T/cs$i.yaml"
    cs_init+=("$(ms $CS once --no-signal --config "$T/cs$i.yaml")")
    cs_nochange+=("$(ms $CS once --no-signal --config "$T/cs$i.yaml")")
    $change
    cs_change+=("$(ms $CS once --no-signal --config "$T/cs$i.yaml")")
  done
  [ "$(find "$T/cs1/current/" -type f | wc -l)" = "$files" ] || { echo "the published tree does not hold $files files" >&2; exit 1; }
  port=$(free_port)
  $config "$T/daemon" "127.0.0.1:$port" > "$T/daemon.yaml"
  $CS run --config "$T/daemon.yaml" >"$T/daemon.log" 2>&1 &
  DAEMON=$!
  measure_daemon "$runs" "$port" "$change"
}
