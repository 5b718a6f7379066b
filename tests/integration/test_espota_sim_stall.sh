#!/usr/bin/env bash
# tests/integration/test_espota_sim_stall.sh — the device loop stalls for
# 5 s in the middle of an upload (a simulated BLE scan holding the radio,
# not paused: --no-quiesce) and the upload still succeeds, because aloft's
# idle timeout is 10 s (ArduinoOTA's 1 s would end it; see the seed test).
#
# Timing, from the device's log rather than the clock: a 5 s stall every
# 6 s leaves the device 1 s of service between stalls. The upload starts
# once the simulator logged the end of its first stall (before that, a 6 s
# free start-up window); its data phase (real ESP32 flash timing, about
# 1.7 s of device work) cannot fit in a 1 s gap, so a stall lands inside it
# however loaded the machine is. The JSON result shows it: the data phase
# took over 5 s.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
every=6000 stall=5000
make_image v1 1.0.0 150000
make_image v2 2.0.0 400K 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --flash-timing esp32 --confirm-after 0 --no-quiesce \
    --ble-every "$every" --ble-stall "$stall" --password stall-pw
wait_for "$sim_log" "app tasks held the loop for $stall ms" 60 || fail "the device never stalled"
expect_rc 0 "$aloft" upload --protocol espota --json --auth stall-pw "127.0.0.1:$sim_port" "$tmp/v2.bin"
secs=$(json_get "$tmp/out" 'o["seconds"] if o["ok"] else -1')
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 5.0 else 1)' "$secs" ||
    fail "the data phase took $secs s: no ${stall} ms stall inside it"
wait_reboot "$sim_log" 2 2.0.0
stop_sim
echo "stall: ${stall} ms device stall mid-upload survived; data phase $secs s, idle timeout 10 s"
echo "ok: espota sim stall ($((SECONDS - start)) s)"
