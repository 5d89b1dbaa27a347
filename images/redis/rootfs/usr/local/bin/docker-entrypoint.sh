#!/bin/sh
# The redis image's entrypoint. Options alone (`--appendonly yes`) or a configuration file first mean redis-server
# with them. The image's redis-server is built with protected-mode off, so a pod reaches it over the pod network
# without a password; Debian's has it on, so it is turned off here unless the configuration file or the options
# set it. As root, the data directory (/data, the working directory) goes to the redis user and redis-server runs
# as that user, as the image does with gosu.
set -e

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
    set -- redis-server "$@"
fi

if [ "$1" = "redis-server" ]; then
    shift
    conf=
    if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then conf=$1; shift; fi
    mode="--protected-mode no"
    for a in "$@"; do [ "$a" != "--protected-mode" ] || mode=; done
    if [ -n "$conf" ] && [ -r "$conf" ] && grep -qiE '^[[:space:]]*protected-mode[[:space:]]' "$conf"; then mode=; fi
    # $mode unquoted on purpose: an option and its value, or nothing.
    if [ -n "$conf" ]; then set -- "$conf" $mode "$@"; else set -- $mode "$@"; fi
    set -- redis-server "$@"
    if [ "$(id -u)" = "0" ]; then
        # Only the data directory: a working directory of / would hand the node's files (through the overlay) to redis.
        [ "$(pwd)" != "/data" ] || find . \! -user redis -exec chown redis '{}' +
        exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
    fi
fi

um="$(umask)"
if [ "$um" = "0022" ]; then
    umask 0077
fi

exec "$@"
