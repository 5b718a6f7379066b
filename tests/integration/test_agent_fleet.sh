#!/usr/bin/env bash
# test_agent_fleet.sh — `aloft-sim --fleet 3`: three simulated devices in
# one process, each with its own flash file (made from --firmware), its
# own name and MQTT session (logged in as itself under FLEET.md's ACL):
# each reports its own state; an install sent to one updates that one only.
source "$(dirname "$0")/mqtt_lib.sh"

start_broker node-1 node-2 node-3
start_lighttpd
demo_image v1 1.0.0
demo_image v2 2.0.0
cp "$tmp/v2.bin" "$tmp/www/v2.bin"
release v2 v2.bin
watch_topics "$tmp/watch.log" 'aloft/#'
spawn "$sim_bin" --flash "$tmp/node" --fleet 3 --firmware "$tmp/v1.bin" --name node \
    --mqtt "127.0.0.1:$mqtt_port" --mqtt-password "$dev_pw" --confirm-after 0.2 \
    --pull-backoff 100 >"$tmp/fleet.log" 2>&1
fleet_pid=$spawned
for i in 1 2 3; do
    wait_for "$tmp/watch.log" "aloft/node-$i/state {" 30 || { cat "$tmp/fleet.log"; fail "no state from node-$i"; }
    [ -s "$tmp/node.$i" ] || fail "no flash file node.$i"
    retained "aloft/node-$i/state" "$tmp/s$i.json"
    [ "$(json_get "$tmp/s$i.json" 'o["name"], o["version"], o["running_slot"]')" = \
      "('node-$i', '1.0.0', 'app0')" ] || fail "node-$i: $(cat "$tmp/s$i.json")"
done
[ "$(grep -c "connected to MQTT" "$tmp/fleet.log")" = 3 ] || fail "not three sessions"
retained homeassistant/update/node-2/firmware/config "$tmp/disc2.json"
retained aloft/node-2/ha "$tmp/ha2.json"
check_ha "$tmp/disc2.json" "$tmp/ha2.json"
[ "$(json_get "$tmp/disc2.json" 'o["default_entity_id"]')" = update.node_2_firmware ] ||
    fail "entity id: $(cat "$tmp/disc2.json")"

cp "$tmp/node.1" "$tmp/node.1.before"
ctl_pub aloft/node-2/cmd "{\"op\":\"install\",\"id\":\"f1\",\"release\":$(cat "$tmp/v2.json")}"
wait_until 60 phase_is "$tmp/watch.log" node-2 confirmed || { cat "$tmp/fleet.log"; fail "node-2 not confirmed"; }
retained aloft/node-2/state "$tmp/s2.json"
[ "$(json_get "$tmp/s2.json" 'o["version"], o["running_slot"]')" = "('2.0.0', 'app1')" ] ||
    fail "node-2: $(cat "$tmp/s2.json")"
lacks "$tmp/watch.log" "aloft/node-1/update"
lacks "$tmp/watch.log" "aloft/node-3/update"
same_file "$tmp/node.1.before" "$tmp/node.1"
alive "$fleet_pid" || fail "the fleet process ended"
echo "PASS"
