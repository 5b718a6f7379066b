#!/usr/bin/env bash
# tests/integration/test_linkemu.sh — the link emulator itself
# (tests/tools/linkemu.c, plain TCP mode) does what the espota and native
# tests and the bench rely on: one-way delay (RTT = 2 x delay), a rate
# limit, stalls (periodic, or once after N bytes) that delay but lose
# nothing, and a cut that resets both sides after N bytes.
# The peers are small python3 programs (standard library only).
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

start=$SECONDS
build_linkemu

# A TCP server on 127.0.0.1: "echo" sends back what it gets; "sink" counts
# bytes and, at EOF, answers the count.
cat >"$tmp/peer.py" <<'EOF'
import socket, sys, threading
mode, port_file = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
s.settimeout(120)   # a safety net: gone 2 minutes after the last connection
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
import os; os.rename(port_file + ".tmp", port_file)
def serve(c):
    got = 0
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            got += len(d)
            if mode == "echo":
                c.sendall(d)
        if mode == "sink":
            c.sendall(str(got).encode())
    except OSError:
        if mode == "sink":
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
EOF

spawn python3 "$tmp/peer.py" echo "$tmp/echo.port"
wait_port "$tmp/echo.port" "$spawned" /dev/null "the python echo peer"
spawn python3 "$tmp/peer.py" sink "$tmp/sink.port"
wait_port "$tmp/sink.port" "$spawned" /dev/null "the python sink peer"
echo_to="127.0.0.1:$(cat "$tmp/echo.port")"
sink_to="127.0.0.1:$(cat "$tmp/sink.port")"

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

# --- only loopback addresses
expect_rc 2 "$linkemu" --tcp 10.1.2.3:5000 --to 127.0.0.1:1
contains "$tmp/err" "not a loopback address"
echo "ok: linkemu ($((SECONDS - start)) s)"
