#!/usr/bin/env bash
# make dist: the release files in OUT (build/dist):
#   aloft-VERSION-windows-x86_64.zip   aloft.exe (cross-built with mingw-w64
#                                      in build-win) and README-windows.txt
#   aloft-VERSION-linux-x86_64.tar.gz  bin/aloft, bin/aloft-sim and the
#                                      library as `make install` lays them out
#   the .deb files of `make deb` (tools/deb.sh, in OUT/deb)
#
# Usage: tools/dist.sh BUILD BUILD_WIN OUT
set -euo pipefail
build=${1:?usage: dist.sh BUILD BUILD_WIN OUT}
build_win=${2:?usage: dist.sh BUILD BUILD_WIN OUT}
out=${3:?usage: dist.sh BUILD BUILD_WIN OUT}
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
die() { echo "dist: $*" >&2; exit 1; }

version=$(sed -n 's/^#define ALOFT_VERSION_STRING "\(.*\)"$/\1/p' "$top/include/aloft/version.h")
[ -n "$version" ] || die "no ALOFT_VERSION_STRING in include/aloft/version.h"
command -v x86_64-w64-mingw32-gcc >/dev/null ||
    die "no mingw-w64: apt-get install gcc-mingw-w64-x86-64 libz-mingw-w64-dev (or make deps as root)"
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Windows: the exe and its README (CRLF for Notepad) in one folder.
cmake -S "$top" -B "$build_win" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/mingw-w64.cmake" \
    -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build_win" -j "$jobs" --target aloft >/dev/null
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
win=$stage/aloft-$version-windows-x86_64
mkdir -p "$win"
x86_64-w64-mingw32-strip -o "$win/aloft.exe" "$build_win/bin/aloft.exe"
sed "s/VERSION/$version/; s/\$/\r/" "$top/cli/win/README-windows.txt" >"$win/README-windows.txt"
rm -f "$out/aloft-$version-windows-x86_64.zip"
(cd "$stage" && python3 -m zipfile -c "$out/aloft-$version-windows-x86_64.zip" \
    "aloft-$version-windows-x86_64")

# Linux: what make install puts under a prefix, as a tarball.
cmake -S "$top" -B "$build" >/dev/null
cmake --build "$build" -j "$jobs" --target aloft aloft-sim aloft_core >/dev/null
lin=$stage/aloft-$version-linux-x86_64
DESTDIR="$lin" cmake --install "$build" --prefix / >/dev/null
tar -C "$stage" -czf "$out/aloft-$version-linux-x86_64.tar.gz" "aloft-$version-linux-x86_64"

JOBS=$jobs bash "$top/tools/deb.sh" "$out/deb" >/dev/null
ls "$out/aloft-$version-windows-x86_64.zip" "$out/aloft-$version-linux-x86_64.tar.gz" \
    "$out"/deb/*.deb
