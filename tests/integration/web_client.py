#!/usr/bin/env python3
"""A client of the device web API (docs/PROTOCOL.md section 4), written from
the spec with Python's standard library, for test_web_api.sh: it checks that
the spec is enough to write one, and sends what a browser never would.

  web_client.py URL [--password P] [--wrong-csrf] [--no-session] CMD ...
    info                          GET /api/info
    login [--repeat N]            log in (N times in a row, printing each code), print the answer
    upload FILE [--fs] [--sha256 HEX] [--size N] [--offset N] [--chunk N]
    rollback | confirm | abort
Prints the last JSON answer (plus "http": status); exit 0 if it says ok.
"""
import argparse, hashlib, hmac, http.client, json, os, struct, sys, urllib.parse


class Device:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 80
        self.cookie = None
        self.csrf = None

    def call(self, method, path, body=None):
        c = http.client.HTTPConnection(self.host, self.port, timeout=30)
        h = {}
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.csrf:
            h["X-Aloft-CSRF"] = self.csrf
        if body is not None:
            h["Content-Type"] = "application/octet-stream"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        raw = r.read()
        ck = r.getheader("Set-Cookie")
        if ck:
            self.cookie = ck.split(";")[0]
        c.close()
        try:
            o = json.loads(raw)
        except ValueError:
            o = {"ok": False, "raw": raw[:80].decode("latin-1")}
        o["http"] = r.status
        return o

    def login(self, password):
        ch = self.call("GET", "/api/login")
        if not ch.get("ok"):
            return ch
        if ch["open"]:
            r = self.call("POST", "/api/login")
        else:
            salted = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(ch["salt"]),
                                         ch["iterations"], 32)
            client = hmac.new(salted, b"Client Key", "sha256").digest()
            server = hmac.new(salted, b"Server Key", "sha256").digest()
            cnonce = os.urandom(32)
            am = hashlib.sha256(b"aloft web login" + bytes.fromhex(ch["nonce"]) + cnonce).digest()
            sig = hmac.new(hashlib.sha256(client).digest(), am, "sha256").digest()
            proof = bytes(a ^ b for a, b in zip(client, sig))
            r = self.call("POST", "/api/login?nonce=%s&cnonce=%s&proof=%s"
                          % (ch["nonce"], cnonce.hex(), proof.hex()))
            if r.get("ok") and r["signature"] != hmac.new(server, am, "sha256").hexdigest():
                return {"ok": False, "message": "the device's signature does not verify"}
        if r.get("ok"):
            self.csrf = r["csrf"]
        return r


def split_signed(b):
    """A signed file's trailing block (FORMATS.md 1.1), or None."""
    if len(b) >= 8 and b[-4:] == b"ALSG":
        n = struct.unpack_from("<I", b, len(b) - 8)[0]
        if 79 <= n <= 224 and n < len(b):
            return b[:-n], b[-n:]
    return b, None


def upload(d, a):
    data = open(a.file, "rb").read()
    image, block = split_signed(data)
    size = a.size if a.size is not None else len(image)
    sha = a.sha256 or hashlib.sha256(image).hexdigest()
    r = d.call("POST", "/api/update/begin?target=%s&size=%d&sha256=%s%s"
               % ("fs" if a.fs else "app", size, sha, "&stage=" + a.stage if a.stage else ""),
               block or b"")
    if not r.get("ok"):
        return r
    off = a.offset if a.offset is not None else 0
    while True:
        if a.stop_at is not None and off >= a.stop_at:   # broken off: the upload stays open
            r["broken_off"] = off
            return r
        r = d.call("POST", "/api/update/data?offset=%d" % off, image[off:off + a.chunk])
        if not r.get("ok"):   # end it if the device still holds it (a refused offset)
            d.call("POST", "/api/update/abort")
        if not r.get("ok") or r.get("done") or off >= len(image):
            return r
        off = r["received"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--password")
    p.add_argument("--wrong-csrf", action="store_true")
    p.add_argument("--no-session", action="store_true")
    p.add_argument("cmd")
    p.add_argument("file", nargs="?")
    p.add_argument("--fs", action="store_true")
    p.add_argument("--stage", choices=("slot", "inplace"))
    p.add_argument("--stop-at", type=int)
    p.add_argument("--sha256")
    p.add_argument("--size", type=int)
    p.add_argument("--offset", type=int)
    p.add_argument("--chunk", type=int, default=32768)
    p.add_argument("--repeat", type=int, default=1)
    a = p.parse_args()
    d = Device(a.url)
    if a.cmd == "info":
        r = d.call("GET", "/api/info")
    else:
        r = {"ok": True}
        for _ in range(a.repeat if not a.no_session else 0):   # back to back: no startup between
            r = d.login(a.password or "")
            if a.repeat > 1:
                print("login:", r.get("code", 0))
        if a.wrong_csrf:
            d.csrf = "00" * 16
        if r.get("ok") and a.cmd == "upload":
            r = upload(d, a)
        elif r.get("ok") and a.cmd in ("rollback", "confirm"):
            r = d.call("POST", "/api/" + a.cmd)
        elif r.get("ok") and a.cmd == "abort":
            r = d.call("POST", "/api/update/abort")
    print(json.dumps(r))
    sys.exit(0 if r.get("ok") else 1)


main()
