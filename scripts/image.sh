#!/usr/bin/env bash
# Builds docker/Dockerfile, unchanged, into the image the container tests run (default tag
# localhost/configsync:test; first argument to change it), with rootful podman and the project's
# settings (tests/containers/containers.conf through CONTAINERS_CONF; nothing system-wide is changed).
# podman, not docker, even where a docker engine answers: the pod tests need podman's pods, and the
# image must be in the store they run from; the docker path cannot be tested on the CI machines. No registry is reachable on the test machines, so the two base
# images the Dockerfile names are stand-ins made from Debian packages (tests/containers/base-images.sh),
# rebuilt only when their recipe changes.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-localhost/configsync:test}"

engine=podman
export CONTAINERS_CONF="$PWD/tests/containers/containers.conf"
export CONTAINER_ENGINE="$engine"

bash tests/containers/base-images.sh

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' src/ConfigSync/ConfigSync.csproj | head -1)
started=$(date +%s)
"$engine" build --pull=never -f docker/Dockerfile -t "$tag" \
  --build-arg "VERSION=${version:-0.0.0}" --build-arg "REVISION=$revision" .
echo "scripts/image.sh: built $tag with $engine in $(( $(date +%s) - started )) s"
# On CI, free the build stages left dangling (about 2.7 GB); elsewhere they are the layer cache.
if [ -n "${CI:-}" ]; then "$engine" image prune -f >/dev/null; fi
