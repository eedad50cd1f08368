#!/usr/bin/env bash
# Runs every ConfigSync test on a fresh machine: installs and starts what the tests need,
# publishes the daemon the way docker/Dockerfile does, runs all test projects, prints a summary.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v dotnet >/dev/null || { echo "scripts/test.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 2; }

# Test servers: each source's tests start real servers on 127.0.0.1 (see docs/testing.md);
# scripts/test-deps.sh installs the ones the current sources need and is a no-op when present.
bash scripts/test-deps.sh

# The integration tests run this published binary as a child process, as the container image does.
rm -rf artifacts/configsync
dotnet publish src/ConfigSync -c Release -r "linux-$(uname -m | sed -e s/x86_64/x64/ -e s/aarch64/arm64/)" -o artifacts/configsync --nologo -v quiet
# ToolTests installs ConfigSync as a .NET tool from this package.
rm -rf artifacts/nupkg
dotnet pack src/ConfigSync -c Release -o artifacts/nupkg --nologo -v quiet

# The container image, built from docker/Dockerfile as shipped (stand-in base images here: no registry),
# which ImageTests and PodTests run; see docs/testing.md.
bash scripts/image.sh localhost/configsync:test
export IMAGE_UNDER_TEST=localhost/configsync:test

# Containers, pods and in-memory volumes a killed test run may have left (all carry the tests' label).
sweep_containers() {
  export CONTAINERS_CONF="$PWD/tests/containers/containers.conf"
  podman pod ps -q --filter label=configsync-test=1 | xargs -r podman pod rm -f >/dev/null || true
  podman ps -aq --filter label=configsync-test=1 | xargs -r podman rm -f -v >/dev/null || true
  findmnt -rn -t tmpfs -o TARGET | grep '/configsync-test-' | xargs -r -n1 umount -l || true
}
sweep_containers

rm -rf artifacts/test-results
status=0
dotnet test ConfigSync.sln -c Release --nologo --logger "trx" --logger "console;verbosity=minimal" \
  --results-directory artifacts/test-results || status=$?
sweep_containers

# One plain closing line over every test project.
passed=0; failed=0; skipped=0
for trx in artifacts/test-results/*.trx; do
  [ -e "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); passed=$((passed + ${p:-0}))
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters"); failed=$((failed + ${f:-0}))
  n=$(sed -n 's/.* notExecuted="\([0-9]*\)".*/\1/p' <<<"$counters"); skipped=$((skipped + ${n:-0}))
done
# Secrets: every credential the tests used must be absent from everything ConfigSync printed or
# served during the run (daemon logs, error messages, /status, /metrics; see tests/Shared/Captured.cs).
capture=artifacts/test-results/capture
if compgen -G "$capture/secrets-*.txt" >/dev/null && compgen -G "$capture/output-*.txt" >/dev/null; then
  sort -u "$capture"/secrets-*.txt | grep -v '^$' > "$capture/secrets.all"
  hits=$(cat "$capture"/output-*.txt | grep -F -o -f "$capture/secrets.all" | sort | uniq -c || true)
  bytes=$(cat "$capture"/output-*.txt | wc -c)
  if [ -n "$hits" ]; then
    echo "secrets scan: FAILED, test credentials found in ConfigSync's output (see $capture):"
    sed 's/^/  /' <<<"$hits" | cut -c1-60
    status=1
  else
    echo "secrets scan: $(wc -l < "$capture/secrets.all") test credentials, ${bytes} bytes of logs, errors, /status and /metrics searched: 0 hits"
  fi
else
  echo "secrets scan: FAILED, nothing was captured ($capture)"
  status=1
fi

echo "${passed} passed, ${failed} failed, ${skipped} skipped"
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "scripts/test.sh: no test ran" >&2
  status=1
fi
exit "$status"
