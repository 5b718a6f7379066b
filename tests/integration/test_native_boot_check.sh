#!/usr/bin/env bash
# tests/integration/test_native_boot_check.sh — after RESULT ok, `aloft
# upload` (and `aloft rollback`) wait for the device to restart and read
# its HELLO to say what it runs; RESULT alone is not success:
#  (a) a clean upload: "running 2.0.0 in app1 ... confirmed (VALID)", exit 0,
#      and the same in --json ("boot" object);
#  (b) `make soak`'s case: the power cut at the first boot's otadata rewrite
#      (NEW -> PENDING_VERIFY in place, as ESP-IDF's bootloader does). The
#      cut point is found by counting the flash operations of the same
#      upload on a copy of the device (--never-confirm: the rewrite's
#      program is the run's last operation). The device is restarted while
#      the CLI waits; it runs v1 again, and the CLI says "the device
#      restarted into the previous image (app0, 1.0.0)", exit 3. Running
#      the upload again then works;
#  (c) a device that never confirms: "on probation until it confirms
#      itself", exit 0; `aloft rollback` then waits too: "running 1.0.0 in
#      app0 ..., confirmed";
#  (d) --no-wait: today's behaviour (RESULT only), said so;
#  (e) the device does not come back (cut, not restarted) within
#      --boot-timeout 2: exit 4, "did not come back within 2 s";
#  (f) espota says once that it cannot confirm the restart.
set -euo pipefail
source "$(dirname "$0")/safe_lib.sh"
start=$SECONDS

demo_image v1 1.0.0
demo_image v2 2.0.0 --size 300000
new_device "$tmp/base.flash" "$tmp/v1.bin"
gone() { ! alive "$1"; }

# --- (a) a clean upload, confirmed by the time the CLI looks
cp "$tmp/base.flash" "$tmp/a.flash"
start_sim "$tmp/a.flash" "$tmp/a.log" --confirm-after 0
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload --protocol native "$dev" "$tmp/v2.bin"
contains "$tmp/out" "the device activated app1 (2.0.0) and restarts now"
contains "$tmp/out" "waiting for the device to restart (up to 60 s) ..."
grep -qE '^running 2\.0\.0 in app1 \(after [0-9.]+ s\), confirmed \(VALID\)$' "$tmp/out" ||
    { cat "$tmp/out" >&2; fail "(a) no 'running 2.0.0 in app1, confirmed'"; }
expect_running "$sim_log" "app1 demo 2.0.0 PENDING_VERIFY"   # its boot banner; then:
contains "$sim_log" "app1 confirmed (VALID)"
expect_rc 0 "$aloft" upload --json --protocol native "$dev" "$tmp/v1.bin"
[ "$(json_get "$tmp/out" 'o["ok"], o["boot"]["checked"], o["boot"]["outcome"], o["boot"]["running"], o["boot"]["confirmed"], o["boot"]["new"]["slot"], o["boot"]["new"]["version"], o["boot"]["runs"]["slot"]')" = \
  "(True, True, 'running', True, True, 'app0', '1.0.0', 'app0')" ] || { cat "$tmp/out" >&2; fail "(a) --json boot"; }
stop_sim
echo "(a) clean upload: reported running ($((SECONDS - start)) s)"

# --- (b) the power cut at the first boot's otadata rewrite
cp "$tmp/base.flash" "$tmp/count.flash"
start_sim "$tmp/count.flash" "$tmp/count.log" --never-confirm
expect_rc 0 "$aloft" upload --protocol native "127.0.0.1:$sim_port" "$tmp/v2.bin"
expect_running "$sim_log" "app1 demo 2.0.0 PENDING_VERIFY"
stop_sim
read -r erases programs <<<"$(flash_ops "$tmp/count.log")"
cut=$((erases + programs))
[ "$cut" -gt 2 ] || fail "(b) no flash operations counted: $(tail -2 "$tmp/count.log")"

