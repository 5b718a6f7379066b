#!/usr/bin/env python3
"""bench/login_flood.py - how many password guesses a device lets through.

Floods a device's logins with wrong passwords from many source addresses
(127.0.0.0/8 on loopback: each worker binds to its own 127.0.0.x before it
connects or sends) and counts what the device did with them:

  checked   the device looked at the guess and said it was wrong
            (native ERROR -81, espota "Authentication Failed")
  refused   the device would not look at it (native ERROR -84/-88,
            espota "ERR: locked out ..." / "ERR: too many logins ...")
  other     busy, no answer, closed, ...

A guess needs no real crypto: any 32-byte proof (native) or 64-hex response
(espota) is wrong. Python stdlib only.

  login_flood.py --port P [--protocol native|espota] [--addresses N]
                 [--seconds S] [--json]

Prints one line of numbers (or one JSON object with --json); checked per
minute is the figure that matters. Used by tests/integration and by hand:
docs/PROTOCOL.md "Login and connection guarantees" has measured numbers.
"""
import argparse
import json
import os
import socket
import struct
import sys
import threading
import time

AUTH, ERROR = 0x02, 0x04


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise ConnectionError("closed")
        b += d
    return b


def native_attempt(src, host, port):
    """One wrong native login from src: returns the ERROR code or a word."""
    s = socket.socket()
    s.settimeout(5)
    try:
        s.bind((src, 0))
        s.connect((host, port))
        head = recv_exact(s, 4)
        if head[0] != 0x01:
            return "no-hello"
        recv_exact(s, struct.unpack("<H", head[2:4])[0])
        s.sendall(bytes([AUTH, 0]) + struct.pack("<H", 64) + os.urandom(64))
        head = recv_exact(s, 4)
        if head[0] != ERROR:
            return "accepted?"
        payload = recv_exact(s, struct.unpack("<H", head[2:4])[0])
        return struct.unpack("<h", payload[:2])[0]
    except (OSError, ConnectionError):
        return "closed"
    finally:
        s.close()


def espota_attempt(src, host, port):
    """One wrong espota login from src: the device's last answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.bind((src, 0))
        s.sendto(b"0 45678 70000 0123456789abcdef0123456789abcdef\n", (host, port))
        reply = s.recv(128).decode(errors="replace")
        if not reply.startswith("AUTH "):
            return reply
        n = len(reply) - 5
        s.sendto(("200 %s %s\n" % (os.urandom(n // 2).hex(), os.urandom(n // 2).hex())).encode(),
                 (host, port))
        return s.recv(128).decode(errors="replace")
    except OSError:
        return "no answer"
    finally:
        s.close()


def classify(protocol, r):
    if protocol == "native":
        return {-81: "checked", -84: "refused", -88: "refused"}.get(r, "other")
    if r == "Authentication Failed":
        return "checked"
    if r.startswith("ERR: locked out") or r.startswith("ERR: too many logins"):
        return "refused"
    return "other"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--protocol", choices=("native", "espota"), default="native")
    ap.add_argument("--addresses", type=int, default=1)
    ap.add_argument("--first", type=int, default=2, help="first source is 127.0.0.FIRST")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if not 1 <= a.addresses <= 250:
        sys.exit("login_flood: --addresses 1..250")
    attempt = native_attempt if a.protocol == "native" else espota_attempt
    counts = {"checked": 0, "refused": 0, "other": 0}
    others = {}
    lock = threading.Lock()
    stop = time.monotonic() + a.seconds

    def worker(src):
        while time.monotonic() < stop:
            r = attempt(src, a.host, a.port)
            kind = classify(a.protocol, r)
            with lock:
                counts[kind] += 1
                if kind == "refused" and counts["refused"] == 1:
                    # the device's limits are in force from here on
                    print("login_flood: refused", file=sys.stderr, flush=True)
                if kind == "other":
                    others[str(r)] = others.get(str(r), 0) + 1

    sources = ["127.0.%d.%d" % divmod(a.first + i, 256) for i in range(a.addresses)]
    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in sources]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    print("login_flood: flooding", file=sys.stderr, flush=True)   # tests wait for this
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    out = dict(counts, protocol=a.protocol, addresses=a.addresses, seconds=round(elapsed, 1),
               checked_per_minute=round(counts["checked"] * 60 / elapsed, 1), others=others)
    if a.json:
        print(json.dumps(out))
    else:
        print("%s from %d address(es), %.1f s: %d checked (%.1f/min), %d refused, %d other %s"
              % (a.protocol, a.addresses, elapsed, counts["checked"], out["checked_per_minute"],
                 counts["refused"], counts["other"], others or ""))


if __name__ == "__main__":
    main()
