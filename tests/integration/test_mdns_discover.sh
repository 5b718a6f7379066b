#!/usr/bin/env bash
# tests/integration/test_mdns_discover.sh — discovery by mDNS, end to end,
# in a network namespace of its own (nothing reaches the real network or
# the machine's own Avahi): a private dbus-daemon and avahi-daemon on lo,
# two aloft-sim --mdns devices on 127.0.0.2 and 127.0.0.3 (port 3232, as
# real devices). Checked: `aloft discover --json` lists both with the TXT
# records of docs/PROTOCOL.md; `avahi-browse -rtp _arduino._tcp` shows the
# keys the Arduino IDE and PlatformIO read, as arduino-esp32's ArduinoOTA
# announces them; a plain ArduinoOTA device (avahi-publish) is listed as
# espota only; `aloft upload dev-a.local` updates the device found by
# name, it reboots into the new image and re-announces its version, and
# `aloft espota -i dev-a.local` does the same over espota; an
# unknown NAME.local fails with a clear error, and so does a second
# device with a name already taken; the table lists both;
# without a daemon discover says so, and the devices announce again once
# it is back; dev-b gets a new address (--address-file, SIGUSR1, as DHCP
# gives a device one): discovery, NAME.local and an update follow it.
set -euo pipefail
[ -z "${ALOFT_TRACE:-}" ] || { PS4='+ $EPOCHREALTIME '; set -x; }
source "$(dirname "$0")/espota_sim_lib.sh"

if [ "${ALOFT_IN_NETNS:-}" != 1 ]; then
    for t in unshare ip dbus-daemon avahi-daemon avahi-browse; do
        command -v "$t" >/dev/null || skip_missing "$t not installed (Debian: iproute2, dbus, avahi-daemon, avahi-utils)"
    done
    # Root (CI): avahi-daemon insists that its runtime directory belongs to
    # user avahi, which a user namespace (unshare --map-root-user) cannot map.
    [ "$(id -u)" = 0 ] || skip_missing "needs root (avahi-daemon in a namespace of its own)"
    # net + mount + pid: the pid namespace ends every daemon with this script
    ns=(unshare --net --mount --pid --fork --mount-proc)
    "${ns[@]}" true 2>/dev/null || skip_missing "cannot create a network namespace (${ns[*]})"
    ALOFT_IN_NETNS=1 "${ns[@]}" bash "$0"
    exit $?
fi

start=$SECONDS
# ---- the namespace: lo with multicast, a private /run, dbus, avahi
ip link set lo up multicast on
ip route add 224.0.0.0/4 dev lo
mount -t tmpfs tmpfs /run   # this mount namespace's own: avahi's pid file and socket
mkdir -p /run/avahi-daemon
cat >"$tmp/dbus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/>
    <allow send_destination="*"/> <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
spawn dbus-daemon --config-file="$tmp/dbus.conf" --nofork --nopidfile >"$tmp/dbus.log" 2>&1
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$tmp/bus"
wait_until 20 test -S "$tmp/bus" || { cat "$tmp/dbus.log" >&2; fail "dbus-daemon did not start"; }
cat >"$tmp/avahi.conf" <<EOF
[server]
host-name=aloft-test-host
use-ipv4=yes
use-ipv6=no
allow-interfaces=lo
enable-dbus=yes
ratelimit-interval-usec=0
[wide-area]
enable-wide-area=no
[publish]
publish-workstation=no
publish-hinfo=no
EOF
spawn avahi-daemon -f "$tmp/avahi.conf" --no-drop-root --no-chroot --no-rlimits >"$tmp/avahi.log" 2>&1
avahi_pid=$spawned
wait_until 20 has_lines "$tmp/avahi.log" "Server startup complete" ||
    { cat "$tmp/avahi.log" >&2; fail "avahi-daemon did not start"; }

# ---- two devices: dev-a (ESP32, password), dev-b (ESP32-C3, signed images only)
make_image a1 1.0.0 300000 1
make_image a2 2.0.0 310000 2
make_image a3 3.0.0 305000 4
"$aloft" image make --chip esp32c3 --project sensor --version 4.1.0 --size 300000 --seed 3 \
    -o "$tmp/b1.bin" >/dev/null || fail "image make b1"
"$aloft" keygen "$tmp/rel" >/dev/null || fail "keygen"
new_device "$tmp/a.flash" "$tmp/a1.bin"
new_device "$tmp/b.flash" "$tmp/b1.bin"
spawn "$sim_bin" --flash "$tmp/a.flash" --bind 127.0.0.2 --port 3232 --mdns --name dev-a \
    --password s3cret --confirm-after 0.5 --run-for 600 >"$tmp/a.log" 2>&1
