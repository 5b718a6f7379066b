#!/usr/bin/env bash
# tests/integration/test_login_flood.sh — wrong-password floods over
# loopback from 50 source addresses (127.0.0.2-51, each bound before it
# connects or sends; bench/login_flood.py), native then espota: both
# protocols draw on the one device budget, so together the device checks
# at most 10 guesses plus one per 6 s, whatever the number of addresses;
# a host that logged in before gets in during either flood (an `aloft
# info` during the native one, a whole espota upload during the espota
# one); the floods write nothing.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS
flood="$here/../../bench/login_flood.py"

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 320000 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
cp "$tmp/dev.flash" "$tmp/before.flash"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw
dev="127.0.0.1:$sim_port"

# 127.0.0.1 logs in once before the floods: from now on it is known.
expect_rc 0 "$aloft" info --auth pw "$dev"
t0=$SECONDS

# --- native: 50 addresses for 12 s; the known host logs in meanwhile
spawn python3 "$flood" --port "$sim_port" --protocol native --addresses 50 --seconds 12 --json \
    >"$tmp/native.json" 2>"$tmp/native.err"
flood_pid=$spawned
wait_for "$tmp/native.err" "flooding" 10 || fail "the native flood did not start"
for _ in 1 2 3; do
    expect_rc 0 "$aloft" info --auth pw "$dev"
    contains "$tmp/out" "logged in, the device proved it knows the password"
done
wait "$flood_pid" || fail "the native flood failed"
native=$(json_get "$tmp/native.json" 'o["checked"]')
refused=$(json_get "$tmp/native.json" 'o["refused"]')
[ "$refused" -gt 100 ] || { cat "$tmp/native.json" >&2; fail "the native flood was hardly refused"; }
cmp -s "$tmp/before.flash" "$tmp/dev.flash" || fail "the native flood changed the flash"

# --- espota: 50 addresses for 12 s; the known host uploads meanwhile
spawn python3 "$flood" --port "$sim_port" --protocol espota --addresses 50 --seconds 12 --json \
    >"$tmp/espota.json" 2>"$tmp/espota.err"
flood_pid=$spawned
wait_for "$tmp/espota.err" "flooding" 10 || fail "the espota flood did not start"
expect_rc 0 "$aloft" upload --protocol espota --auth pw "$dev" "$tmp/v2.bin"
wait "$flood_pid" || fail "the espota flood failed"
elapsed=$((SECONDS - t0))
wait_reboot "$sim_log" 2 2.0.0
espota=$(json_get "$tmp/espota.json" 'o["checked"]')
total=$((native + espota))

# One budget: 10, and one more per 6 s since the first failure (+1 for
# the second the shell's clock may lag).
bound=$((10 + (elapsed + 1) / 6))
[ "$total" -le "$bound" ] ||
    { cat "$tmp/native.json" "$tmp/espota.json" >&2; fail "$total guesses checked in $elapsed s (bound $bound)"; }
[ "$native" -ge 5 ] || { cat "$tmp/native.json" >&2; fail "the native flood never reached a check"; }

echo "ok: login flood from 50 addresses: $native native + $espota espota guesses checked in $elapsed s (bound $bound); the known host got in ($((SECONDS - start)) s)"
