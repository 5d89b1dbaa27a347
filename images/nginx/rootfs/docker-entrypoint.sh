#!/bin/sh
# The nginx image's entrypoint. Before nginx starts, the scripts of /docker-entrypoint.d run in order (*.envsh
# sourced, *.sh executed; a volume may add its own there); then the command replaces this shell, so nginx is the
# container's process and receives its signals. NGINX_ENTRYPOINT_QUIET_LOGS silences the entrypoint's own lines.
set -e

say() {
    [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$0: $*"
}

if [ "$1" = "nginx" ] || [ "$1" = "nginx-debug" ]; then
    if [ -n "$(find /docker-entrypoint.d/ -mindepth 1 -maxdepth 1 -print 2>/dev/null | head -n 1)" ]; then
        say "/docker-entrypoint.d/ is not empty, will attempt to perform configuration"
        say "Looking for shell scripts in /docker-entrypoint.d/"
        for f in $(find /docker-entrypoint.d/ -follow -type f -print | sort -V); do
            case "$f" in
                *.envsh)
                    if [ -x "$f" ]; then say "Sourcing $f"; . "$f"; else say "Ignoring $f, not executable"; fi ;;
                *.sh)
                    if [ -x "$f" ]; then say "Launching $f"; "$f"; else say "Ignoring $f, not executable"; fi ;;
                *) say "Ignoring $f" ;;
            esac
        done
        say "Configuration complete; ready for start up"
    else
        say "No files found in /docker-entrypoint.d/, skipping configuration"
    fi
fi

exec "$@"
