#!/usr/bin/env bash
# tests/integration/test_espota_sim_reboot_window.sh — regression test for
# a bug in the simulated device (fixed: the pipeline refuses a new update
# once one is activated until the reboot, and a reboot forgets every
# session, as RAM does).
#
# The bug: after an app upload the device sends "OK", closes, and reboots
# REBOOT_DELAY_MS (100 ms) later, but in between port/posix/serve.c
# keeps serving espota, and the engine is already IDLE again
# (lib/espota_device.c, aloft_espota_next: TCP_CLOSE -> IDLE before the
# REBOOT action). An invitation arriving in that window is accepted:
# aloft_update_begin() re-targets the slot that was just activated (the
# running slot has not changed yet) and starts erasing it; the reboot then
# boots the half-erased slot, which fails verification, and the device falls
# back to the old firmware. The first uploader was told "the device
# confirmed the update" (exit 0), yet the device runs the old version.
# Also, the reboot does not reset the espota engine or the update session
# (RAM survives the simulated reboot), so the interrupted session keeps the
# device "busy" for up to 5 s (connect timeout) after it rebooted.
#
# On a real ESP32, ArduinoOTA's delay(100) + ESP.restart() blocks, so no
# invitation can be served in that window.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

make_image v1 1.0.0 100K
make_image v2 2.0.0 100K 2
make_image v3 3.0.0 400K 3
bad=0
for try in 1 2 3; do
    flash="$tmp/dev$try.flash"
    log="$tmp/sim$try.log"
    new_device "$flash" "$tmp/v1.bin"
    start_sim "$flash" "$log" --flash-timing esp32 --confirm-after 0
    rc1=0 rc2=0
    "$aloft" upload --protocol espota "127.0.0.1:$sim_port" "$tmp/v2.bin" >"$tmp/u1.out" 2>&1 || rc1=$?
    # a second uploader right after the first one got its "OK"
    "$aloft" upload --protocol espota --timeout 3 "127.0.0.1:$sim_port" "$tmp/v3.bin" >"$tmp/u2.out" 2>&1 || rc2=$?
    # one reboot per upload that succeeded (none for a refused or broken one)
    want=$(( 1 + (rc1 == 0) + (rc2 == 0) ))
    wait_until 60 booted "$log" "$want" || { tail -5 "$log" >&2; fail "try $try: no boot #$want"; }
    running=$(running_version "$log")
    # right after the reboot a third uploader must not be told "busy"
    rc3=0
    "$aloft" upload --protocol espota --timeout 3 "127.0.0.1:$sim_port" "$tmp/v2.bin" >"$tmp/u3.out" 2>&1 || rc3=$?
    stop_sim
    echo "try $try: upload 2.0.0 exit $rc1; upload 3.0.0 right after exit $rc2; device runs $running;" \
         "next upload exit $rc3$(grep -q 'ERR: busy' "$tmp/u3.out" && echo ' (busy)')"
    if [ "$rc1" = 0 ] && [ "$running" = 1.0.0 ]; then
        echo "  BUG: the device confirmed 2.0.0, then booted 1.0.0:"
        grep -E "boot #|did not verify|running" "$log" | sed 's/^/    /'
        bad=1
    fi
    if grep -q "ERR: busy" "$tmp/u3.out"; then
        echo "  BUG: the rebooted device still says busy (stale session from before the reboot)"
        bad=1
    fi
done
[ "$bad" = 0 ] || { echo "reproduced"; exit 1; }
echo "ok: not reproduced"
