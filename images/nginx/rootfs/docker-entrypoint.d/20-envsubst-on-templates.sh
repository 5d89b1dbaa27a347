#!/bin/sh
# Templates, as the image renders them: each /etc/nginx/templates/**/*.template becomes the file of the same
# relative path without the suffix under /etc/nginx/conf.d, with ${VAR} replaced for the variables the container
# has (and only those, so nginx's own $variables survive). NGINX_ENVSUBST_TEMPLATE_DIR, _SUFFIX, _OUTPUT_DIR and
# NGINX_ENVSUBST_FILTER (a regular expression on the variables' names) change where and what.
set -e
ME=$(basename "$0")

say() {
    [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ] || echo "$ME: $*"
}

dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
out=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
filter=${NGINX_ENVSUBST_FILTER:-}

[ -d "$dir" ] || exit 0
if [ ! -w "$out" ]; then
    say "ERROR: $dir exists, but $out is not writable"
    exit 0
fi
vars=$(printf '${%s} ' $(env | cut -d= -f1 | grep -E "${filter:-.}" || true))
find "$dir" -follow -type f -name "*$suffix" -print | while read -r t; do
    rel=${t#"$dir"/}
    dest=$out/${rel%"$suffix"}
    mkdir -p "$(dirname "$dest")"
    say "Running envsubst on $t to $dest"
    envsubst "$vars" < "$t" > "$dest"
done
