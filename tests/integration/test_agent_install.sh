#!/usr/bin/env bash
# test_agent_install.sh — an install over MQTT end to end, on a real
# mosquitto (FLEET.md's password file and ACL) and a real lighttpd: the
# command's release is pulled with progress reports (and Home Assistant's
# update_percentage), the device reboots, and the update is `confirmed`
# only once the new image confirmed itself; Home Assistant's Install
# button installs the release retained on aloft/release/PROJECT; an image
# that never confirms itself is rolled back at the next start and reported
# `failed` with the reason, the record surviving the process restart; a
# download with the wrong SHA-256 is `failed` with the old image running.
source "$(dirname "$0")/mqtt_lib.sh"

start_broker gw1 gw2
start_lighttpd
device "$tmp/gw1.flash" 1.0.0
device "$tmp/gw2.flash" 1.0.0
for v in 2.0.0 3.0.0; do
    demo_image "v$v" "$v" --size 300000   # about 2 s at ESP32 flash speed
    cp "$tmp/v$v.bin" "$tmp/www/v$v.bin"
    release "v$v" "v$v.bin" version="\"$v\"" summary='"fixes BLE reconnects"' \
        release_url='"https://example.com/notes"'
done
watch_topics "$tmp/watch.log" 'aloft/#'

# a command's release, written at an ESP32's flash speed so that progress shows
start_agent "$tmp/gw1.flash" gw1 "$tmp/gw1.log" --flash-timing esp32
wait_for "$tmp/watch.log" "aloft/gw1/state {" 30 || { cat "$tmp/gw1.log"; fail "no state from gw1"; }
ctl_pub aloft/gw1/cmd "{\"op\":\"install\",\"id\":\"r1-gw1\",\"release\":$(cat "$tmp/v2.0.0.json")}"
wait_until 60 phase_is "$tmp/watch.log" gw1 confirmed || { cat "$tmp/gw1.log"; fail "not confirmed"; }
python3 - "$tmp/watch.log" <<'PY' || { cat "$tmp/watch.log"; fail "reports out of order"; }
import json, sys
reports = [json.loads(l.split(" ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("aloft/gw1/update ")]
phases = [r["phase"] for r in reports]
assert all(r["id"] == "r1-gw1" and r["version"] == "2.0.0" for r in reports), reports
assert phases[0] == "downloading" and phases[-2:] == ["rebooting", "confirmed"], phases
mid = [r for r in reports if r["phase"] == "downloading" and 0 < r["done"] < r["total"]]
assert mid, "no progress between 0 and the end"
ha = [json.loads(l.split(" ", 1)[1]) for l in open(sys.argv[1]) if l.startswith("aloft/gw1/ha ")]
assert any(h["in_progress"] and 0 < (h["update_percentage"] or 0) < 100 for h in ha), ha
assert not ha[-1]["in_progress"] and ha[-1]["installed_version"] == "2.0.0", ha[-1]
PY
contains "$tmp/gw1.log" "health check passed"
# `confirmed` came after the image confirmed itself, not at the download's end
[ "$(grep -n "rebooting" "$tmp/gw1.log" | head -1 | cut -d: -f1)" -lt \
  "$(grep -n "health check passed" "$tmp/gw1.log" | head -1 | cut -d: -f1)" ] || fail "order"
[ ! -e "$tmp/gw1.flash.agent" ] || fail "the record outlived the outcome"

# Home Assistant: the latest release retained for the project, then Install
ctl_pub aloft/release/demo "$(cat "$tmp/v3.0.0.json")" -r
wait_until 20 grep -q '^aloft/gw1/ha .*"latest_version":"3.0.0"' "$tmp/watch.log" || fail "latest_version"
retained aloft/gw1/ha "$tmp/ha.json"
check_ha <(printf '{"device_class":"firmware","unique_id":"u","state_topic":"s","command_topic":"c","payload_install":"install","availability_topic":"a","device":{"identifiers":["x"]}}') "$tmp/ha.json"
[ "$(json_get "$tmp/ha.json" 'o["release_summary"], o["release_url"]')" = \
  "('fixes BLE reconnects', 'https://example.com/notes')" ] || fail "release notes: $(cat "$tmp/ha.json")"
ctl_pub aloft/gw1/ha/install install
wait_until 60 grep -q '^aloft/gw1/update {"id":"ha-1","version":"3.0.0","phase":"confirmed"' "$tmp/watch.log" ||
    { cat "$tmp/gw1.log"; fail "HA install not confirmed"; }

# a download that does not hash to the release's sha256: `failed` -64,
# nothing activated, 3.0.0 runs on
demo_image v4 4.0.0
cp "$tmp/v4.bin" "$tmp/www/v4.bin"
release v4 v4.bin version='"4.0.0"' sha256="\"$(printf '1%.0s' $(seq 64))\""
ctl_pub aloft/gw1/cmd "{\"op\":\"install\",\"id\":\"bad-sha\",\"release\":$(cat "$tmp/v4.json")}"
wait_until 30 grep -q '^aloft/gw1/update {"id":"bad-sha","version":"4.0.0","phase":"failed".*"code":-64' \
    "$tmp/watch.log" || { cat "$tmp/gw1.log"; fail "a wrong sha256 not reported failed"; }
retained aloft/gw1/state "$tmp/state1.json"
[ "$(json_get "$tmp/state1.json" 'o["version"]')" = 3.0.0 ] || fail "after the bad download: $(cat "$tmp/state1.json")"
lacks "$tmp/watch.log" '"id":"bad-sha","version":"4.0.0","phase":"rebooting"'

# an image that never confirms itself: the next start rolls it back
start_agent "$tmp/gw2.flash" gw2 "$tmp/gw2.log" --never-confirm
gw2_pid=$agent_pid
wait_for "$tmp/watch.log" "aloft/gw2/state {" 30 || { cat "$tmp/gw2.log"; fail "no state from gw2"; }
ctl_pub aloft/gw2/cmd "{\"op\":\"install\",\"id\":\"r2-gw2\",\"release\":$(cat "$tmp/v2.0.0.json")}"
wait_until 30 phase_is "$tmp/watch.log" gw2 rebooting || { cat "$tmp/gw2.log"; fail "gw2 not rebooting"; }
wait_for "$tmp/gw2.log" "state PENDING_VERIFY" 30 || fail "gw2 did not boot the new image"
[ -s "$tmp/gw2.flash.agent" ] || fail "no record before the reset"
stop_pid "$gw2_pid"
start_agent "$tmp/gw2.flash" gw2 "$tmp/gw2b.log"
wait_until 30 phase_is "$tmp/watch.log" gw2 failed || { cat "$tmp/gw2b.log"; fail "rollback not reported"; }
last_on "$tmp/watch.log" aloft/gw2/update | grep -qF '"id":"r2-gw2","version":"2.0.0","phase":"failed"' ||
    fail "failed report: $(last_on "$tmp/watch.log" aloft/gw2/update)"
last_on "$tmp/watch.log" aloft/gw2/update | grep -qF '"code":-78' || fail "not the rollback's code"
contains "$tmp/gw2b.log" "rolled back"
retained aloft/gw2/state "$tmp/state2.json"
[ "$(json_get "$tmp/state2.json" 'o["running_slot"], o["version"], o["slots"][1]["state"]')" = \
  "('app0', '1.0.0', 'ABORTED')" ] || fail "after the rollback: $(cat "$tmp/state2.json")"
echo "PASS"
