#!/usr/bin/env bash
# System calls per published file, and the initial sync's wall and system time, for one or more
# ConfigSync executables (each given as LABEL=PATH), on a dir source and a git (file://) source of
# 2,000 files of 1 KiB. Needs strace and git.
#   bash bench/syscalls.sh new=artifacts/configsync/configsync old=/tmp/old/configsync [rounds]
# Per file: the file calls of one whole `once` into an empty volume (strace -f -c: openat, flock,
# lseek, pwrite64/write, fchmod, close, fstat, fadvise64) divided by the 2,000 files. The git source
# writes from its object database, so its figure is the publisher's; the dir source's also holds
# the reads of each source file.
set -euo pipefail
rounds=5
builds=()
for arg in "$@"; do
  if [[ "$arg" == *=* ]]; then builds+=("$arg"); else rounds="$arg"; fi
done
[ ${#builds[@]} -gt 0 ] || { echo "usage: bench/syscalls.sh LABEL=PATH... [rounds]" >&2; exit 2; }
command -v strace >/dev/null || { echo "bench/syscalls.sh: strace is required (apt-get install strace)" >&2; exit 2; }

T=$(mktemp -d /tmp/configsync-syscalls-XXXX)
trap 'rm -rf "$T"' EXIT
# The default stateDir, through the environment, so a build from before the setting runs the same file.
export XDG_STATE_HOME="$T/state"
mkdir -p "$T/src"
for d in $(seq 0 19); do
  mkdir -p "$T/src/d$d"
  for f in $(seq 0 99); do head -c 1024 /dev/urandom > "$T/src/d$d/f$f.bin"; done
done
git init -q --bare "$T/repo.git"
git -C "$T/src" init -q
git -C "$T/src" add -A
git -C "$T/src" -c user.name=b -c user.email=b@b commit -q -m tree
git -C "$T/src" push -q "$T/repo.git" HEAD:refs/heads/main
rm -rf "$T/src/.git"

config() { # $1 source yaml, $2 out
  cat > "$T/cfg.yaml" <<YAML
http: { listen: "off" }
syncs:
  - name: s
    source: $1
    target: { root: $2 }
YAML
}

echo "| build | source | traced calls per file | openat | flock | lseek | pwrite64/write | fchmod | close | fstat, fadvise64 | wall ms (median of $rounds) | system ms (median) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for build in "${builds[@]}"; do
  label=${build%%=*}; cs=${build#*=}
  for kind in dir git; do
    if [ "$kind" = dir ]; then src="{ type: dir, path: $T/src }"; else src="{ type: git, url: \"file://$T/repo.git\", ref: main }"; fi
    rm -rf "$T/out" "$T/state"; config "$src" "$T/out"
    # Warm the git cache once so the traced run writes the tree only (its objects are local either way).
    strace -f -qq -c -o "$T/strace.txt" -e trace=openat,open,flock,lseek,pwrite64,write,fchmod,fstat,newfstatat,close,fadvise64 \
      "$cs" once --config "$T/cfg.yaml" --no-signal 2>/dev/null
    per=$(python3 - "$T/strace.txt" <<'PY'
import sys
calls = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 5 and parts[0][0].isdigit() and parts[-1] != "total":
        calls[parts[-1]] = int(parts[3])
files = 2000
def n(*names): return sum(calls.get(k, 0) for k in names) / files
shown = ["openat", "open", "flock", "lseek", "pwrite64", "write", "fchmod", "close"]
other = sum(v for k, v in calls.items() if k not in shown) / files
print(f"{sum(calls.values()) / files:.1f} | {n('openat', 'open'):.1f} | {n('flock'):.1f} | {n('lseek'):.1f} | {n('pwrite64', 'write'):.1f} | {n('fchmod'):.1f} | {n('close'):.1f} | {other:.1f}")
PY
)
    walls=(); syss=()
    for r in $(seq 1 "$rounds"); do
      rm -rf "$T/out"; sync
      /usr/bin/time -o "$T/time.txt" -f "%e %S" "$cs" once --config "$T/cfg.yaml" --no-signal >/dev/null 2>&1
      out=$(tail -1 "$T/time.txt")
      walls+=("$(awk '{print $1*1000}' <<<"$out")"); syss+=("$(awk '{print $2*1000}' <<<"$out")")
    done
    med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
    echo "| $label | $kind | $per | $(med "${walls[@]}") | $(med "${syss[@]}") |"
  done
done
