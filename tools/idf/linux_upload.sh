#!/bin/bash
# make idf-check, step (a), the run: the component built for ESP-IDF's Linux
# target (ALOFT_IDF_APP, tests/idf/linux_app) receives `aloft upload` on
# 127.0.0.1, and aloft-sim's bootloader model reads the flash file it wrote.
#   1. aloft-sim makes a 4 MB flash file (its "default" scheme, which is
#      tests/idf/linux_app/partitions.csv) running 1.0.0 from app0, VALID
#   2. the app maps that file (IDF's emulated esp_partition), serves with a
#      password; aloft upload (native) sends 2.0.0; the app activates app1
#      and restarts (on Linux: exits 0); its pause hook ran and was resumed
#   3. aloft-sim boots the file: app1, 2.0.0, on probation (PENDING_VERIFY)
#   4. the app again ("after the restart"): its boot state says app1,
#      pending; aloft_confirm(); aloft-sim boots 2.0.0 VALID
#   5. the same over espota (UDP invitation, TCP back to the host): 3.0.0
#      lands in app0 and aloft-sim boots it
# ALOFT_IDF_ROLLBACK=0: the build has no CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
# (IDF's Linux target has no bootloader options): the new image is written
# UNDEFINED and boots as it is; aloft_confirm() still writes VALID, as
# esp_ota_mark_app_valid_cancel_rollback() does for any state but VALID.
# Usage: linux_upload.sh WORKDIR (ALOFT_BIN and ALOFT_IDF_APP set).
set -euo pipefail
source "$(dirname "$0")/../../tests/integration/espota_sim_lib.sh"
app=${ALOFT_IDF_APP:?}
work=$1
rm -rf "$work" && mkdir -p "$work"
flash=$work/dev.flash
pw=idf-check-pw
rollback=${ALOFT_IDF_ROLLBACK:-1}
if [ "$rollback" = 1 ]; then new_state=PENDING_VERIFY pending=1; else new_state=UNDEFINED pending=0; fi

for v in 1 2 3; do
    "$aloft" image make --chip esp32 --project linux-app --version $v.0.0 --size $((300000 + v * 10000)) \
        --seed $v -o "$work/v$v.bin" >/dev/null || fail "image make v$v"
done
new_device "$flash" "$work/v1.bin"

# sim_boot: aloft-sim boots the flash file once; its report in $work/boot.log.
sim_boot() { "$sim_bin" --flash "$flash" --run-for 0 >"$work/boot.log" 2>&1 || { cat "$work/boot.log" >&2; fail "aloft-sim boot"; }; }
sim_boot
contains "$work/boot.log" "running app0 @0x010000: linux-app 1.0.0"

# run_app MODE LOG PORT: the IDF app in the background (pid in $pid).
run_app() {
    ALOFT_IDF_FLASH=$flash ALOFT_IDF_MODE=$1 ALOFT_IDF_PASSWORD=$pw ALOFT_IDF_PORT=$3 \
        spawn "$app" >"$2" 2>&1 </dev/null
    pid=$spawned
}
gone() { ! alive "$1"; }
app_says() { has_lines "$1" "aloft-linux-app: $2" || ! alive "$3"; }

# serve LOG: the app serving on a random port (another process may hold
# one: a few tries); sets port and pid.
serve() {
    local log=$1 try
    for try in 1 2 3 4 5; do
        port=$(random_port)
        run_app serve "$log" "$port"
        wait_until 60 app_says "$log" "serving on" "$pid" || {
            cat "$log" >&2
            if has_lines "$log" "aloft-linux-app: started"; then
                fail "aloft_status() called from app_main did not return within 60 s (aloft_start had returned)"
            fi
            fail "aloft_start() did not return within 60 s"
        }
        has_lines "$log" "aloft-linux-app: serving on" && return 0
        wait "$pid" || true   # aloft_start refused: try another port, if that was it
        [ $try -lt 5 ] && grep -q "aloft-linux-app: aloft_start: " "$log" ||
            { cat "$log" >&2; fail "the app did not start"; }
    done
}

# upload LOG SAYS FILE ARGS...: aloft upload ARGS FILE to the serving app,
# which SAYS so (on aloft's output), activates FILE and restarts (exits 0).
upload() {
    local log=$1 says=$2 file=$3 rc=0
    shift 3
    # --no-wait: on Linux the restart is an exit, and this script plays the
    # bootloader and the next boot (steps 3 and 4) itself
    expect_rc 0 "$aloft" upload --no-wait --auth "$pw" "$@" "127.0.0.1:$port" "$file"
    cp "$tmp/out" "$log.upload"
    contains "$log.upload" "$says"
    echo "  aloft upload${*:+ $*}: $(grep -m1 -F "$says" "$log.upload")"
    wait_until 60 gone "$pid" || fail "the app did not restart after the update"
    wait "$pid" || rc=$?
    [ "$rc" = 0 ] || { cat "$log" >&2; fail "the app exited $rc after the update"; }
    contains "$log" "aloft-linux-app: update verified and activated"
    contains "$log" "aloft-linux-app: paused"
    contains "$log" "aloft-linux-app: resumed"
    contains "$log" "restart triggered on Linux"
}

# 2. native upload
serve "$work/serve.log"
grep "aloft-linux-app: status" "$work/serve.log" | sed 's/^/  boot 1: /'
upload "$work/serve.log" "the device activated app1 (2.0.0)" "$work/v2.bin"

# 3. what a bootloader makes of the flash the IDF build left
sim_boot
contains "$work/boot.log" "running app1 @0x150000: linux-app 2.0.0"
contains "$work/boot.log" "state $new_state"
echo "  aloft-sim boot: $(grep -m1 'running app1' "$work/boot.log")"

# 4. the new image's health check, on the IDF build
run_app confirm "$work/confirm.log" "$port"
rc=0
wait_until 60 gone "$pid" || fail "the app did not end in confirm mode"
wait "$pid" || rc=$?
[ "$rc" = 0 ] || { cat "$work/confirm.log" >&2; fail "aloft_confirm on the Linux target (exit $rc)"; }
contains "$work/confirm.log" "aloft-linux-app: status: running slot 1"
contains "$work/confirm.log" "pending_verify $pending"
contains "$work/confirm.log" "aloft-linux-app: aloft_confirm: 0"
contains "$work/confirm.log" "state VALID, pending_verify 0"
grep "aloft-linux-app: status" "$work/confirm.log" | sed 's/^/  boot 2: /'
sim_boot
contains "$work/boot.log" "running app1 @0x150000: linux-app 2.0.0"
contains "$work/boot.log" "state VALID"
echo "  aloft-sim boot after aloft_confirm: $(grep -m1 'running app1' "$work/boot.log")"

# 5. espota
serve "$work/serve-espota.log"
upload "$work/serve-espota.log" "the device confirmed the update" "$work/v3.bin" --protocol espota
sim_boot
contains "$work/boot.log" "running app0 @0x010000: linux-app 3.0.0"
echo "  aloft-sim boot: $(grep -m1 'running app0' "$work/boot.log")"
