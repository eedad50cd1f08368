#!/usr/bin/env bash
# Git source benchmark: a repository of 2,000 x 1 KiB files in 20 folders, over file://.
# Compares ConfigSync (`configsync once`, what an init container or a sync costs, process start
# included; and the in-daemon sync duration from /metrics) with plain git, what a script-based
# sidecar does. Medians of RUNS runs. Writes the table to stdout (markdown).
#   bash bench/git-bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${1:-5}
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@example.com GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@example.com GIT_CONFIG_GLOBAL=/dev/null

bench_init

git init -q --bare --initial-branch=main "$T/repo.git"
git clone -q "$T/repo.git" "$T/work" 2>/dev/null
( cd "$T/work" && git checkout -q -b main
  for d in $(seq 0 19); do mkdir -p "dir$d"; for f in $(seq 0 99); do head -c 1024 /dev/urandom | base64 -w0 | head -c 1024 > "dir$d/file$f.yaml"; done; done
  git add -A && git commit -q -m initial && git push -q origin main )
URL="file://$T/repo.git"

change() { ( cd "$T/work" && echo "change $RANDOM$RANDOM" > dir7/file42.yaml && git commit -qam "change" && git push -q origin main ); }

declare -a cs_init cs_nochange cs_change git_init git_full git_change startup
for i in $(seq 1 "$RUNS"); do
  startup+=("$(ms $CS validate --source dir --path "$T" --root "$T/v-validate")")
  cs_init+=("$(ms $CS once --no-signal --source git --url "$URL" --root "$T/cs$i")")
  cs_nochange+=("$(ms $CS once --no-signal --source git --url "$URL" --root "$T/cs$i")")
  change
  cs_change+=("$(ms $CS once --no-signal --source git --url "$URL" --root "$T/cs$i")")
  git_init+=("$(ms git clone -q --depth 1 "$URL" "$T/g$i")")
  git_full+=("$(ms git clone -q "$URL" "$T/gf$i")")
  change
  git_change+=("$(ms sh -c "cd '$T/g$i' && git fetch -q --depth 1 origin main && git checkout -q FETCH_HEAD")")
done

# In the daemon: sync durations as the daemon measures them (no process start), from /metrics.
PORT=$(free_port)
$CS run --source git --url "$URL" --root "$T/daemon" --interval 1h --listen "127.0.0.1:$PORT" >"$T/daemon.log" 2>&1 &
DAEMON=$!
measure_daemon "$RUNS" "$PORT" change

cat <<MD
| case (2,000 x 1 KiB files, 20 folders, file://) | ConfigSync | plain git | ratio |
|---|---|---|---|
| initial sync, process included (\`once\` vs \`git clone --depth 1\`) | $(median "${cs_init[@]}") ms | $(median "${git_init[@]}") ms | $(python3 -c "print(f'{$(median "${cs_init[@]}")/$(median "${git_init[@]}"):.2f}')") |
| initial sync vs full \`git clone\` | $(median "${cs_init[@]}") ms | $(median "${git_full[@]}") ms | $(python3 -c "print(f'{$(median "${cs_init[@]}")/$(median "${git_full[@]}"):.2f}')") |
| no-change poll, process included (\`once\`) | $(median "${cs_nochange[@]}") ms | — | |
| one changed file, process included (\`once\` vs \`git fetch\` + \`git checkout\`) | $(median "${cs_change[@]}") ms | $(median "${git_change[@]}") ms | $(python3 -c "print(f'{$(median "${cs_change[@]}")/$(median "${git_change[@]}"):.2f}')") |
| process start and config check alone (\`validate\`) | $(median "${startup[@]}") ms | — | |
| no-change poll inside the daemon (\`configsync_sync_duration_seconds\`) | $(median "${d_nochange[@]}") ms | — | |
| one changed file inside the daemon | $(median "${d_change[@]}") ms | — | |
| daemon RSS after these syncs | ${RSS} MiB | — | |
MD
