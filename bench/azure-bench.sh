#!/usr/bin/env bash
# Azure Blob source benchmark: 2,000 blobs of 1 KiB under one prefix in 20 "folders", served by
# Azurite (npm, pinned in tests/servers; run scripts/test-deps.sh first) in memory on 127.0.0.1.
# "Process included" rows run `configsync once` (.NET start, volume recovery, the sync); the daemon
# rows read configsync_sync_duration_seconds of a running daemon triggered by POST /sync.
# Medians of RUNS runs. Writes the table to stdout (markdown).
#   bash bench/azure-bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-5}
AZURITE=tests/servers/node_modules/azurite/dist/src/blob/main.js
[ -f "$AZURITE" ] || { echo "azurite is not installed: run scripts/test-deps.sh" >&2; exit 1; }

bench_init

BLOBPORT=$(free_port)
node "$AZURITE" --blobHost 127.0.0.1 --blobPort "$BLOBPORT" --inMemoryPersistence --skipApiVersionCheck --disableTelemetry --silent >/dev/null 2>&1 &
SERVER=$!
ACCOUNT="http://127.0.0.1:$BLOBPORT/devstoreaccount1"
# The emulator's well-known development account key (public, not a secret).
printf 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=%s;' "$ACCOUNT" > "$T/connection-string"
until curl -s -o /dev/null "$ACCOUNT?comp=list"; do sleep 0.1; done
seed() { dotnet run bench/azure-seed.cs -- "$(cat "$T/connection-string")" config env/prod "$1" >/dev/null; }
seed 2000
change() { seed change; }

config() { # $1 = root, $2 = listen (the daemon only)
  [ -n "${2:-}" ] && printf 'http:\n  listen: %s\n' "$2"
  cat <<EOF
syncs:
  - name: default
    interval: 1h
    source:
      type: azureblob
      container: config
      prefix: env/prod
      auth:
        connectionStringFile: $T/connection-string
    target:
      root: $1
EOF
}

# The server's own cost, as a floor: the LIST (one page of up to 5,000), and 2,000 GETs 16 at a time, by curl
# (the container is public-read for this).
for d in $(seq 0 19); do for f in $(seq 0 99); do printf 'url = "%s/config/env/prod/dir%d/file%d.yaml"\noutput = "/dev/null"\n' "$ACCOUNT" "$d" "$f"; done; done > "$T/get.curl"
list_all() { curl -sf -o /dev/null "$ACCOUNT/config?restype=container&comp=list&prefix=env/prod/"; }
declare -a curl_list curl_get
for i in $(seq 1 "$RUNS"); do
  curl_list+=("$(ms list_all)")
  curl_get+=("$(ms curl -sf --no-progress-meter --parallel --parallel-max 16 -K "$T/get.curl")")
done
measure_with_config "$RUNS" config change 2000

cat <<EOF
| case (2,000 x 1 KiB blobs, Azurite in memory on 127.0.0.1) | ConfigSync | curl: the server's floor |
|---|---|---|
| initial sync, process included (\`once\`) vs LIST + 2,000 GETs 16 at a time | $(median "${cs_init[@]}") ms | $(( $(median "${curl_list[@]}") + $(median "${curl_get[@]}") )) ms |
| no-change poll, process included (\`once\`) vs the LIST | $(median "${cs_nochange[@]}") ms | $(median "${curl_list[@]}") ms |
| one changed blob, process included (\`once\`) | $(median "${cs_change[@]}") ms | |
| initial sync inside the daemon (one run) | ${FIRST} ms | |
| no-change poll inside the daemon | $(median "${d_nochange[@]}") ms | |
| one changed blob inside the daemon | $(median "${d_change[@]}") ms | |
| daemon RSS after these syncs | ${RSS} MiB | |
EOF
