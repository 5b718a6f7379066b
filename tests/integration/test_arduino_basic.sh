#!/usr/bin/env bash
# test_arduino_basic.sh — the BasicAloft example (ArduinoOTA's BasicOTA with
# AloftOTA) built for Linux over the ESP-IDF port and fakes, serving on
# 127.0.0.1:
#   - `aloft upload` (native): onStart, onProgress from 0 % rising to 100 %,
#     onEnd, in that order; the board restarts and boots the new image,
#     which initArduino() leaves unconfirmed (AloftOTA's verifyRollbackLater)
#     and AloftOTA's first handle() confirms;
#   - espota (`aloft upload --protocol espota`, what the Arduino IDE and
#     PlatformIO speak): the same callbacks, and the next image boots;
#   - a wrong password: refused, and no callback runs at all (see the
#     migration notes: ArduinoOTA would call onError(OTA_AUTH_ERROR));
#     the next upload's onStart is the first callback after it;
#   - a broken image (another chip): onError with END_ERROR's number and the
#     message, and the firmware keeps running;
#   - an image too large for the slot: onError(BEGIN_ERROR) without onStart
#     (refused before anything is paused), and nothing for a wrong password;
#   - a connection cut mid-transfer: onError(RECEIVE_ERROR), then the
#     upload resumes (onStart again) and the image boots.
source "$(dirname "${BASH_SOURCE[0]}")/arduino_lib.sh"

img() { "$aloft" image make --chip "${3:-esp32}" --project basic --version "$1" --size 400000 \
    --seed "$2" -o "$tmp/$1.bin" >/dev/null || fail "image make $1"; }
img 1.0.0 1
img 2.0.0 2
img 3.0.0 3
img 4.0.0 4 esp32c3
new_device "$tmp/dev.flash" "$tmp/1.0.0.bin"
start_board BasicAloft "$tmp/dev.flash" "$tmp/board.log"
contains "$board_log" "board: running basic 1.0.0 (VALID)"
contains "$board_log" "mdns: esp32-240ac4123456.local"
contains "$board_log" "mdns: _arduino._tcp port $board_port txt board=esp32 tcp_check=no ssh_upload=no auth_upload=yes"
contains "$board_log" "mdns: _aloft._tcp port $board_port txt txtvers=1 proto="
dev="127.0.0.1:$board_port"

# native
expect_rc 0 "$aloft" upload --auth admin "$dev" "$tmp/2.0.0.bin"
wait_power_on 2 2.0.0
in_order "$board_log" "=== power on 1" "Start updating sketch" "Progress: 0%" "Progress: 50%" \
    "Progress: 100%" $'\nEnd' "=== power on 2" "board: running basic 2.0.0 (PENDING_VERIFY)" "Ready"
python3 - "$board_log" <<'PY' || fail "progress went backwards"
import re, sys
part = open(sys.argv[1]).read().split("=== power on 2")[0]
values = [int(v) for v in re.findall(r"Progress: (\d+)%", part)]
assert values == sorted(values) and values[0] == 0 and values[-1] == 100, values
PY
lacks "$board_log" "initArduino confirmed"
# AloftOTA's first handle() keeps the image: the device reports it VALID
running_valid() { "$aloft" info --auth admin "$dev" | grep "(running)" | grep "$1" | grep -q VALID; }
wait_until 30 running_valid 2.0.0 || { "$aloft" info --auth admin "$dev" >&2; fail "2.0.0 not confirmed"; }

# a wrong password: nothing happens on the board
marker="=== wrong password"
echo "$marker" >>"$board_log"
expect_rc 1 "$aloft" upload --auth wrong "$dev" "$tmp/3.0.0.bin"
contains "$tmp/err" "authentication failed"

# espota
expect_rc 0 "$aloft" upload --protocol espota --auth admin "$dev" "$tmp/3.0.0.bin"
wait_power_on 3 3.0.0
since "$marker" "$board_log" >"$tmp/after_wrong.log"
in_order "$tmp/after_wrong.log" "Start updating sketch" "Progress: 100%" $'\nEnd' "=== power on 3"
first=$(grep -o "Start updating\|Error\[\|Progress:" "$tmp/after_wrong.log" | head -1)
[ "$first" = "Start updating" ] || fail "a callback ran for the wrong password: $first"
wait_until 30 running_valid 3.0.0 || fail "3.0.0 not confirmed"

# a broken image: the chip is wrong; onError says so, 3.0.0 keeps running
marker="=== broken image"
echo "$marker" >>"$board_log"
expect_rc 1 "$aloft" upload --protocol espota --auth admin "$dev" "$tmp/4.0.0.bin"
wait_for "$board_log" "Error[4]: End Failed" 30 || { tail "$board_log" >&2; fail "no onError"; }
since "$marker" "$board_log" >"$tmp/broken.log"
in_order "$tmp/broken.log" "Start updating sketch" "Error[4]: End Failed" "ESP32-C3"
lacks "$tmp/broken.log" "=== power on"
"$aloft" info --auth admin "$dev" >"$tmp/info" || fail "aloft info after the failed update"
grep "(running)" "$tmp/info" | grep -q "3.0.0" || { cat "$tmp/info" >&2; fail "3.0.0 does not run"; }

# too large for the slot: refused before anything is paused or written,
# onError(BEGIN_ERROR) alone; with a wrong password not even that
"$aloft" image make --chip esp32 --project basic --version 5.0.0 --size 1500000 \
    -o "$tmp/big.bin" >/dev/null || fail "image make big"
marker="=== too large"
echo "$marker" >>"$board_log"
expect_rc 1 "$aloft" upload --protocol espota --auth wrong "$dev" "$tmp/big.bin"
expect_rc 1 "$aloft" upload --auth admin "$dev" "$tmp/big.bin"
wait_for "$board_log" "Error[1]: Begin Failed" 30 || { tail "$board_log" >&2; fail "no onError(BEGIN)"; }
since "$marker" "$board_log" >"$tmp/big.log"
in_order "$tmp/big.log" "Error[1]: Begin Failed" "image is larger than the slot"
[ "$(grep -c "Error\[" "$tmp/big.log")" = 1 ] || { cat "$tmp/big.log" >&2; fail "onError more than once"; }
lacks "$tmp/big.log" "Start updating"

# a connection cut mid-transfer (the link emulator resets each after 200 000 bytes):
# onError(RECEIVE_ERROR) with the message; aloft upload reconnects, the
# device resumes where its flash left off, onStart again, and 6.0.0 boots
build_linkemu
start_tcp_relay "$tmp/relay.log" "127.0.0.1:$board_port" --cut-after-bytes 200000
marker="=== cut"
echo "$marker" >>"$board_log"
img 6.0.0 6
expect_rc 0 "$aloft" upload --no-compress --auth admin "$relay" "$tmp/6.0.0.bin"
contains "$tmp/err" "resumed at"
wait_power_on 4 6.0.0
since "$marker" "$board_log" >"$tmp/cut.log"
in_order "$tmp/cut.log" "Start updating sketch" "Error[3]: Receive Failed" "connection closed early" \
    "Start updating sketch" $'\nEnd' "=== power on 4"
stop_relay

stop_board
echo "PASS: BasicAloft: native and espota uploads with ArduinoOTA's callbacks, confirmed by AloftOTA, wrong password silent, broken and too-large images reported, a cut transfer resumed"
