#!/usr/bin/env bash
# tests/integration/test_native_cut.sh — a connection cut in the middle of
# the data (tests/tools/linkemu.c resets both sides once N bytes went up)
# is reconnected by `aloft upload` itself, with backoff, and the upload
# continues from the device's ACCEPT offset: the story is on stderr
# ("connection lost at N%; reconnecting in 1 s ... resumed at X bytes"),
# --json counts the reconnect, and the device boots the new version.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

build_linkemu
make_image v1 1.0.0 300000 1
make_image v2 2.0.0 1000000 2
size=$(stat -c %s "$tmp/v2.bin")
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw

# The relay: every connection through it is reset after 350 000 bytes from
# the host; the deflated image is ~550 000, so the first connection is cut
# and the second one, resuming past the middle, gets through.
start_tcp_relay "$tmp/relay.log" "127.0.0.1:$sim_port" --cut-after-bytes 350000

expect_rc 0 "$aloft" upload --json --auth pw "$relay" "$tmp/v2.bin"
python3 - "$tmp/out" "$size" <<'PY' || fail "--json after a cut"
import json, sys
o = json.load(open(sys.argv[1]))
size = int(sys.argv[2])
assert o["ok"] and o["protocol"] == "native" and o["new_version"] == "2.0.0", o
assert o["reconnects"] >= 1 and o["resumed_from"] == 0 and o["bytes"] == size, o
assert o["wire_bytes"] > 350000, o
print("cut at 350 000 wire bytes: %d image bytes delivered with %d bytes on the wire, "
      "%d reconnect(s), %.1f s" % (o["bytes"], o["wire_bytes"], o["reconnects"], o["seconds"]))
PY
contains "$tmp/err" "aloft: connection lost at "
contains "$tmp/err" "; reconnecting in 1 s ..."
grep -qE "resumed at [0-9 ]+ bytes$" "$tmp/err" || { cat "$tmp/err" >&2; fail "no 'resumed at'"; }
resumed=$(sed -n 's/.*resumed at \([0-9 ]*\) bytes$/\1/p' "$tmp/err" | tail -1 | tr -d ' ')
[ "$resumed" -gt 0 ] || fail "resumed at 0"
sed 's/^/  (stderr) /' "$tmp/err"
stop_relay
contains "$tmp/relay.log" "cut after 350000 bytes"
wait_reboot "$sim_log" 2 2.0.0

echo "ok: native resume after a cut connection ($((SECONDS - start)) s)"
