# tests/integration/arduino_lib.sh — shared by test_arduino_*.sh (sourced,
# not run): native_sim_lib.sh (images, devices, aloft-sim) plus boards: an
# example sketch built for Linux (tests/arduino: the sketch, AloftOTA and
# the ESP-IDF port over fakes, arduino_<Sketch> in $ALOFT_TEST_BIN) run on a
# flash file, powered on again each time it restarts.
#
# Ports: the boards serve on 3420..3439 (this suite's own range), taken
# only when both UDP and TCP are free, and another is tried if the board
# could not bind.

source "$(dirname "${BASH_SOURCE[0]}")/native_sim_lib.sh"
tests_bin=${ALOFT_TEST_BIN:?set ALOFT_TEST_BIN to the build/tests directory}

# arduino_port: a port in 3420..3439 that neither UDP nor TCP uses now.
arduino_port() {
    python3 -c '
import random, socket
ports = list(range(3420, 3440))
random.shuffle(ports)
for p in ports:
    try:
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("0.0.0.0", p))
            finally:
                s.close()
    except OSError:
        continue
    print(p)
    break'
}

# board_loop LOG BINARY FLASH: power the board on, and on again after each
# restart (the fake esp_restart ends the process with status 0), until told
# to stop (SIGTERM, which also ends the running board). Each power-on is
# marked in LOG; any other end (a crash, a sanitizer report) is "=== board
# died" and ends the loop.
board_loop() {
    local log=$1 binary=$2 flash=$3 n=0 child="" rc
    trap '[ -z "$child" ] || kill "$child" 2>/dev/null; wait; exit 0' TERM
    while :; do
        n=$((n + 1))
        echo "=== power on $n" >>"$log"
        "$binary" "$flash" >>"$log" 2>&1 &
        child=$!
        rc=0
        wait "$child" || rc=$?
        child=""
        [ ! -e "$log.halt" ] || exit 0
        if [ "$rc" != 0 ]; then
            echo "=== board died: exit $rc" >>"$log"
            exit 1
        fi
    done
}
died() { grep -q "=== board died" "$1"; }

# powered_on LOG N: the board booted N times and served each time (AloftOTA
# announces itself on mDNS once begin() succeeded).
powered_on() { has_lines "$1" "board: running" "$2" && has_lines "$1" "mdns: _arduino._tcp" "$2"; }
bind_failed() { grep -q "cannot bind\|Address already in use" "$1"; }

# start_board SKETCH FLASH LOG [VAR=VALUE...]: run arduino_SKETCH on FLASH
# (environment VAR=VALUE added) and return once it serves; sets board_pid,
# board_port, board_log.
start_board() {
    local sketch=$1 flash=$2 log=$3 try
    shift 3
    local binary="$tests_bin/arduino_$sketch"
    [ -x "$binary" ] || fail "$binary is not built"
    board_log=$log
    for ((try = 1; try <= 10; try++)); do
        board_port=$(arduino_port)
        [ -n "$board_port" ] || fail "no free port in 3420..3439"
        : >"$log"
        spawn env ALOFT_TEST_PORT="$board_port" "$@" bash -c "$(declare -f board_loop); board_loop \"\$@\"" \
            board_loop "$log" "$binary" "$flash"
        board_pid=$spawned
        wait_until 60 board_ready_or_failed "$log" ||
            { cat "$log" >&2; fail "the $sketch board did not start within 60 s"; }
        if powered_on "$log" 1; then return 0; fi
        stop_board
        bind_failed "$log" || { cat "$log" >&2; fail "the $sketch board did not serve"; }
        cat "$log" >>"$log.retries"
    done
    fail "no port for the $sketch board"
}
board_ready_or_failed() { powered_on "$1" 1 || bind_failed "$1" || died "$1"; }

# stop_board: the board and its power loop end (a restart in flight too);
# fails if it died on the way.
stop_board() {
    [ -n "${board_pid:-}" ] || return 0
    touch "$board_log.halt"
    stop_pid "$board_pid"
    rm -f "$board_log.halt"
    board_pid=""
    ! died "$board_log" || { tail -30 "$board_log" >&2; fail "the board died"; }
}

# wait_power_on N VERSION: the board powered on an N-th time, running VERSION.
power_on_or_died() { powered_on "$1" "$2" || died "$1"; }
wait_power_on() {
    wait_until 60 power_on_or_died "$board_log" "$1" && ! died "$board_log" ||
        { tail -30 "$board_log" >&2; fail "no power-on #$1"; }
    local running
    running=$(grep "board: running" "$board_log" | sed -n "$1p")
    case "$running" in
        *" $2 "*) ;;
        *) tail -20 "$board_log" >&2; fail "power-on #$1 runs '$running', not $2" ;;
    esac
}

# since MARK FILE: FILE's text after the last line holding MARK
since() {
    awk -v m="$1" 'index($0, m) { out = ""; found = 1; next }
                   found { out = out $0 "\n" }
                   END { printf "%s", out }' "$2"
}

