#!/usr/bin/env bash
# test_arduino_task.sh — AloftOTA in task mode (tests/arduino/sketches/
# TaskMode, a test sketch whose loop() never calls handle()): an upload is
# served by aloft's own task, the callbacks run there, loop() keeps running
# through the update (onEnd waits for it to turn), and after the restart
# begin() confirms the new image by itself (auto-confirm). The sketch logs
# in by verifier (setNativeVerifier: the firmware holds no native password)
# and gives espota a password of its own (setEspotaPassword); without the
# verifier, or with a hostname too long, begin() refuses with the reason.
source "$(dirname "${BASH_SOURCE[0]}")/arduino_lib.sh"

img() { "$aloft" image make --chip esp32 --project task --version "$1" --size 400000 --seed "$2" \
    -o "$tmp/$1.bin" >/dev/null || fail "image make $1"; }
img 1.0.0 1
img 2.0.0 2
img 3.0.0 3
new_device "$tmp/dev.flash" "$tmp/1.0.0.bin"
# the verifier of "admin" (docs/PROTOCOL.md, aloft/wire/native.h), made here
verifier=$(python3 -c '
import hashlib, hmac, os
salt, it = os.urandom(16), 10000
salted = hashlib.pbkdf2_hmac("sha256", b"admin", salt, it, 32)
ck = hmac.new(salted, b"Client Key", "sha256").digest()
sk = hmac.new(salted, b"Server Key", "sha256").digest()
print("%d:%s:%s:%s" % (it, salt.hex(), hashlib.sha256(ck).hexdigest(), sk.hex()))')
start_board TaskMode "$tmp/dev.flash" "$tmp/board.log" TEST_VERIFIER="$verifier"
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

# espota: its own password, not the native one
expect_rc 1 "$aloft" upload --protocol espota --auth admin "$dev" "$tmp/3.0.0.bin"
contains "$tmp/err" "authentication failed"
expect_rc 0 "$aloft" upload --protocol espota --auth espota-only "$dev" "$tmp/3.0.0.bin"
wait_power_on 3 3.0.0
stop_board

# no verifier and no password for the native protocol: begin() refuses and
# says why; nothing serves
spawn env ALOFT_TEST_PORT="$(arduino_port)" "$tests_bin/arduino_TaskMode" "$tmp/dev.flash" \
    >"$tmp/open.log" 2>&1
wait_for "$tmp/open.log" "Ready," 30 || { cat "$tmp/open.log" >&2; fail "the open board did not get to Ready"; }
contains "$tmp/open.log" "native protocol without a password or verifier"
lacks "$tmp/open.log" "mdns:"
stop_pid "$spawned"

# a hostname that does not fit: begin() refuses and says so
spawn env ALOFT_TEST_PORT="$(arduino_port)" TEST_VERIFIER="$verifier" \
    TEST_HOSTNAME="gateway-in-the-garden-shed-by-the-pond" "$tests_bin/arduino_TaskMode" \
    "$tmp/dev.flash" >"$tmp/long.log" 2>&1
wait_for "$tmp/long.log" "Ready," 30 || { cat "$tmp/long.log" >&2; fail "the board did not get to Ready"; }
contains "$tmp/long.log" "the hostname is longer than 32 characters"
lacks "$tmp/long.log" "mdns:"
stop_pid "$spawned"
echo "PASS: AloftOTA task mode: served by aloft's task, loop() runs on, begin() confirms; native login by verifier, espota by its own password"
