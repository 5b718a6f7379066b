#!/usr/bin/env bash
# tests/integration/test_linkemu.sh — the link emulator itself
# (tests/tools/linkemu.c, plain TCP mode) does what the espota and native
# tests and the bench rely on: one-way delay (RTT = 2 x delay), a rate
# limit, stalls (periodic, or once after N bytes) that delay but lose
# nothing, a cut that resets both sides after N bytes, the device's TCP
# receive window (--window: never more bytes in flight, one round trip per
# window, and a device that stops reading stops the sender), latency
# profiles (--profile lan / modem-sleep) and jitter that never reorders.
# The peers are small python3 programs (standard library only).
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
build_linkemu

# A TCP server on 127.0.0.1: "echo" sends back what it gets; "sink" counts
# bytes and, at EOF, answers the count; "pause" is a sink that, after
# 20 000 bytes, stops reading for 600 ms (a device busy erasing) and then
# writes how many bytes wait unread in its socket to PORT_FILE.unread.
cat >"$tmp/peer.py" <<'EOF'
import fcntl, socket, struct, sys, termios, threading, time
mode, port_file = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
s.settimeout(120)   # a safety net: gone 2 minutes after the last connection
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
def serve(c):
    got, paused = 0, False
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += len(d)
            if mode == "echo":
                c.sendall(d)
            if mode == "pause" and got >= 20000 and not paused:
                paused = True
                time.sleep(0.6)
                unread = struct.unpack("i", fcntl.ioctl(c, termios.FIONREAD, b"\0" * 4))[0]
                open(port_file + ".unread", "w").write(str(unread))
        if mode in ("sink", "pause"):
            c.sendall(str(got).encode())
    except OSError:
        if mode in ("sink", "pause"):
            open(port_file + ".got", "w").write(str(got))
    c.close()
while True:
    try:
        c, _ = s.accept()
    except socket.timeout:
        break
    c.settimeout(None)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
