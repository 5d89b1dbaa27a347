#!/usr/bin/env bash
# Installs what is missing on a fresh Debian machine (system packages, npm
# packages) and builds. Run by `npm start` and `npm test` before anything else.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
command -v nft >/dev/null 2>&1 || need+=(nftables)
command -v curl >/dev/null 2>&1 || need+=(curl)
# The shell images' nc and nslookup are busybox applets.
command -v busybox >/dev/null 2>&1 || need+=(busybox)
# port-forward connects to localhost inside the pod with socat, as the kubelet's dockershim did.
command -v socat >/dev/null 2>&1 || need+=(socat)
# The python-client e2e suite drives the cluster with the official Python client, run by Debian's own interpreter
# (python3 on PATH may be a pyenv shim that cannot see Debian's packages).
/usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1 || need+=(python3-kubernetes)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v kubectl >/dev/null 2>&1 || echo "setup: kubectl is not installed; the cluster works without it, but you will want it (and the end-to-end tests need it)" >&2

# npm packages: a clean install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx turbo run build --output-logs=errors-only
