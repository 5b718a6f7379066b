#!/usr/bin/env bash
# test_agent_mqtt.sh — aloft-sim's MQTT agent on a real mosquitto with the
# password file and the ACL of docs/FLEET.md §2: Home Assistant discovery
# and state against the update platform's schema; refusals (wrong chip,
# downgrade, a release without sha256, OpenMQTTGateway's firmware_update
# without sha256 or with a wrong password) on the status topic with the
# flash file unchanged; OpenMQTTGateway's firmware_update with sha256 runs
# to `confirmed`; a device cannot publish another's state nor read its
# commands; TLS with the test CA; a device with a key refuses an unsigned
# release and installs the signed one; the will says `offline`.
source "$(dirname "$0")/mqtt_lib.sh"

start_broker gw1 gw2
start_lighttpd
device "$tmp/gw1.flash" 1.0.0
device "$tmp/gw2.flash" 1.0.0
watch_topics "$tmp/watch.log" 'aloft/#' 'homeassistant/#'
start_agent "$tmp/gw1.flash" gw1 "$tmp/gw1.log" --omg-prefix home/gw1 --password ota-pw
gw1_pid=$agent_pid
wait_for "$tmp/watch.log" "aloft/gw1/state {" 30 || { cat "$tmp/gw1.log"; fail "no state from gw1"; }
contains "$tmp/watch.log" "aloft/gw1/online online"

# Home Assistant: discovery and entity state, retained
retained homeassistant/update/gw1/firmware/config "$tmp/disc.json"
retained aloft/gw1/ha "$tmp/ha.json"
check_ha "$tmp/disc.json" "$tmp/ha.json"
[ "$(json_get "$tmp/disc.json" 'o["command_topic"]')" = aloft/gw1/ha/install ] || fail "command_topic"
[ "$(json_get "$tmp/ha.json" 'o["installed_version"]')" = 1.0.0 ] || fail "installed_version"
retained aloft/gw1/state "$tmp/state.json"
[ "$(json_get "$tmp/state.json" 'o["slots"][0]["state"], o["running_slot"], o["version"]')" = \
  "('VALID', 'app0', '1.0.0')" ] || fail "device object: $(cat "$tmp/state.json")"

# refusals: nothing paused or erased, the reason on the status topic
cp "$tmp/gw1.flash" "$tmp/gw1.before"
demo_image v2 2.0.0
cp "$tmp/v2.bin" "$tmp/www/v2.bin"
release v2 v2.bin
refuse() {   # ID COMMAND CODE
    ctl_pub aloft/gw1/cmd "$2"
    wait_until 20 grep -q "\"id\":\"$1\".*\"phase\":\"refused\"" "$tmp/watch.log" ||
        { cat "$tmp/gw1.log"; fail "$1 not refused"; }
    grep "\"id\":\"$1\"" "$tmp/watch.log" | grep -qF "\"code\":$3" ||
        { grep "\"id\":\"$1\"" "$tmp/watch.log"; fail "$1: want code $3"; }
}
with() { python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); o.update(json.loads(sys.argv[2])); print(json.dumps(o))' "$tmp/v2.json" "$1"; }
refuse chip "{\"op\":\"install\",\"id\":\"chip\",\"release\":$(with '{"chip":"esp32c3"}')}" -30
refuse down "{\"op\":\"install\",\"id\":\"down\",\"release\":$(with '{"version":"0.9.1"}')}" -79
refuse proj "{\"op\":\"install\",\"id\":\"proj\",\"release\":$(with '{"project":"other"}')}" -73
refuse nosha "{\"op\":\"install\",\"id\":\"nosha\",\"release\":$(with '{"sha256":null}')}" -92
refuse big "{\"op\":\"install\",\"id\":\"big\",\"release\":$(with '{"size":2000000}')}" -61
grep '"id":"chip"' "$tmp/watch.log" | grep -qF "image is built for ESP32-C3 but the device is ESP32" ||
    fail "the chip refusal does not say why"
omg=home/gw1/commands/MQTTtoSYS/firmware_update
url=$(json_get "$tmp/v2.json" 'o["url"]') sha=$(json_get "$tmp/v2.json" 'o["sha256"]')
size=$(json_get "$tmp/v2.json" 'o["size"]')
ctl_pub "$omg" "{\"version\":\"2.0.0\",\"url\":\"$url\",\"password\":\"ota-pw\",\"size\":$size}"
wait_until 20 grep -q '"id":null,"version":"2.0.0","phase":"refused".*member sha256' "$tmp/watch.log" ||
    fail "OMG without sha256 not refused"