cat >"$tmp/client.py" <<'EOF'
import socket, sys, time
addr, what = sys.argv[1], sys.argv[2]
ip, port = addr.rsplit(":", 1)
c = socket.create_connection((ip, int(port)), timeout=10)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
if what == "rtt":            # N one-byte round trips, GAP ms apart: min med max in ms
    n, gap = int(sys.argv[3]), float(sys.argv[4]) / 1000
    ts = []
    for i in range(n):
        t = time.monotonic()
        c.sendall(b"x")
        assert c.recv(1) == b"x"
        ts.append((time.monotonic() - t) * 1000)
        time.sleep(gap)
    ts.sort()
    print("%.1f %.1f %.1f" % (ts[0], ts[len(ts) // 2], ts[-1]))
elif what == "send":         # N bytes one way, then the sink's count and the seconds
    n = int(sys.argv[3])
    t = time.monotonic()
    try:
        c.sendall(bytes(n))
        c.shutdown(socket.SHUT_WR)
        answer = c.recv(64).decode() or "closed"
    except OSError as e:
        answer = "reset"
    print(answer, "%.2f" % (time.monotonic() - t))
elif what == "echo":         # N random bytes there and back: "same" if unchanged
    n = int(sys.argv[3])
    import os, threading
    data, back = os.urandom(n), bytearray()
    def rx():
        while len(back) < n:
            d = c.recv(65536)
            if not d:
                break
            back.extend(d)
    t = threading.Thread(target=rx)
    t.start()
    c.sendall(data)
    t.join()
    print("same" if bytes(back) == data else "changed")
EOF

spawn python3 "$tmp/peer.py" echo "$tmp/echo.port"
wait_port "$tmp/echo.port" "$spawned" /dev/null "the python echo peer"
spawn python3 "$tmp/peer.py" sink "$tmp/sink.port"
wait_port "$tmp/sink.port" "$spawned" /dev/null "the python sink peer"
spawn python3 "$tmp/peer.py" pause "$tmp/pause.port"
wait_port "$tmp/pause.port" "$spawned" /dev/null "the python pausing peer"
echo_to="127.0.0.1:$(cat "$tmp/echo.port")"
sink_to="127.0.0.1:$(cat "$tmp/sink.port")"
pause_to="127.0.0.1:$(cat "$tmp/pause.port")"

# relay TO LOG ARGS...: a TCP relay in front of TO; sets $relay
relay() {
    local to=$1 log=$2
    shift 2
    start_tcp_relay "$log" "$to" "$@"
}
ge() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)' "$1" "$2"; }

# Upper bounds on times use the fastest of several tries: a loaded machine
# delays some round trips, never all of them; lower bounds hold for every one.
# --- direct through the relay: fast
relay "$echo_to" "$tmp/l0.log"
read -r lo med hi < <(python3 "$tmp/client.py" "$relay" rtt 10 0)
ge 5 "$lo" || fail "relay without delay: fastest RTT $lo ms"
stop_relay

# --- 20 ms each way: RTT 40 ms
relay "$echo_to" "$tmp/l1.log" --delay-ms 20
read -r lo med hi < <(python3 "$tmp/client.py" "$relay" rtt 10 0)
ge "$lo" 39.5 && ge 70 "$lo" || fail "--delay-ms 20: RTT min $lo, median $med ms (want ~40)"
echo "linkemu: --delay-ms 20 gives RTT min $lo / median $med ms"
stop_relay

# --- 4000 kbit/s: 500 000 bytes take >= 1.0 s
relay "$sink_to" "$tmp/l2.log" --rate-kbps 4000
read -r got secs < <(python3 "$tmp/client.py" "$relay" send 500000)
[ "$got" = 500000 ] || fail "--rate-kbps: the sink got $got bytes"
ge "$secs" 0.98 && ge 2.5 "$secs" || fail "--rate-kbps 4000: 500 000 bytes in $secs s (want ~1.0)"
echo "linkemu: --rate-kbps 4000 carries 500 000 bytes in $secs s"
stop_relay

# --- stalls: 300 ms every 1000 ms from the start; round trips wait, none
# lost. 40 round trips 30 ms apart span a whole period, so some are held;
# none may be held by two stalls (the 700 ms between them leave room for a
# loaded machine's late replies).
relay "$echo_to" "$tmp/l3.log" --stall-every-ms 1000 --stall-ms 300 --stall-first-ms 0
read -r lo med hi < <(python3 "$tmp/client.py" "$relay" rtt 40 30)
ge "$hi" 150 || fail "--stall-ms 300: no round trip was held (max $hi ms)"
ge 1000 "$hi" || fail "--stall-ms 300: a round trip took $hi ms (held by two stalls?)"
echo "linkemu: stalls 300/1000 ms hold round trips up to $hi ms, none lost"
stop_relay

# --- one stall of 600 ms after 100 000 bytes: late, but everything arrives
relay "$sink_to" "$tmp/l5.log" --stall-after-bytes 100000 --stall-ms 600
read -r got secs < <(python3 "$tmp/client.py" "$relay" send 300000)
[ "$got" = 300000 ] || fail "--stall-after-bytes: the sink got $got bytes"
ge "$secs" 0.59 || fail "--stall-after-bytes 100000 --stall-ms 600: 300 000 bytes in $secs s"
stop_relay
contains "$tmp/l5.log" "stall of 600 ms after 100000 bytes"
echo "linkemu: a 600 ms stall after 100 000 bytes: 300 000 bytes in $secs s, none lost"

# --- cut after 100 000 bytes: both sides reset, exactly that much arrived
relay "$sink_to" "$tmp/l4.log" --cut-after-bytes 100000
read -r got secs < <(python3 "$tmp/client.py" "$relay" send 300000)
[ "$got" = reset ] || [ "$got" = closed ] || fail "--cut-after-bytes: the sender saw '$got'"
wait_until 60 test -s "$tmp/sink.port.got" || fail "--cut-after-bytes: the receiver saw no reset"
[ "$(cat "$tmp/sink.port.got" 2>/dev/null)" = 100000 ] ||
    fail "--cut-after-bytes 100000: the receiver got $(cat "$tmp/sink.port.got" 2>/dev/null) bytes"
stop_relay
contains "$tmp/l4.log" "cut after 100000 bytes"
contains "$tmp/l4.log" "1 cut"

# --- receive window 5760 at 20 ms each way: 115 200 bytes are 20 windows,
# so at least 19 round trips of 40 ms (0.76 s; 0.04 s without the window),
# and never more than 5760 bytes in flight (the relay's own count)
relay "$sink_to" "$tmp/l6.log" --delay-ms 20 --window 5760
read -r got secs < <(python3 "$tmp/client.py" "$relay" send 115200)
[ "$got" = 115200 ] || fail "--window: the sink got $got bytes"
ge "$secs" 0.74 && ge 4 "$secs" || fail "--window 5760, RTT 40 ms: 115 200 bytes in $secs s (want ~0.8)"
stop_relay
inflight=$(sed -n 's/.*at most \([0-9]*\) bytes were in flight.*/\1/p' "$tmp/l6.log")
[ -n "$inflight" ] && [ "$inflight" -le 5760 ] && [ "$inflight" -ge 2880 ] ||
    fail "--window 5760: at most '${inflight}' bytes in flight (want 2880..5760)"
echo "linkemu: --window 5760 at RTT 40 ms carries 115 200 bytes in $secs s, at most $inflight in flight"

# --- a device that stops reading closes the window: after 600 ms without
# a read, no more than the window waits unread in its socket (without the
# model the relay would have delivered the whole 200 000 bytes)
relay "$pause_to" "$tmp/l7.log" --delay-ms 5 --window 5760
read -r got secs < <(python3 "$tmp/client.py" "$relay" send 200000)
[ "$got" = 200000 ] || fail "--window, pausing reader: the sink got $got bytes"
stop_relay
unread=$(cat "$tmp/pause.port.unread" 2>/dev/null || echo missing)
[ "$unread" != missing ] && [ "$unread" -le 5760 ] ||
    fail "--window 5760: $unread bytes were delivered to a reader that had stopped"
echo "linkemu: a reader stopped for 600 ms holds $unread unread bytes (window 5760)"

# --- profiles: lan RTT 6-8 ms, modem sleep 90-110 ms (jitter from a seed)
relay "$echo_to" "$tmp/l8.log" --profile lan
read -r lo med hi < <(python3 "$tmp/client.py" "$relay" rtt 20 0)
ge "$lo" 5.9 && ge 20 "$lo" || fail "--profile lan: RTT min $lo, median $med ms (want 6-8)"
stop_relay
echo "linkemu: --profile lan gives RTT min $lo / median $med ms"
relay "$echo_to" "$tmp/l9.log" --profile modem-sleep
read -r lo med hi < <(python3 "$tmp/client.py" "$relay" rtt 6 0)
ge "$lo" 89.5 && ge 150 "$lo" && ge "$hi" "$lo" || fail "--profile modem-sleep: RTT min $lo, median $med ms (want 90-110)"
stop_relay
echo "linkemu: --profile modem-sleep gives RTT min $lo / median $med / max $hi ms"

# --- jitter never reorders: 300 000 random bytes come back unchanged
relay "$echo_to" "$tmp/l10.log" --delay-ms 1 --jitter-ms 8 --seed 7
[ "$(python3 "$tmp/client.py" "$relay" echo 300000)" = same ] || fail "--jitter-ms reordered or changed bytes"
stop_relay

# --- only loopback addresses
expect_rc 2 "$linkemu" --tcp 10.1.2.3:5000 --to 127.0.0.1:1
contains "$tmp/err" "not a loopback address"
echo "ok: linkemu ($((SECONDS - start)) s)"
