#!/usr/bin/env bash
# tests/integration/test_fs_sign.sh — signed filesystem images (`aloft sign
# --fs --chip esp32`, target 1) on `aloft-sim --public-key k1.pub` with its
# web page, a fresh device (app1 free, so images are staged there). Each
# transport once: native (`aloft upload --fs`, the block sent ahead of the
# data), the web API (web_client.py, the block as begin's body) and espota
# (the file as is, the block checked in the staging area and not copied).
# Refused, with spiffs byte-identical: an unsigned image (native and web
# before any erase, espota before the copy), one signed for the ESP32-S3
# (web), a block whose target byte was changed after signing (native). Accepted: the signed images, and
# spiffs then holds exactly the image without its block. After an app
# update (no free slot left) espota is refused -94 before any erase. Also `aloft sign
# --fs` needs --chip, and `aloft verify` / `aloft image info` show target 1.
set -euo pipefail
source "$(dirname "$0")/web_lib.sh"
start=$SECONDS

keys k1
demo_image v1 1.0.0
demo_image v2 2.0.0
sign_image v2 k1 v2-k1
for n in 1 2 3; do head -c 50000 /dev/urandom >"$tmp/fs$n.bin"; done
"$aloft" sign --key "$tmp/k1.key" --fs --chip esp32 -o "$tmp/fs1-k1.bin" "$tmp/fs1.bin" >/dev/null
"$aloft" sign --key "$tmp/k1.key" --fs --chip esp32 -o "$tmp/fs2-k1.bin" "$tmp/fs2.bin" >/dev/null
"$aloft" sign --key "$tmp/k1.key" --fs --chip esp32 -o "$tmp/fs3-k1.bin" "$tmp/fs3.bin" >/dev/null
"$aloft" sign --key "$tmp/k1.key" --fs --chip esp32s3 -o "$tmp/fs1-s3.bin" "$tmp/fs1.bin" >/dev/null
# The CLI: --chip is required with --fs; verify and image info see target 1.
expect_rc 2 "$aloft" sign --key "$tmp/k1.key" --fs -o "$tmp/x.bin" "$tmp/fs1.bin"
contains "$tmp/err" "--fs needs --chip CHIP"
expect_rc 1 "$aloft" sign --key "$tmp/k1.key" -o "$tmp/x.bin" "$tmp/fs1.bin"
contains "$tmp/err" "a filesystem image? sign it with --fs --chip CHIP"
expect_rc 0 "$aloft" verify --key "$tmp/k1.pub" "$tmp/fs1-k1.bin"
contains "$tmp/out" "target          filesystem"
contains "$tmp/out" "image           50000 bytes"
expect_rc 0 "$aloft" image info "$tmp/fs1-s3.bin"
contains "$tmp/out" "type             filesystem image (signed as target 1)"
contains "$tmp/out" "chip             ESP32-S3 (chip id 9)"
expect_rc 0 "$aloft" image info --json "$tmp/fs1-s3.bin"
[ "$(json_get "$tmp/out" 'o["type"], o["chip"], o["image_length"], o["valid"]')" = \
    "('filesystem', 'ESP32-S3', 50000, True)" ] || fail "image info --json: $(cat "$tmp/out")"
python3 -c 'import sys; f = bytearray(open(sys.argv[1], "rb").read()); f[1000] ^= 1
open(sys.argv[2], "wb").write(f)' "$tmp/fs1-k1.bin" "$tmp/fs1-changed.bin"
expect_rc 1 "$aloft" verify --key "$tmp/k1.pub" "$tmp/fs1-changed.bin"
contains "$tmp/err" "the image was changed after signing"

# The block changed after signing (its target byte set to 0, an app's).
python3 - "$tmp/fs1-k1.bin" "$tmp/fs1-app.bin" <<'PY'
import struct, sys
f = bytearray(open(sys.argv[1], "rb").read())
meta = len(f) - struct.unpack_from("<I", f, len(f) - 8)[0] + 8
f[meta + 38] = 0   # target: the signature no longer verifies either way
open(sys.argv[2], "wb").write(f)
PY

