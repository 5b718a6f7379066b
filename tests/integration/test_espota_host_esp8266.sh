#!/usr/bin/env bash
# tests/integration/test_espota_host_esp8266.sh — a fake stock ESP8266
# ArduinoOTA device: it answers the login (and its later OK/ERR) on the
# INVITATION's source port, which works only because the uploader keeps
# one UDP socket; it refuses a too-large image over UDP with
# "ERR: ERROR[4]: Not Enough Space", which must come out as a cause with a
# hint; its result errors use "ERROR[n]: ..." lines.
set -euo pipefail
source "$(dirname "$0")/espota_host_lib.sh"

# --- no password: the OK comes after Update.begin, 1 s pauses at the end
start_fake --flavour esp8266
expect_rc 0 "$aloft" upload "127.0.0.1:$port" "$img"
same_file "$img" "$tmp/got.bin"
contains "$tmp/out" "the device confirmed the update"

# --- password: every answer goes to the invitation's port
start_fake --flavour esp8266 --password s3cret
expect_rc 0 "$aloft" espota -i 127.0.0.1 -p "$port" -a s3cret -f "$img"
same_file "$img" "$tmp/got.bin"
contains "$tmp/err" "Authenticating (MD5)...OK"
inv_port=$(sed -n 's/.*invitation from 127\.0\.0\.1:\([0-9]*\):.*/\1/p' "$tmp/fake.log" | head -1)
[ -n "$inv_port" ] || fail "no invitation in the fake's log"
contains "$tmp/fake.log" "auth datagram from 127.0.0.1:$inv_port: match"
contains "$tmp/fake.log" "udp -> 127.0.0.1:$inv_port 'OK'"

# --- image too large for the staging area: refused over UDP
start_fake --flavour esp8266 --max-size 100000
expect_rc 1 "$aloft" upload "127.0.0.1:$port" "$img"
contains "$tmp/err" "the device has no room for this image"
contains "$tmp/err" "smaller filesystem"
contains "$tmp/err" "ERR: ERROR[4]: Not Enough Space"
[ ! -e "$tmp/got.bin" ] || fail "a refused upload sent data"

start_fake --flavour esp8266 --max-size 100000 --password s3cret   # ERR as the login's answer
expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$port" -a s3cret -f "$img"
contains "$tmp/err" "[ERROR]: the device has no room for this image"

# --- the result line of a failed update
start_fake --flavour esp8266 --result "MD5 Check Failed"
expect_rc 1 "$aloft" upload --json "127.0.0.1:$port" "$img"
python3 - "$tmp/out" <<'EOF' || fail "--json failure fields"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is False, o
assert o["error"]["code"] == -65 and o["error"]["message"] == "MD5 mismatch", o
assert "corrupted" in o["error"]["hint"], o
assert o["error"]["device_text"].startswith("ERROR[7]: MD5 verification failed"), o
EOF

echo "ok: espota host esp8266"