a_pid=$spawned
echo 127.0.0.3 >"$tmp/b.addr"
spawn "$sim_bin" --flash "$tmp/b.flash" --address-file "$tmp/b.addr" --port 3232 --mdns --name dev-b \
    --public-key "$tmp/rel.pub" --no-espota --run-for 600 >"$tmp/b.log" 2>&1
b_pid=$spawned
for d in a b; do
    wait_for "$tmp/$d.log" "aloft-sim: mDNS: dev-$d.local" 20 || { cat "$tmp/$d.log" >&2; fail "dev-$d did not announce"; }
done

# check_discovery: discover --json lists dev-a (at version $want_a) and
# dev-b (at address $want_b)
check_discovery() {
    "$aloft" discover --json --timeout 3 >"$tmp/disc.json" 2>"$tmp/disc.err" || return 1
    python3 - "$tmp/disc.json" "$want_a" "$want_b" <<'PY'
import json, sys
devs = {d["name"]: d for d in json.load(open(sys.argv[1]))}
a, b = devs["dev-a"], devs["dev-b"]
assert a["host"] == "dev-a.local" and a["address"] == "127.0.0.2" and a["port"] == 3232, a
assert a["protocols"] == ["aloft", "espota"], a
assert (a["proto"], a["chip"], a["project"]) == (1, "esp32", "espota-sim"), a
assert a["version"] == sys.argv[2], a
assert a["auth"] is True and a["signed"] is False, a
assert a["board"] == "esp32" and a["auth_upload"] is True, a
assert b["host"] == "dev-b.local" and b["address"] == sys.argv[3] and b["port"] == 3232, b
assert b["protocols"] == ["aloft"] and "board" not in b, b      # --no-espota: no _arduino
assert (b["chip"], b["project"], b["version"]) == ("esp32c3", "sensor", "4.1.0"), b
assert b["auth"] is False and b["signed"] is True, b
PY
}
want_a=1.0.0 want_b=127.0.0.3
wait_until 20 check_discovery 2>"$tmp/check.err" ||
    { cat "$tmp/disc.json" "$tmp/disc.err" "$tmp/check.err" >&2; fail "aloft discover --json"; }
echo "discovered both devices after $((SECONDS - start)) s"

# ---- a name that is taken: a clear error, the first device unharmed
new_device "$tmp/c.flash" "$tmp/a1.bin"
expect_rc 1 "$sim_bin" --flash "$tmp/c.flash" --bind 127.0.0.4 --port 3232 --mdns --name dev-a --run-for 20
contains "$tmp/err" "aloft-sim: the mDNS name 'dev-a' is taken on this network; choose another --name"
alive "$a_pid" || fail "dev-a ended"

# ---- as the Arduino IDE sees it: _arduino._tcp with ArduinoOTA's four keys
avahi-browse -rtp _arduino._tcp >"$tmp/browse.txt" 2>&1 || { cat "$tmp/browse.txt" >&2; fail "avahi-browse"; }
grep '^=' "$tmp/browse.txt" >"$tmp/resolved.txt" || { cat "$tmp/browse.txt" >&2; fail "nothing resolved"; }
contains "$tmp/resolved.txt" ';dev-a;_arduino._tcp;local;dev-a.local;127.0.0.2;3232;'
for kv in board=esp32 tcp_check=no ssh_upload=no auth_upload=yes; do
    contains "$tmp/resolved.txt" "\"$kv\""
done
lacks "$tmp/resolved.txt" "dev-b"

# ---- a plain ArduinoOTA device (what ESPmDNS announces, by avahi-publish)
spawn avahi-publish -a -R legacy.local 127.0.0.5 >"$tmp/pub_a.log" 2>&1
spawn avahi-publish -s -H legacy.local legacy _arduino._tcp 3232 board=esp32s3 tcp_check=no \
    ssh_upload=no auth_upload=no >"$tmp/pub_s.log" 2>&1
legacy_listed() {
    "$aloft" discover --json --timeout 3 >"$tmp/disc.json" 2>"$tmp/disc.err" || return 1
    python3 - "$tmp/disc.json" <<'PY'
import json, sys
d = {d["name"]: d for d in json.load(open(sys.argv[1]))}["legacy"]
assert d == {"name": "legacy", "host": "legacy.local", "address": "127.0.0.5", "port": 3232,
             "protocols": ["espota"], "board": "esp32s3", "auth_upload": False}, d
PY
}
wait_until 20 legacy_listed 2>"$tmp/check.err" ||
    { cat "$tmp/disc.json" "$tmp/check.err" >&2; fail "the ArduinoOTA device is not listed"; }

