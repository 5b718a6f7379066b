# tests/integration/mqtt_lib.sh — shared by test_agent_*.sh (sourced, not
# run): the pull helpers (pull_lib.sh: images, lighttpd, make_ca, release
# objects) plus a real mosquitto with the password file and the ACL of
# docs/FLEET.md §2, a TLS listener with the test CA, mosquitto-clients to
# drive and watch, and aloft-sim devices with the MQTT agent.

source "$(dirname "${BASH_SOURCE[0]}")/pull_lib.sh"

mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
[ -x "$mosquitto_bin" ] || skip_missing "mosquitto is not installed (Debian package mosquitto)"
command -v mosquitto_pub >/dev/null && command -v mosquitto_sub >/dev/null &&
    command -v mosquitto_passwd >/dev/null ||
    skip_missing "mosquitto-clients is not installed (Debian package mosquitto-clients)"

# The controller's login; devices log in as their name with $dev_pw.
ctl_user=aloft-controller ctl_pw=ctl-secret dev_pw=dev-secret

# start_broker DEV...: mosquitto on 127.0.0.1 with users for the controller
# and each DEV, FLEET.md's ACL, plain MQTT on $mqtt_port and TLS (make_ca's
# certificate) on $mqtts_port; its log in $tmp/mosquitto.log.
start_broker() {
    local u
    [ -s "$tmp/ca.pem" ] || make_ca
    : >"$tmp/passwd"
    mosquitto_passwd -b "$tmp/passwd" "$ctl_user" "$ctl_pw" 2>/dev/null || fail "mosquitto_passwd"
    for u in "$@"; do
        mosquitto_passwd -b "$tmp/passwd" "$u" "$dev_pw" 2>/dev/null || fail "mosquitto_passwd $u"
    done
    # docs/FLEET.md §2, as written there
    sed -n '/^user aloft-controller$/,/^```$/p' "$ALOFT_SOURCE_DIR/docs/FLEET.md" | sed '$d' >"$tmp/acl"
    grep -q "pattern read aloft/%u/cmd" "$tmp/acl" || fail "no ACL in docs/FLEET.md §2"
    cp "$tmp/srv.key" "$tmp/mqtt.key"
    mqtt_port=$(free_tcp_port)
    mqtts_port=$(free_tcp_port)
    cat >"$tmp/mosquitto.conf" <<CONF
per_listener_settings false
allow_anonymous false
password_file $tmp/passwd
acl_file $tmp/acl
persistence false
user $(id -un)
log_dest file $tmp/mosquitto.log
log_type all
listener $mqtt_port 127.0.0.1
listener $mqtts_port 127.0.0.1
cafile $tmp/ca.pem
certfile $tmp/srv.crt
keyfile $tmp/mqtt.key
CONF
    spawn "$mosquitto_bin" -c "$tmp/mosquitto.conf"
    broker_pid=$spawned
    wait_until 30 broker_up || { cat "$tmp/mosquitto.log" >&2; fail "mosquitto did not start"; }
}
broker_up() { accepting "$mqtt_port" && accepting "$mqtts_port" || ! alive "$broker_pid"; }

# ctl_pub TOPIC MESSAGE [mosquitto_pub options]: publish as the controller
ctl_pub() {
    local topic=$1 msg=$2
    shift 2
    mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u "$ctl_user" -P "$ctl_pw" -q 1 \
        -t "$topic" -m "$msg" "$@" || fail "mosquitto_pub $topic"
}

# watch_topics LOG TOPIC...: a controller subscription writing "topic
# payload" lines to LOG, in the background (ready once subscribed).
watch_topics() {
    local log=$1 t args=(-t aloft/watch-marker)
    shift
    for t in "$@"; do args+=(-t "$t"); done
    spawn mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -u "$ctl_user" -P "$ctl_pw" -q 1 -v \
        "${args[@]}" >"$log" 2>&1
    # a marker that arrives once the subscription is in place
    wait_until 20 marked "$log" || fail "mosquitto_sub did not subscribe"
}
marked() {
    mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -u "$ctl_user" -P "$ctl_pw" -q 1 \
        -t "aloft/watch-marker" -m x 2>/dev/null
    grep -q "^aloft/watch-marker x" "$1" 2>/dev/null
}

# retained TOPIC OUT: the retained message on TOPIC into OUT (fails if none)
retained() {
    mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -u "$ctl_user" -P "$ctl_pw" -C 1 -W 10 \
        -t "$1" >"$2" 2>/dev/null && [ -s "$2" ] || fail "nothing retained on $1"
}

# last_on LOG TOPIC: the payload of the last "TOPIC payload" line in LOG
last_on() { grep "^$2 " "$1" | tail -1 | cut -d' ' -f2-; }

# phase_is LOG DEV PHASE: the last progress object of DEV in LOG has PHASE
phase_is() { last_on "$1" "aloft/$2/update" | grep -q "\"phase\":\"$3\""; }

