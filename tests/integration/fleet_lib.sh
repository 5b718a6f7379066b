# tests/integration/fleet_lib.sh — what the `aloft fleet` tests share
# (sourced): a real mosquitto and a real lighttpd on free ports in $tmp,
# the scripted devices of fleet_device.py (paho-mqtt from Debian), the
# controller with the test's broker options, and counting commands in the
# devices' record. Exits 77 (fails under CI=true) without mosquitto,
# lighttpd or python3-paho-mqtt.

source "$(dirname "${BASH_SOURCE[0]}")/common_lib.sh"

command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] ||
    skip_missing "no mosquitto (Debian package mosquitto)"
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
lighttpd_bin=$(command -v lighttpd || echo /usr/sbin/lighttpd)
[ -x "$lighttpd_bin" ] || skip_missing "no lighttpd (Debian package lighttpd)"
# The Debian interpreter first: a python3 earlier on PATH may lack paho.
fleet_py=""
for p in /usr/bin/python3 python3; do
    if "$p" -c 'import paho.mqtt.client' 2>/dev/null; then fleet_py=$p; break; fi
done
[ -n "$fleet_py" ] || skip_missing "no paho-mqtt for python3 (Debian package python3-paho-mqtt)"

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_broker [CONF LINES...]: mosquitto on a free port ($mqtt_port), the
# extra lines appended to its config (a password file, an ACL, TLS: then
# give the listener yourself with `listener PORT` via $mqtt_port first).
mqtt_log=$tmp/mosquitto.log
start_broker() {
    mqtt_port=${mqtt_port:-$(free_tcp_port)}
    {
        echo "per_listener_settings false"
        echo "persistence false"
        echo "user root"
        echo "log_dest file $mqtt_log"
        echo "log_type all"
        echo "sys_interval 1"
        if [ $# -eq 0 ]; then
            echo "listener $mqtt_port 127.0.0.1"
            echo "allow_anonymous true"
        fi
        printf '%s\n' "$@"
    } >"$tmp/mosquitto.conf"
    spawn "$mosquitto_bin" -c "$tmp/mosquitto.conf" 2>>"$tmp/mosquitto.err"
    mqtt_pid=$spawned
    wait_until 30 port_open "$mqtt_port" || { cat "$mqtt_log" >&2; fail "mosquitto did not start"; }
}

# start_http DIR: lighttpd serving DIR at $http_url.
start_http() {
    http_port=$(free_tcp_port)
    cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$1"
server.bind = "127.0.0.1"
server.port = $http_port
server.errorlog = "$tmp/lighttpd.err"
mimetype.assign = ("" => "application/octet-stream")
EOF
    spawn "$lighttpd_bin" -D -f "$tmp/lighttpd.conf"
    wait_until 30 port_open "$http_port" || { cat "$tmp/lighttpd.err" >&2; fail "lighttpd did not start"; }
    http_url=http://127.0.0.1:$http_port
}

# start_devices LOG ARGS...: fleet_device.py with ARGS; waits for "ready".
# The record of commands is $tmp/record.
start_devices() {
    local log=$1
    shift
    spawn "$fleet_py" "$here/fleet_device.py" --port "$mqtt_port" --record "$tmp/record" "$@" \
        >"$log" 2>&1
    devices_pid=$spawned
    wait_for "$log" ready 60 || { cat "$log" >&2; fail "the scripted devices did not start"; }
}

# names PREFIX N [WIDTH]: PREFIX01,PREFIX02,... (WIDTH digits, default 2)
names() { local i s=""; for i in $(seq 1 "$2"); do s+="${s:+,}$(printf "%s%0${3:-2}d" "$1" "$i")"; done; echo "$s"; }

# fleet ARGS...: the controller on the test's broker and database.
fleet_db=$tmp/fleet.db
# (timeout: a controller that waits for good is a failure, not a hang)
# spawn_fleet ARGS...: the same in the background, $spawned its own pid.
fleet() { timeout 120 "$aloft" fleet "$@" --broker "127.0.0.1:$mqtt_port" --db "$fleet_db" ${fleet_opts:-}; }
spawn_fleet() { spawn "$aloft" fleet "$@" --broker "127.0.0.1:$mqtt_port" --db "$fleet_db" ${fleet_opts:-}; }

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
