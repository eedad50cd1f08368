#!/usr/bin/env bash
# The benchmark command: installs the peers (Debian's rclone and awscli) and the servers
# (scripts/test-deps.sh), publishes ConfigSync as the image does (NativeAOT, size-optimized), as
# NativeAOT optimized for speed, as NativeAOT with its type data packed in a position-independent
# executable (the image before), as an earlier image (self-contained, trimmed, composite
# ReadyToRun) and as a plain `dotnet publish` (JIT only), runs bench/runtime.py and bench/peers.py, and writes
# docs/benchmarks.md: the machine, the method, the tables, then bench/analysis.md.
#   bash bench/run.sh [RUNS]          (RUNS defaults to 5; about 35 minutes on 2 cores)
#   BENCH_DOCS_ONLY=1 bash bench/run.sh [RUNS]   rewrites docs/benchmarks.md from the last run's tables
# Benchmarks are not tests: nothing here fails on a timing.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}

if [ -z "${BENCH_DOCS_ONLY:-}" ]; then
  bash scripts/test-deps.sh
  if ! command -v rclone >/dev/null || [ ! -x /usr/bin/aws ]; then
    ${SUDO:-$( [ "$(id -u)" = 0 ] || echo sudo )} env DEBIAN_FRONTEND=noninteractive apt-get install -y -q rclone awscli >/dev/null
  fi

  RID="linux-$(uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)"
  rm -rf artifacts/bench/configsync artifacts/bench/configsync-aot-speed artifacts/bench/configsync-aot-pie artifacts/bench/configsync-r2r artifacts/bench/configsync-jit
  # The builds for one runtime share obj/: clear it before each so none is built from another's leftovers.
  clean() { rm -rf src/*/obj/Release/net10.0/"$RID" src/*/bin/Release/net10.0/"$RID"; }
  clean; dotnet publish src/ConfigSync -c Release -r "$RID" -o artifacts/bench/configsync --nologo -v quiet
  clean; dotnet publish src/ConfigSync -c Release -r "$RID" -p:OptimizationPreference=Speed -o artifacts/bench/configsync-aot-speed --nologo -v quiet
  clean; dotnet publish src/ConfigSync -c Release -r "$RID" -p:IlcDehydrate=true -p:PositionIndependentExecutable=true -o artifacts/bench/configsync-aot-pie --nologo -v quiet
  clean; dotnet publish src/ConfigSync -c Release -r "$RID" -p:PublishAot=false -o artifacts/bench/configsync-r2r --nologo -v quiet
  clean; dotnet publish src/ConfigSync -c Release -o artifacts/bench/configsync-jit --nologo -v quiet
  clean

  python3 bench/runtime.py --runs "$RUNS" --out artifacts/bench/runtime.md
  python3 bench/peers.py --runs "$RUNS" --out artifacts/bench/peers.md
  python3 bench/builds.py --runs "$RUNS" --out artifacts/bench/builds.md
fi

{
  cat <<MD
# Benchmarks

Written by \`bash bench/run.sh $RUNS\` on $(date -u +%Y-%m-%d). Never timed assertions in tests:
the exact request budgets are tests (\`RequestCountTests\`, the git daemon count in
\`GitTransportTests\`); everything timed is here.

## Machine

- $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r)
- .NET SDK $(dotnet --version), runtime $(dotnet --list-runtimes | awk '/NETCore.App/ {v=$2} END {print v}'); git $(git --version | awk '{print $3}'); $(rclone version | head -1); $(/usr/bin/aws --version 2>&1 | cut -d' ' -f1); s3rver $(node -p "require('./tests/servers/node_modules/s3rver/package.json').version"); Azurite $(node -p "require('./tests/servers/node_modules/azurite/package.json').version")
- A shared 2-core virtual machine: the same command varies by ±30% between runs, so compare
  figures within one run (each table comes from one run, tools interleaved round by round).

## Method

- Every figure is the median of $RUNS runs. Wall time from spawning the command to its exit; CPU
  time is user + system of the process and every child it waited for (\`wait4\` rusage).
- ConfigSync runs as \`configsync once --no-signal\` (what an init container pays: process start,
  volume recovery, the sync, the atomic publish with one \`syncfs\`) against a fresh volume
  (initial), the same volume again (no change), and after one file changed at the source.
  The peers run into a fresh folder, again, and after the change. They write files in place
  (no atomic swap, no fsync, no manifest): they do less than ConfigSync does. Each source's first
  peer runs a second time followed by \`sync -f\` on its folder (the \`syncfs\` ConfigSync makes
  before its swap); ratios are to the fastest peer without it.
- The tools take turns: in each round every tool makes its initial sync and its no-change sync,
  then one file changes and every tool syncs it; the order of the tools rotates from round to
  round, so the machine's drift and each tool's place after another's writes fall on all of them
  alike. Before every timed command the page cache's dirty data is written out (\`sync\`,
  untimed): ConfigSync's \`syncfs\` flushes the whole file system, and would otherwise pay for
  what the tool before it left unflushed.
- ConfigSync runs with the image's runtime settings (the \`DOTNET_*\` variables of docker/Dockerfile's ENV).
  Idle figures are taken after a minute, CPU over the second minute: the first holds start-up and
  tiered compilation promoting hot methods.
- Requests are counted where the server sees them, in a separate untimed pass: a forwarding
  proxy in front of s3rver and Azurite; git daemon's own log (\`--verbose\`, one
  "Request upload-pack" per connection) for git.
- Trees: 2,000 files of 1 KiB in 20 folders, and 200 files of 1 MiB, random bytes.
- The servers run on 127.0.0.1 and are the slow part for S3 and Azure (s3rver and Azurite are
  single-threaded Node.js); against AWS or Azure, round trips dominate instead.

## The runtime: start-up and memory (\`bench/runtime.py\`)

One sync of a local folder (3 files), interval 1 s. Start to ready is the median of the runs; then
every configuration runs side by side for two minutes.

$(cat artifacts/bench/runtime.md)

## Side by side with the peers (\`bench/peers.py\`)

$(cat artifacts/bench/peers.md)

## The builds on the sync path (\`bench/builds.py\`)

The image's build against the one it replaced, per sync once the process runs; builds interleaved
round by round.

$(cat artifacts/bench/builds.md)

MD
  cat bench/analysis.md
} > docs/benchmarks.md
echo "wrote docs/benchmarks.md"
