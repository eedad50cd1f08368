# Helpers for the shell benchmark (bench/load.sh; sourced, not run). bench/run.sh drives the rest.

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
