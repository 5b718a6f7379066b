#!/usr/bin/env bash
# tests/integration/test_espota_sim_busy.sh — a second uploader while an
# upload runs: the device (the first upload comes through a 500 kbit/s
# link, tests/tools/linkemu.c, so it takes over 10 s, far longer than the
# checks in between need even on a loaded machine; real ESP32 flash
# timing) answers the second invitation "ERR: busy" without asking
# for a password and without disturbing the first, which completes and
# reboots the device into 2.0.0. ArduinoOTA instead resets its state and
# breaks the first upload (protocol.md §6).
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
make_image v1 1.0.0 150000
make_image v2 2.0.0 700K 2
make_image other 9.0.0 120000 9
flash="$tmp/dev.flash"
new_device "$flash" "$tmp/v1.bin"
log="$tmp/sim.log"
start_sim "$flash" "$log" --flash-timing esp32 --confirm-after 0 --password busy-pw

# --- the first upload, slow: 716 800 bytes at 500 kbit/s
build_linkemu
start_relay "$tmp/relay.log" --rate-kbps 500
spawn "$aloft" upload --protocol espota --json --auth busy-pw --host-ip 127.0.0.1 \
    "$relay_ip:$relay_port" "$tmp/v2.bin" >"$tmp/first.out" 2>"$tmp/first.err"
first=$spawned
wait_for "$log" "updating app1  10%" 60 || { cat "$tmp/first.err" >&2; fail "first upload did not start"; }

# --- the second uploader (right password or none) gets "busy" at once.
# Each "busy" shows the first upload was still running when it was asked.
t0=$(now_ms)
expect_rc 1 "$aloft" upload --protocol espota --auth busy-pw "127.0.0.1:$sim_port" "$tmp/other.bin"
contains "$tmp/err" "upload failed: another update is in progress"
contains "$tmp/err" "wait for it to finish, then try again"
contains "$tmp/err" "device said: \"ERR: busy\""
lacks "$tmp/out" "authenticating"
expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$sim_port" -f "$tmp/other.bin"
contains "$tmp/err" "[ERROR]: another update is in progress"
busy_ms=$(( $(now_ms) - t0 ))

# --- the first upload is undisturbed
rc=0
wait "$first" || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/first.out" "$tmp/first.err" >&2; fail "first upload exited $rc"; }
python3 - "$tmp/first.out" "$tmp/v2.bin" <<'EOF' || fail "first upload's result"
import json, os, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is True and o["bytes"] == os.path.getsize(sys.argv[2]), o
print("busy: first upload %d bytes in %.2f s ok" % (o["bytes"], o["seconds"]))
EOF
wait_reboot "$log" 2 2.0.0
contains "$log" "running app1 @0x150000: espota-sim 2.0.0"
lacks "$log" "9.0.0"
echo "busy: second uploader refused in $busy_ms ms (two tries), first unaffected"
echo "ok: espota sim busy ($((SECONDS - start)) s)"
