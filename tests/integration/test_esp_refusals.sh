#!/usr/bin/env bash
# tests/integration/test_esp_refusals.sh — what the component refuses, and
# that a refusal touches nothing: a wrong password (native and espota)
# pauses nothing and leaves every flash byte as it was; an image larger than
# the slot is refused before any erase (an ERROR event with the numbers, no
# START, no pause); aloft_start refuses an open device unless allowed, a
# signing key or verifier that does not parse (with the reason); with a
# signing key from the config, an unsigned image is refused before any
# erase and a signed one boots.
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 320000 2
make_image huge 9.0.0 1400000 9
esp_init "$tmp/dev.flash" "$tmp/v1.bin"
start_esp "$tmp/dev.flash" "$tmp/dev.log" --password s3cret
dev="127.0.0.1:$esp_port"
sum=$(sha256sum <"$tmp/dev.flash")

# --- wrong password: native, then espota
expect_rc 1 "$aloft" upload --protocol native --auth wrong "$dev" "$tmp/v2.bin"
contains "$tmp/err" "authentication failed"
expect_rc 1 "$aloft" upload --protocol espota --auth wrong --host-ip 127.0.0.1 --tries 2 \
    "$dev" "$tmp/v2.bin"
lacks "$tmp/dev.log" "hook: paused"
lacks "$tmp/dev.log" "event:"
[ "$(sha256sum <"$tmp/dev.flash")" = "$sum" ] || fail "a wrong password changed the flash"

# --- too large for the 1280 KiB slot: refused before any erase
expect_rc 1 "$aloft" upload --protocol native --auth s3cret "$dev" "$tmp/huge.bin"
contains "$tmp/err" "image is 1 400 000 bytes, slot app1 holds 1 310 720"
wait_for "$tmp/dev.log" "event: ERROR native -61" 30 || { cat "$tmp/dev.log" >&2; fail "no ERROR event"; }
contains "$tmp/dev.log" "image is 1 400 000 bytes, slot app1 holds 1 310 720"
lacks "$tmp/dev.log" "hook: paused"
lacks "$tmp/dev.log" "event: START"
[ "$(sha256sum <"$tmp/dev.flash")" = "$sum" ] || fail "a refused image changed the flash"
stop_esp
contains "$tmp/dev.log" "flash: 0 erases (0 KiB), 0 writes"

# --- aloft_start refusals, each with its reason
expect_rc 1 "$esp_dev" --flash "$tmp/dev.flash" --port 3400
contains "$tmp/out" "aloft_start: invalid argument"
contains "$tmp/out" "without a password"
expect_rc 1 "$esp_dev" --flash "$tmp/dev.flash" --port 3400 --password p --signing-keys "MFkwEwYHKoZIzj0C"
contains "$tmp/out" "signing key 1 is not a P-256 public key"
expect_rc 1 "$esp_dev" --flash "$tmp/dev.flash" --port 3400 --no-espota --verifier "10000:00:11:22"
contains "$tmp/out" "the native verifier is not ITERATIONS:SALT:STORED_KEY:SERVER_KEY"
[ "$(sha256sum <"$tmp/dev.flash")" = "$sum" ] || fail "a refused start changed the flash"

# --- a verifier instead of the password (made here as aloft_native_derive does)
verifier=$(python3 -c '
import hashlib, hmac, os
salt = os.urandom(16)
salted = hashlib.pbkdf2_hmac("sha256", b"vpass", salt, 1000, 32)
client = hmac.new(salted, b"Client Key", "sha256").digest()
server = hmac.new(salted, b"Server Key", "sha256").digest()
print("1000:%s:%s:%s" % (salt.hex(), hashlib.sha256(client).hexdigest(), server.hex()))')
start_esp "$tmp/dev.flash" "$tmp/devv.log" --no-espota --verifier "$verifier"
expect_rc 1 "$aloft" upload --auth s3cret "127.0.0.1:$esp_port" "$tmp/v1.bin"
contains "$tmp/err" "authentication failed"
expect_rc 1 "$aloft" info --auth wrong "127.0.0.1:$esp_port"
expect_rc 0 "$aloft" info --auth vpass "127.0.0.1:$esp_port"
contains "$tmp/out" "1000 iterations"
stop_esp
[ "$(sha256sum <"$tmp/dev.flash")" = "$sum" ] || fail "a login changed the flash"

# --- signed images only: the key as Kconfig holds it (base64 lines joined)
( cd "$tmp" && "$aloft" keygen k1 >/dev/null ) || fail "keygen"
key=$(grep -v -- ----- "$tmp/k1.pub" | tr -d '\n')
expect_rc 0 "$aloft" sign --key "$tmp/k1.key" -o "$tmp/v2.signed" "$tmp/v2.bin"
start_esp "$tmp/dev.flash" "$tmp/dev2.log" --password s3cret --signing-keys "$key"
expect_rc 1 "$aloft" upload --auth s3cret "127.0.0.1:$esp_port" "$tmp/v2.bin"
wait_for "$tmp/dev2.log" "event: ERROR native -69" 30 || { cat "$tmp/dev2.log" >&2; fail "unsigned accepted"; }
lacks "$tmp/dev2.log" "hook: paused"
[ "$(sha256sum <"$tmp/dev.flash")" = "$sum" ] || fail "an unsigned image changed the flash"
expect_rc 0 "$aloft" upload --auth s3cret "127.0.0.1:$esp_port" "$tmp/v2.signed"
wait_esp_boot "$tmp/dev2.log" 2 2.0.0
stop_esp
echo "esp refusals: ok"
