# tests/integration/esp_fake_lib.sh — shared by test_esp_*.sh (sourced, not
# run): the ESP-IDF component's firmware on Linux over the IDF fakes
# (tests/esp/task/esp_fake_device.c), on ports 3400..3419 (this family's
# own range), plus what espota_sim_lib.sh gives (images, waiting, cleanup).
#
# The device's log has one line per thing the tests wait on: "boot #N:
# running appK PROJECT VERSION, state S", "serving on 127.0.0.1:PORT",
# "hook: paused|resumed", "event: START|PROGRESS|END|ERROR ...",
# "esp_restart()", "wdt: ..." and "flash: ..." counters at every restart and
# at the end.

source "$(dirname "${BASH_SOURCE[0]}")/espota_sim_lib.sh"

esp_dev="${ALOFT_TEST_BIN:?set ALOFT_TEST_BIN to the build/tests directory}/esp_fake_device"
[ -x "$esp_dev" ] || fail "$esp_dev is not built"

# Flash layout of the default scheme: otadata 0xe000 (8 KiB), app0 0x10000.
OTADATA=$((0xe000)) OTADATA_LEN=8192 APP0=$((0x10000)) SLOT_LEN=$((0x140000))

# esp_init FLASH FW: a new 4 MB flash with FW in app0 (sim_flash_create).
esp_init() { "$esp_dev" --flash "$1" --init "$2" || fail "esp_fake_device --init"; }

# esp_serving_or_gone LOG PID
esp_serving_or_gone() { has_lines "$1" "serving on 127.0.0.1:" || ! alive "$2"; }

# start_esp FLASH LOG ARGS... : the firmware on a free port of 3400..3419;
# returns once it serves. Sets esp_pid, esp_port, esp_log. A port another
# test holds makes aloft_start fail ("cannot bind"): the next one is tried,
# with the flash put back as it was (a boot may have confirmed an image).
start_esp() {
    local flash=$1 log=$2 try
    shift 2
    esp_log=$log
    cp "$flash" "$tmp/start_esp.flash"
    for ((try = 0; try < 40; try++)); do
        esp_port=$(( 3400 + (RANDOM + try) % 20 ))
        spawn "$esp_dev" --flash "$flash" --port "$esp_port" "$@" >"$log" 2>&1
        esp_pid=$spawned
        wait_until 60 esp_serving_or_gone "$log" "$esp_pid" ||
            { cat "$log" >&2; fail "esp_fake_device neither served nor exited within 60 s"; }
        has_lines "$log" "serving on 127.0.0.1:" && return 0
        wait "$esp_pid" || true
        grep -q "cannot bind" "$log" || { cat "$log" >&2; fail "esp_fake_device did not start"; }
        cat "$log" >>"$log.retries"
        cp "$tmp/start_esp.flash" "$flash"
    done
    fail "no free port in 3400..3419"
}

# stop_esp: SIGTERM (aloft_stop, counters, "stopped"), then reap it.
stop_esp() {
    [ -n "${esp_pid:-}" ] || return 0
    stop_pid "$esp_pid"
    esp_pid=""
}

# esp_booted LOG N VERSION: the N-th boot runs VERSION and serves.
esp_booted() {
    local at
    at=$(grep -n -m1 "^boot #$2: running app[0-9] [^ ]* $3," "$1" | cut -d: -f1)
    [ -n "$at" ] && awk -v from="$at" 'NR >= from && /^serving on/ { f = 1; exit }
                                         END { exit !f }' "$1"
}

# wait_esp_boot LOG N VERSION
wait_esp_boot() {
    wait_until 60 esp_booted "$1" "$2" "$3" || { tail -20 "$1" >&2; fail "no boot #$2 into $3"; }
}

# region_sum FLASH OFFSET LEN: sha256 of those bytes (firmware untouched?);
# OFFSET and LEN are multiples of 4 KiB.
region_sum() {
    dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) status=none | sha256sum |
        cut -d' ' -f1
}
