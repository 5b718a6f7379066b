#!/usr/bin/env bash
# test_esp_agent.sh — the ESP-IDF component's MQTT agent (esp_agent.c) run
# for real on Linux: the IDF fakes with esp-mqtt's client over libmosquitto
# (tests/esp/fakes/mqtt_client.c, a task of its own, messages over 1 KiB in
# pieces), NVS in files, against a real mosquitto (FLEET.md's password file
# and ACL, TLS with the test CA) and a real lighttpd. Home Assistant
# discovery and state retained; refusals (another chip, not newer) published
# with nothing erased (the update slot hashed unchanged); an aloft command
# installed, `confirmed` only after the reboot once the image confirmed
# itself; Home Assistant's Install of the retained release, an image that
# never confirms itself rolled back at the next power-on and reported
# `failed` -78 under the same id; a wrong broker password and a message
# over the agent's 2 KiB said so in the log.
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"
source "$(dirname "$0")/mqtt_lib.sh"
start=$SECONDS

start_broker esp1
# r1's download takes more than 2 s (lighttpd counts per second of the
# clock), so that the pull's progress reports (every 500 ms) show
lighttpd_extra='$HTTP["url"] == "/v2.0.0.bin" { connection.kbytes-per-second = 64 }'
start_lighttpd
demo_image v1 1.0.0
for v in 2.0.0 3.0.0; do
    demo_image "v$v" "$v" --size 200000
    cp "$tmp/v$v.bin" "$tmp/www/v$v.bin"
    release "v$v" "v$v.bin" version="\"$v\"" summary='"fixes BLE reconnects"'
done
# refused on the release's chip: the file is never fetched
release c3 v2.0.0.bin version='"2.5.0"' chip='"esp32c3"'
release old v2.0.0.bin version='"0.9.0"'
watch_topics "$tmp/watch.log" 'aloft/#' 'homeassistant/#'

esp_init "$tmp/dev.flash" "$tmp/v1.bin"
# a wrong broker password: refused, said so, retried
start_esp "$tmp/dev.flash" "$tmp/badpw.log" --open --mqtt "mqtt://127.0.0.1:$mqtt_port" \
    --mqtt-name esp1 --mqtt-password wrong --mqtt-reconnect 300
wait_for "$tmp/badpw.log" "the broker refused esp1 (CONNACK 5: not authorised: check the username and password)" 30 2 ||
    { cat "$tmp/badpw.log"; fail "a wrong password not reported"; }
stop_esp
agent_args=(--open --mqtt "mqtts://127.0.0.1:$mqtts_port" --mqtt-name esp1
            --mqtt-password "$dev_pw" --mqtt-ca "$tmp/ca.pem" --mqtt-reconnect 300)
start_esp "$tmp/dev.flash" "$tmp/esp.log" "${agent_args[@]}"
wait_for "$tmp/watch.log" "aloft/esp1/state {" 30 || { cat "$tmp/esp.log"; fail "no state from esp1"; }
contains "$tmp/esp.log" "connected to mqtts://127.0.0.1:$mqtts_port as esp1"

# --- discovery and state, retained, as Home Assistant takes them
retained homeassistant/update/esp1/firmware/config "$tmp/config.json"
retained aloft/esp1/ha "$tmp/ha.json"
check_ha "$tmp/config.json" "$tmp/ha.json"
retained aloft/esp1/online "$tmp/online"
[ "$(cat "$tmp/online")" = online ] || fail "online: $(cat "$tmp/online")"
retained aloft/esp1/state "$tmp/state.json"
[ "$(json_get "$tmp/state.json" 'o["chip"], o["version"], o["running_slot"]')" = \
  "('esp32', '1.0.0', 'app0')" ] || fail "state: $(cat "$tmp/state.json")"

