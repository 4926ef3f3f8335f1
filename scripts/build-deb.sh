#!/usr/bin/env bash
# Builds the Debian package build/ferry_VERSION_amd64.deb with dpkg-deb (docs/packaging.md):
#
#   bash scripts/build-deb.sh          # after `npm ci`; VERSION is package.json's
#
# It holds the three binaries bundled by esbuild (scripts/bundle.mjs), the modules they leave external
# (scripts/runtime-modules.mjs), this machine's node (the runtime the native modules were built against),
# the systemd units, default configs, man pages, bash completion and logrotate rules found in packaging/
# and docs/man/, and the maintainer scripts of packaging/debian/. Prints the .deb's path.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p "require('./package.json').version")
arch=$(dpkg --print-architecture)
[ "$arch" = amd64 ] || { echo "build-deb: koffi's binary is picked for linux_x64; this is $arch" >&2; exit 1; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || { echo "build-deb: the package ships this machine's node, which must be 20 or later (found $(node --version))" >&2; exit 1; }

out=build
mkdir -p "$out"
# One build at a time (the test run builds it in the background while a test may ask for it).
exec 9>"$out/.build-deb.lock"
flock 9
root=$out/deb-root
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/bin" "$root/usr/sbin" "$root/usr/lib/ferry" "$root/lib/systemd/system" \
  "$root/etc/ferry" "$root/usr/share/doc/ferry"

# The application: one file per binary (the CLI's verbs in chunks beside it), the external modules, the runtime.
lib=$root/usr/lib/ferry
node scripts/bundle.mjs "$out/bundle" >/dev/null
# The CLI (ferry.cjs and its per-verb chunks in ferry-lib/) must not load the daemon's heavy modules (SQLite,
# fastify, etcd's gRPC): its start-up is its cost.
node -e '
const m = require(process.argv[1]);
const inputs = Object.values(m.outputs).flatMap((o) => Object.keys(o.inputs)).join("\n");
const ext = Object.values(m.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
for (const heavy of ["better-sqlite3", "fastify", "etcd3", "@grpc", "pino"]) {
  if (inputs.includes("node_modules/" + heavy + "/") || ext.includes(heavy)) { console.error("build-deb: the CLI bundle contains " + heavy); process.exit(1); }
}' "$PWD/$out/bundle/ferry.meta.json"
for b in ferry.cjs ferryd.mjs ferry-lockd.mjs; do
  { echo '#!/usr/lib/ferry/node'; cat "$out/bundle/$b"; } > "$lib/$b"
  chmod 755 "$lib/$b"
done
cp -r "$out/bundle/ferry-lib" "$lib/ferry-lib"
chmod 755 "$lib/ferry-lib" && chmod 644 "$lib"/ferry-lib/*
node scripts/runtime-modules.mjs "$lib" >/dev/null
install -m 755 "$(readlink -f "$(command -v node)")" "$lib/node"
# Debian's rules: shared objects are not executable, scripts of a library neither; binaries stripped.
find "$lib/node_modules" -type f \( -name '*.node' -o -name '*.js' -o -name '*.json' \) -exec chmod 644 {} +
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$lib/node" $(find "$lib/node_modules" -name '*.node')
# The CLI starts through packaging/ferry-start.cjs, which compiles the bundle from V8 code caches made here by the
# node the package ships: the commands below compile what most commands use (the first to load a file writes its
# cache, after it ran). A daemon is not needed: `list` fails to connect on the fast path, then in the full CLI,
# having compiled both clients on the way.
{ echo '#!/usr/lib/ferry/node'; cat packaging/ferry-start.cjs; } > "$lib/ferry-start.cjs"
chmod 755 "$lib/ferry-start.cjs"
for args in 'list --all' '--version' 'help'; do
  # shellcheck disable=SC2086 # the words of each command
  FERRY_CODE_CACHE_WRITE=1 FERRY_DEFAULT_URI="ferry:///system?socket=$out/no-daemon.sock" "$lib/node" "$lib/ferry-start.cjs" $args >/dev/null 2>&1 || true
done
[ -s "$lib/ferry.cjs.v8cache" ] || { echo "build-deb: no V8 code cache was written for ferry.cjs" >&2; exit 1; }
chmod 644 "$lib"/*.v8cache "$lib"/ferry-lib/*.v8cache
# node resolves a symlinked main script to its real path: the bundles find node_modules beside them.
ln -s ../lib/ferry/ferry-start.cjs "$root/usr/bin/ferry"
ln -s ../lib/ferry/ferryd.mjs "$root/usr/sbin/ferryd"
ln -s ../lib/ferry/ferry-lockd.mjs "$root/usr/sbin/ferry-lockd"
if compgen -G 'packaging/libexec/*' >/dev/null; then
  # Where the units run them from (ferry-guests.service: /usr/libexec/ferry/ferry-guests).
  mkdir -p "$root/usr/libexec/ferry"
  install -m 755 packaging/libexec/* "$root/usr/libexec/ferry/"
fi

# systemd units, configs (conffiles), man pages, completion, logrotate.
install -m 644 packaging/systemd/* "$root/lib/systemd/system/"
install -m 644 packaging/etc/ferry/* "$root/etc/ferry/"
if compgen -G 'docs/man/*.[1-8]' >/dev/null; then
  for page in docs/man/*.[1-8]; do
    sec=${page##*.}
    mkdir -p "$root/usr/share/man/man$sec"
    gzip -9n < "$page" > "$root/usr/share/man/man$sec/$(basename "$page").gz"
  done
fi
if [ -f packaging/bash-completion/ferry ]; then
  install -D -m 644 packaging/bash-completion/ferry "$root/usr/share/bash-completion/completions/ferry"
fi
if [ -f packaging/logrotate/ferry ]; then
  install -D -m 644 packaging/logrotate/ferry "$root/etc/logrotate.d/ferry"
fi
install -m 644 packaging/debian/copyright "$root/usr/share/doc/ferry/copyright"
install -D -m 644 packaging/debian/lintian-overrides "$root/usr/share/lintian/overrides/ferry"
printf 'ferry (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- ferry maintainers <ferry@localhost>  %s\n' \
  "$version" "$(git rev-parse --short HEAD 2>/dev/null || echo a source tree)" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")" \
  | gzip -9n > "$root/usr/share/doc/ferry/changelog.gz"

# Maintainer scripts and metadata.
for s in postinst prerm postrm; do install -m 755 "packaging/debian/$s" "$root/DEBIAN/$s"; done
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) > "$root/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  -e "s/@NODE@/$(node --version | tr -d v)/" packaging/debian/control > "$root/DEBIAN/control"

deb=$out/ferry_${version}_${arch}.deb
# FERRY_DEB_COMPRESS=gzip: a faster build (the tests); xz (the default) makes a smaller package.
# Written beside it and renamed: whoever reads the previous .deb meanwhile (a test installing it) reads it whole.
dpkg-deb --root-owner-group "-Z${FERRY_DEB_COMPRESS:-xz}" --build "$root" "$deb.tmp" >/dev/null
mv -f "$deb.tmp" "$deb"
echo "$deb"
