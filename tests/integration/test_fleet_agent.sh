#!/usr/bin/env bash
# tests/integration/test_fleet_agent.sh — `aloft fleet` end to end with real
# devices: `aloft-sim --fleet 4` (the MQTT agent with the HTTP pull, real
# flash files and reboots), a real lighttpd serving the release directory,
# a real mosquitto with FLEET.md's password file and ACL, everything over
# TLS with the test CA. The release made by `aloft fleet release` (with a
# delta patch from the earlier release the fleet runs) is pulled as that
# patch, checked, activated and confirmed by each device of the fleet, in
# waves; a fifth device (its own aloft-sim, running another 1.0.0 build, so
# it pulls the full image and says why) boots the new image but never
# confirms it, is reset and rolls back: counted failed with the device's
# -78. The broker's retained state shows the new version running from the
# other slot on the four, the old one on the fifth.
set -euo pipefail
source "$(dirname "$0")/fleet_lib.sh"

start_broker node-1 node-2 node-3 node-4 zz-bad
start_lighttpd
demo_image v1 1.0.0 --seed 7
demo_image v2 2.0.0 --seed 7
fleet_port=$mqtts_port fleet_opts="--cafile $tmp/ca.pem"
expect_rc 0 fleet release "$tmp/v1.bin" --url "$base_url" --dir "$tmp/www"
expect_rc 0 fleet release "$tmp/v2.bin" --url "$base_url" --dir "$tmp/www"
psize=$(stat -c %s "$tmp/www/demo/2.0.0/from-1.0.0.patch")
spawn "$sim_bin" --flash "$tmp/node" --fleet 4 --firmware "$tmp/v1.bin" --name node \
    --mqtt "127.0.0.1:$mqtts_port" --mqtt-cafile "$tmp/ca.pem" --mqtt-password "$dev_pw" \
    --confirm-after 0.2 --pull-backoff 100 >"$tmp/fleet.log" 2>&1
wait_for "$tmp/fleet.log" "connected to MQTT" 60 4 || { cat "$tmp/fleet.log"; fail "not four sessions"; }
wait_until 30 eval 'fleet devices >"$tmp/dev.txt" 2>&1 && [ "$(grep -c " 1\.0\.0 " "$tmp/dev.txt")" = 4 ]' ||
    { cat "$tmp/dev.txt"; fail "the devices did not report 1.0.0"; }
grep -E '^node-1 +(ESP32|esp32) +demo +1\.0\.0 +yes +app0 VALID 1\.0\.0\*' "$tmp/dev.txt" >/dev/null ||
    { cat "$tmp/dev.txt"; fail "node-1's row"; }

device "$tmp/bad.flash" 1.0.0
start_agent "$tmp/bad.flash" zz-bad "$tmp/bad.log" --never-confirm
bad_pid=$agent_pid
wait_for "$tmp/bad.log" "connected to MQTT" 60 || { cat "$tmp/bad.log"; fail "zz-bad did not connect"; }
wait_until 30 eval 'fleet devices | grep -q "^zz-bad "' || fail "zz-bad's state is not on the broker"

spawn_fleet rollout --project demo --canary 1 --waves 50,100 --success 50 --fail-threshold 50 \
    --timeout 60 --json >"$tmp/out" 2>"$tmp/err"
ctl=$spawned
# zz-bad (wave 3) boots 2.0.0 and never confirms it: reset it, it rolls back.
wait_for "$tmp/bad.log" "state PENDING_VERIFY" 60 || { cat "$tmp/bad.log" "$tmp/out"; fail "zz-bad did not boot 2.0.0"; }
stop_pid "$bad_pid"
start_agent "$tmp/bad.flash" zz-bad "$tmp/bad2.log"
rc=0
wait "$ctl" || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/out" "$tmp/err"; fail "the rollout with a failure exited $rc, want 1"; }
tail -1 "$tmp/out" >"$tmp/final.json"
[ "$(json_get "$tmp/final.json" 'o["state"], o["counts"]["confirmed"], o["counts"]["failed"]')" = "('done', 4, 1)" ] ||
    { cat "$tmp/out" "$tmp/fleet.log"; fail "not done with four confirmed and one failed"; }
json_get "$tmp/final.json" "[d['error'] for d in o['devices'] if d['name'] == 'zz-bad'][0]" >"$tmp/bad.err"
contains "$tmp/bad.err" "(code -78)"
[ "$(json_get "$tmp/final.json" "[d['wave'] for d in o['devices']]")" = "[1, 2, 2, 3, 3]" ] || fail "waves"
# The canary confirmed before anything else was commanded.
[ "$(grep -n '"device":"node-1","wave":1,"state":"confirmed"' "$tmp/out" | cut -d: -f1)" -lt \
  "$(grep -n '"device":"node-2","wave":2,"state":"sent"' "$tmp/out" | cut -d: -f1)" ] ||
    fail "wave 2 started before the canary confirmed"
expect_rc 0 fleet devices
for i in 1 2 3 4; do
    grep -E "^node-$i +(ESP32|esp32) +demo +2\.0\.0 +yes +app0 VALID 1\.0\.0, app1 VALID 2\.0\.0\*" "$tmp/out" >/dev/null ||
        { cat "$tmp/out"; fail "node-$i does not run 2.0.0 from app1"; }
done
grep -E "^zz-bad +(ESP32|esp32) +demo +1\.0\.0 +yes +app0 VALID 1\.0\.0\*" "$tmp/out" >/dev/null ||
    { cat "$tmp/out"; fail "zz-bad does not run 1.0.0 again"; }
# The fleet fetched the patch, zz-bad (another 1.0.0) the whole image, from
# lighttpd (which writes its access log out as it stops).
[ "$(grep -c "pull: a patch from the running image: $psize bytes instead of 200000" "$tmp/fleet.log")" = 4 ] ||
    { cat "$tmp/fleet.log"; fail "the fleet did not pull the patch"; }
contains "$tmp/bad.log" "pull: the full image: no patch from the running image"
stop_lighttpd
[ "$(grep -c "GET /demo/2\.0\.0/from-1\.0\.0\.patch HTTP/1\.1 200 $psize" "$access_log")" = 4 ] &&
    [ "$(grep -c "GET /demo/2\.0\.0/v2\.bin HTTP/1\.1 200 200000" "$access_log")" = 1 ] ||
    { cat "$access_log"; fail "not four patch downloads and one of v2.bin"; }
echo "rollout: $psize-byte patch pulled by 4 devices instead of the 200000-byte image"
echo PASS