ctl_pub "$omg" "{\"version\":\"2.0.0\",\"url\":\"$url\",\"password\":\"wrong\",\"size\":$size,\"sha256\":\"$sha\"}"
wait_until 20 grep -q '"version":"2.0.0","phase":"refused".*"code":-81' "$tmp/watch.log" ||
    fail "OMG with a wrong password not refused"
same_file "$tmp/gw1.before" "$tmp/gw1.flash"
[ ! -s "$tmp/access.log" ] || fail "a refused release was downloaded: $(cat "$tmp/access.log")"

# OpenMQTTGateway's firmware_update with sha256: installed and confirmed
ctl_pub "$omg" "{\"version\":\"2.0.0\",\"url\":\"$url\",\"password\":\"ota-pw\",\"size\":$size,\"sha256\":\"$sha\"}"
wait_until 30 phase_is "$tmp/watch.log" gw1 confirmed || { cat "$tmp/gw1.log"; fail "OMG install not confirmed"; }
grep -q '"version":"2.0.0","phase":"downloading"' "$tmp/watch.log" || fail "no downloading report"
grep -q '"version":"2.0.0","phase":"rebooting"' "$tmp/watch.log" || fail "no rebooting report"
retained aloft/gw1/state "$tmp/state.json"
[ "$(json_get "$tmp/state.json" 'o["running_slot"], o["version"], o["slots"][1]["state"]')" = \
  "('app1', '2.0.0', 'VALID')" ] || fail "after the update: $(cat "$tmp/state.json")"

# ACL: gw1 cannot publish gw2's state nor read gw2's commands
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u gw1 -P "$dev_pw" -q 1 -t aloft/gw2/state -m forged
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u gw1 -P "$dev_pw" -q 1 -t aloft/gw1/online -m online
wait_for "$tmp/watch.log" "aloft/gw1/online online" 20 2 || fail "gw1's own publish did not arrive"
lacks "$tmp/watch.log" "aloft/gw2/state forged"
spawn mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -u gw1 -P "$dev_pw" -q 1 -v \
    -t aloft/gw2/cmd -t aloft/release/acl >"$tmp/spy.log" 2>&1
wait_until 20 marked_acl || fail "gw1 reads nothing of aloft/release/#"
contains "$tmp/watch.log" 'aloft/gw2/cmd {"op":"state","id":"secret"}'
lacks "$tmp/spy.log" secret

# TLS with the test CA, a device with a signing key: an unsigned release
# is refused before anything is erased, the signed file is installed
keys k
start_agent "$tmp/gw2.flash" gw2 "$tmp/gw2.log" --mqtt "127.0.0.1:$mqtts_port" --mqtt-cafile "$tmp/ca.pem" \
    --public-key "$tmp/k.pub"
gw2_pid=$agent_pid
wait_for "$tmp/watch.log" "aloft/gw2/state {" 30 || { cat "$tmp/gw2.log"; fail "no state from gw2 over TLS"; }
contains "$tmp/gw2.log" "(TLS)"
retained aloft/gw2/state "$tmp/state2.json"
[ "$(json_get "$tmp/state2.json" 'o["signed_only"]')" = True ] || fail "signed_only: $(cat "$tmp/state2.json")"
cp "$tmp/gw2.flash" "$tmp/gw2.before"
ctl_pub aloft/gw2/cmd "{\"op\":\"install\",\"id\":\"unsigned\",\"release\":$(cat "$tmp/v2.json")}"
wait_until 20 grep -q '"id":"unsigned","version":"2.0.0","phase":"refused".*"code":-69' "$tmp/watch.log" ||
    { cat "$tmp/gw2.log"; fail "unsigned release not refused"; }
same_file "$tmp/gw2.before" "$tmp/gw2.flash"
sign_image v2 k v2s
cp "$tmp/v2s.bin" "$tmp/www/v2s.bin"
release v2s v2s.bin signed=true
ctl_pub aloft/gw2/cmd "{\"op\":\"install\",\"id\":\"signed\",\"release\":$(cat "$tmp/v2s.json")}"
wait_until 30 phase_is "$tmp/watch.log" gw2 confirmed || { cat "$tmp/gw2.log"; fail "signed release not confirmed"; }

# the will when the session is lost
kill -9 "$gw2_pid"
wait "$gw2_pid" 2>/dev/null || true
wait_for "$tmp/watch.log" "aloft/gw2/online offline" 60 || fail "no will"
echo "PASS"
