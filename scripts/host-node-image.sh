#!/bin/sh
# Usage: scripts/host-node-image.sh TAG
# Imports a node base image for the Dockerfile's BASE_IMAGE where no registry can be pulled from: a root
# file system made of this host's node, npm, /bin/sh (for RUN), /usr/bin/env (npm's shebang) and the
# libraries `ldd` lists for them. If this host trusts a CA bundle, the image's node trusts it too
# (NODE_EXTRA_CA_CERTS), for a registry reached through an intercepting proxy. Used by test/container.
set -eu
tag=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
root=$dir/rootfs

# copy FILE [PATH-IN-IMAGE]: the file a symlink points at, as a regular file.
copy() {
  dest=$root${2:-$1}
  mkdir -p "$(dirname "$dest")"
  cp "$(readlink -f "$1")" "$dest"
}

node=$(readlink -f "$(command -v node)")
sh=$(readlink -f /bin/sh)
env=$(readlink -f /usr/bin/env)
copy "$node" /usr/local/bin/node
copy "$sh" /bin/sh
copy "$env" /usr/bin/env
for exe in "$node" "$sh" "$env"; do
  for lib in $(ldd "$exe" | grep -o '/[^ ]* (0x' | cut -d' ' -f1); do copy "$lib"; done
done

# npm-cli.js sits in <prefix>/lib/node_modules/npm/bin/.
npm=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
mkdir -p "$root/usr/local/lib/node_modules"
cp -R "$npm" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
mkdir -p "$root/tmp" "$root/root" "$root/etc"
chmod 1777 "$root/tmp"

set -- --change "ENV PATH=/usr/local/bin:/usr/bin:/bin"
ca=/etc/ssl/certs/ca-certificates.crt
if [ -f "$ca" ]; then
  copy "$ca"
  set -- "$@" --change "ENV NODE_EXTRA_CA_CERTS=$ca"
fi
tar -C "$root" -cf "$dir/rootfs.tar" .
podman import "$@" "$dir/rootfs.tar" "$tag"
