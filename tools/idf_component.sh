#!/bin/sh
# tools/idf_component.sh [OUTDIR] — `make idf-component`: the ESP-IDF
# component with the sources it needs inside, as the component registry
# (`compote component upload`) or an EXTRA_COMPONENT_DIRS entry takes it:
#   OUTDIR/aloft-idf-component-VERSION/      CMakeLists.txt Kconfig
#       idf_component.yml README.md include/ src/ aloft/{include,lib,port,web,cmake}
#   OUTDIR/aloft-idf-component-VERSION.tgz
# The component's CMakeLists.txt finds aloft/ inside it. Refuses when
# idf_component.yml's version is not include/aloft/version.h's.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/build/dist}
ver=$(sed -n 's/^#define ALOFT_VERSION_STRING "\(.*\)"/\1/p' "$root/include/aloft/version.h")
yml=$(sed -n 's/^version: "\(.*\)"/\1/p' "$root/port/esp-idf/idf_component.yml")
if [ "$ver" != "$yml" ]; then
    echo "idf-component: port/esp-idf/idf_component.yml has version $yml," \
         "include/aloft/version.h $ver: make them agree" >&2
    exit 1
fi
name=aloft-idf-component-$ver
dir=$out/$name
rm -rf "$dir" "$out/$name.tgz"
mkdir -p "$dir/aloft/port/sockets" "$dir/aloft/port/mbedtls"
cp "$root/port/esp-idf/CMakeLists.txt" "$root/port/esp-idf/Kconfig" \
   "$root/port/esp-idf/idf_component.yml" "$dir/"
cp -R "$root/port/esp-idf/include" "$root/port/esp-idf/src" "$dir/"
cp -R "$root/include" "$root/lib" "$dir/aloft/"
rm -f "$dir/aloft/lib/CMakeLists.txt"
cp "$root"/port/sockets/*.[ch] "$dir/aloft/port/sockets/"
cp "$root"/port/mbedtls/*.[ch] "$dir/aloft/port/mbedtls/"
mkdir -p "$dir/aloft/web" "$dir/aloft/cmake"   # the page, gzipped by the component's build
cp "$root/web/index.html" "$root/web/web_page.h" "$dir/aloft/web/"
cp "$root/cmake/embed.cmake" "$dir/aloft/cmake/"
cat >"$dir/README.md" <<README
# aloft $ver — ESP-IDF component

OTA firmware updates for ESP32 that do not fail: espota / ArduinoOTA
compatible (espota.py, PlatformIO, the Arduino IDE) and aloft's native
protocol (\`aloft upload\`: windowed, resumable, compressed, mutually
authenticated, signed images), A/B slots with rollback, quiesce hooks.

    #include "aloft_esp.h"

    aloft_esp_config_t cfg;
    aloft_esp_config_default(&cfg);     /* menuconfig: "aloft OTA updates" */
    cfg.password = "...";
    aloft_start(&cfg);
    /* health check passed: */ aloft_confirm();

The guide is docs/PORTING.md of the aloft sources (section 2).
README
tar -czf "$out/$name.tgz" -C "$out" "$name"
echo "$out/$name/"
echo "$out/$name.tgz"
