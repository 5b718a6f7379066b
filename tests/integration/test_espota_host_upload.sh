#!/usr/bin/env bash
# tests/integration/test_espota_host_upload.sh — `aloft upload` and `aloft
# espota` against a fake stock ESP32 ArduinoOTA device without a password:
# the image arrives intact (streamed and stop-and-wait), --json is one
# valid object, filesystem images skip the app check, usage errors exit 2.
set -euo pipefail
source "$(dirname "$0")/espota_host_lib.sh"

# --- aloft upload, streaming
start_fake --flavour esp32-legacy
expect_rc 0 "$aloft" upload "127.0.0.1:$port" "$img"
same_file "$img" "$tmp/got.bin"
contains "$tmp/out" "ESP32 app image"
contains "$tmp/out" "upload 100%"          # not a terminal: milestone lines
contains "$tmp/out" "the device confirmed the update"
contains "$tmp/fake.log" "sending result: 'OK'"

# --- stop-and-wait, as espota.py paces it
expect_rc 0 "$aloft" upload --stop-and-wait "127.0.0.1:$port" "$img"
same_file "$img" "$tmp/got.bin"
contains "$tmp/out" "the device confirmed the update"

# --- --json: one object, nothing else on stdout
expect_rc 0 "$aloft" upload --json "127.0.0.1:$port" "$img"
python3 -m json.tool "$tmp/out" >/dev/null || fail "--json output is not JSON"
python3 - "$tmp/out" "$port" "$img" <<'EOF' || fail "--json fields"
import json, os, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is True and o["protocol"] == "espota", o
assert o["device"] == "127.0.0.1:" + sys.argv[2], o
assert o["bytes"] == os.path.getsize(sys.argv[3]), o
assert o["auth"] == "none" and o["error"] is None, o
assert o["seconds"] >= 0 and o["rate_kib_s"] >= 0, o
EOF
same_file "$img" "$tmp/got.bin"

# --- a filesystem image is not an app image: --fs skips the check
head -c 50000 /dev/urandom >"$tmp/fs.bin"
expect_rc 0 "$aloft" upload --fs "127.0.0.1:$port" "$tmp/fs.bin"
same_file "$tmp/fs.bin" "$tmp/got.bin"
contains "$tmp/out" "the device confirmed the update"
lacks "$tmp/out" "ESP32 app image"
contains "$tmp/fake.log" "cmd 100"

# --- aloft espota, the espota.py drop-in (messages on stderr)
expect_rc 0 "$aloft" espota -i 127.0.0.1 -p "$port" -f "$img"
same_file "$img" "$tmp/got.bin"
contains "$tmp/err" "Sending invitation to 127.0.0.1"
contains "$tmp/err" "Uploading"
[ ! -s "$tmp/out" ] || fail "espota printed on stdout"

expect_rc 0 "$aloft" espota --ip=127.0.0.1 --port "$port" --file "$img" -d -r -s
same_file "$img" "$tmp/got.bin"
contains "$tmp/err" "[INFO]: Result: OK"
contains "$tmp/err" "Uploading 100%"
contains "$tmp/fake.log" "cmd 100"

# --- usage errors
expect_rc 2 "$aloft" upload "127.0.0.1:$port"
contains "$tmp/err" "missing FIRMWARE"
expect_rc 2 "$aloft" upload --protocol bogus "127.0.0.1:$port" "$img"
contains "$tmp/err" "unknown protocol 'bogus'"
expect_rc 2 "$aloft" upload "127.0.0.1:99999" "$img"
contains "$tmp/err" "not HOST or HOST:PORT"
expect_rc 2 "$aloft" upload --host-port 0 "127.0.0.1" "$img"
contains "$tmp/err" "--host-port '0' is not a number from 1 to 65535"
expect_rc 2 "$aloft" espota -i 127.0.0.1 -f "$img" --bogus
contains "$tmp/err" "unrecognized argument '--bogus'"
expect_rc 2 "$aloft" espota -i 127.0.0.1 -f "$img" -p
contains "$tmp/err" "-p needs a value"
expect_rc 1 "$aloft" espota -f "$img"          # espota.py: "Not enough arguments", exit 1
contains "$tmp/err" "Not enough arguments"
expect_rc 0 "$aloft" espota --help
contains "$tmp/out" "--host_port"

echo "ok: espota host upload"