new_device "$tmp/dev.flash" "$tmp/v1.bin"
flash=$tmp/dev.flash
start_web_sim "$flash" "$tmp/sim.log" --confirm-after 0 --public-key "$tmp/k1.pub"
dev="127.0.0.1:$sim_port"
app0=$(region "$flash" $APP0 $SLOT_LEN)
spiffs() { region "$flash" $((0x290000)) $((0x20000)); }   # the image and what follows it
live=$(spiffs)
unchanged() { [ "$(spiffs)" = "$live" ] || fail "$1: spiffs changed"; }
holds() {   # holds N: spiffs is fsN.bin, then erased flash where the block would be
    cmp -s <(fs_bytes "$flash" 50224) <(cat "$tmp/fs$1.bin"; head -c 224 /dev/zero | tr '\0' '\377') ||
        fail "spiffs does not hold fs$1.bin alone"
    live=$(spiffs)
}

# --- native
expect_rc 1 "$aloft" upload --auth "$WEB_PASSWORD" --fs "$dev" "$tmp/fs1.bin"
refused "image is not signed" "only accepts signed images"
contains "$tmp/out" "signatures: required by the device, but this image is not signed"
unchanged "native unsigned"
expect_rc 1 "$aloft" upload --auth "$WEB_PASSWORD" --fs "$dev" "$tmp/fs1-app.bin"
refused "signature does not verify"
unchanged "native app block"
expect_rc 0 "$aloft" upload --auth "$WEB_PASSWORD" --fs "$dev" "$tmp/fs1-k1.bin"
contains "$tmp/out" "fs1-k1.bin: filesystem image, 50 000 bytes, signed (key id"
contains "$tmp/out" "this file is signed (key id"
contains "$tmp/out" "the device wrote the filesystem image"
holds 1

# --- web (app1 now holds the staged image: the firmware as it is now)
fw=$(firmware_state "$flash")
web_refused -69 "image is not signed" upload "$tmp/fs2.bin" --fs
unchanged "web unsigned"
web_refused -30 "ESP32-S3" upload "$tmp/fs1-s3.bin" --fs
unchanged "web wrong chip"
web upload "$tmp/fs2-k1.bin" --fs || fail "web signed fs upload: $(cat "$tmp/out")"
contains "$tmp/out" '"done": true, "slot": "spiffs"'
holds 2

# --- espota: the block trails the data, checked in the staging area
expect_rc 1 "$aloft" upload --auth "$WEB_PASSWORD" --protocol espota --fs --timeout 5 "$dev" "$tmp/fs3.bin"
contains "$tmp/err" "image is not signed"
unchanged "espota unsigned"
expect_rc 0 "$aloft" upload --auth "$WEB_PASSWORD" --protocol espota --fs --timeout 5 "$dev" "$tmp/fs3-k1.bin"
holds 3
[ "$(region "$flash" $APP0 $SLOT_LEN)" = "$app0" ] || fail "the running slot app0 changed"

# --- espota with nowhere to stage (app1 then holds 2.0.0, app0 the
# previous firmware): in place the block could only be checked after the
# live filesystem is overwritten, so the invitation is refused (-94).
expect_rc 0 "$aloft" upload --auth "$WEB_PASSWORD" "$dev" "$tmp/v2-k1.bin"
wait_for "$sim_log" "confirmed (VALID)" 60 || fail "2.0.0 not confirmed"
fw=$(firmware_state "$flash")
expect_rc 1 "$aloft" upload --auth "$WEB_PASSWORD" --protocol espota --fs --timeout 5 "$dev" "$tmp/fs1-k1.bin"
contains "$tmp/err" "filesystem image cannot be staged"
unchanged "espota in place"
[ "$(firmware_state "$flash")" = "$fw" ] || fail "espota in place: the firmware changed"
echo "fs signatures: native, web, espota in $((SECONDS - start)) s"
