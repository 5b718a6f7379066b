#!/usr/bin/env bash
# test_agent_reconnect.sh — the broker restarts under the agents: mosquitto
# stopped and started again on the same port (its retained messages gone,
# persistence off) while aloft-sim's agent and the ESP-IDF agent (over the
# esp-mqtt fake) are idle, and once during their pulls. Each agent
# notices, retries (aloft-sim with a doubling backoff), reconnects,
# republishes availability and its retained state and resubscribes: a
# command sent after the reconnect is carried out, and the pulls that ran
# through the restart end `confirmed` on the new broker.
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"
source "$(dirname "$0")/mqtt_lib.sh"
start=$SECONDS

start_broker gw1 esp1
# the pull takes more than 2 s (4 seconds' worth; lighttpd counts per
# second of the clock), so that the broker can go and come back while it runs
lighttpd_extra='connection.kbytes-per-second = 48'
start_lighttpd
device "$tmp/gw1.flash" 1.0.0
demo_image v2 2.0.0 --size 150000
cp "$tmp/v2.bin" "$tmp/www/v2.bin"
release v2 v2.bin version='"2.0.0"'
release old v2.bin version='"0.9.0"'

start_agent "$tmp/gw1.flash" gw1 "$tmp/gw1.log"
esp_init "$tmp/esp.flash" "$tmp/fw-1.0.0.bin"
start_esp "$tmp/esp.flash" "$tmp/esp.log" --open --mqtt "mqtt://127.0.0.1:$mqtt_port" \
    --mqtt-name esp1 --mqtt-password "$dev_pw" --mqtt-reconnect 300
for d in gw1 esp1; do
    wait_until 30 has_retained "aloft/$d/state" '"version":"1.0.0"' ||
        { cat "$tmp/gw1.log" "$tmp/esp.log"; fail "no state from $d"; }
done

# back_on DEV: availability and state retained again on the new broker
back_on() {
    wait_until 30 has_retained "aloft/$1/online" '^online$' || fail "$1: online not republished"
    wait_until 30 has_retained "aloft/$1/state" '"name":"'"$1"'"' || fail "$1: state not republished"
}

# --- idle: the broker goes, both agents retry, and come back
stop_broker
wait_for "$tmp/gw1.log" "gw1: MQTT connection lost" 30 || { cat "$tmp/gw1.log"; fail "gw1 did not notice"; }
wait_for "$tmp/gw1.log" "(retrying in 500 ms)" 30 || { cat "$tmp/gw1.log"; fail "gw1: no backoff"; }
wait_for "$tmp/esp.log" "lost the broker mqtt://127.0.0.1:$mqtt_port: reconnecting" 30 ||
    { cat "$tmp/esp.log"; fail "esp1 did not notice"; }
wait_for "$tmp/esp.log" "cannot reach mqtt://127.0.0.1:$mqtt_port" 30 ||
    { cat "$tmp/esp.log"; fail "esp1 did not retry"; }
restart_broker
back_on gw1
back_on esp1
wait_for "$tmp/gw1.log" "gw1: connected to MQTT" 30 2 || fail "gw1: one connection"
wait_for "$tmp/esp.log" "as esp1" 30 2 || fail "esp1: one connection"
watch_topics "$tmp/watch.log" 'aloft/#'

# commands after the reconnect: the subscriptions are back
ctl_pub aloft/esp1/cmd "{\"op\":\"install\",\"id\":\"esp-old\",\"release\":$(cat "$tmp/old.json")}"
wait_until 20 grep -q '^aloft/esp1/update {"id":"esp-old","version":"0.9.0","phase":"refused".*"code":-79' \
    "$tmp/watch.log" || { cat "$tmp/esp.log"; fail "esp1 took no command after the reconnect"; }
for d in gw1 esp1; do
    ctl_pub "aloft/$d/cmd" "{\"op\":\"install\",\"id\":\"r1-$d\",\"release\":$(cat "$tmp/v2.json")}"
done

# --- during the pulls: the broker goes and comes back, the pulls go on
for d in gw1 esp1; do
    wait_until 30 grep -q "^aloft/$d/update {\"id\":\"r1-$d\",\"version\":\"2.0.0\",\"phase\":\"downloading\"" \
        "$tmp/watch.log" || { cat "$tmp/gw1.log" "$tmp/esp.log"; fail "$d not downloading"; }
done
stop_broker
wait_for "$tmp/gw1.log" "gw1: MQTT connection lost" 30 2 || fail "gw1 did not notice the second stop"
restart_broker
for d in gw1 esp1; do
    wait_until 60 has_retained "aloft/$d/update" "\"id\":\"r1-$d\",\"version\":\"2.0.0\",\"phase\":\"confirmed\"" ||
        { cat "$tmp/gw1.log" "$tmp/esp.log"; fail "$d: r1's outcome not reported after the reconnect"; }
    back_on "$d"
    has_retained "aloft/$d/state" '"version":"2.0.0"' || fail "$d does not run 2.0.0"
done
# the broker went and came back while the pulls ran
in_order "$tmp/gw1.log" "gw1: pulling demo 2.0.0" "gw1: MQTT connection lost" \
    "gw1: connected to MQTT" "gw1: release verified and activated" "gw1: rebooting"
in_order "$tmp/esp.log" "event: START http" "lost the broker" "connected to mqtt" \
    "pull complete" "esp_restart()" "confirm: confirmed (VALID)"
contains "$tmp/gw1.log" "health check passed"
echo "ok: agents through broker restarts ($((SECONDS - start)) s)"
