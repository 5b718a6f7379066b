#!/usr/bin/env bash
# tests/integration/test_fleet_thresholds.sh — the rules that stop or hold a
# rollout, on a real mosquitto and lighttpd with scripted devices: two
# devices of wave 2 never confirm: each times out, is commanded again
# (a new id) and times out again; the failure threshold (with its minimum
# sample) then aborts the rollout and no device of wave 3 is ever touched.
# A device that rolls back fails the canary: the wave is below --success
# and the controller stops, paused, saying what to do. An offline device
# with --offline queue holds its wave until it comes online, then is
# updated.
set -euo pipefail
source "$(dirname "$0")/fleet_lib.sh"

start_broker $(names dev 10 | tr , " ") $(names lamp 3 | tr , " ") $(names sen 3 | tr , " ")
start_lighttpd
for p in gateway sensor lamp; do
    "$aloft" image make --chip esp32 --project $p --version 2.0.0 --size 32K -o "$tmp/$p.bin" >/dev/null
    expect_rc 0 fleet release "$tmp/$p.bin" --url "$base_url" --dir "$tmp/www"
done

# --- timeouts, retries, the failure threshold: abort after wave 2
start_devices "$tmp/gw.log" --names "$(names dev 10)" --behave dev03=silent --behave dev04=silent
t0=$(now_ms)
expect_rc 1 fleet rollout --project gateway --canary 1 --waves 50,100 --timeout 2 --retries 1 \
    --fail-threshold 20 --fail-min 3 --on-fail abort
contains "$tmp/out" "dev03: sent (wave 2, attempt 2): attempt 1: no confirmation within 2 s; retrying"
contains "$tmp/out" "dev03: failed (wave 2, attempt 2): no confirmation within 2 s (2 attempts)"
contains "$tmp/out" "rollout 1: gateway 2.0.0, aborted (the failure threshold was reached), wave 2 of 3"
for d in dev03 dev04; do
    [ "$(commands $d)" = 2 ] || fail "$d commanded $(commands $d) times, want 2 (one retry)"
    contains "$tmp/record" "$d r1-$d-2"
done
for d in dev01 dev02 dev05; do [ "$(commands $d)" = 1 ] || fail "$d commanded $(commands $d) times"; done
for d in $(seq -f 'dev%02g' 6 10); do
    [ "$(commands "$d")" = 0 ] || fail "$d of wave 3 was touched after the threshold"
done
# two timeouts of 2 s each, not much more
[ $(( $(now_ms) - t0 )) -lt 30000 ] || fail "the timeouts took too long"
expect_rc 1 fleet run
contains "$tmp/err" "rollout 1 has ended (aborted)"

# --- a rollback fails the canary: paused below --success, the controller ends
start_devices "$tmp/lamp.log" --names "$(names lamp 3)" --project lamp --behave lamp01=fail
expect_rc 1 fleet rollout --project lamp --canary 1 --waves 100 --timeout 20
contains "$tmp/out" "lamp01: failed (wave 1, attempt 1): rolled back (code -46)"
contains "$tmp/err" "rollout 2 paused: a wave ended below the success threshold; see 'aloft fleet status"
[ "$(commands lamp02)" = 0 ] || fail "lamp02 was touched after the canary failed"
# A new rollout waits for this one to end.
expect_rc 1 fleet rollout --project sensor
contains "$tmp/err" "rollout 2 (lamp 2.0.0) is paused in"
contains "$tmp/err" "or end it with 'aloft fleet abort' first"
expect_rc 0 fleet abort
contains "$tmp/out" "rollout 2: aborted"

# --- --offline queue: sen02 holds the wave until it comes online
start_devices "$tmp/sensor.log" --names "$(names sen 3)" --project sensor --offline sen02
spawn_fleet rollout --project sensor --canary 0 --waves 100 --offline queue --timeout 20 >"$tmp/ctl.log" 2>&1
ctl=$spawned
wait_until 60 eval '[ "$(dev_state sen03)" = confirmed ] && [ "$(dev_state sen01)" = confirmed ]' ||
    fail "sen01 and sen03 were not updated"
[ "$(dev_state sen02)" = queued ] || fail "the offline sen02 is not queued"
status_is running || fail "the rollout did not wait for sen02"
start_devices "$tmp/sensor2.log" --names sen02 --project sensor
wait "$ctl" || { cat "$tmp/ctl.log"; fail "the queued rollout did not end well"; }
contains "$tmp/ctl.log" "sen02: confirmed (wave 1, attempt 1)"
contains "$tmp/ctl.log" "devices: 3: 3 confirmed, 0 failed"
echo PASS
