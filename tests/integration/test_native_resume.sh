#!/usr/bin/env bash
# tests/integration/test_native_resume.sh — an upload whose host dies
# (kill -9 during a slow upload: real ESP32 flash timing) is continued by
# the next `aloft upload` of the same image from the device's durable
# offset: `aloft info` shows the resumable transfer, the second run says
# where it resumed (human and --json), sends only the rest, and the device
# boots the new version.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 1000000 2
size=$(stat -c %s "$tmp/v2.bin")
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw --flash-timing esp32
dev="127.0.0.1:$sim_port"

# --- the first host dies a third of the way in
spawn "$aloft" upload --auth pw "$dev" "$tmp/v2.bin" >"$tmp/first.out" 2>&1
host_pid=$spawned
wait_for "$sim_log" "updating app1  30%" 60 ||
    { tail -5 "$sim_log" >&2; fail "the first upload did not get going"; }
kill -9 "$host_pid"
wait "$host_pid" 2>/dev/null || true

# --- the device holds a durable prefix of v2, and says so
expect_rc 0 "$aloft" info --json "$dev"
held=$(json_get "$tmp/out" 'o["resume"]["offset"] if o["resume"] else 0')
[ "$(json_get "$tmp/out" 'o["resume"]["size"]')" = "$size" ] || fail "info: resume size"
[ "$held" -ge 65536 ] || { cat "$tmp/out" >&2; fail "info: no durable prefix after a kill at 30%"; }
expect_rc 0 "$aloft" info "$dev"
contains "$tmp/out" "resumable   app image of"
contains "$tmp/out" "uploading it again continues there"

# --- the same command again continues from there
expect_rc 0 "$aloft" upload --auth pw "$dev" "$tmp/v2.bin"
contains "$tmp/out" "bytes of this image (an interrupted upload): resuming there"
resumed=$(sed -n 's/^the device already holds \([0-9 ]*\) bytes of this image.*/\1/p' "$tmp/out" | tr -d ' ')
[ -n "$resumed" ] && [ "$resumed" -gt 0 ] || { cat "$tmp/out" >&2; fail "no resume offset"; }
[ "$resumed" -ge "$held" ] || fail "resumed at $resumed, below the $held bytes info showed"
grep -qE "^done: [0-9 ]+ image bytes \(resumed at [0-9 ]+\) in .* the device activated app1 \(2\.0\.0\) and restarts now$" "$tmp/out" ||
    { cat "$tmp/out" >&2; fail "no resumed summary"; }
echo "resume after kill -9: $(grep '^done:' "$tmp/out")"
if [ -s "$tmp/err" ]; then sed 's/^/  (stderr) /' "$tmp/err"; fi
wait_reboot "$sim_log" 2 2.0.0
expect_rc 0 "$aloft" info --json "$dev"
[ "$(json_get "$tmp/out" 'o["resume"]')" = None ] || fail "a resume point is left after the update"

echo "ok: native resume after a killed host ($((SECONDS - start)) s)"
