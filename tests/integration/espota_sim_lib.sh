# tests/integration/espota_sim_lib.sh — shared by test_espota_sim_*.sh,
# test_espota_window_stall.sh, test_linkemu.sh and, through
# native_sim_lib.sh, the native, safe and soak scripts (sourced, not run):
# common_lib.sh plus real `aloft-sim` processes on 127.0.0.1, each on a free
# random port so that tests can run in parallel (ctest -j), and the link
# emulator (tests/tools/linkemu.c) in front of them.

source "$(dirname "${BASH_SOURCE[0]}")/common_lib.sh"
linkemu_src="$here/../tools/linkemu.c"

# A random port in 20000..32767 (UDP espota and TCP native of a simulator):
# below Linux's ephemeral range (32768..60999), so no outgoing connection
# or port-0 socket of another test holds it.
random_port() { echo $(( 20000 + (RANDOM * 32768 + RANDOM) % 12768 )); }

# make_image NAME VERSION SIZE [SEED]: an ESP32 app image $tmp/NAME.bin
make_image() {
    "$aloft" image make --chip esp32 --project espota-sim --version "$2" --size "$3" \
        --seed "${4:-0}" -o "$tmp/$1.bin" >/dev/null || fail "image make $1"
}

# new_device FLASH FIRMWARE: a new 4 MB device running FIRMWARE, booted once
# so that its otadata is written (later runs start with no flash operation).
new_device() {
    "$sim_bin" --flash "$1" --init --scheme default --firmware "$2" >/dev/null || fail "sim --init"
    "$sim_bin" --flash "$1" --run-for 0 >/dev/null || fail "first boot of $1"
}

# serving_or_gone LOG PID: the simulator logged that it serves, or ended.
serving_or_gone() { has_lines "$1" "native on TCP" || ! alive "$2"; }

# start_sim FLASH LOG ARGS... : aloft-sim on 127.0.0.1 (espota on UDP and
# native on TCP, one port number); returns once it serves. Sets sim_pid,
# sim_port, sim_log; LOG gets its output (banner, status lines, exit
# counters). --run-for 600 (CTest's timeout) ends it even if this script is
# killed without running its trap; ARGS may override.
#
# Another process may hold the port. The attempt that could not bind has
# booted all the same, and a boot may write otadata (a rollback, the first
# boot of a new image), so the flash is put back as it was before the next
# try: the attempt that serves boots exactly what the first would have, and
# LOG shows that boot (failed attempts' output goes to LOG.retries). With
# sim_keep_port=1 a set $sim_port is tried again first (the soak's device
# keeps its address; after 10 tries it takes another). Returns 3 if the
# device died of a power cut (--power-cut) before it served.
start_sim() {
    local flash=$1 log=$2 try rc
    shift 2
    sim_log=$log
    cp "$flash" "$tmp/start.flash"
    for ((try = 1; try <= 40; try++)); do
        if [ "${sim_keep_port:-0}" != 1 ] || [ -z "${sim_port:-}" ] || [ $((try % 10)) = 0 ]; then
            sim_port=$(random_port)
        fi
        spawn "$sim_bin" --flash "$flash" --port "$sim_port" --run-for 600 "$@" >"$log" 2>&1
        sim_pid=$spawned
        wait_until 60 serving_or_gone "$log" "$sim_pid" ||
            { cat "$log" >&2; fail "aloft-sim neither served nor exited within 60 s"; }
        has_lines "$log" "native on TCP" && return 0
        rc=0
        wait "$sim_pid" || rc=$?
        sim_pid=""
        [ "$rc" = 3 ] && return 3
        grep -q "cannot bind" "$log" || { cat "$log" >&2; fail "aloft-sim did not start"; }
        cat "$log" >>"$log.retries"
        cp "$tmp/start.flash" "$flash"
    done
    fail "no free port for aloft-sim"
}

# stop_sim: SIGTERM, then the exit line with the flash counters is in $sim_log.
stop_sim() {
    [ -n "${sim_pid:-}" ] || return 0
    stop_pid "$sim_pid"
    sim_pid=""
}

# flash_ops LOG: "ERASES PROGRAMS" from the simulator's exit line.
flash_ops() {
    sed -n 's/.*flash operations this run: \([0-9]*\) erases ([0-9]* KiB), \([0-9]*\) programs.*/\1 \2/p' \
        "$1" | tail -1
}

