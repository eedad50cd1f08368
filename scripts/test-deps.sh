#!/usr/bin/env bash
# Installs what the tests need beyond the .NET SDK. Idempotent; safe to run on every test run.
# The dir source and the daemon core need only standard tools (sh, stat); later sources add
# their servers here (npm packages pinned in tests/servers/package-lock.json, apt packages).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in sh stat; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "scripts/test-deps.sh: missing tools: ${missing[*]}" >&2
  exit 2
fi