# ---- the table; bad options are usage errors
expect_rc 2 "$aloft" discover --timeout 0
contains "$tmp/err" "aloft discover: --timeout needs a number of seconds from 1 to 3600"
expect_rc 2 "$aloft" discover dev-a
contains "$tmp/err" "aloft discover: unexpected argument 'dev-a'"
expect_rc 0 "$aloft" discover --timeout 3
contains "$tmp/out" "NAME"
grep -E '^dev-a\.local +127\.0\.0\.2:3232 +esp32 +espota-sim +1\.0\.0 +aloft,espota password$' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "table row of dev-a"; }
grep -E '^dev-b\.local +127\.0\.0\.3:3232 +esp32c3 +sensor +4\.1\.0 +aloft signed$' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "table row of dev-b"; }
grep -E '^legacy\.local +127\.0\.0\.5:3232 +esp32s3 +- +- +espota$' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "table row of the ArduinoOTA device"; }

# ---- found by name and updated: reboots into 2.0.0 and re-announces it
expect_rc 0 "$aloft" upload --auth s3cret dev-a.local "$tmp/a2.bin"
contains "$tmp/out" "running 2.0.0 in app1"
wait_reboot "$tmp/a.log" 2 2.0.0
want_a=2.0.0
wait_until 20 check_discovery 2>"$tmp/check.err" ||
    { cat "$tmp/disc.json" "$tmp/check.err" >&2; fail "dev-a's new version not announced"; }
expect_rc 0 "$aloft" info dev-b.local
contains "$tmp/out" "device      dev-b at 127.0.0.3:3232"
# and espota (espota.py's flags) by name too, once 2.0.0 confirmed itself
wait_for "$tmp/a.log" "confirmed (VALID)" 30 || { tail -5 "$tmp/a.log" >&2; fail "2.0.0 not confirmed"; }
expect_rc 0 "$aloft" espota -i dev-a.local -p 3232 -a s3cret -f "$tmp/a3.bin"
wait_reboot "$tmp/a.log" 3 3.0.0
want_a=3.0.0

# ---- a name nobody answers for
expect_rc 1 "$aloft" info nosuch.local
contains "$tmp/err" "no device answered for nosuch.local within 5 s"
echo "unknown name: $(cat "$tmp/err")"

# ---- without a daemon: aloft says what is missing; the devices wait for
# it and announce again once it is back (an avahi restart, an upgrade)
stop_pid "$avahi_pid"
expect_rc 1 "$aloft" discover
contains "$tmp/err" "the Avahi daemon does not answer"
wait_for "$tmp/a.log" "the Avahi daemon went away" 20 || { cat "$tmp/a.log" >&2; fail "dev-a did not notice"; }
spawn avahi-daemon -f "$tmp/avahi.conf" --no-drop-root --no-chroot --no-rlimits >"$tmp/avahi2.log" 2>&1
wait_until 20 check_discovery 2>"$tmp/check.err" ||
    { cat "$tmp/disc.json" "$tmp/check.err" "$tmp/a.log" >&2; fail "not announced again after avahi's restart"; }
alive "$a_pid" && alive "$b_pid" || fail "a device ended with the daemon"

# ---- a new address: dev-b serves there and re-announces; discover,
# NAME.local (avahi-resolve) and `aloft info dev-b.local` find it there
moved=$SECONDS
echo 127.0.0.6 >"$tmp/b.addr"
kill -USR1 "$b_pid"
wait_for "$tmp/b.log" "aloft-sim: new address: serving on 127.0.0.6" 20 ||
    { cat "$tmp/b.log" >&2; fail "dev-b did not move"; }
want_b=127.0.0.6
wait_until 20 check_discovery 2>"$tmp/check.err" ||
    { cat "$tmp/disc.json" "$tmp/check.err" "$tmp/b.log" >&2; fail "dev-b's new address not announced"; }
resolves_new() { [ "$(avahi-resolve -4 -n dev-b.local 2>/dev/null | cut -f2)" = 127.0.0.6 ]; }
wait_until 20 resolves_new || { avahi-resolve -4 -n dev-b.local >&2; fail "dev-b.local does not resolve to 127.0.0.6"; }
expect_rc 0 "$aloft" info dev-b.local
contains "$tmp/out" "device      dev-b at 127.0.0.6:3232"
echo "dev-b found at its new address after $((SECONDS - moved)) s"
echo "PASS test_mdns_discover ($((SECONDS - start)) s)"
