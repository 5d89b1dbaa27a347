#!/bin/sh
# Where the pod has IPv6, the stock server block listens on [::]:80 as well. Only the file the image ships is
# changed: one from a volume (a ConfigMap at /etc/nginx/conf.d) is the user's and stays as it is.
set -e
ME=$(basename "$0")
CONF=/etc/nginx/conf.d/default.conf
# sha256 of the image's default.conf.
STOCK=c1f1e1276dc126b29470e323d1a9786e06f330f547245073710ffa8c4f29d19d

say() {
    [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$ME: $*"
}

[ -f /proc/net/if_inet6 ] || { say "info: ipv6 not available"; exit 0; }
[ -f "$CONF" ] || { say "info: $CONF is not a file or does not exist"; exit 0; }
if ! touch "$CONF" 2>/dev/null; then
    say "info: can not modify $CONF (read-only file system?)"
    exit 0
fi
say "info: Getting the checksum of $CONF"
if [ "$(sha256sum "$CONF" | cut -d' ' -f1)" != "$STOCK" ]; then
    say "info: $CONF differs from the packaged version"
    exit 0
fi
sed -i -E 's,listen       80;,listen       80;\n    listen  [::]:80;,' "$CONF"
say "info: Enabled listen on IPv6 in $CONF"
