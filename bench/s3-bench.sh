#!/usr/bin/env bash
# S3 source benchmark: 2,000 objects of 1 KiB under one prefix in 20 "folders", served by s3rver
# (npm, pinned in tests/servers; run scripts/test-deps.sh first) on 127.0.0.1.
# "Process included" rows run `configsync once` (.NET start, volume recovery, the sync); the daemon
# rows read configsync_sync_duration_seconds of a running daemon triggered by POST /sync.
# Medians of RUNS runs. Writes the table to stdout (markdown).
#   bash bench/s3-bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-5}
S3RVER=tests/servers/node_modules/s3rver/bin/s3rver.js
[ -f "$S3RVER" ] || { echo "s3rver is not installed: run scripts/test-deps.sh" >&2; exit 1; }

bench_init

S3PORT=$(free_port)
NODE_OPTIONS=--openssl-legacy-provider node "$S3RVER" -d "$T/s3" -a 127.0.0.1 -p "$S3PORT" --silent --configure-bucket config >/dev/null 2>&1 &
SERVER=$!
ENDPOINT="http://127.0.0.1:$S3PORT"
S3CURL=(curl -sf --no-progress-meter --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
until "${S3CURL[@]}" -o /dev/null "$ENDPOINT/config?list-type=2"; do sleep 0.1; done

# Seed 2,000 x 1 KiB objects, 16 PUTs at a time, through one curl.
mkdir -p "$T/seed"
for d in $(seq 0 19); do for f in $(seq 0 99); do
  head -c 768 /dev/urandom | base64 -w0 | head -c 1024 > "$T/seed/d${d}f${f}"
  printf 'upload-file = "%s"\nurl = "%s/config/env/prod/dir%d/file%d.yaml"\noutput = "/dev/null"\n' "$T/seed/d${d}f${f}" "$ENDPOINT" "$d" "$f" >> "$T/seed.curl"
done; done
"${S3CURL[@]}" --parallel --parallel-max 16 -K "$T/seed.curl"
change() { head -c 32 /dev/urandom | base64 > "$T/changed"; "${S3CURL[@]}" -o /dev/null -T "$T/changed" "$ENDPOINT/config/env/prod/dir7/file42.yaml"; }

printf 'S3RVER\n' > "$T/key-id"
printf 'S3RVER\n' > "$T/secret"
config() { # $1 = root, $2 = listen (the daemon only)
  [ -n "${2:-}" ] && printf 'http:\n  listen: %s\n' "$2"
  cat <<EOF
syncs:
  - name: default
    interval: 1h
    source:
      type: s3
      bucket: config
      prefix: env/prod
      region: us-east-1
      endpoint: $ENDPOINT
      auth:
        accessKeyIdFile: $T/key-id
        secretAccessKeyFile: $T/secret
    target:
      root: $1
EOF
}


# The server's own cost, as a floor: the two LIST pages, and 2,000 GETs 16 at a time, by curl.
sed -e '/^upload-file/d' -e "s|^output = .*|output = \"/dev/null\"|" "$T/seed.curl" > "$T/get.curl"
list_all() {
  local token="" page
  while :; do
    page=$("${S3CURL[@]}" "$ENDPOINT/config?list-type=2&prefix=env/prod/${token:+&continuation-token=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$token")}")
    token=$(sed -n 's|.*<NextContinuationToken>\(.*\)</NextContinuationToken>.*|\1|p' <<<"$page")
    [ -n "$token" ] || break
  done
}
declare -a curl_list curl_get
for i in $(seq 1 "$RUNS"); do
  curl_list+=("$(ms list_all)")
  curl_get+=("$(ms "${S3CURL[@]}" --parallel --parallel-max 16 -K "$T/get.curl")")
done
measure_with_config "$RUNS" config change 2000

cat <<EOF
| case (2,000 x 1 KiB objects, s3rver on 127.0.0.1) | ConfigSync | curl: the server's floor |
|---|---|---|
| initial sync, process included (\`once\`) vs LIST + 2,000 GETs 16 at a time | $(median "${cs_init[@]}") ms | $(( $(median "${curl_list[@]}") + $(median "${curl_get[@]}") )) ms |
| no-change poll, process included (\`once\`) vs the two LIST pages | $(median "${cs_nochange[@]}") ms | $(median "${curl_list[@]}") ms |
| one changed object, process included (\`once\`) | $(median "${cs_change[@]}") ms | |
| initial sync inside the daemon (one run) | ${FIRST} ms | |
| no-change poll inside the daemon | $(median "${d_nochange[@]}") ms | |
| one changed object inside the daemon | $(median "${d_change[@]}") ms | |
| daemon RSS after these syncs | ${RSS} MiB | |
EOF