# --- refusals before anything is erased; the first one is over 1 KiB, so
# esp-mqtt hands it over in pieces
slot1=$(region_sum "$tmp/dev.flash" $((APP0 + SLOT_LEN)) "$SLOT_LEN")
notes=$(printf 'n%.0s' $(seq 900))
cmd="{\"op\":\"install\",\"id\":\"c3\",\"notes\":\"$notes\",\"release\":$(cat "$tmp/c3.json")}"
[ ${#cmd} -gt 1100 ] || fail "the command is not over 1 KiB"
ctl_pub aloft/esp1/cmd "$cmd"
wait_until 20 grep -q '^aloft/esp1/update {"id":"c3","version":"2.5.0","phase":"refused".*"code":-30' \
    "$tmp/watch.log" || { cat "$tmp/esp.log"; fail "another chip not refused"; }
ctl_pub aloft/esp1/cmd "{\"op\":\"install\",\"id\":\"old\",\"release\":$(cat "$tmp/old.json")}"
wait_until 20 grep -q '^aloft/esp1/update {"id":"old","version":"0.9.0","phase":"refused".*"code":-79' \
    "$tmp/watch.log" || { cat "$tmp/esp.log"; fail "an older version not refused"; }
[ "$(region_sum "$tmp/dev.flash" $((APP0 + SLOT_LEN)) "$SLOT_LEN")" = "$slot1" ] ||
    fail "a refusal changed the update slot"
# over the agent's 2 KiB: dropped, and the log says so
long="{\"op\":\"state\",\"notes\":\"$notes$notes$notes\"}"
ctl_pub aloft/esp1/cmd "$long"
wait_for "$tmp/esp.log" "dropped a message of ${#long} bytes (at most 2048)" 20 ||
    { cat "$tmp/esp.log"; fail "a long message not reported"; }
lacks "$tmp/esp.log" "hook: paused"
lacks "$tmp/esp.log" "event: START"

# --- an aloft command: downloading, rebooting, confirmed after the reboot
ctl_pub aloft/esp1/cmd "{\"op\":\"install\",\"id\":\"r1\",\"release\":$(cat "$tmp/v2.0.0.json")}"
wait_until 60 phase_is "$tmp/watch.log" esp1 confirmed || { cat "$tmp/esp.log"; fail "r1 not confirmed"; }
in_order "$tmp/esp.log" "boot #1: running app0 demo 1.0.0" "event: START http" "esp_restart()" \
    "boot #2: running app1 demo 2.0.0, state PENDING_VERIFY" "agent: started" "confirm: confirmed (VALID)"
python3 - "$tmp/watch.log" <<'PY' || { cat "$tmp/watch.log"; fail "r1's reports"; }
import json, sys
lines = [l.split(" ", 1) for l in open(sys.argv[1]) if l.startswith("aloft/esp1/")]
reps = [json.loads(p) for t, p in lines if t == "aloft/esp1/update"]
r1 = [r["phase"] for r in reps if r["id"] == "r1"]
assert r1[0] == "downloading" and r1[-2:] == ["rebooting", "confirmed"], r1
assert r1.count("confirmed") == 1, r1
mid = [r for r in reps if r["id"] == "r1" and r["phase"] == "downloading" and 0 < r["done"] < r["total"]]
assert mid, "no progress between 0 and the end"
states = [json.loads(p) for t, p in lines if t == "aloft/esp1/state"]
assert states[-1]["version"] == "2.0.0" and states[-1]["running_slot"] == "app1", states[-1]
assert states[-1]["slots"][1]["state"] == "VALID", states[-1]
PY
# the record goes once the outcome is out (right after it: wait for it)
no_record() { [ ! -e "$tmp/dev.flash.nvs/aloft.agent" ]; }
wait_until 10 no_record || fail "the record outlived the outcome"
stop_esp

# --- Home Assistant's Install of the retained release, into an image that
# never confirms itself: rolled back at the next power-on, `failed` -78
ctl_pub aloft/release/demo "$(cat "$tmp/v3.0.0.json")" -r
start_esp "$tmp/dev.flash" "$tmp/esp2.log" "${agent_args[@]}" --never-confirm
wait_until 30 grep -q '^aloft/esp1/ha .*"installed_version":"2.0.0","latest_version":"3.0.0"' \
    "$tmp/watch.log" || { cat "$tmp/esp2.log"; fail "latest_version 3.0.0 not shown"; }
ctl_pub aloft/esp1/ha/install install
wait_esp_boot "$tmp/esp2.log" 2 3.0.0
wait_until 20 phase_is "$tmp/watch.log" esp1 rebooting || fail "ha-1 not rebooting"
[ -s "$tmp/dev.flash.nvs/aloft.agent" ] || fail "no record in NVS across the reboot"
stop_esp
start_esp "$tmp/dev.flash" "$tmp/esp3.log" "${agent_args[@]}"
wait_until 30 phase_is "$tmp/watch.log" esp1 failed || { cat "$tmp/esp3.log"; fail "rollback not reported"; }
last_on "$tmp/watch.log" aloft/esp1/update | grep -qF '"id":"ha-1","version":"3.0.0","phase":"failed"' ||
    fail "failed report: $(last_on "$tmp/watch.log" aloft/esp1/update)"
last_on "$tmp/watch.log" aloft/esp1/update | grep -qF '"code":-78' || fail "not the rollback's code"
contains "$tmp/esp3.log" "boot #1: running app1 demo 2.0.0, state VALID, rolled back"
retained aloft/esp1/state "$tmp/state3.json"
[ "$(json_get "$tmp/state3.json" 'o["version"], o["slots"][0]["state"]')" = "('2.0.0', 'ABORTED')" ] ||
    fail "after the rollback: $(cat "$tmp/state3.json")"
# an empty message (the retained release cleared) is taken in stride
ctl_pub aloft/release/demo "" -r
n=$(grep -c '^aloft/esp1/state ' "$tmp/watch.log")
ctl_pub aloft/esp1/cmd '{"op":"state"}'
wait_for "$tmp/watch.log" "aloft/esp1/state {" 20 $((n + 1)) || { cat "$tmp/esp3.log"; fail "esp1 gone"; }
stop_esp
wait_until 10 grep -q '^aloft/esp1/online offline' "$tmp/watch.log" || fail "no will on the stop"
echo "ok: the ESP-IDF agent over esp-mqtt's fake ($((SECONDS - start)) s)"
