#!/usr/bin/env bash
# bench/fleet_rollout.sh — `aloft fleet rollout` at scale: N devices (200)
# in a staged rollout through one mosquitto and one lighttpd on this
# machine, then the same fleet with 5 % of the devices never confirming.
# Not a timed test: it prints what it measured.
#
#   bash bench/fleet_rollout.sh [BIN_DIR]     (default build/bin)
#   FLEET_N=200 FLEET_IMAGE=256K FLEET_DEVICES=sim|double
#
# Devices: FLEET_DEVICES=sim (the default when aloft-sim has --fleet):
# `aloft-sim --fleet N`, the MQTT agent with the HTTP pull: real flash
# files (4 MiB each, in the temp dir), real reboots, the image fetched
# from lighttpd, verified, activated and confirmed 0.2 s after the boot.
# FLEET_DEVICES=double: the scripted devices of
# tests/integration/fleet_device.py (python3-paho-mqtt), one MQTT session
# each, fetching the image over HTTP and checking its size and SHA-256,
# then reporting downloading, rebooting, confirmed, with no flash: what
# the controller and the broker alone can do.
#
# Run 1: canary 2, waves 10,50,100 %, every device confirms: devices per
# minute (the whole `aloft fleet rollout` run, connecting included), and the broker's own
# counters ($SYS/broker/messages/*, $SYS/broker/bytes/*) for the run.
# Run 2: a new release; 5 % of the devices never confirm (the double:
# every 20th in name order; sim: N/20 devices of their own process with
# --never-confirm, named to sit in the first wave); failure
# threshold 5 % with a minimum sample of 10, --on-fail abort, timeout 10 s:
# the rollout must stop after the canary or the first wave, and no device
# of a later wave may have received a command (checked in the status: attempts 0).
# The broker here is anonymous (security is tested in test_fleet_*).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$(cd "${1:-$root/build/bin}" && pwd)
export ALOFT_BIN=$bin_dir
source "$root/tests/integration/common_lib.sh"
here=$root/tests/integration

N=${FLEET_N:-200}
IMAGE=${FLEET_IMAGE:-256K}
if "$sim_bin" --help 2>&1 | grep -q -- "--fleet N"; then DEVICES=${FLEET_DEVICES:-sim}; else DEVICES=${FLEET_DEVICES:-double}; fi
py=/usr/bin/python3
"$py" -c 'import paho.mqtt.client' 2>/dev/null || py=python3
mosquitto_bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
lighttpd_bin=$(command -v lighttpd || echo /usr/sbin/lighttpd)
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mqtt_port=$(free_tcp_port)
cat >"$tmp/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
user $(id -un)
sys_interval 1
max_queued_messages 10000
log_dest file $tmp/mosquitto.log
EOF
spawn "$mosquitto_bin" -c "$tmp/mosquitto.conf" 2>/dev/null
wait_until 30 port_open "$mqtt_port" || fail "mosquitto did not start"
http_port=$(free_tcp_port)
mkdir -p "$tmp/www"
cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $http_port
server.errorlog = "$tmp/lighttpd.err"
server.max-connections = 1024
mimetype.assign = ("" => "application/octet-stream")
EOF
spawn "$lighttpd_bin" -D -f "$tmp/lighttpd.conf"
wait_until 30 port_open "$http_port" || fail "lighttpd did not start"
url=http://127.0.0.1:$http_port

fleet() { "$aloft" fleet "$@" --broker "127.0.0.1:$mqtt_port" --db "$tmp/fleet.db"; }
names() { local i s=""; for i in $(seq 1 "$1"); do s+="${s:+,}$(printf "dev%03d" "$i")"; done; echo "$s"; }
for v in 1.0.0 2.0.0 3.0.0; do
    "$aloft" image make --chip esp32 --project bench --version $v --size "$IMAGE" --seed ${v%%.*} \
        -o "$tmp/bench-$v.bin" >/dev/null
done

# sys: the broker's counters now: "received sent bytes_received bytes_sent"
sys() {
    local t v out=""
    for t in messages/received messages/sent bytes/received bytes/sent; do
        v=$(mosquitto_sub -p "$mqtt_port" -t "\$SYS/broker/$t" -C 1 -W 5 2>/dev/null || echo 0)
        out+="$v "
    done
    echo "$out"
}
# sys_fresh: counters after the broker's next $SYS publication (1 s)
sys_fresh() {
    local up
    up=$(mosquitto_sub -p "$mqtt_port" -t '$SYS/broker/uptime' -C 1 -W 5)
    wait_until 5 eval '[ "$(mosquitto_sub -p "$mqtt_port" -t "\$SYS/broker/uptime" -C 1 -W 5)" != "$up" ]'
    sys
}

