#!/usr/bin/env bash
# test_arduino_zip.sh — the zip `make arduino-lib` builds
# (tools/arduino_pack.sh) is a library the Arduino IDE and PlatformIO take:
#   - one top folder with library.properties/json, src/, examples/,
#     platformio/; the version of include/aloft/version.h in its name;
#   - src/ holds every source the library needs: lib/, include/aloft,
#     port/esp-idf, port/sockets, port/mbedtls, and the web page (gzipped
#     web/index.html in web_page.c);
#   - aloft_arduino_config.h gives every Kconfig symbol its Kconfig default;
#   - it compiles as the Arduino builder compiles it: every .c/.cpp under
#     src/, recursively, with only src/ added to the include path, against
#     an sdkconfig.h like arduino-esp32's (no CONFIG_ALOFT_*), with the
#     Arduino and IDF fakes for the platform; and the BasicAloft example so
#     built from the zip takes an upload and boots it.
source "$(dirname "${BASH_SOURCE[0]}")/arduino_lib.sh"
src_root=${ALOFT_SOURCE_DIR:?set ALOFT_SOURCE_DIR to the source tree}
build_root=$(cd "$bin/.." && pwd)

version=$(sed -n 's/^#define ALOFT_VERSION_STRING "\(.*\)"/\1/p' "$src_root/include/aloft/version.h")
zip=$(sh "$src_root/tools/arduino_pack.sh" "$tmp/dist") || fail "arduino_pack.sh failed"
[ "$zip" = "$tmp/dist/aloft-arduino-$version.zip" ] || fail "zip is $zip"
python3 -m zipfile -e "$zip" "$tmp/x" || fail "cannot unpack $zip"
lib="$tmp/x/aloft"
[ "$(ls "$tmp/x")" = aloft ] || fail "the zip holds more than one top folder: $(ls "$tmp/x")"
for f in library.properties library.json README.md src/AloftOTA.h src/AloftOTA.cpp \
         src/aloft_arduino_config.h src/aloft_esp.h src/aloft/aloft.h src/aloft/wire/native.h \
         examples/BasicAloft/BasicAloft.ino examples/Gateway/Gateway.ino \
         platformio/aloft_upload.py; do
    [ -f "$lib/$f" ] || fail "the zip lacks $f"
done
stray=$(cd "$lib" && find . -type f | grep -Ev '^\./(library\.properties|library\.json|README\.md|src/.*\.(h|c|cpp)|examples/[A-Za-z]+/[A-Za-z]+\.ino|platformio/[a-z_]+\.py)$' || true)
[ -z "$stray" ] || fail "the zip holds files that are not the library's: $stray"
grep -q "^version=$version$" "$lib/library.properties" || fail "library.properties version"
python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["version"] == sys.argv[2]' \
    "$lib/library.json" "$version" || fail "library.json version"
