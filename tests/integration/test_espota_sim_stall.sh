#!/usr/bin/env bash
# tests/integration/test_espota_sim_stall.sh — the device loop stalls for
# 5 s in the middle of an upload (a simulated BLE scan holding the radio,
# not paused: --no-quiesce) and the upload still succeeds, because aloft's
# idle timeout is 10 s (ArduinoOTA's 1 s would end it; see the seed test).
#
# Timing, from the device's log rather than the clock: a 5 s stall every
# 9 s leaves the device 4 s of service between stalls. The upload starts
# once the simulator logged the end of its first stall (before that, a 9 s
# free start-up window) and comes through a 600 kbit/s link
# (tests/tools/linkemu.c), so its data phase lasts over 5 s: longer than a
# gap, so a stall lands inside it however late the upload starts on a
# loaded machine. The device's log shows it: the stall's line comes between
# the update's first and last progress lines.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
every=9000 stall=5000
build_linkemu
make_image v1 1.0.0 150000
make_image v2 2.0.0 400K 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --confirm-after 0 --no-quiesce \
    --ble-every "$every" --ble-stall "$stall" --password stall-pw
start_relay "$tmp/relay.log" --rate-kbps 600
wait_for "$sim_log" "app tasks held the loop for $stall ms" 60 || fail "the device never stalled"
expect_rc 0 "$aloft" upload --protocol espota --json --auth stall-pw --host-ip 127.0.0.1 \
    "$relay_ip:$relay_port" "$tmp/v2.bin"
secs=$(json_get "$tmp/out" 'o["seconds"] if o["ok"] else -1')
wait_reboot "$sim_log" 2 2.0.0
awk '/updating app1 / { if (!p) p = 1 } /updating app1 100%/ { exit } p && /held the loop/ { s = 1 }
     END { exit !s }' "$sim_log" ||
    { cat "$sim_log" >&2; fail "no ${stall} ms stall between the update's first and last progress lines"; }
stop_sim
echo "stall: ${stall} ms device stall mid-upload survived; data phase $secs s, idle timeout 10 s"
echo "ok: espota sim stall ($((SECONDS - start)) s)"
