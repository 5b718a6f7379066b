#!/usr/bin/env bash
# tests/integration/test_espota_sim_firewall.sh — the device accepts the
# upload but cannot connect back (a host firewall rejects the connection):
# the uploader must say so, naming the address and port the device was told
# to connect to, the firewall, and the flag that picks the port.
#
# Why a relay: on loopback the device connects back to the source address
# of the invitation, and `aloft upload --host-ip A` sends the invitation
# from A and listens on A, so no choice of --host-ip alone makes the
# connect-back fail. tests/tools/linkemu.c stands between host and device
# (uploads go to the relay; the device sees the relay's address) and, with
# --no-connect-back, refuses the device's connect-back as a firewall does.
# The same relay without that flag passes an upload, so the failure is the
# blocked connect-back and nothing else.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
build_linkemu
make_image v1 1.0.0 150000
make_image v2 2.0.0 160000 2
flash="$tmp/dev.flash"
new_device "$flash" "$tmp/v1.bin"
log="$tmp/sim.log"
start_sim "$flash" "$log" --confirm-after 0 --password fw-pw

# --- blocked connect-back: aloft upload
start_relay "$tmp/relay1.log" --no-connect-back
before=$(sha256sum <"$flash")
hp=$(free_tcp_port)
t0=$(now_ms)
expect_rc 1 "$aloft" upload --protocol espota --timeout 2 --host-ip 127.0.0.1 --host-port "$hp" --auth fw-pw \
    "$relay_ip:$relay_port" "$tmp/v2.bin"
ms=$(( $(now_ms) - t0 ))
contains "$tmp/out" "authenticating (PBKDF2-HMAC-SHA256)... ok"
contains "$tmp/err" "upload failed: device did not connect back"
contains "$tmp/err" "did not open a TCP connection to 127.0.0.1:$hp within 2 s"
contains "$tmp/err" "firewall"
contains "$tmp/err" "pick a port with --host-port N"
# 2 s, not the default 10 (a loaded machine adds a few seconds)
wrapped || [ "$ms" -lt 9000 ] || fail "the diagnosis took $ms ms with --timeout 2"

# ... and the espota.py drop-in names its own flag
expect_rc 1 "$aloft" espota -i "$relay_ip" -p "$relay_port" -I 127.0.0.1 -P "$hp" -a fw-pw \
    -t 2 -f "$tmp/v2.bin"
contains "$tmp/err" "device did not connect back"
contains "$tmp/err" "127.0.0.1:$hp"
contains "$tmp/err" "pick a port with -P N"
stop_relay
contains "$tmp/relay1.log" "connect-backs refused"
grep -q "invitation: command 0, connect-back port $hp" "$tmp/relay1.log" ||
    { cat "$tmp/relay1.log" >&2; fail "the relay did not see the invitation"; }
[ "$(sha256sum <"$flash")" = "$before" ] || fail "a failed connect-back changed the flash"
[ "$(boots "$log")" = 1 ] || fail "the device rebooted"

# --- control: the same relay, connect-back allowed, 5 ms each way
start_relay "$tmp/relay2.log" --delay-ms 5
expect_rc 0 "$aloft" upload --protocol espota --timeout 5 --host-ip 127.0.0.1 --auth fw-pw \
    "$relay_ip:$relay_port" "$tmp/v2.bin"
contains "$tmp/out" "device connected from $relay_ip:"
contains "$tmp/out" "the device confirmed the update"
wait_reboot "$log" 2 2.0.0
stop_relay
contains "$tmp/relay2.log" "relayed $(stat -c %s "$tmp/v2.bin") bytes host->device"
stop_sim
echo "firewall: blocked connect-back diagnosed in $ms ms (--timeout 2); control upload through the relay ok"
echo "ok: espota sim firewall ($((SECONDS - start)) s)"
