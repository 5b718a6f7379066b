#!/usr/bin/env bash
# tests/integration/test_safe_sign_native.sh — signed images over the aloft
# native protocol (`aloft upload --protocol native`) against
# `aloft-sim --public-key k1.pub --public-key k2.pub`, a device running
# demo 1.0.0 with secure_version 3. Refused, each with words that say why:
# an unsigned image, a changed image byte, changed signed metadata, a key
# the device does not hold, a downgrade (secure_version 2), an image for
# the ESP32-S3, another project. Every refusal comes before any flash
# operation: the flash file is byte for byte what it was and the
# simulator's exit line counts 0 erases and 0 programs; a restart still
# runs 1.0.0 from app0. Accepted: an image signed with the second key (a
# rotation). An unprovisioned device takes an unsigned image, and the host
# says that it does not check signatures.
set -euo pipefail
source "$(dirname "$0")/safe_lib.sh"
start=$SECONDS

signing_cases

new_device "$tmp/dev.flash" "$tmp/v1.bin"
cp "$tmp/dev.flash" "$tmp/before.flash"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --confirm-after 0 \
    --public-key "$tmp/k1.pub" --public-key "$tmp/k2.pub"
dev="127.0.0.1:$sim_port"
expect_running "$sim_log" "app0 demo 1.0.0 VALID"

# up FILE: a refused native upload of a signed file (the block was sent)
up() {
    expect_rc 1 "$aloft" upload --protocol native "$dev" "$tmp/$1.bin"
    contains "$tmp/out" "signatures: required by the device; this file is signed (key id"
}

# --- every refusal, each before the first erase
expect_rc 1 "$aloft" upload --protocol native "$dev" "$tmp/v2.bin"
refused "upload failed: image is not signed" "only accepts signed images" "aloft sign"
contains "$tmp/out" "signatures: required by the device, but this image is not signed"

up v2-image-changed
refused "signed metadata does not match the image" "SHA-256" "sign the exact file"
contains "$tmp/err" "the signature block does not describe the image"   # the host saw it too

up v2-meta-changed
refused "signature does not verify" "changed after signing"

up v2-k3
refused "signed with an unknown key" "no public key with this key id"

up down-k1
refused "downgrade refused" "secure_version is 2 but the running firmware's is 3"

up s3-k1
refused "image is for another chip" "ESP32-S3" "ESP32"

up other-k1
refused "image is for another project" "runs project demo"
echo "native: 7 refusals in $((SECONDS - start)) s"

stop_sim
ops=$(flash_ops "$sim_log")
[ "$ops" = "0 0" ] || { tail -3 "$sim_log" >&2; fail "refusals touched the flash ($ops erases/programs)"; }
cmp -s "$tmp/before.flash" "$tmp/dev.flash" || fail "the flash file changed"
grep -qF "flash operations this run: 0 erases (0 KiB), 0 programs (0 KiB)" "$sim_log" ||
    fail "no exit line with 0 flash operations"

# --- after a restart: still 1.0.0 in app0; the second key (rotation) is accepted
start_sim "$tmp/dev.flash" "$tmp/sim2.log" --confirm-after 0 \
    --public-key "$tmp/k1.pub" --public-key "$tmp/k2.pub"
dev="127.0.0.1:$sim_port"
expect_running "$sim_log" "app0 demo 1.0.0 VALID"
expect_rc 0 "$aloft" upload --protocol native "$dev" "$tmp/v2-k2.bin"
contains "$tmp/out" "this file is signed (key id"
contains "$tmp/out" "the device activated app1 (2.0.0) and restarts now"
wait_reboot "$sim_log" 2 2.0.0
expect_running "$sim_log" "app1 demo 2.0.0 PENDING_VERIFY"
wait_for "$sim_log" "confirmed (VALID)" 60 || fail "2.0.0 not confirmed"
expect_rc 0 "$aloft" info "$dev"
contains "$tmp/out" "signing     signed images required"
expect_rc 0 "$aloft" info --json "$dev"
[ "$(json_get "$tmp/out" 'o["signed_required"] and o["caps"]["signed"]')" = True ] ||
    fail "info --json: signed images not required"
stop_sim

# --- an unprovisioned device: unsigned accepted, and the host says so
new_device "$tmp/open.flash" "$tmp/v1.bin"
start_sim "$tmp/open.flash" "$tmp/sim3.log" --confirm-after 0
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload --protocol native "$dev" "$tmp/v2.bin"
contains "$tmp/out" "signatures: the device accepts unsigned images"
contains "$tmp/out" "the device activated app1 (2.0.0)"
wait_reboot "$sim_log" 2 2.0.0
wait_for "$sim_log" "confirmed (VALID)" 60 || fail "2.0.0 not confirmed"
expect_rc 0 "$aloft" info "$dev"
contains "$tmp/out" "signing     none: the device accepts unsigned images"
# a signed file there: accepted too, with the note that nobody checks it
expect_rc 0 "$aloft" upload --protocol native --json "$dev" "$tmp/down-k1.bin"
[ "$(json_get "$tmp/out" 'o["ok"] and o["signed"] and o["signatures_required"] is False')" = True ] ||
    fail "--json: signed / signatures_required"
wait_reboot "$sim_log" 3 2.0.0
wait_for "$sim_log" "confirmed (VALID)" 60 2 || fail "the signed 2.0.0 not confirmed"
expect_rc 0 "$aloft" upload --protocol native "$dev" "$tmp/v2-k1.bin"
contains "$tmp/out" "the device accepts unsigned images (it has no signing keys): the signature is not checked by that device"
stop_sim
echo "test_safe_sign_native: ok ($((SECONDS - start)) s)"