# device FLASH VERSION: a new device file with demo VERSION in app0
device() {
    demo_image "fw-$2" "$2"
    "$sim_bin" --flash "$1" --init --firmware "$tmp/fw-$2.bin" --quiet || fail "sim --init"
}

# start_agent FLASH DEV LOG [aloft-sim options]: aloft-sim with the agent
# on the plain listener, logged in as DEV; its pid in $agent_pid.
start_agent() {
    local flash=$1 dev=$2 log=$3
    shift 3
    spawn "$sim_bin" --flash "$flash" --mqtt "127.0.0.1:$mqtt_port" --name "$dev" \
        --mqtt-user "$dev" --mqtt-password "$dev_pw" --pull-backoff 100 --confirm-after 0.2 \
        "$@" >"$log" 2>&1
    agent_pid=$spawned
}

# check_ha CONFIG STATE: the discovery config and the entity state against
# the keys and types Home Assistant's MQTT update platform takes
# (homeassistant/components/mqtt/update.py and its schema; the JSON state
# keys of its state_topic handler): unknown keys, wrong types and missing
# essentials fail, with the offending key named.
check_ha() {
    python3 - "$1" "$2" <<'PY' || fail "Home Assistant would not take $1 / $2"
import json, sys
conf, state = (json.load(open(p)) for p in sys.argv[1:3])
S, B, I, L, D = str, bool, int, list, dict
# the update platform's own keys, then MQTT entity keys every platform takes
allowed = {
    "command_topic": S, "device_class": S, "display_precision": I, "entity_picture": S,
    "latest_version_template": S, "latest_version_topic": S, "name": (S, type(None)),
    "payload_install": S, "release_summary": S, "release_url": S, "retain": B,
    "state_topic": S, "title": S, "value_template": S, "encoding": S, "qos": I,
    "availability": L, "availability_mode": S, "availability_template": S,
    "availability_topic": S, "payload_available": S, "payload_not_available": S,
    "device": D, "enabled_by_default": B, "entity_category": S, "icon": S,
    "json_attributes_template": S, "json_attributes_topic": S,
    "default_entity_id": S, "unique_id": S, "origin": D,
}
device = {"configuration_url": S, "connections": L, "hw_version": S, "identifiers": (L, S),
          "manufacturer": S, "model": S, "model_id": S, "name": S, "serial_number": S,
          "suggested_area": S, "sw_version": S, "via_device": S}
def check(obj, schema, where):
    for k, v in obj.items():
        if k not in schema:
            sys.exit("%s: key %r is not in the schema" % (where, k))
        if not isinstance(v, schema[k]) or (schema[k] is I and isinstance(v, bool)):
            sys.exit("%s: %r has type %s" % (where, k, type(v).__name__))
check(conf, allowed, "config")
check(conf["device"], device, "config.device")
assert conf["device_class"] == "firmware", "device_class"
for k in ("unique_id", "state_topic", "command_topic", "payload_install", "availability_topic"):
    assert k in conf, "config lacks " + k
assert conf["device"]["identifiers"], "device.identifiers"
import re
assert re.fullmatch(r"update\.[a-z0-9_]+", conf.get("default_entity_id", "update.x")), "default_entity_id"
keys = {"installed_version": (S, type(None)), "latest_version": (S, type(None)),
        "title": (S, type(None)), "release_summary": (S, type(None)),
        "release_url": (S, type(None)), "entity_picture": (S, type(None)),
        "in_progress": B, "update_percentage": (I, float, type(None))}
check(state, keys, "state")
assert state.get("installed_version"), "state lacks installed_version"
p = state.get("update_percentage")
assert p is None or (0 <= p <= 100), "update_percentage out of 0..100"
assert len(state.get("release_summary") or "") <= 255, "release_summary over 255 characters"
PY
}

# marked_acl: the controller's command to gw2 and a release marker went
# out; the spy ($tmp/spy.log, subscribed as gw1) got the marker.
marked_acl() {
    ctl_pub aloft/gw2/cmd '{"op":"state","id":"secret"}'
    ctl_pub aloft/release/acl marker
    grep -q "^aloft/release/acl marker" "$tmp/spy.log" 2>/dev/null
}

# stop_broker / restart_broker: mosquitto stopped (SIGTERM: sessions end,
# and with persistence off every retained message goes), then started
# again with the same configuration, on the same ports.
stop_broker() { stop_pid "$broker_pid"; }
restart_broker() {
    spawn "$mosquitto_bin" -c "$tmp/mosquitto.conf"
    broker_pid=$spawned
    wait_until 30 broker_up || { cat "$tmp/mosquitto.log" >&2; fail "mosquitto did not start again"; }
}

# has_retained TOPIC PATTERN: the broker holds a retained message on TOPIC
# matching the grep PATTERN
has_retained() {
    mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -u "$ctl_user" -P "$ctl_pw" -C 1 -W 2 -t "$1" \
        2>/dev/null | grep -q -- "$2"
}
