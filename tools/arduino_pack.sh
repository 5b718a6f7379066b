#!/bin/sh
# tools/arduino_pack.sh OUTDIR — the Arduino library as one zip,
# OUTDIR/aloft-arduino-VERSION.zip (VERSION from include/aloft/version.h),
# for the Arduino IDE's "Add .ZIP Library" and PlatformIO's lib_deps.
#
# The Arduino builder compiles only what is inside the library's folder,
# adds only src/ to the include path and compiles src/'s subfolders
# recursively, so the zip carries everything aloft needs under src/:
#   src/AloftOTA.h .cpp, aloft_arduino_config.h   port/arduino/src
#   src/aloft_esp.h                              port/esp-idf/include
#   src/aloft/                                   include/aloft ("aloft/x.h" resolves from src/)
#   src/aloft_core/                              lib/ (its private headers beside its sources)
#   src/aloft_port/                              port/esp-idf/src, port/sockets, port/mbedtls:
#                                                one folder, so their "x.h" includes of each
#                                                other resolve next to the including file;
#                                                with the web page, web/index.html gzipped
#                                                into web_page.c as the component's
#                                                CMakeLists builds it, and web/web_page.h
# A file name found twice in what goes into one folder stops the packing.
set -eu

out=${1:?usage: tools/arduino_pack.sh OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^#define ALOFT_VERSION_STRING "\(.*\)"/\1/p' "$root/include/aloft/version.h")
[ -n "$version" ] || { echo "arduino_pack: no ALOFT_VERSION_STRING in include/aloft/version.h" >&2; exit 1; }

lib="$root/port/arduino"
for f in library.properties library.json; do
    if ! grep -Eq "^version=$version\$|\"version\": \"$version\"" "$lib/$f"; then
        echo "arduino_pack: port/arduino/$f does not carry version $version (include/aloft/version.h)" >&2
        exit 1
    fi
done

stage=$(mktemp -d "${TMPDIR:-/tmp}/aloft-arduino.XXXXXX")
trap 'rm -rf "$stage"' EXIT
dst="$stage/aloft"
mkdir -p "$dst/src/aloft_core" "$dst/src/aloft_port"

cp "$lib/library.properties" "$lib/library.json" "$lib/README.md" "$dst/"
mkdir -p "$dst/platformio"
cp "$lib/platformio/"*.py "$dst/platformio/"
for ex in "$lib/examples"/*/; do
    name=$(basename "$ex")
    mkdir -p "$dst/examples/$name"
    cp "$ex$name.ino" "$dst/examples/$name/"
done
cp "$lib/src/"* "$dst/src/"
cp "$root/port/esp-idf/include/"*.h "$dst/src/"
cp -R "$root/include/aloft" "$dst/src/aloft"
cp "$root/lib/"*.c "$root/lib/"*.h "$dst/src/aloft_core/"

# port sources: every .c/.h of these folders, refusing a name twice
for dir in port/esp-idf/src port/sockets port/mbedtls; do
    [ -d "$root/$dir" ] || { echo "arduino_pack: $dir is missing" >&2; exit 1; }
    for f in "$root/$dir"/*.c "$root/$dir"/*.h; do
        [ -e "$f" ] || continue
        name=$(basename "$f")
        if [ -e "$dst/src/aloft_port/$name" ]; then
            echo "arduino_pack: $dir/$name: a file of that name is packed already (src/aloft_port/)" >&2
            exit 1
        fi
        cp "$f" "$dst/src/aloft_port/"
    done
done

# the page (AloftOTA.setWebPort): gzip -9n, no name or time, so the bytes
# depend only on the page
gzip -9n -c "$root/web/index.html" >"$stage/index.html.gz"
(cd "$stage" && cmake -DIN=index.html.gz -DOUT="$dst/src/aloft_port/web_page.c" \
    -DNAME=aloft_web_page_gz -P "$root/cmake/embed.cmake")
cp "$root/web/web_page.h" "$dst/src/aloft_port/"

mkdir -p "$out"
zip="$(cd "$out" && pwd)/aloft-arduino-$version.zip"
rm -f "$zip"
(cd "$stage" && python3 - "$zip" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for base, dirs, files in os.walk("aloft"):
        dirs.sort()
        for f in sorted(files):
            z.write(os.path.join(base, f))
PY
)
echo "$zip"
