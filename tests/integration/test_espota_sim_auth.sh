#!/usr/bin/env bash
# tests/integration/test_espota_sim_auth.sh — aloft against aloft-sim over
# 127.0.0.1, every login the device can ask for (none, MD5, PBKDF2) times
# both upload kinds: an app image (command 0) must make the device reboot
# into 2.0.0 from the other slot, and a filesystem image (command 100) must
# land byte for byte in the spiffs partition at 0x290000. A wrong password
# exits 1 with "authentication failed" (a missing one with "the device asks
# for a password") and leaves the flash file bit for bit as it was. Both
# front ends are used: `aloft upload --protocol espota` and the espota.py
# drop-in `aloft espota -i -p -a -f [-s]`.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
make_image v1 1.0.0 150000
make_image v2 2.0.0 170000 7

for auth in none md5 pbkdf2; do
    flash="$tmp/$auth.flash"
    log="$tmp/$auth.log"
    pass="pw-$auth-$RANDOM"
    head -c 300000 /dev/urandom >"$tmp/fs-$auth.bin"
    fs="$tmp/fs-$auth.bin"
    new_device "$flash" "$tmp/v1.bin"
    case $auth in
    none)   args=() ;;
    md5)    args=(--password "$pass" --espota-auth md5) ;;
    pbkdf2) args=(--password "$pass" --espota-auth pbkdf2) ;;
    esac
    start_sim "$flash" "$log" --confirm-after 0 "${args[@]}"
    contains "$log" "running app0 @0x010000: espota-sim 1.0.0"

    # --- wrong and missing password: refused, nothing written
    if [ "$auth" != none ]; then
        before=$(sha256sum <"$flash")
        expect_rc 1 "$aloft" upload --protocol espota --auth "not-$pass" "127.0.0.1:$sim_port" "$tmp/v2.bin"
        contains "$tmp/err" "upload failed: authentication failed"
        contains "$tmp/err" "rejected the password"
        expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$sim_port" -a "not-$pass" -f "$fs" -s
        contains "$tmp/err" "[ERROR]: authentication failed"
        expect_rc 1 "$aloft" upload --protocol espota "127.0.0.1:$sim_port" "$tmp/v2.bin"
        contains "$tmp/err" "the device asks for a password"
        [ "$(sha256sum <"$flash")" = "$before" ] || fail "$auth: a refused login changed the flash"
        [ "$(boots "$log")" = 1 ] || fail "$auth: a refused login rebooted the device"
    fi

    # --- app image (command 0): reboot into 2.0.0 from app1
    if [ "$auth" = md5 ]; then
        expect_rc 0 "$aloft" espota -i 127.0.0.1 -p "$sim_port" -a "$pass" -f "$tmp/v2.bin"
        contains "$tmp/err" "Authenticating (MD5)...OK"
    else
        pw=()
        [ "$auth" = none ] || pw=(--auth "$pass")
        expect_rc 0 "$aloft" upload --protocol espota --json "${pw[@]}" "127.0.0.1:$sim_port" "$tmp/v2.bin"
        python3 - "$tmp/out" "$auth" <<'EOF' || fail "$auth: --json result"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is True and o["error"] is None, o
assert o["auth"] == sys.argv[2], o
EOF
    fi
    wait_reboot "$log" 2 2.0.0
    contains "$log" "running app1 @0x150000: espota-sim 2.0.0"
    wait_for "$log" "app1 confirmed (VALID)" 60 || fail "$auth: 2.0.0 not confirmed"

    # --- filesystem image (command 100): the bytes land at 0x290000
    if [ "$auth" = md5 ]; then
        expect_rc 0 "$aloft" upload --protocol espota --fs --auth "$pass" "127.0.0.1:$sim_port" "$fs"
        contains "$tmp/out" "the device confirmed the update"
    else
        pw=()
        [ "$auth" = none ] || pw=(-a "$pass")
        expect_rc 0 "$aloft" espota -i 127.0.0.1 -p "$sim_port" "${pw[@]}" -f "$fs" -s
        contains "$tmp/err" "Uploading"
        lacks "$tmp/err" "[ERROR]"
    fi
    cmp -s <(fs_bytes "$flash" "$(stat -c %s "$fs")") "$fs" ||
        fail "$auth: the spiffs partition does not hold the uploaded filesystem image"
    contains "$log" "updating spiffs 100%"
    # app0 holds 1.0.0, the rollback target, and espota cannot ask: in place.
    contains "$log" "writing spiffs in place: nowhere to stage it"
    no_reboot "$log" 2   # a filesystem update must not reboot the device

    stop_sim
    read -r erases programs < <(flash_ops "$log")
    [ "$erases" -gt 0 ] && [ "$programs" -gt 0 ] || fail "$auth: no flash counters in $log"
    echo "auth $auth: app -> app1 2.0.0 ok, fs -> spiffs ok ($erases erases, $programs programs)"
done

echo "ok: espota sim auth x app/fs ($((SECONDS - start)) s)"
