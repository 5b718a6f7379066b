#!/usr/bin/env bash
# tests/integration/test_safe_health.sh — the health policy that confirms
# a new image, and what an unconfirmed image means for updates:
#  - `aloft-sim --confirm-when-reachable 127.0.0.1:PORT`: with nothing
#    listening there the new image stays PENDING_VERIFY (probed once a
#    second); once a listener is up it is confirmed (VALID);
#  - while the running image is unconfirmed (--confirm-after 60, right
#    after an update) a second upload is refused with "not confirmed yet"
#    and a hint, over native and over espota, and nothing is written;
#    `aloft rollback` is the way back from there.
set -euo pipefail
source "$(dirname "$0")/safe_lib.sh"
start=$SECONDS

demo_image v1 1.0.0
demo_image v2 2.0.0
demo_image v3 3.0.0

# --- confirmed only once the endpoint answers
broker=$(free_tcp_port)
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --confirm-after 0 \
    --confirm-when-reachable "127.0.0.1:$broker"
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload "$dev" "$tmp/v2.bin"
wait_reboot "$sim_log" 2 2.0.0
# two probes of the endpoint (once a second), both refused: still pending
wait_for "$sim_log" "health check: 127.0.0.1:$broker not reachable, app1 stays PENDING_VERIFY" 60 2 ||
    { tail -5 "$sim_log" >&2; fail "the endpoint was not probed twice"; }
lacks "$sim_log" "confirmed (VALID)"
expect_running "$sim_log" "app1 demo 2.0.0 PENDING_VERIFY"
expect_rc 0 "$aloft" info "$dev"
grep -E '^  \* app1 .* PENDING_VERIFY +demo 2\.0\.0, ' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "info: app1 is not PENDING_VERIFY"; }
# the endpoint comes up (say, the MQTT broker is reachable again)
spawn python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
time.sleep(60)' "$broker"
wait_for "$sim_log" "reached 127.0.0.1:$broker: app1 confirmed (VALID)" 60 ||
    { tail -5 "$sim_log" >&2; fail "not confirmed once the endpoint listens"; }
expect_rc 0 "$aloft" info --json "$dev"
[ "$(json_get "$tmp/out" 'o["slots"][1]["state_name"]')" = VALID ] || fail "info: app1 not VALID"
stop_sim
echo "confirm when reachable: ok ($((SECONDS - start)) s)"

# --- updates refused while the running image is unconfirmed
new_device "$tmp/dev2.flash" "$tmp/v1.bin"
start_sim "$tmp/dev2.flash" "$tmp/sim2.log" --confirm-after 60
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload "$dev" "$tmp/v2.bin"
wait_reboot "$sim_log" 2 2.0.0
expect_running "$sim_log" "app1 demo 2.0.0 PENDING_VERIFY"
cp "$tmp/dev2.flash" "$tmp/before.flash"
expect_rc 1 "$aloft" upload --protocol native "$dev" "$tmp/v3.bin"
refused "upload failed: running image is not confirmed yet" \
    "the firmware in app1 is still PENDING_VERIFY; let it confirm itself" \
    "'aloft info $dev' shows its state" "'aloft rollback $dev' goes back"
lacks "$tmp/err" "reconnecting"   # a refusal, not a lost connection
expect_rc 1 "$aloft" upload --protocol espota --timeout 5 "$dev" "$tmp/v3.bin"
refused "running image is not confirmed yet" "still PENDING_VERIFY"
cmp -s "$tmp/before.flash" "$tmp/dev2.flash" || fail "a refused upload changed the flash"
# the way back from an image one does not want to wait for
expect_rc 0 "$aloft" rollback "$dev"
contains "$tmp/out" "running app1 (demo 2.0.0, PENDING_VERIFY)"
contains "$tmp/out" "rolled back: app0 (demo 1.0.0) boots next; the device restarts now"
wait_reboot "$sim_log" 3 1.0.0
expect_running "$sim_log" "app0 demo 1.0.0 VALID"
expect_rc 0 "$aloft" upload --protocol native "$dev" "$tmp/v3.bin"   # VALID: updates again
wait_reboot "$sim_log" 4 3.0.0
stop_sim
echo "test_safe_health: ok ($((SECONDS - start)) s)"
