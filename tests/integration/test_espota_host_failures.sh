#!/usr/bin/env bash
# tests/integration/test_espota_host_failures.sh — every way an espota
# upload fails ends with exit 1 and a message that names the cause and the
# next step: no answer (nothing there / nothing listening), an aloft
# refusal, no connect-back, a final result other than OK (never "may still
# be successful"), a device that closes mid-transfer, and a broken image
# that is refused before the device sees anything.
set -euo pipefail
source "$(dirname "$0")/espota_host_lib.sh"

# --- no answer: a device that ignores invitations, quick with -t 1
start_fake --mute
start=$SECONDS
expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$port" -t 1 --tries 2 -f "$img"
# 2 x 1 s, far from the 2 x 10 s without -t (a loaded machine adds seconds)
[ $((SECONDS - start)) -le 15 ] || fail "no-answer took $((SECONDS - start)) s"
contains "$tmp/err" "Sending invitation to 127.0.0.1 .."
contains "$tmp/err" "device did not answer"
contains "$tmp/err" "sent 2 invitations to 127.0.0.1:$port (UDP)"
contains "$tmp/err" "ArduinoOTA.handle()"

# ... and nothing listening on that port at all (ICMP port unreachable)
stop_fake
expect_rc 1 "$aloft" upload --timeout 1 --tries 1 "127.0.0.1:$port" "$img"
contains "$tmp/err" "device did not answer"
contains "$tmp/err" "nothing listens on UDP port $port"

# --- an aloft device refuses with a short ERR text
start_fake --refuse "ERR: too large 1412096>1310720"
expect_rc 1 "$aloft" upload "127.0.0.1:$port" "$img"
contains "$tmp/err" "image is larger than the slot"
contains "$tmp/err" "1 412 096"
contains "$tmp/err" "min_spiffs"
contains "$tmp/err" "device said: \"ERR: too large 1412096>1310720\""

# --- a stock ESP32 that cannot begin never connects back. The host port,
# given in hex, is a free one (a fixed number may be in use by another test
# running in parallel: then the host cannot listen, a different failure).
start_fake --flavour esp32-legacy --max-size 100000
hp=$(free_tcp_port)
expect_rc 1 "$aloft" upload --timeout 2 --host-port "$(printf 0x%x "$hp")" "127.0.0.1:$port" "$img"
contains "$tmp/err" "upload failed: device did not connect back"
contains "$tmp/err" "did not open a TCP connection to 127.0.0.1:$hp within 2 s"
contains "$tmp/err" "the image (200 000 bytes) does not fit its OTA partition"
contains "$tmp/err" "firewall"
contains "$tmp/err" "--host-port N"
contains "$tmp/fake.log" "Begin ERROR: Bad Size Given"

# --- a final result other than OK is a failure, with the device's words
start_fake --flavour esp32-legacy --result "MD5 Check Failed"
expect_rc 1 "$aloft" upload "127.0.0.1:$port" "$img"
contains "$tmp/err" "MD5 mismatch"
contains "$tmp/err" "device said: \"MD5 Check Failed\""
same_file "$img" "$tmp/got.bin"        # everything arrived; the device said no
expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$port" -f "$img"
contains "$tmp/err" "[ERROR]: MD5 mismatch"

start_fake --flavour esp32-pbkdf2 --result "Could Not Activate The Firmware"
expect_rc 1 "$aloft" upload --stop-and-wait "127.0.0.1:$port" "$img"
contains "$tmp/err" "could not activate the new firmware"

# --- not an app image, sent anyway through the espota drop-in: the stock
# ESP32 stops acking at the first 4 KiB flush and closes after its 1 s
# idle timeout
head -c 100000 /dev/zero >"$tmp/zeros.bin"
start_fake --flavour esp32-legacy
expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$port" -f "$tmp/zeros.bin"
contains "$tmp/err" "the device closed the connection early"
contains "$tmp/fake.log" "Wrong Magic Byte"

# --- a broken image never reaches the device
head -c 100000 "$img" >"$tmp/cut.bin"
expect_rc 1 "$aloft" upload "127.0.0.1:$port" "$tmp/cut.bin"
contains "$tmp/err" "is not a valid app image: image is truncated"
contains "$tmp/err" "nothing was sent to the device"
expect_rc 1 "$aloft" upload --json "127.0.0.1:$port" "$tmp/zeros.bin"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert not o["ok"] and o["error"]["code"]==-20, o' \
    "$tmp/out" || fail "json for a refused image"
[ "$(grep -c 'invitation from' "$tmp/fake.log")" = 1 ] || fail "the device saw a broken image"

echo "ok: espota host failures"
