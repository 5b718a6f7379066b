#!/usr/bin/env bash
# tests/integration/test_image_fixtures.sh — `aloft image info` on the real
# firmware in ../shared/fixtures/firmware ($ALOFT_FIXTURES): every ESP32
# family image is valid and shows its chip (named in the file name), one
# shows its app description, and the ESP8266 images are refused as such.
# Skipped (exit 77; a failure under CI=true) without the fixtures.
set -euo pipefail
source "$(dirname "$0")/common_lib.sh"
fx=${ALOFT_FIXTURES:-}
[ -n "$fx" ] && [ -f "$fx/SOURCES.md" ] ||
    skip_missing "no firmware fixtures: ALOFT_FIXTURES='$fx' has no SOURCES.md"

n=0
for f in "$fx"/*.bin; do
    name=$(basename "$f")
    case $name in
    *esp8266*)
        expect_rc 1 "$aloft" image info "$f"
        contains "$tmp/out" "chip             ESP8266"
        contains "$tmp/err" "$name: this is an ESP8266 image: the device is an ESP32-class chip"
        ;;
    *)
        case $name in
        *esp32c3*) chip="ESP32-C3 (chip id 5)" ;;
        *esp32s2*) chip="ESP32-S2 (chip id 2)" ;;
        *esp32s3*) chip="ESP32-S3 (chip id 9)" ;;
        *esp32*) chip="ESP32 (chip id 0)" ;;
        *) fail "$name: no chip in the file name" ;;
        esac
        expect_rc 0 "$aloft" image info "$f"
        contains "$tmp/out" "chip             $chip"
        contains "$tmp/out" "file sha256      $(sha256sum "$f" | cut -d' ' -f1)"
        contains "$tmp/out" "valid            yes"
        ;;
    esac
    n=$((n + 1))
done
[ "$n" -ge 15 ] || fail "only $n fixtures in $fx"

expect_rc 0 "$aloft" image info "$fx/hello_world_esp32c3-25401b9d.bin"
contains "$tmp/out" "  project        hello_world"
contains "$tmp/out" "  idf_ver        v5.2.2-dirty"
echo "test_image_fixtures: ok ($n images)"
