#!/usr/bin/env bash
# tests/integration/test_espota_sim_link.sh — espota through a bad network
# (tests/tools/linkemu.c between aloft and aloft-sim, 10 ms round trip):
#   - the link stalls for 3 s in the middle of the data phase: aloft's 10 s
#     idle timeout rides it out, the device reboots into 2.0.0; the same
#     stall against ArduinoOTA's 1 s idle timeout ends the upload;
#   - the link is cut after 50 000 bytes: the uploader fails with a clear
#     message, the device keeps running 1.0.0 from an untouched app0, and
#     the next upload succeeds.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
build_linkemu
make_image v1 1.0.0 150000
make_image v2 2.0.0 400K 2
flash="$tmp/dev.flash"
new_device "$flash" "$tmp/v1.bin"
app0_v1=$(head -c $((0x10000 + 150000)) "$flash" | tail -c 150000 | sha256sum)

# upload_via LOG RELAY-ARGS... -- UPLOAD-ARGS... : a fresh relay, one upload
upload_via() {
    local log=$1 rargs=() want
    shift
    while [ "$1" != -- ]; do rargs+=("$1"); shift; done
    shift
    want=$1
    shift
    start_relay "$log" --delay-ms 5 "${rargs[@]}"
    expect_rc "$want" "$aloft" upload --protocol espota --json --host-ip 127.0.0.1 "$@" "$relay_ip:$relay_port" "$tmp/v2.bin"
    stop_relay
}

# --- ArduinoOTA's 1 s idle timeout: a 3 s link stall mid-upload (once
# 100 000 of the 409 600 bytes are through) ends it
start_sim "$flash" "$tmp/a.log" --flash-timing esp32 --confirm-after 0 --espota-idle-timeout 1000
upload_via "$tmp/r1.log" --stall-after-bytes 100000 --stall-ms 3000 -- 1
# The device's "peer went silent" line can be overtaken by a reset when it
# closes with the stalled data unread; either way the upload must fail as
# "silent" or "closed early", never succeed.
case "$(json_get "$tmp/out" 'o["error"]["message"]')" in
    "peer went silent"|"the device closed the connection early") ;;
    *) cat "$tmp/out" >&2; fail "1 s idle timeout: unexpected failure" ;;
esac
no_reboot "$tmp/a.log" 1
stop_sim

# --- aloft's 10 s idle timeout: the same stall is survived
start_sim "$flash" "$tmp/b.log" --flash-timing esp32 --confirm-after 0
upload_via "$tmp/r2.log" --stall-after-bytes 100000 --stall-ms 3000 -- 0
secs=$(json_get "$tmp/out" 'o["seconds"]')
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 3.0 else 1)' "$secs" ||
    fail "the 3 s stall did not land in the data phase ($secs s)"
wait_reboot "$tmp/b.log" 2 2.0.0
wait_for "$tmp/b.log" "app1 confirmed (VALID)" 60 || fail "2.0.0 not confirmed"
stop_sim
echo "link: 3 s stall mid-upload: 1 s idle timeout fails, 10 s idle timeout ok ($secs s)"

# --- a cut mid-upload: clean failure, the running firmware is untouched
new_device "$flash" "$tmp/v1.bin"
start_sim "$flash" "$tmp/c.log" --confirm-after 0 --password cut-pw
upload_via "$tmp/r3.log" --cut-after-bytes 50000 -- 1 --auth cut-pw
contains "$tmp/r3.log" "cut after 50000 bytes"
msg=$(json_get "$tmp/out" 'o["error"]["message"]')
case $msg in
"the device closed the connection early"|"the device closed the connection without confirming") ;;
*) cat "$tmp/out" >&2; fail "cut: unexpected message '$msg'" ;;
esac
no_reboot "$tmp/c.log" 1
[ "$(head -c $((0x10000 + 150000)) "$flash" | tail -c 150000 | sha256sum)" = "$app0_v1" ] ||
    fail "app0 changed"
# ... and the next upload goes through
upload_via "$tmp/r4.log" -- 0 --auth cut-pw
wait_reboot "$tmp/c.log" 2 2.0.0
stop_sim
echo "link: cut after 50 000 bytes -> '$msg', device kept 1.0.0; retry ok"
echo "ok: espota sim link ($((SECONDS - start)) s)"
