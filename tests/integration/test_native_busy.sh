#!/usr/bin/env bash
# tests/integration/test_native_busy.sh — a second host while a native
# upload runs (through a 400 kbit/s link, tests/tools/linkemu.c, so the
# first one takes over 10 s, far longer than the checks in between need
# even on a loaded machine, and real ESP32 flash timing): it gets
# its HELLO, then ERROR -9 on its OFFER, and says so at once with exit 1
# (a different image: no waiting for a stale connection of its own); an
# espota upload is turned away the same way; the first upload is not
# disturbed and the device boots its version.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 1000000 2
make_image v3 3.0.0 400000 3
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw --flash-timing esp32
dev="127.0.0.1:$sim_port"
build_linkemu
start_tcp_relay "$tmp/relay.log" "$dev" --rate-kbps 400

spawn "$aloft" upload --json --auth pw "$relay" "$tmp/v2.bin" >"$tmp/first.out" 2>"$tmp/first.err"
first=$spawned
wait_for "$sim_log" "updating app1  10%" 60 || { cat "$tmp/first.err" >&2; fail "first upload did not start"; }

# Each "busy" below shows the first upload still runs when it is asked;
# `aloft info` between them is answered while it runs.
t0=$(now_ms)
expect_rc 1 "$aloft" upload --auth pw "$dev" "$tmp/v3.bin"
busy_ms=$(( $(now_ms) - t0 ))
contains "$tmp/err" "aloft: upload failed: another update is in progress"
contains "$tmp/err" "hint: wait for it to finish, then try again"
lacks "$tmp/err" "retrying"
# at once: waiting for a connection of its own would retry (1 + 2 + 4 + 8 s)
[ "$busy_ms" -lt 10000 ] || fail "the second host took $busy_ms ms to hear 'busy'"
expect_rc 0 "$aloft" info "$dev"
contains "$tmp/out" "aloft native v1"
expect_rc 1 "$aloft" upload --json --auth pw "$dev" "$tmp/v3.bin"
[ "$(json_get "$tmp/out" 'o["error"]["code"]')" = -9 ] || fail "--json busy code"
expect_rc 1 "$aloft" upload --protocol espota --auth pw "$dev" "$tmp/v3.bin"
contains "$tmp/err" "another update is in progress"

rc=0
wait "$first" || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/first.out" "$tmp/first.err" >&2; fail "the first upload exited $rc"; }
[ "$(json_get "$tmp/first.out" 'o["new_version"]')" = 2.0.0 ] || fail "first upload's result"
[ "$(json_get "$tmp/first.out" 'o["reconnects"]')" = 0 ] || fail "the first upload was disturbed"
wait_reboot "$sim_log" 2 2.0.0

echo "ok: native busy (second host refused in $busy_ms ms, first undisturbed; $((SECONDS - start)) s)"
