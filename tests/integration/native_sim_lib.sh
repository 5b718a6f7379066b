# tests/integration/native_sim_lib.sh — shared by test_native_*.sh (sourced,
# not run): the simulator helpers (espota_sim_lib.sh: temp dir, spawn and
# cleanup, expect_rc, images, devices, start_sim, linkemu) plus the fake
# native devices. aloft-sim serves native TCP on the port number of its
# espota UDP port.

source "$(dirname "${BASH_SOURCE[0]}")/espota_sim_lib.sh"

# start_fake_native MODE [PORT]: a fake device on TCP 127.0.0.1:PORT (0 or
# none: any free port; sets fake_port), its log in $tmp/fake_native.log:
#   silent    accepts connections and says nothing (not an aloft device)
#   garbage   greets like another service ("SSH-2.0-...") and closes
#   version2  sends a HELLO of native protocol version 2
#   impostor  a HELLO that asks for a password, takes any AUTH and answers
#             AUTH_OK with a signature it cannot know; logs what follows
start_fake_native() {
    cat >"$tmp/fake_native.py" <<'PY'
import os, socket, struct, sys, threading, time
mode, port, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
log = open(sys.argv[4], "a", buffering=1)
s = socket.socket()
s.bind(("127.0.0.1", port))
s.listen(8)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)

def frame(t, payload):
    return bytes([t, 0]) + struct.pack("<H", len(payload)) + payload

def hello(version):
    p = b"ALFT" + bytes([version, 0x01 | 0x02 | 0x08])          # caps AUTH, DEFLATE, RESUME
    p += struct.pack("<HIIHBI", 0, 4 << 20, 32768, 4096, 12, 1000)
    p += bytes(range(16)) + os.urandom(32)                         # salt, nonce
    p += bytes([8]) + b"impostor" + bytes([0, 0, 0])               # name, running, nslots, resume
    return frame(1, p)

def recv_exact(c, n):
    b = b""
    while len(b) < n:
        d = c.recv(n - len(b))
        if not d:
            break
        b += d
    return b

def serve(c):
    log.write("connection\n")
    if mode == "silent":
        time.sleep(30)
    elif mode == "garbage":
        c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
    elif mode == "version2":
        c.sendall(hello(2))
        time.sleep(1)
    elif mode == "impostor":
        c.sendall(hello(1))
        auth = recv_exact(c, 4 + 64)
        log.write("auth frame type %d, %d bytes\n" % (auth[0] if auth else -1, len(auth)))
        c.sendall(frame(3, os.urandom(32)))
        c.settimeout(5)
        try:
            rest = c.recv(65536)
        except OSError:
            rest = b""
        log.write("after AUTH_OK the host sent %d bytes\n" % len(rest))
    c.close()

while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
    rm -f "$tmp/fake_native.port"
    spawn python3 "$tmp/fake_native.py" "$1" "${2:-0}" "$tmp/fake_native.port" \
        "$tmp/fake_native.log"
    fake_native_pid=$spawned
    wait_port "$tmp/fake_native.port" "$fake_native_pid" "$tmp/fake_native.log" \
        "the fake native device"
    fake_port=$(cat "$tmp/fake_native.port")
}