cp "$tmp/base.flash" "$tmp/b.flash"
sim_keep_port=1   # the device comes back on its address
start_sim "$tmp/b.flash" "$tmp/b.log" --never-confirm --power-cut "$cut" --power-cut-seed 83115
dev="127.0.0.1:$sim_port"
spawn "$aloft" upload --json --protocol native "$dev" "$tmp/v2.bin" >"$tmp/b.out" 2>"$tmp/b.err"
upload_pid=$spawned
wait_until 60 gone "$sim_pid" || fail "(b) the device did not lose power"
rc=0
wait "$sim_pid" || rc=$?
[ "$rc" = 3 ] || { cat "$tmp/b.log" >&2; fail "(b) aloft-sim exited $rc, not of a power cut"; }
contains "$tmp/b.log" "POWER CUT at flash operation $cut"
lacks "$tmp/b.log" "boot #2"   # the cut came before the new image's banner
sim_pid=""
alive "$upload_pid" || { cat "$tmp/b.out" "$tmp/b.err" >&2; fail "(b) the CLI did not wait"; }
start_sim "$tmp/b.flash" "$tmp/b2.log"   # power back, on the same port
[ "127.0.0.1:$sim_port" = "$dev" ] || skip "(b) the device's port was taken meanwhile"
expect_running "$sim_log" "app0 demo 1.0.0 VALID"
wait_until 90 gone "$upload_pid" || fail "(b) the CLI did not end"
rc=0
wait "$upload_pid" || rc=$?
[ "$rc" = 3 ] || { cat "$tmp/b.out" "$tmp/b.err" >&2; fail "(b) aloft upload exited $rc, want 3"; }
contains "$tmp/b.err" "aloft: uploaded and activated, but the device restarted into the previous image (app0, 1.0.0): the new one did not stay selected"
contains "$tmp/b.err" "the device is safe, run the upload again"
[ "$(json_get "$tmp/b.out" 'o["ok"], o["slot"], o["boot"]["outcome"], o["boot"]["running"], o["boot"]["runs"]["slot"], o["boot"]["runs"]["state"], o["error"]["message"]')" = \
  "(False, 'app1', 'previous', False, 'app0', 'VALID', 'the device restarted into the previous image')" ] ||
    { cat "$tmp/b.out" >&2; fail "(b) --json"; }
# as the message says: run it again
expect_rc 0 "$aloft" upload --protocol native "$dev" "$tmp/v2.bin"
contains "$tmp/out" "running 2.0.0 in app1"
stop_sim
sim_keep_port=0
echo "(b) power cut at the first boot: reported, exit 3 ($((SECONDS - start)) s)"

# --- (c) never confirms: on probation; then a rollback, checked the same way
cp "$tmp/base.flash" "$tmp/c.flash"
start_sim "$tmp/c.flash" "$tmp/c.log" --never-confirm
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload --protocol native "$dev" "$tmp/v2.bin"
contains "$tmp/out" "running 2.0.0 in app1"
contains "$tmp/out" "on probation until it confirms itself (PENDING_VERIFY)"
expect_rc 0 "$aloft" rollback --json "$dev"
[ "$(json_get "$tmp/out" 'o["ok"], o["slot"], o["boot"]["outcome"], o["boot"]["confirmed"]')" = \
  "(True, 'app0', 'running', True)" ] || { cat "$tmp/out" >&2; fail "(c) rollback --json"; }
expect_running "$sim_log" "app0 demo 1.0.0 VALID"
stop_sim
echo "(c) never confirms: reported on probation ($((SECONDS - start)) s)"

# --- (d) --no-wait: RESULT only, as before
cp "$tmp/base.flash" "$tmp/d.flash"
start_sim "$tmp/d.flash" "$tmp/d.log" --confirm-after 0
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload --no-wait --protocol native "$dev" "$tmp/v2.bin"
contains "$tmp/out" "the device activated app1 (2.0.0) and restarts now"
contains "$tmp/out" "--no-wait: the restart was not waited for"
lacks "$tmp/out" "waiting for the device"
lacks "$tmp/out" "running 2.0.0"
wait_reboot "$sim_log" 2 2.0.0
stop_sim
echo "(d) --no-wait: RESULT only ($((SECONDS - start)) s)"

# --- (e) the device does not come back in time
cp "$tmp/base.flash" "$tmp/e.flash"
start_sim "$tmp/e.flash" "$tmp/e.log" --never-confirm --power-cut "$cut"
dev="127.0.0.1:$sim_port"
expect_rc 4 "$aloft" upload --boot-timeout 2 --protocol native "$dev" "$tmp/v2.bin"
contains "$tmp/err" "aloft: uploaded and activated, but the device did not come back within 2 s"
contains "$tmp/err" "check its serial log"
contains "$tmp/e.log" "POWER CUT at flash operation $cut"
sim_pid=""
expect_rc 2 "$aloft" upload --boot-timeout 0 "$dev" "$tmp/v2.bin"
contains "$tmp/err" "--boot-timeout needs a number of seconds from 1 to 3600"
echo "(e) not back: exit 4 ($((SECONDS - start)) s)"

# --- (f) espota cannot tell
cp "$tmp/base.flash" "$tmp/f.flash"
start_sim "$tmp/f.flash" "$tmp/f.log" --confirm-after 0
expect_rc 0 "$aloft" upload --protocol espota --host-ip 127.0.0.1 "127.0.0.1:$sim_port" "$tmp/v2.bin"
[ "$(grep -c "espota cannot confirm the device restarted into it" "$tmp/out")" = 1 ] ||
    { cat "$tmp/out" >&2; fail "(f) espota's note, once"; }
wait_reboot "$sim_log" 2 2.0.0
stop_sim
echo "test_native_boot_check: ok ($((SECONDS - start)) s)"
