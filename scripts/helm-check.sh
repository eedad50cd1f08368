#!/usr/bin/env bash
# helm lint --strict and helm template of charts/config-sync in each mode, with the demo and the
# ServiceMonitor on. Uses helm from PATH, or the one scripts/test-deps.sh unpacks into
# tests/servers/bin. The test suite runs the same checks (tests/ConfigSync.IntegrationTests/ChartTests.cs)
# and inspects what they render.
#   bash scripts/helm-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HELM=$(command -v helm || echo tests/servers/bin/helm)
[ -x "$HELM" ] || { echo "no helm: install it, or run scripts/test-deps.sh" >&2; exit 1; }
"$HELM" lint --strict charts/config-sync
for mode in sidecar native init; do
  "$HELM" template check charts/config-sync --set mode=$mode --set demo.enabled=true --set serviceMonitor.enabled=true --set prometheusRule.enabled=true --set grafanaDashboard.enabled=true >/dev/null
  echo "helm template (mode=$mode): ok"
done
