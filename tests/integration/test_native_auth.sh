#!/usr/bin/env bash
# tests/integration/test_native_auth.sh — the native login from the host's
# side: a wrong or missing password fails with exit 1 and says what to do
# (upload, --json and info), nothing is written and the device keeps
# running its firmware; repeated failures meet the device's lockout; the
# right password still works afterwards; a device that cannot prove it
# knows the password (an impostor on the address) gets nothing but AUTH.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 320000 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
cp "$tmp/dev.flash" "$tmp/before.flash"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password right-pw
dev="127.0.0.1:$sim_port"

# --- wrong password
expect_rc 1 "$aloft" upload --auth wrong-pw "$dev" "$tmp/v2.bin"
contains "$tmp/err" "aloft: upload failed: authentication failed"
contains "$tmp/err" "hint: the device rejected the password; use the one it was provisioned with (--auth PASS)"
lacks "$tmp/out" "logged in"
lacks "$tmp/err" "falling back"

# --- no password at all
expect_rc 1 "$aloft" upload "$dev" "$tmp/v2.bin"
contains "$tmp/err" "aloft: upload failed: the device requires a password"
contains "$tmp/err" "--auth PASS"

# --- --json: the same failure as one object
expect_rc 1 "$aloft" upload --json --auth wrong-pw "$dev" "$tmp/v2.bin"
python3 - "$tmp/out" <<'EOF' || fail "--json for a wrong password"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] is False and o["protocol"] == "native" and o["fallback"] is False, o
assert o["error"]["code"] == -81 and o["error"]["message"] == "authentication failed", o
assert o["auth"] == "none" and o["bytes"] == 0, o
EOF

# --- the lockout: failures in a row make the device refuse logins for a while
expect_rc 1 "$aloft" info --auth wrong-pw "$dev"
contains "$tmp/err" "aloft: info failed: authentication failed"
expect_rc 1 "$aloft" info --auth wrong-pw "$dev"
contains "$tmp/err" "aloft: info failed: too many failed logins"
contains "$tmp/err" "wait, then try again with the right password"

# Nothing was written: the flash is as it was, the device runs 1.0.0.
cmp -s "$tmp/before.flash" "$tmp/dev.flash" || fail "failed logins changed the flash"
[ "$(running_version "$sim_log")" = 1.0.0 ] || fail "the device does not run 1.0.0"

# --- after the lockout (1 s after the 3rd failure) the right password works
# logged_in: `aloft info` with the right password gets in, or is locked out
logged_in() {
    "$aloft" info --auth right-pw "$dev" >"$tmp/out" 2>"$tmp/err" && return 0
    grep -qF "too many failed logins" "$tmp/err" || { cat "$tmp/err" >&2; fail "info failed"; }
    return 1
}
wait_until 60 logged_in || fail "still locked out after 60 s"
contains "$tmp/out" "logged in, the device proved it knows the password"
expect_rc 0 "$aloft" upload --auth right-pw "$dev" "$tmp/v2.bin"
contains "$tmp/out" "logged in (the device proved it knows the password too)"
wait_reboot "$sim_log" 2 2.0.0
stop_sim

# --- an impostor: takes any login, cannot sign it; the host sends nothing more
start_fake_native impostor
expect_rc 1 "$aloft" upload --protocol native --auth right-pw "127.0.0.1:$fake_port" "$tmp/v2.bin"
contains "$tmp/err" "upload failed: the device could not prove it knows the password"
contains "$tmp/err" "nothing was sent to it"
wait_for "$tmp/fake_native.log" "after AUTH_OK" 60 || fail "the impostor did not finish"
contains "$tmp/fake_native.log" "auth frame type 2, 68 bytes"
contains "$tmp/fake_native.log" "after AUTH_OK the host sent 0 bytes"
expect_rc 1 "$aloft" info --auth right-pw "127.0.0.1:$fake_port"
contains "$tmp/err" "info failed: the device could not prove it knows the password"

echo "ok: native auth ($((SECONDS - start)) s)"
