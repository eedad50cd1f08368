#!/usr/bin/env bash
# Makes the stand-ins for the two base images docker/Dockerfile names, from Debian packages (no
# container registry is reachable on the test machines), tagged with the names the Dockerfile uses:
#   localhost/debian-base:bookworm              debootstrap --variant=minbase, apt caches cleaned
#   mcr.microsoft.com/dotnet/runtime-deps:10.0  runtime-deps.Containerfile
#   mcr.microsoft.com/dotnet/sdk:10.0           sdk.Containerfile (this machine's .NET SDK copied in)
#   localhost/configsync-test-app:latest        app.Containerfile: the stand-in for the examples' apps
# Each image carries a label with the hash of its recipe and is rebuilt only when that changes.
# Where the real base images can be pulled, set CONFIGSYNC_REAL_BASE_IMAGES=1: only the app stand-in
# is made then.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
engine="${CONTAINER_ENGINE:-podman}"
if [ "$engine" = podman ]; then export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/containers.conf}"; fi

# The pinned names the Dockerfile uses (ARG SDK_IMAGE, ARG RUNTIME_DEPS_IMAGE); the stand-ins carry them too.
dockerfile="$here/../../docker/Dockerfile"
pinned() { sed -n "s/^ARG $1=//p" "$dockerfile"; }
sdk_pinned=$(pinned SDK_IMAGE); deps_pinned=$(pinned RUNTIME_DEPS_IMAGE)
[ -n "$sdk_pinned" ] && [ -n "$deps_pinned" ] || { echo "base-images.sh: no ARG SDK_IMAGE / RUNTIME_DEPS_IMAGE in $dockerfile" >&2; exit 2; }

recipe_hash() { cat "$@" | sha256sum | cut -c1-16; }
current() { "$engine" image inspect --format '{{ index .Config.Labels "configsync.recipe" }}' "$1" 2>/dev/null || true; }

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}\(http[^ ]*\) bookworm main.*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
[ -n "$mirror" ] || { echo "base-images.sh: no Debian mirror found in /etc/apt/sources.list*" >&2; exit 2; }

real="${CONFIGSYNC_REAL_BASE_IMAGES:-}"
base_hash=$(echo "minbase bookworm $mirror v2" | sha256sum | cut -c1-16)
if [ "$(current localhost/debian-base:bookworm)" != "$base_hash" ]; then  # the app stand-in builds on it too
  echo "base-images.sh: debootstrap bookworm from $mirror"
  rootfs=$(mktemp -d)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >/dev/null
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log
  # As the official Debian images: apt keeps no package cache in a layer (else an image's apt layer
  # carries some 40 MB of /var/cache/apt/*.bin that the real base image would not).
  cat > "$rootfs"/etc/apt/apt.conf.d/docker-clean <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  tar -C "$rootfs" -c . | "$engine" import --change "LABEL configsync.recipe=$base_hash" --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - localhost/debian-base:bookworm >/dev/null
  rm -rf "$rootfs"
fi

deps_hash=$(recipe_hash "$here/runtime-deps.Containerfile" <(echo "$base_hash"))
if [ -z "$real" ] && [ "$(current mcr.microsoft.com/dotnet/runtime-deps:10.0)" != "$deps_hash" ]; then
  echo "base-images.sh: runtime-deps stand-in"
  "$engine" build --pull=never -q --label "configsync.recipe=$deps_hash" -f "$here/runtime-deps.Containerfile" \
    -t mcr.microsoft.com/dotnet/runtime-deps:10.0 "$here" >/dev/null
fi
[ -n "$real" ] || "$engine" tag mcr.microsoft.com/dotnet/runtime-deps:10.0 "$deps_pinned"

dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
sdk_version=$(dotnet --version)
if [ "${sdk_pinned##*:}" != "$sdk_version" ]; then
  echo "base-images.sh: this machine's .NET SDK is $sdk_version; the stand-in is tagged $sdk_pinned all the same" >&2
fi
sdk_hash=$(recipe_hash "$here/sdk.Containerfile" <(echo "$deps_hash $sdk_version"; cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true))
if [ -z "$real" ] && [ "$(current mcr.microsoft.com/dotnet/sdk:10.0)" != "$sdk_hash" ]; then
  echo "base-images.sh: sdk stand-in (the SDK from $dotnet_root)"
  context=$(mktemp -d)
  mkdir "$context/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$context/ca-certificates/" 2>/dev/null || true
  "$engine" build --pull=never -q --label "configsync.recipe=$sdk_hash" -v "$dotnet_root:/host-dotnet:ro" \
    -f "$here/sdk.Containerfile" -t mcr.microsoft.com/dotnet/sdk:10.0 "$context" >/dev/null
  rm -rf "$context"
fi
[ -n "$real" ] || "$engine" tag mcr.microsoft.com/dotnet/sdk:10.0 "$sdk_pinned"

app_hash=$(recipe_hash "$here/app.Containerfile" "$here/app.py" <(echo "$base_hash"))
if [ "$(current localhost/configsync-test-app:latest)" != "$app_hash" ]; then
  echo "base-images.sh: app stand-in"
  "$engine" build --pull=never -q --label "configsync.recipe=$app_hash" -f "$here/app.Containerfile" \
    -t localhost/configsync-test-app:latest "$here" >/dev/null
fi
