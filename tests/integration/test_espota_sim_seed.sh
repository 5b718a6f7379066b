#!/usr/bin/env bash
# tests/integration/test_espota_sim_seed.sh — the field failure aloft was
# started for (protocol.md §12 #3, #4, #10; OpenMQTTGateway #1292): a
# gateway whose BLE scan starves the radio and whose MQTT client blocks the
# loop while reconnecting, with ArduinoOTA's 1 s idle timeout.
#
# Two simulated devices with the same load run side by side:
#   without quiesce  the app keeps scanning during the upload: every upload
#                    fails (the device gives up after 1 s of silence);
#   with quiesce     (aloft's default) the app is paused once the upload is
#                    accepted: 20 uploads in a row succeed, each a real
#                    upload, reboot into the new image and confirmation.
#
# Load: a BLE scan holds the loop 1100 ms every 1400 ms (0.3 s gaps) and an
# MQTT reconnect blocks it 1200 ms every 3000 ms; flash at ESP32 speed. An
# upload's data phase (100 KiB: two 64 KiB block erases and 400 page
# programs, about 0.5 s) cannot fit in a 0.3 s gap, so without quiesce a
# stall always lands in it: the failure is deterministic, not a matter of
# luck. (With a scan longer than its period, e.g. 1500 ms every 700 ms, the
# loop would be stalled back to back: just as deterministic, but each of the
# 20 quiesced cycles would then wait ~4.5 s for the loop, over a minute.)
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"
# Under the valgrind wrappers the host itself can fall silent for more than
# the device's 1 s idle timeout, failing quiesced uploads too.
if wrapped; then skip "a 1 s idle timeout race under the valgrind wrappers"; fi

start=$SECONDS
attempts=5 rounds=20
load=(--ble-every 1400 --ble-stall 1100 --mqtt-every 3000 --mqtt-block 1200
      --espota-idle-timeout 1000 --flash-timing esp32 --confirm-after 0)
make_image v1 1.0.0 100K
make_image a 2.0.0 100K 1
make_image b 2.1.0 100K 2

new_device "$tmp/nq.flash" "$tmp/v1.bin"
new_device "$tmp/q.flash" "$tmp/v1.bin"
start_sim "$tmp/nq.flash" "$tmp/nq.log" "${load[@]}" --no-quiesce
nq_port=$sim_port nq_pid=$sim_pid
start_sim "$tmp/q.flash" "$tmp/q.log" "${load[@]}"
q_port=$sim_port q_pid=$sim_pid

# --- without quiesce, in the background: $attempts uploads, each must fail.
# The first scan starts 1.4 s after boot: start once it has ended (the
# simulator logs each stall), so that no attempt gets the free start-up
# window.
without_quiesce() {
    local i rc up failed=0 boots_seen
    trap '[ -n "${up:-}" ] && kill "$up" 2>/dev/null; exit 1' TERM
    wait_for "$tmp/nq.log" "app tasks held the loop" 60 || { echo 0 >"$tmp/nq.failed"; exit 1; }
    for ((i = 1; i <= attempts; i++)); do
        boots_seen=$(boots "$tmp/nq.log")
        "$aloft" upload --protocol espota --timeout 5 "127.0.0.1:$nq_port" "$tmp/a.bin" \
            >"$tmp/nq$i.out" 2>"$tmp/nq$i.err" &
        up=$!
        rc=0
        wait "$up" || rc=$?
        up=
        if [ "$rc" = 1 ]; then
            failed=$((failed + 1))
        elif [ "$rc" = 0 ]; then   # let it reboot before the next try
            wait_for "$tmp/nq.log" "aloft-sim: boot #" 60 $((boots_seen + 1)) || true
            wait_for "$tmp/nq.log" "confirmed (VALID)" 60 $((boots_seen)) || true
        fi
    done
    echo "$failed" >"$tmp/nq.failed"
}
without_quiesce &
nq_job=$!

# --- with quiesce: $rounds uploads in a row, alternating 2.0.0 and 2.1.0
t0=$(now_ms)
for ((i = 1; i <= rounds; i++)); do
    if ((i % 2)); then img=a version=2.0.0 slot="app1 @0x150000"; else img=b version=2.1.0 slot="app0 @0x010000"; fi
    confirmed=$(grep -c "confirmed (VALID)" "$tmp/q.log" || true)
    sim_log="$tmp/q.log"
    expect_rc 0 "$aloft" upload --protocol espota "127.0.0.1:$q_port" "$tmp/$img.bin"
    contains "$tmp/out" "the device confirmed the update"
    wait_reboot "$tmp/q.log" $((i + 1)) "$version"
    grep "aloft-sim: running" "$tmp/q.log" | tail -1 | grep -qF "running $slot" ||
        fail "round $i: not running from $slot"
    wait_for "$tmp/q.log" "confirmed (VALID)" 60 $((confirmed + 1)) || fail "round $i: not confirmed"
done
q_ms=$(( $(now_ms) - t0 ))

# --- collect the background run
rc=0
wait "$nq_job" || rc=$?
[ "$rc" = 0 ] && [ -s "$tmp/nq.failed" ] || fail "the run without quiesce did not finish ($rc)"
failed=$(cat "$tmp/nq.failed")
for ((i = 1; i <= attempts; i++)); do
    if grep -q "upload failed" "$tmp/nq$i.err"; then
        # the device's own words: its 1 s idle timeout ended the upload
        grep -q 'device said: "ERR: peer went silent' "$tmp/nq$i.err" ||
            { cat "$tmp/nq$i.err" >&2; fail "attempt $i without quiesce failed for another reason"; }
    fi
done
stop_pid "$nq_pid"
stop_pid "$q_pid"
[ "$(boots "$tmp/nq.log")" = 1 ] || fail "a device without quiesce rebooted (an upload got through)"
[ "$failed" = "$attempts" ] || fail "without quiesce only $failed/$attempts uploads failed"

echo "seed: without quiesce $failed/$attempts failed; with quiesce $rounds/$rounds ok" \
     "($(( q_ms / rounds )) ms per upload+reboot)"
echo "ok: espota sim seed ($((SECONDS - start)) s)"
