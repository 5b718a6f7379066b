#!/usr/bin/env bash
# tests/integration/test_esp_ip_change.sh — the component's task rebinds
# its sockets when the IP address changes (IP_EVENT_STA_GOT_IP with
# ip_changed; not for a renewal of the same address) or goes
# (IP_EVENT_STA_LOST_IP): while idle, a later upload
# works; during an espota upload, the update is abandoned cleanly (ERROR
# event, hook resumed, the running image and otadata untouched, no
# restart); during a native upload, `aloft upload` reconnects and resumes
# from what the flash kept, and the device boots the new image. A new
# address is announced by the mdns component (esp_mdns.h).
set -euo pipefail
source "$(dirname "$0")/esp_fake_lib.sh"

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 900000 2
make_image v3 3.0.0 900000 3
esp_init "$tmp/dev.flash" "$tmp/v1.bin"
# Flash timing as an ESP32's: an upload lasts seconds, time to cut it.
start_esp "$tmp/dev.flash" "$tmp/dev.log" --password s3cret --flash-timing esp32
dev="127.0.0.1:$esp_port"

# --- a DHCP renewal of the same address (ip_changed false) rebinds nothing
# (an absence: a bounded look, which a late rebind could only pass wrongly)
kill -HUP "$esp_pid"
wait_for "$tmp/dev.log" "ip: renewed the same address" 30 || fail "no renewal posted"
if wait_for "$tmp/dev.log" "IP address changed" 1; then
    cat "$tmp/dev.log" >&2
    fail "a renewal of the same address closed the sockets"
fi

# --- idle: a new address, then an upload works
kill -USR1 "$esp_pid"
wait_for "$tmp/dev.log" "serving again on port $esp_port" 30 ||
    { cat "$tmp/dev.log" >&2; fail "no rebind after the IP change"; }
contains "$tmp/dev.log" "IP address changed: closing the sockets"
# and the mdns component (it registered for the IP events at mdns_init)
# announces the name at the new address by itself
contains "$tmp/dev.log" "mdns: esp-fake.local announced at 192.168.1.11 on STA"
app0=$(region_sum "$tmp/dev.flash" $APP0 $SLOT_LEN)
otadata=$(region_sum "$tmp/dev.flash" $OTADATA $OTADATA_LEN)

# --- the address goes during an espota upload: abandoned, nothing changed
spawn "$aloft" upload --protocol espota --auth s3cret --host-ip 127.0.0.1 "$dev" "$tmp/v2.bin" \
    >"$tmp/up1.out" 2>&1
up=$spawned
wait_for "$tmp/dev.log" "event: PROGRESS espota" 60 || { cat "$tmp/dev.log" >&2; fail "no progress"; }
kill -USR2 "$esp_pid"
rc=0
wait "$up" || rc=$?
[ "$rc" = 1 ] || { cat "$tmp/up1.out" >&2; fail "the cut espota upload exited $rc"; }
wait_for "$tmp/dev.log" "event: ERROR espota" 30 || { cat "$tmp/dev.log" >&2; fail "no ERROR event"; }
wait_for "$tmp/dev.log" "serving again on port $esp_port" 30 2 || fail "no rebind after losing the IP"
in_order "$tmp/dev.log" "ip: lost the address" "(the update in progress is abandoned)" \
    "hook: resumed" "event: ERROR espota"
lacks "$tmp/dev.log" "esp_restart()"
[ "$(region_sum "$tmp/dev.flash" $APP0 $SLOT_LEN)" = "$app0" ] || fail "app0 changed"
[ "$(region_sum "$tmp/dev.flash" $OTADATA $OTADATA_LEN)" = "$otadata" ] || fail "otadata changed"

# --- a new address during a native upload: it reconnects, resumes, boots
spawn "$aloft" upload --auth s3cret "$dev" "$tmp/v3.bin" >"$tmp/up2.out" 2>&1
up=$spawned
wait_for "$tmp/dev.log" "event: PROGRESS native" 60 || { cat "$tmp/dev.log" >&2; fail "no progress"; }
kill -USR1 "$esp_pid"
wait "$up" || { cat "$tmp/up2.out" >&2; fail "the native upload did not survive the IP change"; }
wait_esp_boot "$tmp/dev.log" 2 3.0.0
in_order "$tmp/dev.log" "event: START native" "ip: got a new address" "event: ERROR native" \
    "event: START native" "event: END native 900000/900000" "boot #2: running app1 espota-sim 3.0.0"
grep -q "reconnect\|resum" "$tmp/up2.out" || { cat "$tmp/up2.out" >&2; fail "no reconnect"; }
stop_esp
echo "esp ip change: ok"
