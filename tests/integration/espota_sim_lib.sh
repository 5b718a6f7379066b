# tests/integration/espota_sim_lib.sh — shared by test_espota_sim_*.sh and
# test_linkemu.sh (sourced, not run): real `aloft` against real `aloft-sim`
# processes on 127.0.0.1, each on a free random port so that tests can run
# in parallel (ctest -j). Every background process is started through
# `spawn` and killed by the EXIT trap; every wait is bounded.

bin=${ALOFT_BIN:?set ALOFT_BIN to the build/bin directory}
aloft="$bin/aloft"
sim_bin="$bin/aloft-sim"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
linkemu_src="$here/../tools/linkemu.c"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aloft-espota-sim.XXXXXX")

# Only this shell's still-running background jobs are ours to stop (a pid
# that ended may have been reused by now).
cleanup() {
    local p
    for p in $(jobs -pr); do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }

# wrapped: the programs are wrappers (make valgrind runs them under
# memcheck, tens of times slower), not the ELF binaries themselves. Tests
# whose point is a timing race skip those parts then.
wrapped() { [ "$(head -c 4 "$sim_bin" | od -An -c | tr -d ' ')" != "177ELF" ]; }

# expect_rc CODE CMD... : run CMD, keep stdout/stderr in $tmp/out, $tmp/err
expect_rc() {
    local want=$1 rc=0
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$tmp/out" "$tmp/err" >&2
        [ -n "${sim_log:-}" ] && [ -f "$sim_log" ] && tail -20 "$sim_log" >&2
        fail "'$*' exited $rc, want $want"
    fi
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }
lacks() { ! grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 has '$2'"; }; }

now_ms() { local t=$EPOCHREALTIME; echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 )); }

sleep_ms() { if [ "$1" -gt 0 ]; then sleep "$(( $1 / 1000 )).$(printf '%03d' $(( $1 % 1000 )))"; fi; }

# A random port in 20000..59999 (UDP for the simulator and the relay).
random_port() { echo $(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 )); }

# wait_for FILE TEXT SECONDS [COUNT]: until FILE has COUNT (default 1) lines
# with TEXT; returns 1 on timeout.
wait_for() {
    local file=$1 text=$2 secs=$3 count=${4:-1} i
    for ((i = 0; i < secs * 50; i++)); do
        [ "$(grep -cF -- "$text" "$file" 2>/dev/null || true)" -ge "$count" ] && return 0
        sleep 0.02
    done
    return 1
}

# spawn CMD... : run CMD in the background (a job of this shell, stopped at
# exit if still running); its pid in $spawned.
spawn() {
    "$@" &
    spawned=$!
}

# stop_pid PID: SIGTERM to PID if it is still our child (not yet reaped, so
# the pid cannot belong to anyone else; `jobs` can miss a running job in a
# long script), then reap it.
stop_pid() {
    local ppid
    ppid=$(awk '{print $4}' "/proc/$1/stat" 2>/dev/null || true)
    if [ "$ppid" = "$$" ]; then kill "$1" 2>/dev/null || true; fi
    wait "$1" 2>/dev/null || true
}

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

# start_sim FLASH LOG ARGS... : run aloft-sim on a free UDP port of
# 127.0.0.1; sets sim_pid, sim_port, sim_log. The output (banner, status
# lines, exit counters) goes to LOG. --run-for 300 (CTest's timeout) ends it
# even if this script is killed without running its trap; ARGS may override.
start_sim() {
    local flash=$1 log=$2
    shift 2
    sim_log=$log
    for _ in $(seq 20); do
        sim_port=$(random_port)
        spawn "$sim_bin" --flash "$flash" --port "$sim_port" --run-for 300 "$@" >"$log" 2>&1
        sim_pid=$spawned
        local i
        for ((i = 0; i < 250; i++)); do
            grep -q "espota on" "$log" 2>/dev/null && return 0
            jobs -pr | grep -qx -- "$sim_pid" || break
            sleep 0.02
        done
        stop_pid "$sim_pid"
        grep -qE "cannot bind (UDP|TCP)" "$log" || { cat "$log" >&2; fail "aloft-sim did not start"; }
    done
    fail "no free UDP port for aloft-sim"
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

# wait_reboot LOG N VERSION: the device booted an N-th time, into VERSION.
# (Before the next app upload also wait for "confirmed (VALID)": an
# unconfirmed image refuses updates.)
wait_reboot() {
    local log=$1 n=$2 version=$3
    wait_for "$log" "aloft-sim: boot #" 10 "$n" || { tail -5 "$log" >&2; fail "no boot #$n"; }
    grep "aloft-sim: running" "$log" | tail -1 | grep -qF " $version (ESP32" ||
        { tail -5 "$log" >&2; fail "boot #$n is not version $version"; }
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
    ${CC:-cc} -O2 -Wall -o "$tmp/linkemu" "$linkemu_src" || fail "cannot build linkemu"
    linkemu="$tmp/linkemu"
}

# start_relay LOG ARGS... : linkemu in espota mode in front of the simulator
# ($sim_port), on a random 127.0.x.y address; sets relay_ip, relay_port,
# relay_pid. Uploads then go to $relay_ip:$relay_port with --host-ip 127.0.0.1.
start_relay() {
    local log=$1
    shift
    relay_ip="127.0.$(( RANDOM % 200 + 20 )).$(( RANDOM % 200 + 20 ))"
    rm -f "$tmp/relay.port"
    spawn "$linkemu" --espota "$relay_ip:0" --device "127.0.0.1:$sim_port" \
        --port-file "$tmp/relay.port" --run-for 300 -v "$@" 2>"$log"
    relay_pid=$spawned
    local i
    for ((i = 0; i < 250; i++)); do
        [ -s "$tmp/relay.port" ] && break
        sleep 0.02
    done
    [ -s "$tmp/relay.port" ] || { cat "$log" >&2; fail "linkemu did not start"; }
    relay_port=$(cat "$tmp/relay.port")
}

stop_relay() {
    [ -n "${relay_pid:-}" ] || return 0
    stop_pid "$relay_pid"
    relay_pid=""
}
