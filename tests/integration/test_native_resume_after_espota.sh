#!/usr/bin/env bash
# tests/integration/test_native_resume_after_espota.sh — the field report,
# end to end (real ESP32 flash timing so uploads can be cut): a native
# upload of v2 dies a third of the way in, an espota upload of v3 into the
# same slot dies too, then v2 is uploaded natively again. The espota write
# closed v2's resume journal, so the retry starts over (no "resumed") and
# the device boots 2.0.0 (it used to resume over v3's bytes and fail with
# "image checksum mismatch ... the file is damaged").
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 1000000 2
make_image v3 3.0.0 900000 3
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw --flash-timing esp32
dev="127.0.0.1:$sim_port"

# cut CMD...: run an upload and kill -9 it once the device has another 30 %
cut() {
    local before
    before=$(grep -c "updating app1  30%" "$sim_log" || true)
    spawn "$@" >"$tmp/cut.out" 2>&1
    wait_for "$sim_log" "updating app1  30%" 30 $((before + 1)) ||
        { cat "$tmp/cut.out" >&2; fail "'$*' did not get going"; }
    kill -9 "$spawned"
    wait "$spawned" 2>/dev/null || true
}
cut "$aloft" upload --protocol native --auth pw "$dev" "$tmp/v2.bin"
expect_rc 0 "$aloft" info --json "$dev"
[ "$(json_get "$tmp/out" 'o["resume"] is not None')" = True ] || fail "no journal after the native cut"
cut "$aloft" upload --protocol espota --auth pw "$dev" "$tmp/v3.bin"

# The dead espota host's connection closes; then nothing is left to resume.
info_ok() { "$aloft" info --json "$dev" >"$tmp/out" 2>"$tmp/err"; }
wait_until 60 info_ok || { cat "$tmp/err" >&2; fail "aloft info never answered"; }
[ "$(json_get "$tmp/out" 'o["resume"] is None')" = True ] || fail "the espota write left v2's journal open"
# (until the device has noticed the dead espota host, it is busy)
retried() {
    "$aloft" upload --auth pw "$dev" "$tmp/v2.bin" >"$tmp/out" 2>"$tmp/err" && return 0
    grep -qF "another update is in progress" "$tmp/err" || { cat "$tmp/out" "$tmp/err" >&2; fail "the retry failed"; }
    return 1
}
wait_until 60 retried || fail "the device stayed busy with the dead espota host"
contains "$tmp/out" "the device activated app1 (2.0.0)"
lacks "$tmp/out" "resuming there"
wait_reboot "$sim_log" 2 2.0.0

echo "ok: native, espota, native on one slot: the retry started over and boots 2.0.0 ($((SECONDS - start)) s)"
