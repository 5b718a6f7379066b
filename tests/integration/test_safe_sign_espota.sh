#!/usr/bin/env bash
# tests/integration/test_safe_sign_espota.sh — signed images over espota
# (`aloft upload --protocol espota`: the whole file, image + signature
# block, is uploaded unchanged) against `aloft-sim --public-key k1.pub
# --public-key k2.pub`, a device running demo 1.0.0 with secure_version 3.
# Refused, each with words that say why: an unsigned image, a changed image
# byte, changed signed metadata, a key the device does not hold, a
# downgrade, an image for the ESP32-S3, another project. espota carries the
# block at the end, so the device checks it once the image is in the
# inactive slot, before activating it: otadata and the running slot are
# untouched, and a restart still runs 1.0.0 from app0. Accepted: an image
# signed with the second key (a rotation); an unprovisioned device takes an
# unsigned image.
set -euo pipefail
source "$(dirname "$0")/safe_lib.sh"
start=$SECONDS

signing_cases

new_device "$tmp/dev.flash" "$tmp/v1.bin"
running_before=$(region "$tmp/dev.flash" $APP0 $SLOT_LEN)
otadata_before=$(region "$tmp/dev.flash" $OTADATA $OTADATA_LEN)
start_sim "$tmp/dev.flash" "$tmp/sim.log" --confirm-after 0 \
    --public-key "$tmp/k1.pub" --public-key "$tmp/k2.pub"
dev="127.0.0.1:$sim_port"
expect_running "$sim_log" "app0 demo 1.0.0 VALID"

# up FILE: a refused espota upload; the running firmware and otadata as before
up() {
    expect_rc 1 "$aloft" upload --protocol espota --timeout 5 "$dev" "$tmp/$1.bin"
    [ "$(region "$tmp/dev.flash" $APP0 $SLOT_LEN)" = "$running_before" ] ||
        fail "$1: the running slot app0 changed"
    [ "$(region "$tmp/dev.flash" $OTADATA $OTADATA_LEN)" = "$otadata_before" ] ||
        fail "$1: otadata changed"
}

up v2
refused "upload failed: image is not signed" "only accepts signed images" "aloft sign"

up v2-image-changed
refused "signed metadata does not match the image" "sign the exact file"
contains "$tmp/out" "signed file: uploaded as is (image + "

up v2-meta-changed
refused "signature does not verify" "changed after signing"

up v2-k3
refused "signed with an unknown key" "no public key with this key id"

up down-k1
refused "downgrade refused" "secure_version is 2 but the running firmware's is 3"

up s3-k1
refused "image is for another chip" "ESP32-S3"

up other-k1
refused "image is for another project" "runs project demo"
echo "espota: 7 refusals in $((SECONDS - start)) s"
[ "$(boots "$sim_log")" = 1 ] || fail "the device restarted during the refusals"
expect_running "$sim_log" "app0 demo 1.0.0 VALID"
stop_sim

# --- after a restart: still 1.0.0 in app0; the second key (rotation) is accepted
start_sim "$tmp/dev.flash" "$tmp/sim2.log" --confirm-after 0 \
    --public-key "$tmp/k1.pub" --public-key "$tmp/k2.pub"
dev="127.0.0.1:$sim_port"
expect_running "$sim_log" "app0 demo 1.0.0 VALID"
lacks "$sim_log" "rolled back"
expect_rc 0 "$aloft" upload --protocol espota --timeout 5 "$dev" "$tmp/v2-k2.bin"
contains "$tmp/out" "the device confirmed the update"
wait_reboot "$sim_log" 2 2.0.0
expect_running "$sim_log" "app1 demo 2.0.0 PENDING_VERIFY"
# the slot holds the image alone: the block was never written to flash
size=$(( $(stat -c %s "$tmp/v2.bin") ))
[ "$(region "$tmp/dev.flash" $APP1 "$size")" = "$(sha256sum <"$tmp/v2.bin" | cut -c1-64)" ] ||
    fail "app1 does not hold the image"
[ "$(bytes "$tmp/dev.flash" $((APP1 + size)) 4 | od -An -tx1 | tr -d ' ')" = ffffffff ] ||
    fail "something was written after the image in app1"
stop_sim

# --- an unprovisioned device takes an unsigned image over espota
new_device "$tmp/open.flash" "$tmp/v1.bin"
start_sim "$tmp/open.flash" "$tmp/sim3.log" --confirm-after 0
dev="127.0.0.1:$sim_port"
expect_rc 0 "$aloft" upload --protocol espota --timeout 5 "$dev" "$tmp/v2.bin"
wait_reboot "$sim_log" 2 2.0.0
stop_sim
echo "test_safe_sign_espota: ok ($((SECONDS - start)) s)"
