#!/usr/bin/env bash
# tests/integration/test_espota_sim_too_large.sh — an image bigger than the
# slot (1 433 600 > 1 310 720 bytes, `aloft image make --size 1400K`) is
# refused in the reply to the invitation (or to the login), with the
# numbers and the partition-scheme hint, before the device touches its
# flash: the simulator's exit line must count 0 erases and 0 programs for
# the whole run. The same for a filesystem image bigger than spiffs.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
make_image v1 1.0.0 150000
make_image big 3.0.0 1400K 3
[ "$(stat -c %s "$tmp/big.bin")" -gt 1310720 ] || fail "the big image is not bigger than the slot"
head -c 1500000 /dev/urandom >"$tmp/bigfs.bin"     # spiffs (default scheme) holds 1 441 792
flash="$tmp/dev.flash"
new_device "$flash" "$tmp/v1.bin"
before=$(sha256sum <"$flash")

check_app_refusal() {   # output file
    contains "$1" "image is larger than the slot"
    contains "$1" "image is 1 433 600 bytes"
    contains "$1" "holds 1 310 720"
    contains "$1" "min_spiffs partition scheme (1 966 080 bytes per slot)"
    contains "$1" "ERR: too large 1433600>1310720"
}

# --- no password: the refusal answers the invitation
start_sim "$flash" "$tmp/a.log" --confirm-after 0
expect_rc 1 "$aloft" upload --protocol espota "127.0.0.1:$sim_port" "$tmp/big.bin"
check_app_refusal "$tmp/err"
contains "$tmp/err" "device said: \"ERR: too large 1433600>1310720\""
lacks "$tmp/out" "device connected"
expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$sim_port" -f "$tmp/big.bin"
check_app_refusal "$tmp/err"
lacks "$tmp/err" "Uploading"
expect_rc 1 "$aloft" upload --protocol espota --fs "127.0.0.1:$sim_port" "$tmp/bigfs.bin"
contains "$tmp/err" "image is 1 500 000 bytes"
contains "$tmp/err" "holds 1 441 792"
contains "$tmp/err" "ERR: too large 1500000>1441792"
stop_sim
[ "$(flash_ops "$tmp/a.log")" = "0 0" ] ||
    fail "refusals without a password touched the flash: $(grep 'flash operations' "$tmp/a.log")"
contains "$tmp/a.log" "flash operations this run: 0 erases (0 KiB), 0 programs (0 KiB)"

# --- PBKDF2 password: the refusal answers the login
start_sim "$flash" "$tmp/b.log" --confirm-after 0 --password big-secret
expect_rc 1 "$aloft" upload --protocol espota --auth big-secret --json "127.0.0.1:$sim_port" "$tmp/big.bin"
python3 - "$tmp/out" <<'EOF' || fail "--json for a refusal"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is False and o["error"]["code"] == -61, o     # ALOFT_ERR_TOO_LARGE
assert "1 433 600" in o["error"]["hint"] and "1 310 720" in o["error"]["hint"], o
EOF
expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$sim_port" -a big-secret -f "$tmp/big.bin"
contains "$tmp/err" "Authenticating (PBKDF2-HMAC-SHA256)...OK"
check_app_refusal "$tmp/err"
stop_sim
[ "$(flash_ops "$tmp/b.log")" = "0 0" ] ||
    fail "refusals after a login touched the flash: $(grep 'flash operations' "$tmp/b.log")"

[ "$(sha256sum <"$flash")" = "$before" ] || fail "the flash file changed"
echo "too large: app 1 433 600 > 1 310 720 and fs 1 500 000 > 1 441 792 refused; 0 erases, 0 programs"
echo "ok: espota sim too large ($((SECONDS - start)) s)"
