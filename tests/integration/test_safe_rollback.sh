#!/usr/bin/env bash
# tests/integration/test_safe_rollback.sh — rollback, automatic and asked
# for, against aloft-sim:
#  - an image that never confirms itself (--never-confirm) boots once
#    PENDING_VERIFY; the next boot abandons it (banner "rolled back") and
#    runs the previous one; `aloft info` shows that slot ABORTED in words,
#    and `aloft rollback` will not "go back" to it;
#  - `aloft rollback` on a device running a confirmed 2.0.0 reboots it into
#    1.0.0 without any download (one otadata write), with a password;
#  - `aloft rollback` when the other slot is empty, or holds a damaged
#    image, is refused with the reason and changes nothing.
set -euo pipefail
source "$(dirname "$0")/safe_lib.sh"
start=$SECONDS

demo_image v1 1.0.0
demo_image v2 2.0.0

# --- a never-confirmed image is rolled back after one reboot
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --never-confirm
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload "$dev" "$tmp/v2.bin"
wait_reboot "$sim_log" 2 2.0.0
expect_running "$sim_log" "app1 demo 2.0.0 PENDING_VERIFY"
expect_rc 0 "$aloft" info "$dev"
grep -E '^  \* app1 .* PENDING_VERIFY +demo 2\.0\.0, .*\(running\)$' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "info: app1 is not shown running 2.0.0 unconfirmed"; }
contains "$tmp/out" "not confirmed yet; rolls back at the next restart"
stop_sim   # the firmware hangs: someone power-cycles the device
start_sim "$tmp/dev.flash" "$tmp/sim2.log" --never-confirm
dev="127.0.0.1:$sim_port"
contains "$sim_log" "the last update was never confirmed: rolled back (ABORTED)"
expect_running "$sim_log" "app0 demo 1.0.0 VALID"
expect_rc 0 "$aloft" info "$dev"
grep -E '^  \* app0 .* VALID .* demo 1\.0\.0, .*\(running\)$' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "info: app0 is not shown running 1.0.0"; }
grep -E '^    app1 .* ABORTED .* demo 2\.0\.0, ' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "info: app1 is not shown ABORTED"; }
contains "$tmp/out" "ABORTED: never confirmed, rolled back"
expect_rc 0 "$aloft" info --json "$dev"
python3 - "$tmp/out" <<'EOF' || fail "info --json: ABORTED"
import json, sys
o = json.load(open(sys.argv[1]))
run, other = o["slots"][0], o["slots"][1]
assert o["running_slot"] == 0 and run["running"] and run["state_name"] == "VALID", o
assert other["state_name"] == "ABORTED" and other["image"]["version"] == "2.0.0", o
assert other["state_note"] == "ABORTED: never confirmed, rolled back", o
EOF
# going "back" to the image that failed is refused, before anything is sent
cp "$tmp/dev.flash" "$tmp/before.flash"   # (the boot has written ABORTED by now)
expect_rc 1 "$aloft" rollback "$dev"
refused "rollback failed: nothing to roll back to" "never confirmed itself" \
    "keeps running demo 1.0.0 in app0" "nothing was changed"
stop_sim
cmp -s "$tmp/before.flash" "$tmp/dev.flash" || fail "the refused rollback changed the flash"
echo "never confirmed: rolled back at the next boot ($((SECONDS - start)) s)"

# --- aloft rollback: confirmed 2.0.0 -> 1.0.0, no download
start_sim "$tmp/dev.flash" "$tmp/sim3.log" --confirm-after 0 --password pw
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload --auth pw "$dev" "$tmp/v2.bin"
wait_reboot "$sim_log" 2 2.0.0
wait_for "$sim_log" "confirmed (VALID)" 60 || fail "2.0.0 not confirmed"
stop_sim
start_sim "$tmp/dev.flash" "$tmp/sim4.log" --confirm-after 0 --password pw
dev="127.0.0.1:$sim_port"
expect_running "$sim_log" "app1 demo 2.0.0 VALID"
expect_rc 1 "$aloft" rollback "$dev"
refused "the device requires a password" "--auth"
expect_rc 0 "$aloft" rollback --auth pw "$dev"
contains "$tmp/out" "device aloft-sim: ESP32, running app1 (demo 2.0.0, VALID)"
contains "$tmp/out" "rolled back: app0 (demo 1.0.0) boots next; the device restarts now"
[ ! -s "$tmp/err" ] || { cat "$tmp/err" >&2; fail "warnings on a rollback with a password"; }
wait_reboot "$sim_log" 2 1.0.0
expect_running "$sim_log" "app0 demo 1.0.0 VALID"
stop_sim
# no download: the switch is one otadata sector erase and one program
ops=$(flash_ops "$sim_log")
[ "$ops" = "1 1" ] || { tail -3 "$sim_log" >&2; fail "rollback did $ops erases/programs"; }
# and back again, with --json
start_sim "$tmp/dev.flash" "$tmp/sim5.log" --confirm-after 0 --password pw
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" rollback --json --auth pw "$dev"
python3 - "$tmp/out" <<'EOF' || fail "rollback --json"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] and o["authenticated"] and o["error"] is None, o
assert o["from"] == {"slot": "app0", "project": "demo", "version": "1.0.0", "state": "VALID"}, o
assert o["slot"] == "app1" and o["project"] == "demo" and o["version"] == "2.0.0", o
assert o["reboot"] is True, o
EOF
wait_reboot "$sim_log" 2 2.0.0
stop_sim
echo "aloft rollback: both ways ($((SECONDS - start)) s)"

# --- the other slot damaged: one byte of app0's image (1.0.0) changed
flip "$tmp/dev.flash" $((APP0 + 4096))
cp "$tmp/dev.flash" "$tmp/before.flash"
start_sim "$tmp/dev.flash" "$tmp/sim6.log" --confirm-after 0 --password pw
dev="127.0.0.1:$sim_port"
expect_running "$sim_log" "app1 demo 2.0.0 VALID"
expect_rc 1 "$aloft" rollback --auth pw "$dev"
refused "rollback failed: nothing to roll back to" "app0 holds no complete image" \
    "damaged" "keeps running demo 2.0.0 in app1" "nothing was changed"
stop_sim
cmp -s "$tmp/before.flash" "$tmp/dev.flash" || fail "the refused rollback changed the flash"

# --- the other slot empty: a new device
new_device "$tmp/new.flash" "$tmp/v1.bin"
cp "$tmp/new.flash" "$tmp/before.flash"
start_sim "$tmp/new.flash" "$tmp/sim7.log"
dev="127.0.0.1:$sim_port"
expect_rc 1 "$aloft" rollback "$dev"
refused "rollback failed: nothing to roll back to" "app1 holds no complete image" "it is empty" \
    "keeps running demo 1.0.0 in app0"
expect_rc 1 "$aloft" rollback --json "$dev"
[ "$(json_get "$tmp/out" 'o["ok"] is False and o["error"]["message"] == "nothing to roll back to" and "it is empty" in o["error"]["hint"]')" \
    = True ] || fail "rollback --json: refusal"
stop_sim
cmp -s "$tmp/before.flash" "$tmp/new.flash" || fail "the refused rollback changed the flash"
echo "test_safe_rollback: ok ($((SECONDS - start)) s)"
