#!/usr/bin/env bash
# tests/integration/test_delta_upload.sh — `aloft upload --base` to
# aloft-sim (docs/PROTOCOL.md §2.5-2.7): a delta patch of the running image
# goes instead of the image and the device boots the new version (the CLI's
# boot check says so); --base DIR picks the file the device runs from its
# HELLO; a base the device does not run, or a directory without it, sends
# the full image and says why in one line; a link cut mid-patch (linkemu)
# reconnects and resumes at the last durable 64 KiB mark.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

build_linkemu
# Same filler seed: small patches. Seed 2 for v5: v5 -> v4 is a patch of
# most of the image, big enough to be cut in the middle. 200-240 KB images
# (the filler's layout follows the size: these patches are 29, 10 and
# 114 KB): four 64 KiB marks, all a cut and a resume need.
make_image v1 1.0.0 200000 1
make_image v2 2.0.0 220000 1
make_image v3 3.0.0 230000 1
make_image v4 4.0.0 240000 1
make_image v5 5.0.0 240000 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw --confirm-after 0
dev=127.0.0.1:$sim_port

# --- a patch from the running image
expect_rc 0 "$aloft" upload --auth pw --base "$tmp/v1.bin" "$dev" "$tmp/v2.bin"
contains "$tmp/out" "aloft native v1 (auth, deflate, resume, delta)"
contains "$tmp/out" "made a delta patch from $tmp/v1.bin: "
contains "$tmp/out" "delta patch); the device activated app1 (2.0.0) and restarts now"
contains "$tmp/out" "running 2.0.0 in app1"
lacks "$tmp/out" "sending the full image"
wire=$(sed -n 's/.*, \([0-9 ]*\) bytes on the wire.*/\1/p' "$tmp/out" | tr -d ' ')
[ "$wire" -lt 40000 ] || fail "a patch upload put $wire bytes on the wire"
wait_reboot "$sim_log" 2 2.0.0

# --- --base DIR: the device says which image it runs
mkdir "$tmp/builds"
cp "$tmp/v1.bin" "$tmp/v2.bin" "$tmp/builds/"
expect_rc 0 "$aloft" upload --json --auth pw --base "$tmp/builds" "$dev" "$tmp/v3.bin"
json_get "$tmp/out" 'o["patched"]' | grep -qx True || { cat "$tmp/out"; fail "--base DIR: not patched"; }
wait_reboot "$sim_log" 3 3.0.0
expect_rc 0 "$aloft" upload --auth pw --base "$tmp/builds" "$dev" "$tmp/v4.bin"
contains "$tmp/out" "sending the full image: no file in $tmp/builds is the image the device runs"
contains "$tmp/out" "deflate); the device activated"
wait_reboot "$sim_log" 4 4.0.0

# --- a base the device does not run: the full image, and why
expect_rc 0 "$aloft" upload --auth pw --base "$tmp/v1.bin" "$dev" "$tmp/v5.bin"
contains "$tmp/out" "sending the full image: the device runs another image than the patch's base"
contains "$tmp/out" "running 5.0.0 in"
wait_reboot "$sim_log" 5 5.0.0
expect_rc 2 "$aloft" upload --base "$tmp/v1.bin" --fs "$dev" "$tmp/v5.bin"
contains "$tmp/err" "--base cannot be used with --fs"
expect_rc 1 "$aloft" upload --auth pw --base "$tmp/nothing.bin" "$dev" "$tmp/v4.bin"
contains "$tmp/err" "--base $tmp/nothing.bin: no such file or directory"

# --- a cut in the middle of the patch resumes at the last durable mark
start_tcp_relay "$tmp/relay.log" "127.0.0.1:$sim_port" --cut-after-bytes 100000
# The device has up to its window (32 KiB) in flight when the relay cuts:
# 100 000 bytes get it past segments 0 and 1 (42 KB and 1 KB of this
# patch), and the rest of it (70 KB) goes in one more connection.
expect_rc 0 "$aloft" upload --json --auth pw --base "$tmp/v5.bin" "$relay" "$tmp/v4.bin"
python3 - "$tmp/out" <<'PY' || fail "--json after a cut patch"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] and o["patched"] and o["new_version"] == "4.0.0", o
assert o["reconnects"] >= 1 and o["wire_bytes"] > 100000, o
print("patch cut at 100 000 wire bytes: %d bytes on the wire, %d reconnect(s)" % (
    o["wire_bytes"], o["reconnects"]))
PY
grep -qE "resumed at [0-9 ]+ bytes$" "$tmp/err" || { cat "$tmp/err" >&2; fail "no 'resumed at'"; }
resumed=$(sed -n 's/.*resumed at \([0-9 ]*\) bytes$/\1/p' "$tmp/err" | tail -1 | tr -d ' ')
[ "$resumed" -gt 0 ] && [ $((resumed % 65536)) = 0 ] || fail "resumed at $resumed, not a 64 KiB mark"
stop_relay
contains "$tmp/relay.log" "cut after 100000 bytes"
wait_reboot "$sim_log" 6 4.0.0

echo "ok: delta uploads to aloft-sim ($((SECONDS - start)) s)"