# boots LOG: how many boot banners so far.
boots() { grep -c "aloft-sim: boot #" "$1" || true; }

# running_version LOG: the version the last boot banner runs.
running_version() {
    grep "aloft-sim: running" "$1" | tail -1 | sed -n 's/.*: [^ ]* \([^ ]*\) (ESP32.*/\1/p'
}

# booted LOG N: the device has booted N times, each boot's banner complete
# (its "boot #" and "running" lines are written one after the other).
booted() { has_lines "$1" "aloft-sim: boot #" "$2" && has_lines "$1" "aloft-sim: running" "$2"; }

# wait_reboot LOG N VERSION: the device booted an N-th time, into VERSION.
# (Before the next app upload also wait for "confirmed (VALID)": an
# unconfirmed image refuses updates.)
wait_reboot() {
    local log=$1 n=$2 version=$3
    wait_until 60 booted "$log" "$n" || { tail -5 "$log" >&2; fail "no boot #$n"; }
    [ "$(running_version "$log")" = "$version" ] ||
        { tail -5 "$log" >&2; fail "boot #$n is not version $version"; }
}

# no_reboot LOG N: the device, booted N times, does not boot again within
# 2 s (its reboot follows 100 ms after an update; an absence can only be
# shown by a bounded look, and a late reboot only makes this pass wrongly,
# never fail wrongly).
no_reboot() {
    if wait_for "$1" "aloft-sim: boot #" 2 $(($2 + 1)); then
        tail -5 "$1" >&2
        fail "the device rebooted"
    fi
}

# fs_bytes FLASH SIZE: SIZE bytes of the spiffs partition (0x290000, default scheme)
fs_bytes() { tail -c +$((0x290000 + 1)) "$1" | head -c "$2"; }

# build_linkemu: compile tests/tools/linkemu.c into $tmp/linkemu (one cc line)
# (a linkemu built next to aloft, e.g. by a CMake target, is used as is)
build_linkemu() {
    if [ -x "$bin/linkemu" ]; then
        linkemu="$bin/linkemu"
        return 0
    fi
    command -v "${CC:-cc}" >/dev/null || skip_missing "no C compiler (${CC:-cc}) to build linkemu"
    ${CC:-cc} -O2 -Wall -o "$tmp/linkemu" "$linkemu_src" || fail "cannot build linkemu"
    linkemu="$tmp/linkemu"
}

# start_linkemu LOG ARGS... : linkemu with ARGS (its mode and addresses),
# verbose into LOG; returns once it listens. Sets relay_pid, relay_port.
# --run-for 600 (CTest's timeout) bounds it (ARGS may override).
start_linkemu() {
    local log=$1
    shift
    rm -f "$tmp/relay.port"
    spawn "$linkemu" --port-file "$tmp/relay.port" --run-for 600 -v "$@" 2>"$log"
    relay_pid=$spawned
    wait_port "$tmp/relay.port" "$relay_pid" "$log" "linkemu"
    relay_port=$(cat "$tmp/relay.port")
}

# random_loopback: a random 127.0.x.y address (relays on their own
# addresses: the device sees the relay's, not the host's)
random_loopback() { echo "127.0.$(( RANDOM % 200 + 20 )).$(( RANDOM % 200 + 20 ))"; }

# start_relay LOG ARGS... : linkemu in espota mode in front of the simulator
# ($sim_port), on a random 127.0.x.y address; sets relay_ip, relay_port,
# relay_pid. Uploads then go to $relay_ip:$relay_port with --host-ip 127.0.0.1.
start_relay() {
    local log=$1
    shift
    relay_ip=$(random_loopback)
    start_linkemu "$log" --espota "$relay_ip:0" --device "127.0.0.1:$sim_port" "$@"
}

# start_tcp_relay LOG TO ARGS... : linkemu in plain TCP mode in front of TO
# (HOST:PORT), on a random 127.0.x.y address; sets relay (its HOST:PORT)
# and relay_pid.
start_tcp_relay() {
    local log=$1 to=$2 ip
    shift 2
    ip=$(random_loopback)
    start_linkemu "$log" --tcp "$ip:0" --to "$to" "$@"
    relay="$ip:$relay_port"
}

stop_relay() {
    [ -n "${relay_pid:-}" ] || return 0
    stop_pid "$relay_pid"
    relay_pid=""
}
