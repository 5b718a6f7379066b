#!/usr/bin/env bash
# tests/integration/test_esp_delta.sh — delta patches on the ESP-IDF
# component (CONFIG_ALOFT_DELTA) over the IDF fakes: the firmware
# advertises cap delta, `aloft upload --base` sends a patch of the running
# image, the device rebuilds the new image from its running slot (read
# through the component's esp_partition flash port), restarts into it and
# confirms it; a patch of a base it does not run goes as the full image;
# espota still sends full images; with cfg.delta off there is no cap delta
# and the full image goes.
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"
start=$SECONDS

# Same filler seed: small patches.
make_image v1 1.0.0 600000 1
make_image v2 2.0.0 620000 1
make_image v3 3.0.0 630000 1
make_image v4 4.0.0 640000 1
make_image v5 5.0.0 650000 1
esp_init "$tmp/dev.flash" "$tmp/v1.bin"
start_esp "$tmp/dev.flash" "$tmp/dev.log" --password pw
dev=127.0.0.1:$esp_port

# --- a patch of the running image
expect_rc 0 "$aloft" upload --auth pw --base "$tmp/v1.bin" "$dev" "$tmp/v2.bin"
contains "$tmp/out" "device esp-fake: ESP32, aloft native v1 (auth, deflate, resume, delta)"
contains "$tmp/out" "made a delta patch from $tmp/v1.bin: "
contains "$tmp/out" "delta patch); the device activated app1 (2.0.0) and restarts now"
lacks "$tmp/out" "sending the full image"
wire=$(sed -n 's/.*, \([0-9 ]*\) bytes on the wire.*/\1/p' "$tmp/out" | tr -d ' ')
[ -n "$wire" ] && [ "$wire" -lt 100000 ] || fail "a patch upload put '$wire' bytes on the wire"
wait_esp_boot "$tmp/dev.log" 2 2.0.0
in_order "$tmp/dev.log" "hook: paused" "event: START native 0/620000 (hook paused)" \
    "event: PROGRESS native 620000/620000" "hook: resumed" "event: END native 620000/620000" \
    "esp_restart()" "boot #2: running app1 espota-sim 2.0.0, state PENDING_VERIFY" \
    "confirm: confirmed (VALID)"
lacks "$tmp/dev.log" "event: ERROR"
# What the new slot holds is v2, byte for byte.
cmp <(dd if="$tmp/dev.flash" bs=4096 skip=$(((APP0 + SLOT_LEN) / 4096)) status=none |
      head -c "$(stat -c %s "$tmp/v2.bin")") "$tmp/v2.bin" || fail "app1 is not v2"

# --- from app1 back to app0: the base is read from the other slot now
expect_rc 0 "$aloft" upload --auth pw --base "$tmp/v2.bin" "$dev" "$tmp/v3.bin"
contains "$tmp/out" "delta patch); the device activated app0 (3.0.0) and restarts now"
wait_esp_boot "$tmp/dev.log" 3 3.0.0

# --- a base the device does not run: the full image, and why
expect_rc 0 "$aloft" upload --auth pw --base "$tmp/v1.bin" "$dev" "$tmp/v4.bin"
contains "$tmp/out" "sending the full image: the device runs another image than the patch's base"
wait_esp_boot "$tmp/dev.log" 4 4.0.0

# --- espota sends the full image to the same firmware
expect_rc 0 "$aloft" upload --protocol espota --auth pw "$dev" "$tmp/v5.bin"
wait_esp_boot "$tmp/dev.log" 5 5.0.0
in_order "$tmp/dev.log" "boot #4: running" "event: START espota" "event: END espota 650000/650000" \
    "boot #5: running app0 espota-sim 5.0.0"
stop_esp

# --- delta off (cfg.delta false): no cap delta, the full image goes
start_esp "$tmp/dev.flash" "$tmp/dev2.log" --password pw --no-delta
expect_rc 0 "$aloft" upload --auth pw --base "$tmp/v5.bin" "127.0.0.1:$esp_port" "$tmp/v1.bin"
contains "$tmp/out" "aloft native v1 (auth, deflate, resume)"
contains "$tmp/out" "sending the full image: the device takes no patches (no cap delta)"
wait_esp_boot "$tmp/dev2.log" 2 1.0.0
stop_esp

echo "ok: delta patches on the ESP-IDF component ($((SECONDS - start)) s)"
