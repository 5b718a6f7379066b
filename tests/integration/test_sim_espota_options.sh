#!/usr/bin/env bash
# tests/integration/test_sim_espota_options.sh — the two ways to keep
# espota's weaker login away from the native password: --espota-password
# gives espota its own (each protocol accepts only its password), and
# --no-espota turns espota off (no UDP socket: an invitation meets a closed
# port) while native uploads work as before.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 320000 2
make_image v3 3.0.0 330000 3
new_device "$tmp/dev.flash" "$tmp/v1.bin"

# --- a separate espota password
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password native-pw --espota-password espota-pw \
    --confirm-after 0
dev="127.0.0.1:$sim_port"
contains "$sim_log" "password, PBKDF2 auth, its own"
# (a success between the failures: both logins share one limiter)
expect_rc 1 "$aloft" info --auth espota-pw "$dev"
contains "$tmp/err" "authentication failed"
expect_rc 0 "$aloft" info --auth native-pw "$dev"
expect_rc 1 "$aloft" upload --protocol espota --auth native-pw "$dev" "$tmp/v2.bin"
contains "$tmp/err" "authentication failed"
expect_rc 0 "$aloft" upload --protocol espota --auth espota-pw "$dev" "$tmp/v2.bin"
wait_reboot "$sim_log" 2 2.0.0
wait_for "$sim_log" "confirmed (VALID)" 10 || fail "2.0.0 not confirmed"
stop_sim

# --- espota off
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw --no-espota
contains "$sim_log" "espota off"
lacks "$sim_log" "espota on"
python3 - "$sim_port" <<'PY' || fail "something answers espota on UDP $sim_port"
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
s.send(b"0 45678 330000 0123456789abcdef0123456789abcdef\n")
try:
    s.recv(64)
except ConnectionRefusedError:   # ICMP port unreachable: nothing listens
    sys.exit(0)
sys.exit(1)
PY
expect_rc 0 "$aloft" upload --auth pw "127.0.0.1:$sim_port" "$tmp/v3.bin"
wait_reboot "$sim_log" 2 3.0.0

echo "ok: --espota-password and --no-espota ($((SECONDS - start)) s)"
