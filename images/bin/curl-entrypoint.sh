#!/bin/sh
# curlimages/curl's entrypoint: arguments that start with "-" are curl's.
if [ "${1#-}" != "$1" ]; then set -- curl "$@"; fi
exec "$@"
