#!/usr/bin/env bash
# tests/integration/test_fleet_restart.sh — the rollout state lives in
# SQLite: a controller killed with SIGKILL in the middle of a wave and
# started again ('aloft fleet run') finishes the rollout with every device
# commanded exactly once (the devices' record and mosquitto's log agree),
# taking the confirmations that came while it was down from the retained
# progress. Then pause, resume and abort from another process while a
# controller runs: nothing is sent while paused, the devices in flight are
# still followed, and after the abort no further device is commanded.
set -euo pipefail
source "$(dirname "$0")/fleet_lib.sh"

start_broker $(names dev 10 | tr , " ")
start_lighttpd
for v in 2.0.0 3.0.0; do
    "$aloft" image make --chip esp32 --project gateway --version $v --size 32K --seed ${v%%.*} \
        -o "$tmp/v$v.bin" >/dev/null
done
expect_rc 0 fleet release "$tmp/v2.0.0.bin" --url "$base_url" --dir "$tmp/www" --no-patches
# Every device but the canary (dev01) waits at the gate, so wave 2 is
# still in flight whenever the kill comes, however slow the machine.
names dev 10 | tr , '\n' | grep -v '^dev01$' >"$tmp/hold"
start_devices "$tmp/devices.log" --names "$(names dev 10)" --hold "$tmp/hold"

# --- kill -9 during wave 2 (dev02..dev05 in flight), then run again
spawn_fleet rollout --project gateway --canary 1 --waves 50,100 --timeout 30 >>"$tmp/ctl.log" 2>&1
ctl=$spawned
wait_until 60 has_lines "$tmp/record" "r1-" 2 || fail "wave 2 was not commanded"
kill -9 "$ctl"
wait "$ctl" 2>/dev/null || true
sent_before=$(grep -c "r1-" "$tmp/record")
[ "$sent_before" -lt 10 ] || fail "the rollout had ended before the kill"
# While no controller runs, the devices commanded finish (the gate opens):
# their outcome waits in the retained progress objects.
rm "$tmp/hold"
confirmed_retained() {
    local d
    for d in $(cut -d' ' -f1 "$tmp/record"); do
        retained "aloft/$d/update" "$tmp/u.json"
        grep -q '"phase": *"confirmed"' "$tmp/u.json" || return 1
    done
}
wait_until 60 confirmed_retained || fail "the devices commanded before the kill did not confirm"
expect_rc 0 fleet status
contains "$tmp/out" "rollout 1: gateway 2.0.0, running"
expect_rc 0 fleet run
contains "$tmp/out" "continuing rollout 1: gateway 2.0.0, 10 devices"
contains "$tmp/out" "rollout 1: gateway 2.0.0, done, wave 3 of 3"
contains "$tmp/out" "devices: 10: 10 confirmed, 0 failed"
for d in $(names dev 10 | tr , ' '); do
    [ "$(commands "$d")" = 1 ] || fail "$d commanded $(commands "$d") times across the restart"
    grep -q "^$d r1-$d-1\$" "$tmp/record" || fail "$d did not get attempt 1's id"
done
# The outcomes that came while it was down counted (no retry, no timeout).
lacks "$tmp/out" "retrying"
# The broker saw exactly 10 commands too.
[ "$(grep -c "Received PUBLISH from aloft-fleet-.*'aloft/dev[0-9]*/cmd'" "$tmp/mosquitto.log")" = 10 ] ||
    fail "mosquitto's log does not show 10 commands"

# --- pause, resume, abort while a controller runs (rollout 2: 3.0.0);
# the canary waits at the gate until the pause has landed
stop_pid "$devices_pid"
echo dev01 >"$tmp/hold"
start_devices "$tmp/devices2.log" --names "$(names dev 10)" --version 2.0.0 --hold "$tmp/hold"
expect_rc 0 fleet release "$tmp/v3.0.0.bin" --url "$base_url" --dir "$tmp/www" --no-patches
spawn_fleet rollout --project gateway --canary 1 --waves 50,100 --timeout 30 >>"$tmp/ctl.log" 2>&1
ctl=$spawned
wait_for "$tmp/record" "r2-dev01-1" 60 || fail "the canary of rollout 2 was not commanded"
expect_rc 0 fleet pause
contains "$tmp/out" "rollout 2: pause requested; the running controller applies it within a second"
wait_until 30 status_is paused || fail "the controller did not pause"
rm "$tmp/hold"
# The canary in flight is still followed; nothing else is sent.
wait_until 30 eval '[ "$(dev_state dev01)" = confirmed ]' || fail "the paused rollout lost the canary"
[ "$(grep -c "r2-" "$tmp/record")" = 1 ] || fail "a command went out while paused"
expect_rc 0 fleet status
contains "$tmp/out" "paused (by the user), wave 1 of 3"
expect_rc 1 fleet run
contains "$tmp/err" "another 'aloft fleet' controller runs"
# wave 2 waits at the gate, so the abort lands before wave 3 can go out
names dev 10 | tr , '\n' | grep -v '^dev01$' >"$tmp/hold"
expect_rc 0 fleet resume
wait_for "$tmp/record" "r2-" 60 5 || fail "wave 2 did not go out after resume"
expect_rc 0 fleet abort
wait "$ctl" && fail "an aborted rollout exited 0" || true
expect_rc 0 fleet status --json
[ "$(json_get "$tmp/out" 'o["state"] + "/" + o["reason"]')" = "aborted/by the user" ] || fail "not aborted by the user"
[ "$(grep -c "r2-" "$tmp/record")" = 5 ] || fail "commands after the abort: $(grep -c r2- "$tmp/record")"
expect_rc 1 fleet resume
contains "$tmp/err" "rollout 2 is aborted: nothing to resume"
echo PASS
