#!/usr/bin/env bash
# What the Docker suite needs before its cluster comes up, as one step that can run beside the other tests
# (scripts/test.sh starts it in the background at the beginning; docker.test.ts waits for it, or runs it itself):
#   1. scripts/docker-base.sh: Docker installed and started, the base image (node:20-bookworm-slim or its local
#      equivalent) there;
#   2. kemu build: kemu:dev from this checkout's built tree (the Dockerfile's prebuilt stage; the Debian packages'
#      layer, kemu:tools, cached from one run to the next).
# Each step's time is printed. Exit 2: Docker cannot run here (the reason on the last line of stderr).
# KEMU_DOCKERD_STARTED_FILE, when set, receives the pid of a dockerd started here (scripts/test.sh stops it at the end).
set -uo pipefail
cd "$(dirname "$0")/../.."

t0=$(date +%s.%N)
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

base=$(bash scripts/docker-base.sh)
code=$?
[ $code -eq 0 ] || exit $code
echo "prepare: Docker and the base image $base ready in $(since "$t0") s"

t1=$(date +%s.%N)
KEMU_BASE_IMAGE=$base node services/cli/dist/bundle.mjs build || exit 1
echo "prepare: kemu:dev built in $(since "$t1") s; everything in $(since "$t0") s"
