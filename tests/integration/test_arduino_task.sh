#!/usr/bin/env bash
# test_arduino_task.sh — AloftOTA in task mode (tests/arduino/sketches/
# TaskMode, a test sketch whose loop() never calls handle()): an upload is
# served by aloft's own task, the callbacks run there, loop() keeps running
# through the update (onEnd waits for it to turn), and after the restart
# begin() confirms the new image by itself (auto-confirm).
source "$(dirname "${BASH_SOURCE[0]}")/arduino_lib.sh"

img() { "$aloft" image make --chip esp32 --project task --version "$1" --size 400000 --seed "$2" \
    -o "$tmp/$1.bin" >/dev/null || fail "image make $1"; }
img 1.0.0 1
img 2.0.0 2
new_device "$tmp/dev.flash" "$tmp/1.0.0.bin"
start_board TaskMode "$tmp/dev.flash" "$tmp/board.log"
dev="127.0.0.1:$board_port"
contains "$board_log" "Ready, confirmed"

expect_rc 0 "$aloft" upload --auth admin "$dev" "$tmp/2.0.0.bin"
wait_power_on 2 2.0.0
in_order "$board_log" "onStart in aloft's task" "onProgress 400000/400000 in aloft's task" \
    "onEnd in aloft's task; loop() ran during the update: yes" "=== power on 2" \
    "board: running task 2.0.0 (PENDING_VERIFY)" "Ready, confirmed"
lacks "$board_log" "in loop task"
"$aloft" info --auth admin "$dev" >"$tmp/info" || fail "aloft info"
grep "(running)" "$tmp/info" | grep "2.0.0" | grep -q VALID || { cat "$tmp/info" >&2; fail "2.0.0 not VALID"; }
stop_board
echo "PASS: AloftOTA task mode: served by aloft's task, loop() runs on, begin() confirms"
