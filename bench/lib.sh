# Helpers for the shell benchmark (bench/load.sh; sourced, not run). bench/run.sh drives the rest.

# bench_init: publishes the daemon as the image does (CS runs it), makes a scratch folder (T), and on
# exit stops DAEMON and SERVER (when set) and removes T.
bench_init() {
  dotnet publish src/ConfigSync -c Release -r "linux-$(uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)" -o artifacts/bench/configsync --nologo -v quiet >/dev/null
  CS="artifacts/bench/configsync/configsync"
  T=$(mktemp -d /tmp/configsync-bench-XXXX)
  SERVER=""
  DAEMON=""
  trap 'kill $DAEMON $SERVER 2>/dev/null || true; rm -rf "$T"' EXIT
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
