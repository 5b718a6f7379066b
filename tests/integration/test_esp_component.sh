#!/usr/bin/env bash
# tests/integration/test_esp_component.sh — the ESP-IDF component's build
# description and its packaging, without an ESP-IDF: `make idf-component`'s
# script gives the layout the component registry takes (and a .tgz of it);
# the component's CMakeLists.txt, run by CMake against a stand-in for IDF's
# idf_component_register, names only files that exist, the same ones from
# the aloft tree and from the package (the core without the host engines,
# the socket loop, the mbedTLS crypto, the port), and leaves app_update,
# esp_netif and lwip out on IDF's Linux target; a version that differs
# from include/aloft/version.h is refused.
set -euo pipefail
source "$(dirname "$0")/common_lib.sh"
src=${ALOFT_SOURCE_DIR:?}
command -v cmake >/dev/null || skip_missing "no cmake"

expect_rc 0 sh "$src/tools/idf_component.sh" "$tmp/dist"
ver=$(sed -n 's/^#define ALOFT_VERSION_STRING "\(.*\)"/\1/p' "$src/include/aloft/version.h")
pkg="$tmp/dist/aloft-idf-component-$ver"
for f in CMakeLists.txt Kconfig idf_component.yml README.md include/aloft_esp.h src/esp_app.c \
         src/esp_task.c aloft/include/aloft/update.h aloft/lib/update.c \
         aloft/port/sockets/serve.c aloft/port/sockets/serve_native.h \
         aloft/port/mbedtls/crypto_mbedtls.c aloft/web/index.html aloft/cmake/embed.cmake; do
    [ -f "$pkg/$f" ] || fail "the package lacks $f"
done
[ ! -e "$pkg/aloft/lib/CMakeLists.txt" ] || fail "the package carries lib/CMakeLists.txt"
tar -tzf "$tmp/dist/aloft-idf-component-$ver.tgz" >"$tmp/tgz.list"
contains "$tmp/tgz.list" "aloft-idf-component-$ver/aloft/port/sockets/serve.c"
contains "$tmp/tgz.list" "aloft-idf-component-$ver/idf_component.yml"

# idf_component_register stand-in: every SRCS and INCLUDE_DIRS entry exists
cat >"$tmp/check.cmake" <<'CMAKE'
function(idf_build_get_property var prop)
  set(${var} "${TARGET}" PARENT_SCOPE)
endfunction()
function(idf_component_register)
  cmake_parse_arguments(A "" "" "SRCS;INCLUDE_DIRS;PRIV_INCLUDE_DIRS;REQUIRES;PRIV_REQUIRES" ${ARGN})
  foreach(f IN LISTS A_SRCS A_INCLUDE_DIRS A_PRIV_INCLUDE_DIRS)
    if(NOT IS_ABSOLUTE "${f}")
      set(f "${COMPONENT_DIR}/${f}")
    endif()
    if(NOT EXISTS "${f}")
      message(FATAL_ERROR "missing: ${f}")
    endif()
  endforeach()
  foreach(f IN LISTS A_SRCS)
    get_filename_component(n "${f}" NAME)
    message(STATUS "src ${n}")
  endforeach()
  message(STATUS "requires ${A_PRIV_REQUIRES}")
endfunction()
# Build-time steps (the web page's gzip) are not run here; what they read must exist.
function(add_custom_command)
  cmake_parse_arguments(A "" "" "OUTPUT;COMMAND;DEPENDS" ${ARGN})
  foreach(f IN LISTS A_DEPENDS)
    if(NOT EXISTS "${f}")
      message(FATAL_ERROR "missing: ${f}")
    endif()
  endforeach()
endfunction()
function(target_sources)
endfunction()
function(target_compile_definitions)
endfunction()
include("${COMPONENT_DIR}/CMakeLists.txt")
CMAKE
check() { # DIR TARGET OUT
    cmake -DCOMPONENT_DIR="$1" -DTARGET="$2" -P "$tmp/check.cmake" >"$3" 2>&1 ||
        { cat "$3" >&2; fail "the component's CMakeLists.txt ($1, $2)"; }
}
check "$src/port/esp-idf" esp32 "$tmp/repo.txt"
check "$pkg" esp32 "$tmp/pkg.txt"
check "$pkg" linux "$tmp/linux.txt"
for f in update.c native_device.c espota_device.c serve.c serve_native.c crypto_mbedtls.c \
         esp_app.c esp_task.c esp_keys.c esp_device.c esp_flash.c; do
    contains "$tmp/repo.txt" "src $f"
done
lacks "$tmp/repo.txt" "src native_host"
lacks "$tmp/repo.txt" "src espota_host"
[ "$(grep '^-- src' "$tmp/repo.txt" | sort)" = "$(grep '^-- src' "$tmp/pkg.txt" | sort)" ] ||
    fail "the package builds other sources than the tree"
grep -q "^-- requires.*app_update.*esp_netif.*lwip" "$tmp/repo.txt" || fail "esp32: requires"
lacks "$tmp/linux.txt" "app_update"
lacks "$tmp/linux.txt" "lwip"

# a version that is not version.h's is refused
mkdir -p "$tmp/tree/tools" "$tmp/tree/include/aloft" "$tmp/tree/port/esp-idf"
cp "$src/tools/idf_component.sh" "$tmp/tree/tools/"
cp "$src/include/aloft/version.h" "$tmp/tree/include/aloft/"
sed 's/^version: .*/version: "0.0.1"/' "$src/port/esp-idf/idf_component.yml" \
    >"$tmp/tree/port/esp-idf/idf_component.yml"
expect_rc 1 sh "$tmp/tree/tools/idf_component.sh" "$tmp/dist2"
contains "$tmp/err" "idf_component.yml has version 0.0.1, include/aloft/version.h $ver"
echo "esp component: $(grep -c '^-- src' "$tmp/repo.txt") sources; package ok"