# every source the component builds from is in src/
for f in "$src_root"/lib/*.[ch]; do [ -f "$lib/src/aloft_core/$(basename "$f")" ] || fail "lacks lib/$(basename "$f")"; done
for d in port/esp-idf/src port/sockets port/mbedtls; do
    for f in "$src_root/$d"/*.[ch]; do
        [ -f "$lib/src/aloft_port/$(basename "$f")" ] || fail "lacks $d/$(basename "$f")"
    done
done
diff -r "$src_root/include/aloft" "$lib/src/aloft" >/dev/null || fail "src/aloft differs from include/aloft"
same_file "$src_root/web/web_page.h" "$lib/src/aloft_port/web_page.h"
python3 - "$lib/src/aloft_port/web_page.c" "$src_root/web/index.html" <<'PY' || fail "web_page.c is not web/index.html"
import gzip, re, sys
c = open(sys.argv[1]).read()
data = bytes(int(x, 16) for x in re.findall(r"0x([0-9a-f]{2})", c.split("= {", 1)[1]))
assert "aloft_web_page_gz_len = %d;" % len(data) in c
assert gzip.decompress(data) == open(sys.argv[2], "rb").read()
PY

# aloft_arduino_config.h: each Kconfig symbol with its Kconfig default
python3 - "$src_root/port/esp-idf/Kconfig" "$lib/src/aloft_arduino_config.h" <<'PY' || fail "aloft_arduino_config.h does not match Kconfig"
import re, sys
kconfig, header = open(sys.argv[1]).read(), open(sys.argv[2]).read()
defines = dict(re.findall(r"#define (CONFIG_ALOFT_\w+) ?(.*)", header))
want, choice = {}, None
for block in re.split(r"\n\s*(?=config |choice |endchoice)", kconfig):
    head = block.strip().split("\n")[0].split()
    if head[:1] == ["choice"]:
        m = re.search(r"default (\w+)", block)
        choice = m.group(1)
        want["CONFIG_" + choice] = "1"
    elif head[:1] == ["config"]:
        name = "CONFIG_" + head[1]
        kind = re.search(r"^\s*(int|string|bool)\b", block, re.M)
        m = re.search(r"^\s*default (.*)$", block, re.M)
        if kind is None:
            continue
        kind = kind.group(1)
        if choice and name != "CONFIG_" + choice and kind == "bool" and m is None:
            continue   # the other options of the choice: not defined
        d = m.group(1).strip() if m else "n"
        if kind == "bool":
            if d == "y":
                want[name] = "1"
        else:
            want[name] = d
    elif head[:1] == ["endchoice"]:
        choice = None
missing = {k: v for k, v in want.items() if defines.get(k) != v}
extra = sorted(set(defines) - set(want))
if missing or extra:
    sys.exit("differs from Kconfig: want %r; not in Kconfig: %r" % (missing, extra))
print("aloft_arduino_config.h: %d symbols as in Kconfig" % len(want))
PY

# the port must read aloft_arduino_config.h when sdkconfig.h has no CONFIG_ALOFT_*
grep -lq "aloft_arduino_config.h" "$lib/src/aloft_port/"*.[ch] 2>/dev/null ||
    fail "no port source includes aloft_arduino_config.h: under Arduino (no CONFIG_ALOFT_* in sdkconfig.h) the component cannot compile"

# compile as the Arduino builder does: src/ recursively, -I src only (the
# platform's headers here are the fakes)
read -r -a san <<<"${ALOFT_SAN_FLAGS:-}"   # a sanitizer build's flags (tests/arduino/CMakeLists.txt)
platform=("${san[@]}" -I "$src_root/tests/arduino/arduino_sdk" -I "$src_root/tests/arduino/fakes"
          -I "$src_root/tests/esp/fakes/include")
mkdir -p "$tmp/obj"
printf '#include <Arduino.h>\n' >"$tmp/BasicAloft.ino.cpp"
cat "$lib/examples/BasicAloft/BasicAloft.ino" >>"$tmp/BasicAloft.ino.cpp"
(cd "$lib/src" && find . -name '*.c' -o -name '*.cpp') | sort >"$tmp/sources"
want=$(( $(ls "$src_root"/lib/*.c "$src_root"/port/esp-idf/src/*.c "$src_root"/port/sockets/*.c \
    "$src_root"/port/mbedtls/*.c "$src_root"/port/arduino/src/*.cpp | wc -l) + 1 ))   # + web_page.c
[ "$(wc -l <"$tmp/sources")" = "$want" ] || fail "$(wc -l <"$tmp/sources") sources under src/, want $want"
compile() {
    local f=$1 o
    o="$tmp/obj/$(echo "$f" | tr '/.' '__').o"
    case "$f" in
        *.c) cc -std=gnu17 -Wall -Wextra -Werror -I "$lib/src" "${platform[@]}" -c "$lib/src/$f" -o "$o" ;;
        *) c++ -std=gnu++2b -Wall -Wextra -Werror -I "$lib/src" "${platform[@]}" -c "$lib/src/$f" -o "$o" ;;
    esac
}
while read -r f; do
    compile "$f" 2>>"$tmp/compile.err" || { cat "$tmp/compile.err" >&2; fail "src/$f does not compile"; }
done <"$tmp/sources"
c++ -std=gnu++2b -Wall -Wextra -Werror -I "$lib/src" "${platform[@]}" -c "$tmp/BasicAloft.ino.cpp" \
    -o "$tmp/obj/sketch.o" || fail "BasicAloft.ino does not compile against the zip"
{ printf '#include <Arduino.h>\n'; cat "$lib/examples/Gateway/Gateway.ino"; } >"$tmp/Gateway.ino.cpp"
c++ -std=gnu++2b -Wall -Wextra -Werror -I "$lib/src" "${platform[@]}" -c "$tmp/Gateway.ino.cpp" \
    -o "$tmp/Gateway.o" || fail "Gateway.ino does not compile against the zip"
# the board (tests/arduino/sketch_main.cpp) and the fakes' code from the build
c++ -std=gnu++2b -Wall -Wextra -Werror -I "$lib/src" -I "$lib/src/aloft_port" "${platform[@]}" \
    -I "$src_root/sim" -I "$src_root/port/posix" -c "$src_root/tests/arduino/sketch_main.cpp" \
    -o "$tmp/obj/board.o" || fail "sketch_main.cpp"
# (the build's libraries hold the fakes, and the port, the core and
# AloftOTA too: -t -t shows which of their members were linked; from the
# ones the zip replaces, none may be; the simulator's own libraries, which
# the flash fake stands on, may bring their files)
# (not the cross-compiled aloft.exe's, in build/windows)
mapfile -t archives < <(find "$build_root" -name 'libaloft*.a' -not -path '*/CMakeFiles/*' \
    -not -path "$build_root/windows/*")
c++ "${san[@]}" -o "$tmp/arduino_zip_BasicAloft" "$tmp/obj/"*.o -Wl,--wrap=aloft_start -Wl,-t,-t \
    -Wl,--start-group "${archives[@]}" -Wl,--end-group -lmbedcrypto -lz -lm -lpthread \
    >"$tmp/link.trace" 2>"$tmp/link.err" || { cat "$tmp/link.err" >&2; fail "the zip's objects do not link"; }
sed -n 's/^(.*\/\(libaloft_esp_fake\|libaloft_arduino_fake\|libaloft\|libaloft_sockets\|libaloft_mbedtls\)\.a)\(.*\)\.o$/\2/p' \
    "$tmp/link.trace" | sort -u >"$tmp/members"
sed 's|.*/||' "$tmp/sources" | sort -u >"$tmp/zip_names"
# a fake may share a name with a real source (tests/esp/fakes/chip.c, lib/chip.c)
(cd "$src_root/tests" && ls esp/fakes/*.c arduino/fakes/*.cpp) | sed 's|.*/||' | sort -u >"$tmp/fakes"
taken=$(comm -23 "$tmp/members" "$tmp/fakes" | comm -12 - "$tmp/zip_names")
[ -z "$taken" ] || fail "linked the build's copy of what the zip should provide: $taken"
grep -qx "esp_partition.c" "$tmp/members" || fail "the IDF fakes are not among the members linked"
echo "compiled $(wc -l <"$tmp/sources") sources from the zip's src/"

# and it works: an upload to BasicAloft built from the zip
img() { "$aloft" image make --chip esp32 --project zip --version "$1" --size 300000 --seed "$2" \
    -o "$tmp/$1.bin" >/dev/null || fail "image make"; }
img 1.0.0 1
img 2.0.0 2
new_device "$tmp/dev.flash" "$tmp/1.0.0.bin"
tests_bin=$tmp
mv "$tmp/arduino_zip_BasicAloft" "$tmp/arduino_BasicAloft"
start_board BasicAloft "$tmp/dev.flash" "$tmp/board.log"
expect_rc 0 "$aloft" upload --auth admin "127.0.0.1:$board_port" "$tmp/2.0.0.bin"
wait_power_on 2 2.0.0
in_order "$board_log" "Start updating sketch" "Progress: 100%" $'\nEnd' "=== power on 2"
stop_board
echo "PASS: the Arduino zip: layout, Kconfig defaults, compiles as the Arduino builder compiles it, and the BasicAloft built from it updates"
