#!/usr/bin/env bash
# tests/integration/test_espota_sim_pending.sh — a host that invites and
# never answers (127.0.0.2, a fresh invitation every 0.8 s) used to keep
# the device "busy" for everyone; now its pending login holds others off
# for 1 s at most (re-inviting does not renew it), so an espota upload from
# 127.0.0.1 goes through while it keeps inviting.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"
start=$SECONDS

make_image v1 1.0.0 150000
make_image v2 2.0.0 170000 7
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw

cat >"$tmp/inviter.py" <<'PY'
import socket, sys, time
port, log = int(sys.argv[1]), open(sys.argv[2], "w", buffering=1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.2", 0))
s.settimeout(0.8)
for i in range(60):
    s.sendto(b"0 45678 170000 0123456789abcdef0123456789abcdef\n", ("127.0.0.1", port))
    t = time.monotonic()
    try:
        log.write("%d %s\n" % (i, s.recv(128).decode(errors="replace")[:20]))
    except socket.timeout:
        log.write("%d no answer\n" % i)
    time.sleep(max(0, 0.8 - (time.monotonic() - t)))
PY
: >"$tmp/inviter.log"
spawn python3 "$tmp/inviter.py" "$sim_port" "$tmp/inviter.log"
# Its third nonce comes 1.6 s after its first: the hold is over by then.
wait_for "$tmp/inviter.log" "AUTH " 10 3 || { cat "$tmp/inviter.log" >&2; fail "the inviter got no nonces"; }

expect_rc 0 "$aloft" upload --protocol espota --auth pw "127.0.0.1:$sim_port" "$tmp/v2.bin"
wait_reboot "$sim_log" 2 2.0.0

echo "ok: espota upload past a host that never answers ($((SECONDS - start)) s)"
