#!/usr/bin/env bash
# tests/integration/test_esp_watchdog.sh — the task watchdog during a long
# update on flash as slow as an ESP32's (W25Q32 erase and program times):
# aloft's task subscribes, and between its resets (every loop turn, and
# after every erase) no gap comes near the 5 s that would fire IDF's task
# watchdog (CONFIG_ESP_TASK_WDT_TIMEOUT_S) nor a quarter of the upload
# (which takes about that long); more resets than erases (every turn and
# every erase), and while idle one every turn.
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 1300000 2
esp_init "$tmp/dev.flash" "$tmp/v1.bin"
start_esp "$tmp/dev.flash" "$tmp/dev.log" --password s3cret --flash-timing esp32
t0=$(now_ms)
expect_rc 0 "$aloft" upload --no-compress --auth s3cret "127.0.0.1:$esp_port" "$tmp/v2.bin"
took=$(( $(now_ms) - t0 ))
wait_esp_boot "$tmp/dev.log" 2 2.0.0
# the counters of boot #1, printed at its esp_restart()
line=$(grep -A2 "esp_restart()" "$tmp/dev.log")
resets=$(sed -n 's/^wdt: \([0-9]*\) resets.*/\1/p' <<<"$line")
gap=$(sed -n 's/.*longest gap \([0-9]*\) ms, \([0-9]*\) subscribed/\1/p' <<<"$line")
subscribed=$(sed -n 's/.*ms, \([0-9]*\) subscribed/\1/p' <<<"$line")
erases=$(sed -n 's/^flash: \([0-9]*\) erases.*/\1/p' <<<"$line")
[ -n "$resets" ] && [ -n "$erases" ] || { echo "$line" >&2; fail "no counters at the restart"; }
echo "upload $took ms: $erases erases, $resets watchdog resets, longest gap $gap ms"
[ "$subscribed" = 1 ] || fail "aloft's task is not subscribed to the watchdog"
[ "$gap" -lt $((took / 4)) ] || fail "a $gap ms gap in a $took ms upload: not fed along the way"
[ "$resets" -gt "$erases" ] || fail "$resets resets for $erases erases: not every turn"
[ "$gap" -lt 5000 ] || fail "the watchdog would have fired: $gap ms without a reset"

# idle (boot #2, after its confirm): every turn resets it, 20 ms apart
expect_rc 0 "$aloft" info "127.0.0.1:$esp_port"   # a few turns of serving
stop_esp
line=$(grep -A2 "^stopped$" "$tmp/dev.log")
gap=$(sed -n 's/.*longest gap \([0-9]*\) ms.*/\1/p' <<<"$line")
resets=$(sed -n 's/^wdt: \([0-9]*\) resets.*/\1/p' <<<"$line")
echo "idle: $resets watchdog resets, longest gap $gap ms"
[ -n "$gap" ] || { cat "$tmp/dev.log" >&2; fail "no counters at the stop"; }
[ "$resets" -ge 3 ] && [ "$gap" -lt 1000 ] || fail "idle: $resets resets, $gap ms gap"
