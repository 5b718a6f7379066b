#!/usr/bin/env bash
# tests/integration/test_native_slow_logins.sh — connections that trickle
# their login (a byte a second, from 127.0.0.2 and 127.0.0.3) no longer
# hold the device's two native slots: each is dropped 10 s after its
# HELLO with ERROR -10 ("login"), however its bytes keep coming; and while
# they hold both slots, `aloft info` and `aloft upload` from 127.0.0.1 get
# in at once (the oldest unfinished login gives way, ERROR -87).
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 320000 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password pw
dev="127.0.0.1:$sim_port"

# slow SRC LOG: connect from SRC, read HELLO, then one byte of an AUTH
# frame a second; log "hello", then how it ended and after how long.
cat >"$tmp/slow.py" <<'PY'
import socket, struct, sys, time
src, port, log = sys.argv[1], int(sys.argv[2]), open(sys.argv[3], "w", buffering=1)
s = socket.socket()
s.bind((src, 0))
s.connect(("127.0.0.1", port))
s.settimeout(1)
buf, t0, hello = b"", None, False
frame = bytes([2, 0, 64, 0]) + bytes(64)
for i in range(40):
    try:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    except socket.timeout:
        pass
    if not hello and len(buf) >= 4 and len(buf) >= 4 + struct.unpack("<H", buf[2:4])[0]:
        hello, t0 = True, time.monotonic()
        buf = buf[4 + struct.unpack("<H", buf[2:4])[0]:]
        log.write("hello\n")
    if hello:
        try:
            s.send(frame[i % len(frame):i % len(frame) + 1])
        except OSError:
            break
code = struct.unpack("<h", buf[4:6])[0] if len(buf) >= 6 and buf[0] == 4 else None
log.write("closed after %.1f s, error %s\n" % (time.monotonic() - t0 if t0 else -1, code))
PY

# --- the deadline: both slow logins end 10 s after their HELLO
for n in 2 3; do
    : >"$tmp/slow$n.log"
    spawn python3 "$tmp/slow.py" "127.0.0.$n" "$sim_port" "$tmp/slow$n.log"
    wait_for "$tmp/slow$n.log" "hello" 10 || fail "slow connection $n got no HELLO"
done
for n in 2 3; do
    wait_for "$tmp/slow$n.log" "closed after" 20 || fail "slow connection $n was never dropped"
    contains "$tmp/slow$n.log" "error -10"
    secs=$(sed -n 's/closed after \([0-9]*\)\..*/\1/p' "$tmp/slow$n.log")
    [ "$secs" -ge 9 ] && [ "$secs" -le 11 ] || fail "slow connection $n dropped after $secs s, not 10"
done

# --- admission: two slow logins hold both slots; the real host gets in,
# and the oldest slow one gives way each time
slow() {
    : >"$tmp/slow$1.log"
    spawn python3 "$tmp/slow.py" "127.0.0.$1" "$sim_port" "$tmp/slow$1.log"
    wait_for "$tmp/slow$1.log" "hello" 10 || fail "slow connection $1 got no HELLO"
}
gave_way() {
    wait_for "$tmp/slow$1.log" "closed after" 10 || fail "slow connection $1 was not dropped"
    contains "$tmp/slow$1.log" "error -87"
}
slow 4
slow 5
t0=$(now_ms)
expect_rc 0 "$aloft" info --auth pw "$dev"
contains "$tmp/out" "logged in, the device proved it knows the password"
info_ms=$(( $(now_ms) - t0 ))
gave_way 4
slow 6
t0=$(now_ms)
expect_rc 0 "$aloft" upload --auth pw "$dev" "$tmp/v2.bin"
upload_ms=$(( $(now_ms) - t0 ))
gave_way 5
wait_reboot "$sim_log" 2 2.0.0
[ "$info_ms" -lt 5000 ] || fail "info took $info_ms ms: it waited for the slow logins"

echo "ok: slow logins dropped at 10 s; info ($info_ms ms) and upload ($upload_ms ms) got past two of them ($((SECONDS - start)) s)"
