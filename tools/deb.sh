#!/usr/bin/env bash
# make deb: the Debian packages aloft (aloft, aloft-sim) and libaloft-dev
# (libaloft.a, headers, aloft.pc, the CMake package), built by the standard
# tools (dpkg-buildpackage -b, debhelper's CMake build system, debian/)
# from a copy of the source tree in OUT, so that the build, debhelper's
# staging and the .deb files all stay under OUT: nothing lands in the tree
# or in its parent. Prints the paths of the .deb files.
#
# Usage: tools/deb.sh OUT   (make deb: OUT is build/deb)
set -euo pipefail
out=${1:?usage: deb.sh OUT_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

die() { echo "deb: $*" >&2; exit 1; }

for tool in dpkg-buildpackage dpkg-parsechangelog dh; do
    command -v "$tool" >/dev/null ||
        die "$tool is missing: apt-get install debhelper dpkg-dev (or make deps as root)"
done
version=$(sed -n 's/^#define ALOFT_VERSION_STRING "\(.*\)"$/\1/p' "$top/include/aloft/version.h")
[ -n "$version" ] || die "no ALOFT_VERSION_STRING in include/aloft/version.h"
packaged=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
[ "$packaged" = "$version" ] ||
    die "debian/changelog is at $packaged but include/aloft/version.h says $version; add a changelog entry for $version first (dch -v $version)"

# The source: what git tracks plus untracked files it does not ignore (a
# clean clone with your edits), or, outside git, the tree without builds.
out=$(mkdir -p "$out" && cd "$out" && pwd)
src=$out/aloft-$version
rm -rf "$src" "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
mkdir -p "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf -) | tar -C "$src" -xf -
else
    tar -C "$top" --exclude='./build*' --exclude=./demo -cf - . | tar -C "$src" -xf -
fi

log=$out/build.log
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=$jobs" \
        dpkg-buildpackage -b -us -uc) >"$log" 2>&1; then
    tail -40 "$log" >&2
    die "dpkg-buildpackage failed (whole log: $log)"
fi
ls "$out"/*.deb
