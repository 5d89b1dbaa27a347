#!/usr/bin/env bash
# Makes this machine ready for the Docker driver (`kemu up --driver docker`, test/e2e-docker):
#   1. installs Debian's docker.io, docker-compose (1.29) and debootstrap when missing (as root);
#   2. starts dockerd when none answers (as root; without iptables management, see below);
#   3. makes sure a base image equivalent to node:20-bookworm-slim is there: the real one when it is already local or
#      can be pulled, else one assembled here — debootstrap of bookworm (minbase) from this machine's Debian mirror,
#      this machine's node 20 binary and its npm — imported as kemu-base:node20-bookworm-slim.
# Idempotent: what is there is kept (the assembled image is the cache). Prints the base image's name on its last line
# (what the Dockerfile's KEMU_BASE_IMAGE build argument takes). Exit 2: Docker cannot run here (the reason on stderr).
#
# dockerd started here runs with --iptables=false --ip-forward=false: it must not touch the host's FORWARD policy
# or sysctls, which the namespace driver's clusters on the same machine rely on. Containers still reach each other
# and the host on their bridge, and published ports go through docker-proxy; only outbound NAT is missing, which
# the cluster does not need (image builds run with --network host). And --bridge=none: no docker0 left on the host
# once it stops (compose makes and removes its own network). KEMU_DOCKERD_STARTED_FILE, when set, receives the pid
# of a dockerd started here, for whoever wants to stop it afterwards (scripts/test.sh). Each step's time is logged.
set -euo pipefail

BASE=${KEMU_BASE_IMAGE:-}
LOCAL_BASE=kemu-base:node20-bookworm-slim
log() { echo "docker-base: $*" >&2; }
t=$(date +%s.%N)
# lap: the seconds since the last lap, in $took (each step's time in the log; no subshell, so $t moves on).
lap() {
  local now
  now=$(date +%s.%N)
  took=$(awk -v a="$t" -v b="$now" 'BEGIN { printf "%.1f", b - a }')
  t=$now
}
cannot() {
  echo "docker-base: Docker cannot run here: $*" >&2
  exit 2
}

root=0
[ "$(id -u)" -eq 0 ] && root=1

# 1. Packages.
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  [ $root -eq 1 ] || cannot "${need[*]} missing and not root to install them"
  log "installing ${need[*]}"
  apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
    cannot "apt-get install ${need[*]} failed"
  lap
  log "installed ${need[*]} in $took s"
fi

# 2. The engine.
if ! docker info >/dev/null 2>&1; then
  [ $root -eq 1 ] || cannot "no Docker engine answers and not root to start one"
  command -v dockerd >/dev/null 2>&1 || cannot "dockerd is not installed"
  log "starting dockerd (log: /var/log/kemu-dockerd.log)"
  lap
  setsid dockerd --iptables=false --ip-forward=false --bridge=none >>/var/log/kemu-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || cannot "dockerd did not answer within 60 s: $(tail -n 3 /var/log/kemu-dockerd.log | tr '\n' ' ')"
  # dockerd's own pid file: setsid may have forked, so $! need not be dockerd.
  [ -z "${KEMU_DOCKERD_STARTED_FILE:-}" ] || cp /var/run/docker.pid "$KEMU_DOCKERD_STARTED_FILE"
  lap
  log "dockerd answering in $took s"
fi

# 3. The base image.
have() { docker image inspect "$1" >/dev/null 2>&1; }
if [ -n "$BASE" ]; then
  have "$BASE" || timeout 60 docker pull -q "$BASE" >/dev/null 2>&1 || cannot "base image $BASE is neither local nor pullable"
  echo "$BASE"
  exit 0
fi
if have node:20-bookworm-slim; then
  echo node:20-bookworm-slim
  exit 0
fi
if have "$LOCAL_BASE"; then
  echo "$LOCAL_BASE"
  exit 0
fi
if timeout 30 docker pull -q node:20-bookworm-slim >/dev/null 2>&1; then
  echo node:20-bookworm-slim
  exit 0
fi
[ $root -eq 1 ] || cannot "node:20-bookworm-slim cannot be pulled and assembling a base needs root"
node -v 2>/dev/null | grep -q '^v20\.' || cannot "node:20-bookworm-slim cannot be pulled and this machine has no node 20 to put in a base"

# The Debian mirror this machine installs from (deb822 sources, else a sources.list line).
mirror=$(sed -n 's/^URIs: *\(\S*debian\)\/*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -n 1 || true)
[ -n "$mirror" ] || mirror=$(sed -n 's/^deb \(\[[^]]*\] \)\?\(\S*debian\)\/* bookworm .*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n 1 || true)
mirror=${mirror:-http://deb.debian.org/debian}

work=$(mktemp -d /tmp/kemu-docker-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
log "assembling $LOCAL_BASE: debootstrap bookworm (minbase) from $mirror"
lap
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  cannot "debootstrap failed: $(tail -n 3 "$work/debootstrap.log" | tr '\n' ' ')"
lap
log "debootstrap in $took s"
# What Debian's own Docker images carry: services installed in a build never start (policy-rc.d), no apt caches.
printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
chmod 755 "$rootfs/usr/sbin/policy-rc.d"
printf 'APT::Install-Recommends "false";\n' >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf" 2>/dev/null || true
# This machine's own certificate authorities (a TLS-inspecting proxy's, say): the image's builds fetch through the same
# network. ca-certificates, which the Dockerfile installs, adds them to the system bundle; node reads that bundle.
extra_ca=()
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  extra_ca=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
fi
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
# node and npm where the official image has them (/usr/local), from this machine's node 20.
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$node_bin")/../lib/node_modules/npm
[ -d "$npm_dir" ] || npm_dir=$(npm root -g)/npm
install -D -m 755 "$node_bin" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules"
cp -a "$(readlink -f "$npm_dir")" "$rootfs/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_VERSION='"$(node -v | tr -d v)" \
  "${extra_ca[@]}" --change 'CMD ["node"]' - "$LOCAL_BASE" >/dev/null
lap
log "node, npm and docker import in $took s"
log "$LOCAL_BASE: $(docker run --rm --network none "$LOCAL_BASE" node -v) with npm $(docker run --rm --network none "$LOCAL_BASE" npm -v)"
echo "$LOCAL_BASE"
