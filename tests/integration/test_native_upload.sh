#!/usr/bin/env bash
# tests/integration/test_native_upload.sh — `aloft upload` over the aloft
# native protocol against aloft-sim: the default (auto) picks native, logs
# in mutually, deflates, and the device reboots into the new version;
# --no-compress sends raw (more bytes on the wire than in the image);
# --json has the espota shape plus the native fields; --no-reboot activates
# without restarting; a filesystem image lands in the data partition; an
# open device (no password) gets a warning, and so does a password it does
# not need; `aloft info` (human and --json) describes the device; refusals
# (too large, another chip) carry the device's numbers and are not retried.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

make_image v1 1.0.0 700000 1
make_image v2 2.0.0 720000 2
make_image v3 3.0.0 710000 3
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password s3cret --confirm-after 0.5
dev="127.0.0.1:$sim_port"

# --- compressed (the default when the device inflates)
expect_rc 0 "$aloft" upload --auth s3cret "$dev" "$tmp/v2.bin"
contains "$tmp/out" "device aloft-sim: ESP32, aloft native v1 (auth, deflate, resume, delta)"
contains "$tmp/out" "logged in (the device proved it knows the password too)"
contains "$tmp/out" "upload 100%"
contains "$tmp/out" "bytes on the wire"
contains "$tmp/out" "deflate); the device activated app1 (2.0.0) and restarts now"
lacks "$tmp/out" "falling back"
[ ! -s "$tmp/err" ] || { cat "$tmp/err" >&2; fail "warnings on a clean upload"; }
wait_reboot "$sim_log" 2 2.0.0
wait_for "$sim_log" "confirmed (VALID)" 60 1 || fail "2.0.0 not confirmed"
echo "native deflate: $(grep '^done:' "$tmp/out")"

# --- raw, --json: one object, the espota fields plus the native ones
expect_rc 0 "$aloft" upload --json --no-compress --auth s3cret "$dev" "$tmp/v3.bin"
python3 - "$tmp/out" "$tmp/v3.bin" "$dev" <<'EOF' || fail "--json fields"
import json, os, sys
o = json.load(open(sys.argv[1]))
size = os.path.getsize(sys.argv[2])
assert o["ok"] is True and o["protocol"] == "native" and o["fallback"] is False, o
assert o["device"] == sys.argv[3] and o["file"] == sys.argv[2], o
assert o["bytes"] == size and o["resumed_from"] == 0 and o["reconnects"] == 0, o
assert o["compressed"] is False and o["wire_bytes"] > size, o   # raw plus headers and MACs
assert o["wire_bytes"] < size * 1.02, o
assert o["auth"] == "scram-sha256" and o["error"] is None, o
assert o["slot"] == "app0" and o["new_version"] == "3.0.0" and o["reboot"] is True, o
assert o["seconds"] >= 0 and o["rate_kib_s"] >= 0, o
print("native raw: %d image bytes, %d bytes on the wire" % (o["bytes"], o["wire_bytes"]))
EOF
wait_reboot "$sim_log" 3 3.0.0
wait_for "$sim_log" "confirmed (VALID)" 60 2 || fail "3.0.0 not confirmed"

# --- aloft info: what the HELLO says
expect_rc 0 "$aloft" info "$dev"
contains "$tmp/out" "device      aloft-sim at $dev"
contains "$tmp/out" "chip        ESP32, 4 194 304 bytes of flash"
contains "$tmp/out" "protocol    aloft native v1; capabilities: auth, deflate, resume, delta"
contains "$tmp/out" "password required (PBKDF2-HMAC-SHA256, 10000 iterations); not checked"
contains "$tmp/out" "inflates zlib windows up to 4096 bytes (2^12)"
grep -E '^  \* app0 .* VALID .* espota-sim 3\.0\.0, .*\(running\)$' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "info: app0 is not shown running 3.0.0"; }
grep -E '^    app1 .* espota-sim 2\.0\.0, ' "$tmp/out" >/dev/null || fail "info: app1 is not 2.0.0"
contains "$tmp/out" "resumable   none"
expect_rc 0 "$aloft" info --json --auth s3cret "$dev"
python3 - "$tmp/out" <<'EOF' || fail "info --json"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] and o["name"] == "aloft-sim" and o["chip"] == "ESP32", o
assert o["protocol_version"] == 1 and o["auth_required"] and o["authenticated"], o
assert o["caps"] == {"auth": True, "deflate": True, "signed": False, "resume": True}, o
assert o["window"] > 0 and o["max_payload"] <= 4096 and o["inflate_window_bits"] == 12, o
run = o["slots"][o["running_slot"]]
assert run["label"] == "app0" and run["running"] and run["state_name"] == "VALID", o
assert run["image"]["version"] == "3.0.0" and len(run["image"]["elf_sha256"]) == 64, o
assert o["resume"] is None and o["error"] is None, o
EOF