# start_fleet_devices LOG VERSION [bad]: the fleet running VERSION; with
# bad, 5 % of it never confirms.
start_fleet_devices() {
    local log=$1 version=$2 bad=${3:-}
    if [ "$DEVICES" = sim ]; then
        # Flash files persist between the runs (run 2's devices run 2.0.0).
        "$aloft" image make --chip esp32 --project bench --version "$version" --size "$IMAGE" \
            --seed "${version%%.*}" -o "$tmp/fw-$version.bin" >/dev/null
        local good=$N nbad=0
        [ -z "$bad" ] || { nbad=$((N / 20)); good=$((N - nbad)); }
        spawn "$sim_bin" --flash "$tmp/flash" --fleet "$good" --firmware "$tmp/fw-$version.bin" \
            --name dev --mqtt "127.0.0.1:$mqtt_port" --confirm-after 0.2 --pull-backoff 100 \
            >"$log" 2>&1
        dev_pids=("$spawned")
        if [ "$nbad" -gt 0 ]; then
            # the devices of run 1 that make way for them leave the broker
            for i in $(seq $((good + 1)) "$N"); do
                for t in state online update; do
                    mosquitto_pub -p "$mqtt_port" -r -n -t "aloft/dev-$i/$t"
                done
            done
            # named dev-100x-K: in name order they sit between dev-100 and
            # dev-101, in the first 10 % wave
            spawn "$sim_bin" --flash "$tmp/bad" --fleet "$nbad" --firmware "$tmp/fw-$version.bin" \
                --name dev-100x --mqtt "127.0.0.1:$mqtt_port" --never-confirm --pull-backoff 100 \
                >"$log.bad" 2>&1
            dev_pids+=("$spawned")
            wait_until 120 eval '[ "$(grep -c "connected to MQTT" "$log.bad")" -ge "$nbad" ]' ||
                fail "aloft-sim --fleet did not connect $nbad devices"
        fi
        wait_until 300 eval '[ "$(grep -c "connected to MQTT" "$log")" -ge "$good" ]' ||
            fail "aloft-sim --fleet did not connect $good devices"
    else
        spawn "$py" "$here/fleet_device.py" --port "$mqtt_port" --names "$(names "$N")" \
            --project bench --version "$version" --record "$tmp/record" \
            ${bad:+--silent-every 20} >"$log" 2>&1
        dev_pids=("$spawned")
        wait_for "$log" ready 300 || { tail "$log"; fail "devices did not start"; }
    fi
}
stop_fleet_devices() { local p; for p in "${dev_pids[@]}"; do stop_pid "$p"; done; }

echo "fleet rollout bench: $N devices ($DEVICES), image $IMAGE, one mosquitto, one lighttpd, $(nproc) cores"

# --- run 1: everything confirms
start_fleet_devices "$tmp/dev1.log" 1.0.0
fleet release "$tmp/bench-2.0.0.bin" --url "$url" --dir "$tmp/www" --no-patches >/dev/null
s0=($(sys_fresh))
t0=$(now_ms)
rc=0
fleet rollout --project bench --canary 2 --waves 10,50,100 --timeout 120 --fail-min 10 >"$tmp/run1.log" 2>&1 || rc=$?
t1=$(now_ms)
s1=($(sys_fresh))
tail -2 "$tmp/run1.log"
[ "$rc" = 0 ] || { tail -20 "$tmp/run1.log"; fail "run 1 did not end with every device confirmed"; }
ms=$((t1 - t0))
echo "run 1: $N devices confirmed in $(echo "scale=1; $ms / 1000" | bc) s:" \
     "$(echo "scale=0; $N * 60000 / $ms" | bc) devices per minute (4 waves)"
msgs_in=$((s1[0] - s0[0])) msgs_out=$((s1[1] - s0[1])) by_in=$((s1[2] - s0[2])) by_out=$((s1[3] - s0[3]))
echo "  broker: $msgs_in messages received, $msgs_out sent; $by_in bytes received, $by_out sent" \
     "($((msgs_in / N)) in / $((msgs_out / N)) out messages per device;" \
     "\$SYS counters, include the bench's own \$SYS reads)"
stop_fleet_devices

# --- run 2: 5 % never confirm
start_fleet_devices "$tmp/dev2.log" 2.0.0 bad
fleet release "$tmp/bench-3.0.0.bin" --url "$url" --dir "$tmp/www" --no-patches >/dev/null
t0=$(now_ms)
rc=0
fleet rollout --project bench --canary 2 --waves 10,50,100 --timeout 10 --retries 0 \
    --fail-threshold 5 --fail-min 10 --on-fail abort --json >"$tmp/run2.json" 2>"$tmp/run2.err" || rc=$?
t1=$(now_ms)
tail -1 "$tmp/run2.json" >"$tmp/final.json"
state=$(json_get "$tmp/final.json" 'o["state"] + " at wave " + str(o["wave"]) + " of " + str(o["waves"])')
commanded=$(json_get "$tmp/final.json" "sum(1 for d in o['devices'] if d['attempts'] > 0)")
last_wave=$(json_get "$tmp/final.json" 'o["wave"]')
later=$(json_get "$tmp/final.json" "sum(1 for d in o['devices'] if d['wave'] > $last_wave and d['attempts'] > 0)")
echo "run 2 (5 % never confirm): $state after $(echo "scale=1; ($t1 - $t0) / 1000" | bc) s;" \
     "$(json_get "$tmp/final.json" 'o["counts"]["confirmed"]') confirmed," \
     "$(json_get "$tmp/final.json" 'o["counts"]["failed"]') failed, $commanded devices commanded," \
     "$later of later waves touched"
[ "$rc" = 1 ] && [ "$later" = 0 ] && [ "$last_wave" -le 2 ] &&
    [ "$(json_get "$tmp/final.json" 'o["state"]')" = aborted ] ||
    fail "run 2: the failure threshold did not stop the rollout after the canary or the first wave"
[ "$commanded" -le $((N / 10 + 2)) ] || fail "run 2: $commanded devices commanded"
echo "PASS"
