#!/usr/bin/env bash
# bench/delta_sizes.sh — delta patch sizes on every fixture pair of
# ../shared/fixtures/firmware/SOURCES.md (P1..P7), side by side in one run:
#
#   aloft w12    aloft delta make --window-bits 12 (the ESP-IDF port's
#                default inflate window, 4 KiB; zlib and Zopfli, the smaller)
#   segments     of that patch: count x span (format 2: the encoder puts as
#                many 64 KiB marks in a segment as keep its deflated bytes,
#                what a resume inside it sends again, under 16 KiB)
#   w12 --fast   the same with --fast (zlib only: what upload --base sends)
#   aloft w13    --window-bits 13 (8 KiB: 4 KiB more RAM on the device)
#   aloft w15    --window-bits 15 (32 KiB)
#   bsdiff       Debian's bsdiff (BSDIFF40, bzip2)
#   xdelta3      xdelta3 -9 -e -s OLD NEW
#   gzip -9      gzip -9 -n of the whole new image (what a full compressed
#                upload costs)
#
# Each cell is bytes and % of the new image. Every aloft patch is checked by
# `aloft delta apply` (byte-exact new image) before it is counted. Targets
# (issue 12): on P1..P3 aloft at w12 no larger than bsdiff; on P7
# (MicroPython 1.9.4 -> 1.10) below 15.7 % of the new image (detools'
# heatshrink figure), as close as possible to 11.7 % (its LZMA figure).
#
#   bash bench/delta_sizes.sh [BIN_DIR]     (default build/bin; `make bench`)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$top/build/bin}
aloft=$bin/aloft
fx=${ALOFT_FIXTURES:-$top/../shared/fixtures/firmware}
[ -f "$fx/SOURCES.md" ] || { echo "delta_sizes: no fixtures at $fx" >&2; exit 77; }
for t in bsdiff xdelta3 gzip; do
    command -v "$t" >/dev/null || { echo "delta_sizes: $t is not installed (apt-get install bsdiff xdelta3)" >&2; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pairs="P1 esp32_nim_ble_ota-b0767c3e esp32_nim_ble_ota-0ab0db3c
P1x esp32_nim_ble_ota-5b4d670b esp32_nim_ble_ota-b0767c3e
P2 esp32fota_anyfs_stage1-484e1de0 esp32fota_anyfs_stage1-47803c41
P3 hello-world_esp32-9fa9d6d8 hello-world_esp32-994d0965
P4 hello_world_esp32s2-15742055 hello_world_esp32s2-25401b9d
P5 hello_world_esp32c3-6b741fc9 hello_world_esp32c3-25401b9d
P6 hello_world_esp32s3-6b741fc9 hello_world_esp32s3-25401b9d
P7 micropython_esp8266-v1.9.4 micropython_esp8266-v1.10"

cell() { printf '%7d %6.2f%%' "$1" "$(echo "scale=4; 100 * $1 / $2" | bc)"; }
aloft_patch() { # OLD NEW BITS [--fast] -> size (the make's line in $tmp/make)
    "$aloft" delta make "$1" "$2" -o "$tmp/p" --window-bits "$3" ${4:-} >"$tmp/make"
    "$aloft" delta apply "$1" "$tmp/p" -o "$tmp/n" >/dev/null
    cmp -s "$tmp/n" "$2" || { echo "delta_sizes: patch $1 -> $2 does not rebuild it" >&2; exit 1; }
    stat -c %s "$tmp/p"
}

printf '%-4s %8s | %-15s | %-10s | %-15s | %-15s | %-15s | %-15s | %-15s | %-15s | %s\n' pair new \
    "aloft w12" "segments" "w12 --fast" "aloft w13" "aloft w15" "bsdiff" "xdelta3 -9" "gzip -9" \
    "w12 vs bsdiff"
status=0
while read -r name old new; do
    o=$fx/$old.bin n=$fx/$new.bin
    size=$(stat -c %s "$n")
    a12=$(aloft_patch "$o" "$n" 12)
    segs=$(sed -n 's/.*, \([0-9]*\) segments* of \([0-9]*\) KiB$/\1 x \2K/p' "$tmp/make")
    af=$(aloft_patch "$o" "$n" 12 --fast)
    a13=$(aloft_patch "$o" "$n" 13)
    a15=$(aloft_patch "$o" "$n" 15)
    bsdiff "$o" "$n" "$tmp/b"
    xdelta3 -9 -e -f -s "$o" "$n" "$tmp/x"
    bs=$(stat -c %s "$tmp/b") xd=$(stat -c %s "$tmp/x") gz=$(gzip -9 -n -c "$n" | wc -c)
    verdict=$(printf '%+.1f%%' "$(echo "scale=4; 100 * ($a12 - $bs) / $bs" | bc)")
    printf '%-4s %8d | %s | %-10s | %s | %s | %s | %s | %s | %s | %s\n' "$name" "$size" \
        "$(cell "$a12" "$size")" "$segs" "$(cell "$af" "$size")" "$(cell "$a13" "$size")" \
        "$(cell "$a15" "$size")" "$(cell "$bs" "$size")" "$(cell "$xd" "$size")" \
        "$(cell "$gz" "$size")" "$verdict"
    case $name in
    P1 | P2 | P3) [ "$a12" -le "$bs" ] || { echo "  target missed: $name aloft w12 $a12 > bsdiff $bs"; status=2; } ;;
    P7) [ $((a12 * 1000)) -lt $((size * 157)) ] || { echo "  target missed: P7 aloft w12 >= 15.7 %"; status=2; } ;;
    esac
done <<<"$pairs"
[ "$status" = 0 ] && echo "targets: P1-P3 no larger than bsdiff, P7 below 15.7 %: met"
# A missed target is reported, not a failure of `make bench` (exit 0).
exit 0