# --- --no-reboot: activated, running on until the next restart
boots_before=$(boots "$sim_log")
expect_rc 0 "$aloft" upload --no-reboot --auth s3cret "$dev" "$tmp/v2.bin"
contains "$tmp/out" "the device activated app1 (2.0.0); it runs it after its next restart"
no_reboot "$sim_log" "$boots_before"   # --no-reboot: no restart
stop_sim
"$sim_bin" --flash "$tmp/dev.flash" --run-for 0 >"$tmp/boot.log" 2>&1
grep "aloft-sim: running" "$tmp/boot.log" | grep -qF "espota-sim 2.0.0 (ESP32" ||
    { cat "$tmp/boot.log" >&2; fail "the next boot after --no-reboot is not 2.0.0"; }

# --- an open device: warned, still MACed; a needless password is warned too.
# (2.0.0 was never confirmed: this boot rolls back to 3.0.0.)
start_sim "$tmp/dev.flash" "$tmp/open.log" --confirm-after 0.5
dev="127.0.0.1:$sim_port"
contains "$sim_log" "rolled back"
[ "$(running_version "$sim_log")" = 3.0.0 ] || fail "no rollback to 3.0.0"
head -c 60000 /dev/urandom >"$tmp/fs.bin"
expect_rc 0 "$aloft" upload --fs "$dev" "$tmp/fs.bin"
contains "$tmp/err" "warning: the device has no password: anyone on its network can update"
lacks "$tmp/out" "logged in"
contains "$tmp/out" "sending uncompressed: the image does not compress"
contains "$tmp/out" "uncompressed); the device wrote the filesystem image"
echo "native fs: $(grep '^done:' "$tmp/out")"
cmp -s <(fs_bytes "$tmp/dev.flash" 60000) "$tmp/fs.bin" ||
    fail "the filesystem partition does not hold the uploaded image"
# app1's 2.0.0 was rolled back (ABORTED): a free slot, where it was staged.
contains "$sim_log" "filesystem image for spiffs staged in app1"
contains "$tmp/out" "filesystem: staged in a fs_stage partition or the free slot app1"
boots_before=$(boots "$sim_log")
expect_rc 0 "$aloft" upload --json --auth needless "$dev" "$tmp/v2.bin"
contains "$tmp/err" "warning: --auth was given but the device has no password"
[ "$(json_get "$tmp/out" 'o["auth"]')" = none ] || fail "open device: auth is not none"
wait_reboot "$sim_log" $((boots_before + 1)) 2.0.0
expect_rc 0 "$aloft" info "$dev"
contains "$tmp/out" "login       none: anyone on the device's network can update it"

# --- refusals: explained with the device's numbers, nothing retried
"$aloft" image make --chip esp32 --project espota-sim --version 9.0.0 --size 1400000 \
    -o "$tmp/big.bin" >/dev/null || fail "image make big"
"$aloft" image make --chip esp32s3 --project espota-sim --version 9.0.0 --size 300000 \
    -o "$tmp/s3.bin" >/dev/null || fail "image make s3"
wait_for "$sim_log" "confirmed (VALID)" 60 1 || fail "2.0.0 not confirmed"
# app0 holds 3.0.0, the rollback image: in place, and the CLI says so.
expect_rc 0 "$aloft" upload --fs "$dev" "$tmp/fs.bin"
contains "$tmp/err" "warning: the inactive slot app0 holds espota-sim 3.0.0 (the rollback image)"
contains "$sim_log" "writing spiffs in place: nowhere to stage it"
expect_rc 1 "$aloft" upload "$dev" "$tmp/big.bin"
contains "$tmp/err" "aloft: upload failed: image is larger than the slot"
contains "$tmp/err" "hint: image is 1 400 000 bytes, slot app0 holds 1 310 720; choose the min_spiffs"
expect_rc 1 "$aloft" upload --json "$dev" "$tmp/s3.bin"
contains "$tmp/err" "aloft: upload failed: image is for another chip"
contains "$tmp/err" "image is built for ESP32-S3 but the device is ESP32"
lacks "$tmp/err" "reconnecting"
[ "$(json_get "$tmp/out" 'o["error"]["code"]')" = -30 ] || fail "--json wrong chip code"
[ "$(running_version "$sim_log")" = 2.0.0 ] || fail "a refused upload changed what runs"

echo "ok: native upload ($((SECONDS - start)) s)"
