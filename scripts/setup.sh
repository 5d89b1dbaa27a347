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
# A node that takes over a LoadBalancer address tells its neighbours with a gratuitous ARP (kube-proxy's speaker).
command -v arping >/dev/null 2>&1 || need+=(iputils-arping)
# The shell images' nc and nslookup are busybox applets.
command -v busybox >/dev/null 2>&1 || need+=(busybox)
# port-forward connects to localhost inside the pod with socat, as the kubelet's dockershim did.
command -v socat >/dev/null 2>&1 || need+=(socat)
# The python-client e2e suite drives the cluster with the official Python client, run by Debian's own interpreter
# (python3 on PATH may be a pyenv shim that cannot see Debian's packages).
/usr/bin/python3 -c 'import kubernetes' >/dev/null 2>&1 || need+=(python3-kubernetes)
# The images' real programs (images/README.md): nginx and redis-server run inside pods, never as the machine's services.
[ -x /usr/sbin/nginx ] || need+=(nginx)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
# agnhost's tools, which Kubernetes' network and DNS tests exec into it: bind9's dig/nslookup/host, OpenBSD's nc, iperf.
command -v dig >/dev/null 2>&1 || need+=(bind9-dnsutils)
command -v host >/dev/null 2>&1 || need+=(bind9-host)
[ -x /bin/nc.openbsd ] || need+=(netcat-openbsd)
command -v iperf >/dev/null 2>&1 || need+=(iperf)
# The Service throughput benchmark (test/bench/proxy-throughput.ts) loads nginx pods with wrk.
command -v wrk >/dev/null 2>&1 || need+=(wrk)
# nginx's entrypoint renders /etc/nginx/templates with envsubst, as the official image's does.
command -v envsubst >/dev/null 2>&1 || need+=(gettext-base)
# The DNS benchmark (test/bench/dns.ts): Debian's dnsperf asks, Debian's dnsmasq answers the same names beside ours.
# dnsmasq-base is the program without the machine's service (the dnsmasq package only adds that service): the bench
# starts it in a network namespace of its own, nothing else ever does.
command -v dnsperf >/dev/null 2>&1 || need+=(dnsperf)
[ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
# The certificates e2e makes a user's key and certificate signing request with openssl, as the tutorials do.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # Debian's maintainer scripts start a service they install (nginx, redis-server) through invoke-rc.d or
  # deb-systemd-invoke; both ask policy-rc.d first, and 101 means "do not start". A machine that has no policy gets
  # ours for the length of the install.
  policy=/usr/sbin/policy-rc.d
  ours=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# kemu setup: install without starting services.\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    ours=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null || status=$?
  [ -z "$ours" ] || $SUDO rm -f "$policy"
  [ "$status" -eq 0 ] || exit "$status"
  # Nor at the next boot, nor now should anything have started them anyway (a policy that allowed it).
  for svc in nginx redis-server; do
    case " ${need[*]} " in *" $svc "*) ;; *) continue ;; esac
    $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
    if command -v systemctl >/dev/null 2>&1; then
      $SUDO systemctl disable "$svc.service" >/dev/null 2>&1 || true
      [ ! -d /run/systemd/system ] || $SUDO systemctl stop "$svc.service" >/dev/null 2>&1 || true
    fi
    [ ! -x "/etc/init.d/$svc" ] || $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
  done
  # Pods run them in their own network namespaces; on the machine's own none of them may listen.
  if listening=$($SUDO ss -Hltnp 2>/dev/null | grep -E '"(nginx|redis-server)"'); then
    echo "setup: the machine's own nginx or redis-server is running after the install; stop it:" >&2
    echo "$listening" >&2
    exit 1
  fi
fi
command -v kubectl >/dev/null 2>&1 || echo "setup: kubectl is not installed; the cluster works without it, but you will want it (and the end-to-end tests need it)" >&2

# npm packages: a clean install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx turbo run build --output-logs=errors-only
# `npm ci` does not link a workspace's bin into node_modules/.bin (npm install does): link `kemu` so `npx kemu` works.
[ -e node_modules/.bin/kemu ] || npm rebuild @kemu/cli --ignore-scripts --loglevel=error >/dev/null
