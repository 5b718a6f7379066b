#!/usr/bin/env bash
# tests/integration/test_delta_power_cut.sh — the device loses power in the
# middle of a delta upload (aloft-sim --power-cut: the process dies at a
# flash operation, as a chip does): it boots the old image, and the same
# `aloft upload --base` run, reconnecting, resumes the patch at a durable
# segment of the new image; the device then boots the new version.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS
gone() { ! alive "$1"; }

# Seed 2 for v2: a patch of ~130 KB; the cut falls about half way, past
# the first durable 64 KiB mark (the host makes the patch first: slow
# under ASan, hence the long wait for the cut).
make_image v1 1.0.0 200000 1
make_image v2 2.0.0 220000 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
cut=520
sim_keep_port=1   # the device comes back on its address
start_sim "$tmp/dev.flash" "$tmp/a.log" --password pw --confirm-after 0 --power-cut "$cut"
dev="127.0.0.1:$sim_port"
spawn "$aloft" upload --json --auth pw --base "$tmp/v1.bin" "$dev" "$tmp/v2.bin" \
    >"$tmp/up.out" 2>"$tmp/up.err"
upload_pid=$spawned
wait_until 300 gone "$sim_pid" || fail "the device did not lose power"
rc=0
wait "$sim_pid" || rc=$?
[ "$rc" = 3 ] || { cat "$tmp/a.log" >&2; fail "aloft-sim exited $rc, not of a power cut"; }
contains "$tmp/a.log" "POWER CUT at flash operation $cut"
sim_pid=""
alive "$upload_pid" || { cat "$tmp/up.out" "$tmp/up.err" >&2; fail "the CLI did not wait"; }

start_sim "$tmp/dev.flash" "$tmp/b.log" --password pw --confirm-after 0   # power back
[ "127.0.0.1:$sim_port" = "$dev" ] || skip "the device's port was taken meanwhile"
contains "$tmp/b.log" "1.0.0"
wait_until 90 gone "$upload_pid" || fail "the CLI did not end"
rc=0
wait "$upload_pid" || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/up.out" "$tmp/up.err" >&2; fail "aloft upload exited $rc"; }
python3 - "$tmp/up.out" <<'PY' || fail "--json after a power cut"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] and o["patched"] and o["new_version"] == "2.0.0", o
assert o["reconnects"] >= 1, o
print("power cut mid-patch: %d bytes on the wire, %d reconnect(s)" % (o["wire_bytes"],
      o["reconnects"]))
PY
grep -qE "resumed at [0-9 ]+ bytes$" "$tmp/up.err" || { cat "$tmp/up.err" >&2; fail "no 'resumed at'"; }
resumed=$(sed -n 's/.*resumed at \([0-9 ]*\) bytes$/\1/p' "$tmp/up.err" | tail -1 | tr -d ' ')
[ "$resumed" -gt 0 ] && [ $((resumed % 65536)) = 0 ] || fail "resumed at $resumed, not a segment"
echo "resumed at $resumed bytes of the new image"
wait_reboot "$tmp/b.log" 2 2.0.0

echo "ok: a delta upload resumes after a power cut ($((SECONDS - start)) s)"
