#!/usr/bin/env bash
# tests/integration/test_install.sh — aloft as users get it.
#
#  1. `cmake --install` (what `make install` runs) with DESTDIR and another
#     prefix into a scratch directory: the tree holds the programs,
#     libaloft.a, the headers, aloft.pc (naming that prefix) and the CMake
#     package, and the installed aloft runs.
#  2. A small C program that prints aloft_strerror() of a code, built
#     against the installed files only, through `pkg-config --cflags
#     --libs aloft` and through a CMake project (find_package(aloft),
#     aloft::core), and run.
#  3. `make deb` (tools/deb.sh): the packages build, their version is
#     include/aloft/version.h's (debian/changelog must follow it), and from
#     the .deb files extracted into a scratch root, `aloft --version` says
#     that version and the extracted aloft uploads to the extracted
#     aloft-sim on 127.0.0.1.
#
# Without the Debian build tools (debhelper, dpkg-dev) or pkg-config this
# is a SKIP (exit 77) for a developer who is not root; as root (`make deps`
# installs them) or under CI=true it fails.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"   # tmp, fail, expect_rc, start_sim ...
start=$SECONDS
build=$(cd "$bin/.." && pwd)
top=$(cd "$here/../.." && pwd)
version=$(sed -n 's/^#define ALOFT_VERSION_STRING "\(.*\)"$/\1/p' "$top/include/aloft/version.h")
[ -n "$version" ] || fail "no version in include/aloft/version.h"

missing=""
for tool in dpkg-buildpackage dh dpkg-deb pkg-config cmake cc; do
    command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    if [ "${CI:-}" = true ] || [ "$(id -u)" = 0 ]; then
        fail "missing:$missing (make deps installs debhelper, dpkg-dev and pkg-config)"
    fi
    echo "SKIP: missing:$missing (sudo apt-get install debhelper dpkg-dev pkg-config)"
    exit 77
fi

# --- 1. install into a scratch tree
stage=$tmp/stage
prefix=/opt/aloft-test
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$build/CMakeCache.txt")
DESTDIR=$stage cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" ||
    { cat "$tmp/install.log" >&2; fail "cmake --install"; }
root=$stage$prefix
for f in bin/aloft bin/aloft-sim "$libdir/libaloft.a" include/aloft/aloft.h \
         include/aloft/version.h include/aloft/wire/image.h "$libdir/pkgconfig/aloft.pc" \
         "$libdir/cmake/aloft/aloftConfig.cmake" "$libdir/cmake/aloft/aloftConfigVersion.cmake"; do
    [ -f "$root/$f" ] || { find "$stage" >&2; fail "the install has no $prefix/$f"; }
done
[ -x "$root/bin/aloft" ] && [ -x "$root/bin/aloft-sim" ] || fail "installed programs not executable"
[ "$("$root/bin/aloft" --version)" = "aloft $version" ] || fail "installed aloft --version"
contains "$root/$libdir/pkgconfig/aloft.pc" "prefix=$prefix"
contains "$root/$libdir/pkgconfig/aloft.pc" "Version: $version"

# --- 2. a program built against the installed files only
mkdir -p "$tmp/use"
cat >"$tmp/use/main.c" <<'EOF'
#include <stdio.h>

#include <aloft/aloft.h>

int main(void)
{
    printf("aloft %s: %s\n", ALOFT_VERSION_STRING, aloft_strerror(ALOFT_ERR_TOO_LARGE));
    return 0;
}
EOF
want="aloft $version: image is larger than the slot"
# A sanitizer build installs an instrumented libaloft.a: its users need the
# sanitizer runtime too.
san=""
if grep -q '^ALOFT_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then san="-fsanitize=address,undefined"; fi
# The .pc names $prefix; PKG_CONFIG_SYSROOT_DIR puts the staging dir in front.
flags=$(PKG_CONFIG_PATH=$root/$libdir/pkgconfig PKG_CONFIG_LIBDIR=/nonexistent \
        PKG_CONFIG_SYSROOT_DIR=$stage pkg-config --cflags --libs aloft) || fail "pkg-config aloft"
[[ "$flags" == *"-I$root/include"* && "$flags" == *"-L$root/$libdir"* && "$flags" == *-laloft* ]] ||
    fail "pkg-config gives '$flags'"
# shellcheck disable=SC2086  # flags are words
cc -std=c11 -Wall -Wextra -pedantic -Werror $san "$tmp/use/main.c" $flags -o "$tmp/use/pc" ||
    fail "cannot build against the installed headers and libaloft.a (pkg-config)"
[ "$("$tmp/use/pc")" = "$want" ] || fail "pkg-config build printed '$("$tmp/use/pc")'"

cat >"$tmp/use/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(use_aloft C)
find_package(aloft $version REQUIRED CONFIG)
message(STATUS "aloft_DIR=\${aloft_DIR}")
add_executable(use_aloft main.c)
target_link_libraries(use_aloft PRIVATE aloft::core)
EOF
cmake -S "$tmp/use" -B "$tmp/use/build" -DCMAKE_PREFIX_PATH="$root" -DCMAKE_C_FLAGS="$san" \
        >"$tmp/cmake.log" 2>&1 &&
    cmake --build "$tmp/use/build" >>"$tmp/cmake.log" 2>&1 ||
    { cat "$tmp/cmake.log" >&2; fail "cannot build against the installed CMake package"; }
contains "$tmp/cmake.log" "aloft_DIR=$root/$libdir/cmake/aloft"
[ "$("$tmp/use/build/use_aloft")" = "$want" ] || fail "CMake build printed the wrong text"
echo "install: tree, pkg-config and find_package(aloft) builds ok ($((SECONDS - start)) s)"

# --- 3. the Debian packages
JOBS=2 bash "$top/tools/deb.sh" "$tmp/deb" >"$tmp/deb.out" || fail "make deb (tools/deb.sh) failed"
deb=$tmp/deb/aloft_${version}_$(dpkg --print-architecture).deb
dev=$tmp/deb/libaloft-dev_${version}_$(dpkg --print-architecture).deb
[ -f "$deb" ] && [ -f "$dev" ] || { cat "$tmp/deb.out" >&2; fail "no aloft and libaloft-dev $version .deb"; }
[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || fail "the package version is not $version"
dpkg-deb -f "$deb" Depends | grep -q "libmbedcrypto" || fail "aloft does not depend on libmbedcrypto"
dpkg-deb -c "$dev" >"$tmp/dev.list"
for f in include/aloft/aloft.h libaloft.a pkgconfig/aloft.pc cmake/aloft/aloftConfig.cmake; do
    contains "$tmp/dev.list" "$f"
done
pkgroot=$tmp/pkgroot
dpkg-deb -x "$deb" "$pkgroot"
aloft=$pkgroot/usr/bin/aloft
sim_bin=$pkgroot/usr/bin/aloft-sim
[ "$("$aloft" --version)" = "aloft $version" ] || fail "packaged aloft --version: $("$aloft" --version)"
[ "$("$sim_bin" --version)" = "aloft-sim $version" ] || fail "packaged aloft-sim --version"

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 320000 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password s3cret --confirm-after 0.5
expect_rc 0 "$aloft" upload --auth s3cret "127.0.0.1:$sim_port" "$tmp/v2.bin"
contains "$tmp/out" "the device activated app1 (2.0.0) and restarts now"
wait_reboot "$sim_log" 2 2.0.0
echo "ok: install, pkg-config, CMake package, deb $version ($((SECONDS - start)) s)"
