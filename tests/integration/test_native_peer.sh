#!/usr/bin/env bash
# tests/integration/test_native_peer.sh — docs/PROTOCOL.md §2 is enough to
# build a host: tests/peer/native_peer.py, written from it alone (Python's
# standard library, no aloft code), uploads to aloft-sim and the device
# really boots the image:
#  - the peer recomputes the document's test vectors on its own;
#  - password, raw: logs in (checking the device's proof), boots 2.0.0 in app1;
#  - password, zlib: boots 2.0.0 in app0; each session's transcript (§2.12)
#    replayed by the project's codec (tests/unit/test_protocol_vectors FILE:
#    keys, every MAC, offsets, window, END);
#  - a wrong password gets ERROR -81 and nothing changes;
#  - a peer that waits for a final ACK before END (what §2.6 says not to do)
#    is dropped by the device's idle timeout with ERROR -10, nothing changes;
#  - an open device (no password): the peer keys the session from the zero
#    client key and resumes the transfer the dropped peer left (ACCEPT at
#    its durable offset); the device boots 2.0.0 in app1.
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

peer=(python3 "$here/../peer/native_peer.py")
doc="$here/../../docs/PROTOCOL.md"
checker="${ALOFT_TEST_BIN:-$bin/../tests}/test_protocol_vectors"
[ -x "$checker" ] || fail "no transcript checker at $checker (build the unit tests)"

# running: "SLOT VERSION" of the running image, from `aloft info --json`.
running() {
    expect_rc 0 "$aloft" info --json "$dev"
    json_get "$tmp/out" \
        '(lambda s: s["label"] + " " + s["image"]["version"])(o["slots"][o["running_slot"]])'
}

# check_transcript FILE: the project's codec replays the peer's session.
check_transcript() {
    "$checker" "$1" >"$tmp/check.out" 2>&1 || { cat "$tmp/check.out" >&2; fail "transcript $1"; }
    contains "$tmp/check.out" "frames checked"
}

# --- the document's vectors, recomputed by the independent peer
expect_rc 0 "${peer[@]}" --check-vectors "$doc"
contains "$tmp/out" "vectors in"

make_image v1 1.0.0 700000 1
make_image v2 2.0.0 720000 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password s3cret --confirm-after 0.5
dev="127.0.0.1:$sim_port"
[ "$(running)" = "app0 1.0.0" ] || fail "the new device does not run 1.0.0 in app0"

# --- password, raw
expect_rc 0 "${peer[@]}" --password s3cret --require-auth --encoding raw \
    --transcript "$tmp/raw.txt" "$dev" "$tmp/v2.bin"
contains "$tmp/out" "logged in; the device proved it knows the password"
contains "$tmp/out" "720000 stream bytes (raw)"
contains "$tmp/out" "RESULT: slot 1 (app1), version '2.0.0', reboot 1"
wait_reboot "$sim_log" 2 2.0.0
wait_for "$sim_log" "confirmed (VALID)" 10 1 || fail "2.0.0 not confirmed"
[ "$(running)" = "app1 2.0.0" ] || fail "after the raw upload app1 does not run 2.0.0"
check_transcript "$tmp/raw.txt"
grep -q '^H>D 02' "$tmp/raw.txt" || fail "no AUTH in the raw transcript"
echo "peer raw: $(grep -c '^H>D 12' "$tmp/raw.txt") DATA frames," \
    "$(grep -c '^D>H 13' "$tmp/raw.txt") ACKs"

# --- password, zlib
expect_rc 0 "${peer[@]}" --password s3cret --encoding deflate \
    --transcript "$tmp/zlib.txt" "$dev" "$tmp/v2.bin"
contains "$tmp/out" "stream bytes (zlib 2^12)"
contains "$tmp/out" "RESULT: slot 0 (app0), version '2.0.0', reboot 1"
wait_reboot "$sim_log" 3 2.0.0
wait_for "$sim_log" "confirmed (VALID)" 10 2 || fail "2.0.0 not confirmed in app0"
[ "$(running)" = "app0 2.0.0" ] || fail "after the zlib upload app0 does not run 2.0.0"
check_transcript "$tmp/zlib.txt"
echo "peer zlib: $(grep -c '^H>D 12' "$tmp/zlib.txt") DATA frames"

# --- a wrong password: ERROR -81, exit 1, nothing changed
boots_before=$(boots "$sim_log")
expect_rc 1 "${peer[@]}" --password wrong "$dev" "$tmp/v1.bin"
contains "$tmp/out" "device ERROR -81 (authentication failed)"
# --- waiting for a final ACK before END: the device drops the peer (§2.6)
expect_rc 1 "${peer[@]}" --password s3cret --encoding raw --wait-final-ack "$dev" "$tmp/v1.bin"
contains "$tmp/out" "device ERROR -10 (peer went silent): have 700000, want 700000"
grep -E 'waited (9\.[5-9]|1[0-9]\.)[0-9]* s for a final ACK' "$tmp/out" >/dev/null ||
    { cat "$tmp/out" >&2; fail "the device did not drop the waiting peer after its 10 s"; }
[ "$(boots "$sim_log")" = "$boots_before" ] || fail "a failed upload restarted the device"
[ "$(running)" = "app0 2.0.0" ] || fail "a failed upload changed what runs"
expect_rc 0 "$aloft" info --json "$dev"
resume=$(json_get "$tmp/out" 'o["resume"]["offset"] if o["resume"] else 0')
[ "$resume" = 655360 ] || fail "the dropped upload left no 640 KiB resume point (got $resume)"

# --- an open device, resuming the dropped transfer of v1
stop_sim
start_sim "$tmp/dev.flash" "$tmp/open.log" --confirm-after 0.5
dev="127.0.0.1:$sim_port"
boots_before=$(boots "$sim_log")
expect_rc 0 "${peer[@]}" --transcript "$tmp/open.txt" "$dev" "$tmp/v1.bin"
contains "$tmp/out" "open device: no login, session keyed from the zero client key"
contains "$tmp/out" "ACCEPT at offset 655360"
contains "$tmp/out" "RESULT: slot 1 (app1), version '1.0.0', reboot 1"
wait_reboot "$sim_log" $((boots_before + 1)) 1.0.0
[ "$(running)" = "app1 1.0.0" ] || fail "after the open upload app1 does not run 1.0.0"
check_transcript "$tmp/open.txt"
lacks "$tmp/open.txt" "H>D 02"   # no AUTH to an open device
wait_for "$sim_log" "confirmed (VALID)" 10 1 || fail "1.0.0 not confirmed"
expect_rc 0 "${peer[@]}" --encoding raw "$dev" "$tmp/v2.bin"
contains "$tmp/out" "ACCEPT at offset 0"
wait_reboot "$sim_log" $((boots_before + 2)) 2.0.0
[ "$(running)" = "app0 2.0.0" ] || fail "the open device does not run 2.0.0 in app0"

echo "ok: native peer from PROTOCOL.md ($((SECONDS - start)) s)"
