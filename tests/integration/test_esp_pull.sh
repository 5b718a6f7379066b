#!/usr/bin/env bash
# tests/integration/test_esp_pull.sh — aloft_pull, the ESP-IDF component's
# HTTP pull, on Linux over the IDF fakes (esp_http_client over a socket)
# against a real lighttpd: v2 downloaded with events of ALOFT_PROTO_HTTP,
# activated, restarted into and confirmed; v2 again as a delta patch from
# v1 (its bytes on the wire, not the image's); an image for another chip and
# a 404 refused with the words and numbers of the failure, both slots
# untouched (nothing erased), v1 still serving.
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"
source "$(dirname "$0")/pull_lib.sh"
start=$SECONDS

demo_image v1 1.0.0 --seed 7
demo_image v2 2.0.0 --size 300000 --seed 7
"$aloft" image make --chip esp32c3 --project demo --version 2.0.0 --size 300000 \
    -o "$tmp/www/c3.bin" >/dev/null || fail "image make c3"
cp "$tmp/v2.bin" "$tmp/www/v2.bin"
start_lighttpd
sha() { sha256sum "$tmp/www/$1" | cut -c1-64; }

# --- v2: pulled, restarted into, confirmed
esp_init "$tmp/dev.flash" "$tmp/v1.bin"
start_esp "$tmp/dev.flash" "$tmp/esp.log" --open \
    --pull "$base_url/v2.bin" --pull-size 300000 --pull-sha256 "$(sha v2.bin)"
wait_esp_boot "$tmp/esp.log" 2 2.0.0
in_order "$tmp/esp.log" "event: START http" "event: PROGRESS http 300000/300000" \
    "event: END http 300000/300000" "pull: verified and activated, restarting" \
    "boot #2: running app1 demo 2.0.0, state PENDING_VERIFY" "confirm: confirmed (VALID)"
stop_esp

# --- v2 as a patch from v1: the patch's bytes on the wire
"$aloft" delta make --fast "$tmp/v1.bin" "$tmp/v2.bin" -o "$tmp/www/12.patch" >/dev/null || fail "delta make"
psize=$(stat -c %s "$tmp/www/12.patch")
esp_init "$tmp/dp.flash" "$tmp/v1.bin"
start_esp "$tmp/dp.flash" "$tmp/dp.log" --open \
    --pull "$base_url/v2.bin" --pull-size 300000 --pull-sha256 "$(sha v2.bin)" \
    --pull-patch "$base_url/12.patch,$psize,$(sha 12.patch),$(sha256sum <"$tmp/v1.bin" | cut -c1-64)"
wait_esp_boot "$tmp/dp.log" 2 2.0.0
in_order "$tmp/dp.log" "pull: a patch from the running image: $psize bytes instead of 300000" \
    "GET $base_url/12.patch" "pull complete: $psize bytes (a patch) in 1 attempt(s), $psize on the wire" \
    "pull: verified and activated, restarting" "boot #2: running app1 demo 2.0.0"
lacks "$tmp/dp.log" "GET $base_url/v2.bin"
echo "ESP pull of a patch: $psize bytes for a 300000-byte image"
stop_esp

# refused LOG URL SIZE SHA WORDS: the first boot's pull is refused with
# WORDS, no slot byte changed, and v1 serves on
refused() {
    local log=$1 url=$2 size=$3 sum=$4 words=$5
    esp_init "$tmp/r.flash" "$tmp/v1.bin"
    start_esp "$tmp/r.flash" "$tmp/$log" --open --pull "$url" --pull-size "$size" --pull-sha256 "$sum"
    cp "$tmp/r.flash" "$tmp/r.before"
    wait_for "$tmp/$log" "pull: " 30 || { cat "$tmp/$log" >&2; fail "$log: no outcome"; }
    contains "$tmp/$log" "$words"
    stop_esp
    [ "$(region "$tmp/r.flash" $APP0 $((2 * SLOT_LEN)))" = "$(region "$tmp/r.before" $APP0 $((2 * SLOT_LEN)))" ] ||
        fail "$log: a slot changed"
    has_lines "$tmp/$log" "boot #2" && fail "$log: the device restarted"
    return 0
}
refused c3.log "$base_url/c3.bin" 300000 "$(sha c3.bin)" \
    "event: ERROR http -30: image is for another chip: image is built for ESP32-C3 but the device is ESP32"
refused 404.log "$base_url/none.bin" 300000 "$(sha v2.bin)" \
    "event: ERROR http -90: the server refused the download: it answered HTTP status 404"

echo "ok: aloft_pull over the IDF fakes ($((SECONDS - start)) s)"
