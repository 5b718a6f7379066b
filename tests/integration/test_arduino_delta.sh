#!/usr/bin/env bash
# test_arduino_delta.sh — AloftOTA takes delta patches through the ESP-IDF
# component (CONFIG_ALOFT_DELTA from aloft_arduino_config.h): the
# BasicAloft board advertises cap delta, `aloft upload --base` sends a
# patch of the running sketch, the board calls onStart/onEnd as for a full
# upload, restarts and boots the new image.
source "$(dirname "${BASH_SOURCE[0]}")/arduino_lib.sh"

# Same size and filler, another version: a patch of a few hundred bytes.
img() { "$aloft" image make --chip esp32 --project basic --version "$1" --size "$2" --seed 1 \
    -o "$tmp/$1.bin" >/dev/null || fail "image make $1"; }
img 1.0.0 400000
img 2.0.0 400000
new_device "$tmp/dev.flash" "$tmp/1.0.0.bin"
start_board BasicAloft "$tmp/dev.flash" "$tmp/board.log"
dev="127.0.0.1:$board_port"

expect_rc 0 "$aloft" upload --auth admin --base "$tmp/1.0.0.bin" "$dev" "$tmp/2.0.0.bin"
contains "$tmp/out" "aloft native v1 (auth, deflate, resume, delta)"
contains "$tmp/out" "delta patch); the device activated app1 (2.0.0) and restarts now"
wire=$(sed -n 's/.*, \([0-9 ]*\) bytes on the wire.*/\1/p' "$tmp/out" | tr -d ' ')
[ -n "$wire" ] && [ "$wire" -lt 20000 ] || fail "a patch upload put '$wire' bytes on the wire"
wait_power_on 2 2.0.0
in_order "$board_log" "=== power on 1" "Start updating sketch" "Progress: 100%" $'\nEnd' \
    "=== power on 2" "board: running basic 2.0.0 (PENDING_VERIFY)"
stop_board
echo "PASS: AloftOTA takes a delta patch ($wire bytes on the wire for a 400000-byte sketch)"
