#!/bin/sh
# The `pause` image: holds the pod's namespaces and waits; ends on SIGTERM/SIGINT.
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
