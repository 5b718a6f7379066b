#!/usr/bin/env bash
# tests/integration/test_native_fallback.sh — choosing the protocol: the
# default tries the aloft native protocol and falls back to espota (saying
# so) when nothing speaks it at DEVICE: TCP refused (a stock ArduinoOTA
# device, tests/tools/fake_arduinoota.py), a TCP service that says nothing
# or something else. --protocol native then fails with what to do; a device
# of another native version is an error, not a fallback; `aloft info`
# explains the same cases.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
source "$(dirname "$0")/espota_host_lib.sh"   # start_fake: a fake stock ArduinoOTA device
start=$SECONDS
make_image v2 2.0.0 200000 2

# --- TCP refused: an ArduinoOTA-only device; auto falls back at once (with
# --timeout 30, waiting for a connect timeout instead would take 30 s)
start_fake --flavour esp32-legacy
t0=$(now_ms)
expect_rc 0 "$aloft" upload --timeout 30 "127.0.0.1:$port" "$tmp/v2.bin"
[ $(( $(now_ms) - t0 )) -lt 15000 ] || fail "the fallback took $(( $(now_ms) - t0 )) ms"
contains "$tmp/out" "127.0.0.1:$port: nothing listens on TCP port $port; falling back to espota (ArduinoOTA)"
contains "$tmp/out" "the device confirmed the update"
cmp -s "$tmp/v2.bin" "$tmp/got.bin" || fail "espota after the fallback: image differs"
expect_rc 0 "$aloft" upload --json "127.0.0.1:$port" "$tmp/v2.bin"
python3 - "$tmp/out" <<'EOF' || fail "--json after a fallback"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] and o["protocol"] == "espota" and o["fallback"] is True and o["error"] is None, o
assert "wire_bytes" not in o, o
EOF

# --- forced native: refused, with what to do
expect_rc 1 "$aloft" upload --protocol native "127.0.0.1:$port" "$tmp/v2.bin"
contains "$tmp/err" "aloft: upload failed: nothing listens on TCP port $port"
contains "$tmp/err" "the device runs no aloft native server (try --protocol espota) or the port is wrong"
expect_rc 1 "$aloft" info "127.0.0.1:$port"
contains "$tmp/err" "info failed: nothing listens on TCP port $port"
contains "$tmp/err" "try --protocol espota"

# --- forced espota: no native attempt, no fallback note
expect_rc 0 "$aloft" upload --protocol espota "127.0.0.1:$port" "$tmp/v2.bin"
lacks "$tmp/out" "falling back"

# --- a TCP service on the same port that says nothing: no HELLO, fallback
# (the fake device leaves the TCP port of its number to the test's service)
start_fake --flavour esp32-legacy --no-tcp-hold
start_fake_native silent "$port"
expect_rc 0 "$aloft" upload "127.0.0.1:$port" "$tmp/v2.bin"
contains "$tmp/out" "no HELLO from the device; falling back to espota (ArduinoOTA)"
cmp -s "$tmp/v2.bin" "$tmp/got.bin" || fail "espota after no HELLO: image differs"
expect_rc 1 "$aloft" info --timeout 1 "127.0.0.1:$port"
contains "$tmp/err" "info failed: no HELLO from the device"
contains "$tmp/err" "accepted the connection but said nothing within 1 s: it is not an aloft device"
stop_pid "$fake_native_pid"

# --- another service's greeting: not aloft, fallback
start_fake_native garbage "$port"
expect_rc 0 "$aloft" upload "127.0.0.1:$port" "$tmp/v2.bin"
contains "$tmp/out" "the device does not speak the aloft native protocol; falling back to espota"
stop_pid "$fake_native_pid"
stop_fake

# --- another protocol version: an error that says so, not a fallback
start_fake_native version2
expect_rc 1 "$aloft" upload "127.0.0.1:$fake_port" "$tmp/v2.bin"
contains "$tmp/err" "aloft: upload failed: protocol version mismatch"
contains "$tmp/err" "the device speaks aloft native protocol version 2, this aloft speaks version 1"
lacks "$tmp/out" "falling back"
expect_rc 1 "$aloft" info --json "127.0.0.1:$fake_port"
[ "$(json_get "$tmp/out" 'o["error"]["message"]')" = "protocol version mismatch" ] ||
    fail "info --json: version mismatch"

# --- nothing at all on an unused port: both fail, nothing hangs
free=$(free_tcp_port)
expect_rc 1 "$aloft" upload --protocol native "127.0.0.1:$free" "$tmp/v2.bin"
contains "$tmp/err" "nothing listens on TCP port $free"

echo "ok: native fallback ($((SECONDS - start)) s)"
