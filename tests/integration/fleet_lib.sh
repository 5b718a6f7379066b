# tests/integration/fleet_lib.sh — what the `aloft fleet` tests share
# (sourced): mqtt_lib.sh's real mosquitto (FLEET.md's password file and
# ACL, plain and TLS listeners with the test CA) and pull_lib.sh's real
# lighttpd serving $tmp/www, the scripted devices of fleet_device.py
# (paho-mqtt from Debian; each logs in as itself), the controller logged in
# as aloft-controller, and counting commands in the devices' record. Exits
# 77 (fails under CI=true) without python3-paho-mqtt.

source "$(dirname "${BASH_SOURCE[0]}")/mqtt_lib.sh"

# The Debian interpreter first: a python3 earlier on PATH may lack paho.
fleet_py=""
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import paho.mqtt.client' 2>/dev/null; then fleet_py=$p; break; fi
done
[ -n "$fleet_py" ] || skip_missing "no paho-mqtt for python3 (Debian package python3-paho-mqtt)"

# names PREFIX N [WIDTH]: PREFIX01,PREFIX02,... (WIDTH digits, default 2)
names() { local i s=""; for i in $(seq 1 "$2"); do s+="${s:+,}$(printf "%s%0${3:-2}d" "$1" "$i")"; done; echo "$s"; }

# start_devices LOG ARGS...: fleet_device.py on the plain listener with
# ARGS (--names ...), logged in with $dev_pw; waits for "ready". The record
# of commands is $tmp/record.
start_devices() {
    local log=$1
    shift
    spawn "$fleet_py" "$here/fleet_device.py" --port "$mqtt_port" --password "$dev_pw" \
        --record "$tmp/record" "$@" >"$log" 2>&1
    devices_pid=$spawned
    wait_for "$log" ready 60 || { cat "$log" >&2; fail "the scripted devices did not start"; }
}

# fleet ARGS...: the controller on the test's broker (as aloft-controller)
# and database; a controller that waits for good is a failure, not a hang.
# spawn_fleet ARGS...: the same in the background, $spawned its own pid.
fleet_db=$tmp/fleet.db
fleet_broker() { echo "--broker 127.0.0.1:${fleet_port:-$mqtt_port} --user $ctl_user --db $fleet_db"; }
fleet() { ALOFT_MQTT_PASSWORD=$ctl_pw timeout 120 "$aloft" fleet "$@" $(fleet_broker) ${fleet_opts:-}; }
spawn_fleet() { ALOFT_MQTT_PASSWORD=$ctl_pw spawn "$aloft" fleet "$@" $(fleet_broker) ${fleet_opts:-}; }

# commands NAME: how many install commands NAME received.
commands() { grep -c "^$1 " "$tmp/record" 2>/dev/null || true; }

# status_is STATE: the newest rollout's state.
status_is() {
    "$aloft" fleet status --db "$fleet_db" --json >"$tmp/st.json" 2>/dev/null &&
        [ "$(json_get "$tmp/st.json" 'o["state"]')" = "$1" ]
}

# dev_state NAME: a device's state in the newest rollout.
dev_state() {
    "$aloft" fleet status --db "$fleet_db" --json >"$tmp/st.json" &&
        json_get "$tmp/st.json" "[d['state'] for d in o['devices'] if d['name'] == '$1'][0]"
}
