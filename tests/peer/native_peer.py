#!/usr/bin/env python3
"""tests/peer/native_peer.py — an aloft native protocol host written from
docs/PROTOCOL.md §2 alone (no aloft code or headers), Python 3 standard
library only. It checks that the document is enough to build a peer that
the real device accepts, and gives an independent implementation to
compare against.

  native_peer.py [options] HOST:PORT IMAGE   upload IMAGE (HELLO, login,
                                             OFFER, DATA, END, RESULT)
  native_peer.py --check-vectors PROTOCOL.md recompute the §2.11 vectors

The upload logs in when the device's HELLO asks for a password (the SCRAM
exchange of §2.4, checking the device's signature too), or keys the session
from the zero client key on an open device; offers the image raw or, when
the device inflates, as one zlib stream; keeps at most `window` stream
bytes unconsumed; sends END right after the last DATA; and exits 0 only
when the device answers RESULT. --transcript FILE writes every frame each
way in the format of §2.12.

Exit status: 0 RESULT; 1 the device refused (ERROR) or broke the protocol;
2 usage or a local problem.
"""

import argparse
import hashlib
import hmac
import os
import select
import socket
import struct
import sys
import time
import zlib

# ---- §2.2 message types, §2.3 caps -------------------------------------------

HELLO, AUTH, AUTH_OK, ERROR = 0x01, 0x02, 0x03, 0x04
OFFER, ACCEPT, DATA, ACK, END, RESULT, ROLLBACK = 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16
NAMES = {HELLO: "HELLO", AUTH: "AUTH", AUTH_OK: "AUTH_OK", ERROR: "ERROR", OFFER: "OFFER",
         ACCEPT: "ACCEPT", DATA: "DATA", ACK: "ACK", END: "END", RESULT: "RESULT",
         ROLLBACK: "ROLLBACK"}
TYPES = {v: k for k, v in NAMES.items()}
CAP_AUTH, CAP_DEFLATE, CAP_SIGNED, CAP_RESUME, CAP_DELTA = 0x01, 0x02, 0x04, 0x08, 0x10
ENC_PATCH = 2
MAX_PAYLOAD = 4096
MAC_LEN = 16

# §2.8, the host's side
CONNECT_S, HELLO_S, ANSWER_S, ACCEPT_S, ACK_SILENCE_S, RESULT_S = 5, 13, 10, 30, 10, 60


class ProtocolError(Exception):
    """The peer did not follow PROTOCOL.md."""


class DeviceError(Exception):
    """The device answered ERROR."""

    def __init__(self, m):
        super().__init__("device ERROR %d (%s): have %d, want %d, where '%s'" % (
            m["code"], m["text"], m["have"], m["want"], m["where"]))
        self.msg = m


# ---- fields (§2 conventions) -------------------------------------------------

class Reader:
    """A bounded cursor over a payload; reading past its end is an error."""

    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ProtocolError("payload too short")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def i16(self):
        return struct.unpack("<h", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def bool(self):
        v = self.u8()
        if v > 1:
            raise ProtocolError("bool field is %d" % v)
        return v == 1

    def str(self):
        n = self.u8()
        if n > 32:
            raise ProtocolError("string of %d bytes (at most 32)" % n)
        return self.take(n).decode("utf-8", "replace")

    def rest(self):
        return self.take(len(self.data) - self.pos)

    def end(self):
        if self.pos != len(self.data):
            raise ProtocolError("%d trailing bytes" % (len(self.data) - self.pos))


def put_str(s):
    b = s.encode("utf-8")
    if len(b) > 32:
        raise ValueError("string longer than 32 bytes: %r" % s)
    return bytes([len(b)]) + b


def u8(v):
    return struct.pack("<B", v)


def u16(v):
    return struct.pack("<H", v)


def u32(v):
    return struct.pack("<I", v)


# ---- payloads (§2.2, §2.3): one decoder and one encoder per message ----------

def decode(t, payload):
    r = Reader(payload)
    m = {"type": t}
    if t == HELLO:
        if r.take(4) != b"ALFT":
            raise ProtocolError("HELLO magic is not ALFT")
        m["version"] = r.u8()
        if m["version"] != 1:
            raise ProtocolError("native protocol version %d (this peer speaks 1)" % m["version"])
        m["caps"], m["chip_id"], m["flash_size"] = r.u8(), r.u16(), r.u32()
        m["window"], m["max_payload"], m["inflate_window_bits"] = r.u32(), r.u16(), r.u8()
        m["kdf_iterations"], m["salt"], m["nonce"] = r.u32(), r.take(16), r.take(32)
        m["name"], m["running_slot"], nslots = r.str(), r.u8(), r.u8()
        if nslots > 4:
            raise ProtocolError("HELLO has %d slots (at most 4)" % nslots)
        m["slots"] = []
        for _ in range(nslots):
            s = {"label": r.str(), "size": r.u32(), "state": r.u32(), "has_image": r.bool()}
            if s["has_image"]:
                s["project"], s["version"] = r.str(), r.str()
                s["secure_version"], s["sha256"] = r.u32(), r.take(32)
            m["slots"].append(s)
        m["has_resume"] = r.bool()
        if m["has_resume"]:
            m["resume"] = {"target": r.u8(), "size": r.u32(), "sha256": r.take(32),
                           "offset": r.u32()}
        if m["caps"] & CAP_DELTA:
            m["base"] = {"size": r.u32(), "sha256": r.take(32)}
    elif t == AUTH:
        m["nonce"], m["proof"] = r.take(32), r.take(32)
    elif t == AUTH_OK:
        m["signature"] = r.take(32)
    elif t == ERROR:
        m["code"], m["have"], m["want"] = r.i16(), r.u32(), r.u32()
        m["where"], m["text"] = r.str(), r.str()
    elif t == OFFER:
        m["target"], m["encoding"], m["flags"] = r.u8(), r.u8(), r.u8()
        m["size"], m["sha256"] = r.u32(), r.take(32)
        m["project"], m["version"], m["secure_version"] = r.str(), r.str(), r.u32()
        m["sig_block"] = r.take(r.u8())
        if m["encoding"] == ENC_PATCH:
            m["patch_header"] = r.take(r.u16())
    elif t == ACCEPT:
        m["offset"], m["window"] = r.u32(), r.u32()
    elif t == DATA:
        m["offset"], m["bytes"] = r.u32(), r.rest()
    elif t == ACK:
        m["consumed"], m["durable"] = r.u32(), r.u32()
    elif t == END:
        m["stream_len"] = r.u32()
    elif t == RESULT:
        m["slot"], m["version"], m["reboot"] = r.u8(), r.str(), r.bool()
    elif t == ROLLBACK:
        pass
    else:
        raise ProtocolError("unknown message type 0x%02x" % t)
    r.end()
    return m


def encode(m):
    t = m["type"]
    if t == HELLO:
        p = b"ALFT" + u8(m["version"]) + u8(m["caps"]) + u16(m["chip_id"]) + u32(m["flash_size"])
        p += u32(m["window"]) + u16(m["max_payload"]) + u8(m["inflate_window_bits"])
        p += u32(m["kdf_iterations"]) + m["salt"] + m["nonce"] + put_str(m["name"])
        p += u8(m["running_slot"]) + u8(len(m["slots"]))
        for s in m["slots"]:
            p += put_str(s["label"]) + u32(s["size"]) + u32(s["state"]) + u8(s["has_image"])
            if s["has_image"]:
                p += put_str(s["project"]) + put_str(s["version"]) + u32(s["secure_version"])
                p += s["sha256"]
        p += u8(m["has_resume"])
        if m["has_resume"]:
            res = m["resume"]
            p += u8(res["target"]) + u32(res["size"]) + res["sha256"] + u32(res["offset"])
        if m["caps"] & CAP_DELTA:
            p += u32(m["base"]["size"]) + m["base"]["sha256"]
        return p
    if t == AUTH:
        return m["nonce"] + m["proof"]
    if t == AUTH_OK:
        return m["signature"]
    if t == ERROR:
        return (struct.pack("<hII", m["code"], m["have"], m["want"]) + put_str(m["where"]) +
                put_str(m["text"]))
    if t == OFFER:
        return (u8(m["target"]) + u8(m["encoding"]) + u8(m["flags"]) + u32(m["size"]) +
                m["sha256"] + put_str(m["project"]) + put_str(m["version"]) +
                u32(m["secure_version"]) + u8(len(m["sig_block"])) + m["sig_block"] +
                (u16(len(m["patch_header"])) + m["patch_header"]
                 if m["encoding"] == ENC_PATCH else b""))
    if t == ACCEPT:
        return u32(m["offset"]) + u32(m["window"])
    if t == DATA:
        return u32(m["offset"]) + m["bytes"]
    if t == ACK:
        return u32(m["consumed"]) + u32(m["durable"])
    if t == END:
        return u32(m["stream_len"])
    if t == RESULT:
        return u8(m["slot"]) + put_str(m["version"]) + u8(m["reboot"])
    if t == ROLLBACK:
        return b""
    raise ValueError("unknown type %r" % t)


def summary(m):
    """One line for people: the type and its short fields."""
    skip = {"type", "salt", "nonce", "proof", "signature", "slots", "resume", "base", "bytes"}
    parts = [NAMES.get(m["type"], "?")]
    for k, v in m.items():
        if k in skip:
            continue
        if isinstance(v, bytes):
            v = v.hex()[:16] + ("..." if len(v) > 8 else "")
        elif k == "caps":
            v = "0x%02x" % v
        parts.append("%s=%s" % (k, v))
    if m["type"] == DATA:
        parts.append("len=%d" % len(m["bytes"]))
    if m["type"] == HELLO:
        parts.append("slots=%s" % ",".join("%s:%s" % (s["label"], s.get("version", "-"))
                                           for s in m["slots"]))
    return " ".join(parts)


# ---- §2.1 frames, §2.4 keys ----------------------------------------------------

def header(t, payload_len):
    return bytes([t, 0]) + u16(payload_len)


def frame_mac(key, direction, seq, frame):
    """First 16 bytes of HMAC-SHA256(key, dir || seq u32 || header || payload)."""
    return hmac.new(key, direction.encode() + u32(seq) + frame, hashlib.sha256).digest()[:MAC_LEN]


def password_keys(password, salt, iterations):
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, 32)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    return salted, client_key, hashlib.sha256(client_key).digest(), server_key


def auth_message(hello_payload, host_nonce):
    return hashlib.sha256(hello_payload + host_nonce).digest()


def client_proof(client_key, stored_key, am):
    sig = hmac.new(stored_key, am, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(client_key, sig))


def server_signature(server_key, am):
    return hmac.new(server_key, am, hashlib.sha256).digest()


def session_key(client_key, am):
    return hmac.new(client_key, b"aloft session" + am, hashlib.sha256).digest()


class Conn:
    """One TCP connection, framed; MACs once keyed (seq per direction)."""

    def __init__(self, sock, transcript):
        self.sock, self.buf, self.transcript = sock, b"", transcript
        self.key, self.seq = None, {"H": 0, "D": 0}

    def log(self, arrow, frame, m, seq):
        if self.transcript:
            note = summary(m) + ("" if seq is None else " seq=%d" % seq)
            self.transcript.write("%s %s  # %s\n" % (arrow, frame.hex(), note))

    def send(self, m):
        payload = encode(m)
        frame = header(m["type"], len(payload)) + payload
        seq = None
        if self.key is not None:
            seq = self.seq["H"]
            frame += frame_mac(self.key, "H", seq, frame)
            self.seq["H"] += 1
        self.log("H>D", frame, m, seq)
        self.sock.sendall(frame)

    def _fill(self, timeout):
        """Wait up to timeout s for bytes; False when none came."""
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        if not ready:
            return False
        data = self.sock.recv(65536)
        if not data:
            raise ProtocolError("the device closed the connection")
        self.buf += data
        return True

    def recv(self, deadline):
        """The next frame as a message, or None when deadline (time.monotonic) passes."""
        mac_len = MAC_LEN if self.key is not None else 0
        while True:
            if len(self.buf) >= 4:
                if self.buf[1] != 0:
                    raise ProtocolError("frame flags 0x%02x" % self.buf[1])
                plen = struct.unpack("<H", self.buf[2:4])[0]
                if plen > MAX_PAYLOAD:
                    raise ProtocolError("frame of %d bytes" % plen)
                total = 4 + plen + mac_len
                if len(self.buf) >= total:
                    break
            if not self._fill(deadline - time.monotonic()):
                return None
        frame, self.buf = self.buf[:total], self.buf[total:]
        body = frame[:4 + plen]
        seq = None
        if mac_len:
            seq = self.seq["D"]
            if not hmac.compare_digest(frame_mac(self.key, "D", seq, body), frame[4 + plen:]):
                raise ProtocolError("a frame from the device failed its MAC check")
            self.seq["D"] += 1
        m = decode(frame[0], body[4:])
        self.log("D>H", frame, m, seq)
        m["_payload"] = body[4:]   # the login hashes HELLO's payload as received
        return m

    def expect(self, timeout, what, *types):
        m = self.recv(time.monotonic() + timeout)
        if m is None:
            raise ProtocolError("no %s within %d s" % (what, timeout))
        if m["type"] == ERROR:
            raise DeviceError(m)
        if m["type"] not in types:
            raise ProtocolError("%s instead of %s" % (NAMES[m["type"]], what))
        return m


# ---- the image ---------------------------------------------------------------

def app_description(image):
    """project, version, secure_version from the app description at offset 32."""
    if len(image) >= 32 + 80 and struct.unpack("<I", image[32:36])[0] == 0xABCD5432:
        def field(b):
            return b.split(b"\0", 1)[0].decode("utf-8", "replace")[:32]
        # magic, secure_version, reserved[8], version[32] at 48, project_name[32] at 80
        return field(image[80:112]), field(image[48:80]), struct.unpack("<I", image[36:40])[0]
    return "", "", 0


# ---- one upload ----------------------------------------------------------------

def say(msg):
    print("native_peer: " + msg, flush=True)


def login(conn, hello, hello_payload, password):
    """§2.4: AUTH, AUTH_OK, the device's signature checked; returns the session key."""
    _, client_key, stored_key, server_key = password_keys(
        password, hello["salt"], hello["kdf_iterations"])
    nonce = os.urandom(32)
    am = auth_message(hello_payload, nonce)
    conn.send({"type": AUTH, "nonce": nonce, "proof": client_proof(client_key, stored_key, am)})
    ok = conn.expect(ANSWER_S, "AUTH_OK", AUTH_OK)
    if not hmac.compare_digest(ok["signature"], server_signature(server_key, am)):
        raise ProtocolError("the device's signature does not match: it does not know the password")
    return session_key(client_key, am)


def stream_of(data, deflate_bits):
    if not deflate_bits:
        return data
    c = zlib.compressobj(9, zlib.DEFLATED, deflate_bits)
    return c.compress(data) + c.flush()


def upload(args, transcript):
    image = open(args.image, "rb").read()
    host, _, port = args.device.rpartition(":")
    sock = socket.create_connection((host, int(port)), timeout=CONNECT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn = Conn(sock, transcript)
    try:
        return session(conn, args, image)
    finally:
        sock.close()


def session(conn, args, image):
    hello = conn.expect(HELLO_S, "HELLO", HELLO)
    hello_payload = hello.pop("_payload")
    say("HELLO from '%s': caps 0x%02x, window %d, max_payload %d, inflate window 2^%d" % (
        hello["name"], hello["caps"], hello["window"], hello["max_payload"],
        hello["inflate_window_bits"]))
    if hello["max_payload"] < 5 or hello["max_payload"] > MAX_PAYLOAD or hello["window"] == 0:
        raise ProtocolError("unusable HELLO (max_payload %d, window %d)" % (
            hello["max_payload"], hello["window"]))
    if hello["caps"] & CAP_AUTH:
        if not args.password:
            raise ProtocolError("the device requires a password (--password)")
        conn.key = login(conn, hello, hello_payload, args.password)
        say("logged in; the device proved it knows the password")
    else:
        if args.require_auth:
            raise ProtocolError("the device has no password but --require-auth was given")
        zero = bytes(32)
        conn.key = session_key(zero, auth_message(hello_payload, zero))
        say("open device: no login, session keyed from the zero client key")

    bits = min(hello["inflate_window_bits"], 15)
    can_deflate = bool(hello["caps"] & CAP_DEFLATE) and bits >= 9
    if args.encoding == "deflate" and not can_deflate:
        raise ProtocolError("the device cannot inflate (caps 0x%02x, window bits %d)" % (
            hello["caps"], hello["inflate_window_bits"]))
    deflate_bits = bits if args.encoding == "deflate" or (args.encoding == "auto" and
                                                          can_deflate) else 0
    project, version, secure_version = ("", "", 0) if args.fs else app_description(image)
    conn.send({"type": OFFER, "target": 1 if args.fs else 0, "encoding": 1 if deflate_bits else 0,
               "flags": 1 if args.no_reboot else 0, "size": len(image),
               "sha256": hashlib.sha256(image).digest(), "project": project, "version": version,
               "secure_version": secure_version, "sig_block": b""})
    acc = conn.expect(ACCEPT_S, "ACCEPT", ACCEPT)
    if acc["offset"] > len(image):
        raise ProtocolError("ACCEPT offset %d beyond the image" % acc["offset"])
    stream = stream_of(image[acc["offset"]:], deflate_bits)
    window = acc["window"] or hello["window"]
    chunk = hello["max_payload"] - 4
    say("ACCEPT at offset %d, window %d: %d stream bytes (%s)" % (
        acc["offset"], window, len(stream), "zlib 2^%d" % deflate_bits if deflate_bits else "raw"))

    sent = consumed = 0
    last_heard = time.monotonic()

    def on_ack(m):
        nonlocal consumed
        if m["consumed"] < consumed or m["consumed"] > sent:
            raise ProtocolError("ACK consumed %d (had %d, sent %d)" % (m["consumed"], consumed,
                                                                     sent))
        consumed = m["consumed"]

    while sent < len(stream):
        room = window - (sent - consumed)
        if room > 0:
            n = min(room, chunk, len(stream) - sent)
            conn.send({"type": DATA, "offset": sent, "bytes": stream[sent:sent + n]})
            sent += n
            wait = 0.0   # take the ACKs that are there, then send on
        else:
            wait = ACK_SILENCE_S - (time.monotonic() - last_heard)
            if wait <= 0:
                raise ProtocolError("no ACK for %d s with a full window" % ACK_SILENCE_S)
        m = conn.recv(time.monotonic() + wait)
        while m is not None:
            last_heard = time.monotonic()
            if m["type"] == ERROR:
                raise DeviceError(m)
            if m["type"] != ACK:
                raise ProtocolError("%s during DATA" % NAMES[m["type"]])
            on_ack(m)
            m = conn.recv(time.monotonic())
    if args.wait_final_ack:   # against §2.6, on purpose: shows why END must not wait
        t0 = time.monotonic()
        try:
            while consumed < len(stream):
                m = conn.expect(RESULT_S, "a final ACK", ACK)
                on_ack(m)
        finally:
            say("waited %.1f s for a final ACK" % (time.monotonic() - t0))
    # §2.6: END right after the last DATA, without waiting for a final ACK.
    conn.send({"type": END, "stream_len": len(stream)})
    deadline = time.monotonic() + RESULT_S
    while True:
        m = conn.recv(deadline)
        if m is None:
            raise ProtocolError("no RESULT within %d s of END" % RESULT_S)
        if m["type"] == ERROR:
            raise DeviceError(m)
        if m["type"] == ACK:
            on_ack(m)
            continue
        if m["type"] != RESULT:
            raise ProtocolError("%s after END" % NAMES[m["type"]])
        break
    label = hello["slots"][m["slot"]]["label"] if m["slot"] < len(hello["slots"]) else "-"
    say("RESULT: slot %d (%s), version '%s', reboot %d" % (m["slot"], label, m["version"],
                                                          m["reboot"]))
    return m


# ---- §2.11 vectors -------------------------------------------------------------

def read_vectors(path):
    """The ```vector blocks of path: a list of {key: value} (values joined)."""
    vectors, cur, last = [], None, None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if cur is None:
            if line.strip() == "```vector":
                cur = {}
            continue
        if line.strip() == "```":
            vectors.append(cur)
            cur = None
            continue
        continued = line[:1] in (" ", "\t")
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        if continued:
            cur[last] += " " + text
        else:
            key, _, value = text.partition(" ")
            last = key
            cur[key] = value.strip()
    return vectors


def unhex(s):
    return bytes.fromhex(s.replace(" ", ""))


def check_vectors(path):
    vectors = read_vectors(path)
    frames = {}
    for v in vectors:
        kind, _, name = v["vector"].partition(" ")
        if kind == "frame":
            frames[name] = v
    checked = set()
    for v in vectors:
        kind, _, name = v["vector"].partition(" ")
        if kind == "frame":
            frame = unhex(v["frame"])
            t = TYPES[v["type"]]
            assert frame[0] == t and frame[1] == 0, name
            assert struct.unpack("<H", frame[2:4])[0] == len(frame) - 4, name + ": len"
            m = decode(t, frame[4:])
            assert header(t, len(encode(m))) + encode(m) == frame, name + ": re-encoded differs"
            if "key" in v:
                key, d, seq = unhex(v["key"]), v["dir"], int(v["seq"])
                assert frame_mac(key, d, seq, frame) == unhex(v["mac"]), name + ": mac"
                if "mac_input" in v:
                    assert unhex(v["mac_input"]) == d.encode() + u32(seq) + frame, name
            checked.add(v["type"])
        elif kind in ("login", "open"):
            ref = v["hello"]
            hello = unhex(frames[ref[1:]]["frame"])[4:] if ref.startswith("@") else unhex(ref)
            h = decode(HELLO, hello)
            if kind == "login":
                salted, ck, stored, sk = password_keys(v["password"], h["salt"],
                                                       h["kdf_iterations"])
                am = auth_message(hello, unhex(v["host_nonce"]))
                want = {"salted": salted, "client_key": ck, "stored_key": stored,
                        "server_key": sk, "auth_message": am,
                        "proof": client_proof(ck, stored, am),
                        "signature": server_signature(sk, am), "session_key": session_key(ck, am)}
            else:
                assert not h["caps"] & CAP_AUTH
                am = auth_message(hello, bytes(32))
                want = {"auth_message": am, "session_key": session_key(bytes(32), am)}
            for k, value in want.items():
                assert unhex(v[k]) == value, "%s: %s" % (kind, k)
            checked.add(kind)
        else:
            raise AssertionError("unknown vector kind " + kind)
    missing = (set(NAMES.values()) | {"login", "open"}) - checked
    assert not missing, "no vector for " + ", ".join(sorted(missing))
    say("%d vectors in %s agree with this peer" % (len(vectors), path))


# ---- main ----------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("device", nargs="?", help="HOST:PORT of the device")
    ap.add_argument("image", nargs="?", help="image file to upload")
    ap.add_argument("--password", help="the device's OTA password")
    ap.add_argument("--require-auth", action="store_true",
                    help="fail unless the device asks for a password")
    ap.add_argument("--encoding", choices=("auto", "raw", "deflate"), default="auto",
                    help="auto: zlib when the device inflates (default)")
    ap.add_argument("--fs", action="store_true", help="a filesystem image (target 1)")
    ap.add_argument("--no-reboot", action="store_true", help="OFFER flag NO_REBOOT")
    ap.add_argument("--wait-final-ack", action="store_true",
                    help="break §2.6 on purpose: wait for an ACK of every byte before END")
    ap.add_argument("--transcript", metavar="FILE", help="write every frame each way (§2.12)")
    ap.add_argument("--check-vectors", metavar="PROTOCOL_MD",
                    help="recompute the test vectors of PROTOCOL.md and exit")
    args = ap.parse_args()
    if args.check_vectors:
        try:
            check_vectors(args.check_vectors)
        except (AssertionError, KeyError, ProtocolError) as e:
            say("vector check failed: %s" % e)
            return 1
        return 0
    if not args.device or not args.image or ":" not in args.device:
        ap.error("need HOST:PORT and IMAGE")
    transcript = None
    if args.transcript:
        transcript = open(args.transcript, "w", encoding="ascii")
        transcript.write("# aloft native transcript 1\n# %s -> %s\n" % (args.image, args.device))
        if args.password:
            transcript.write("password %s\n" % args.password)
    try:
        upload(args, transcript)
    except DeviceError as e:
        say(str(e))
        return 1
    except ProtocolError as e:
        say("protocol: %s" % e)
        return 1
    except OSError as e:
        say("connection: %s" % e)
        return 2
    finally:
        if transcript:
            transcript.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
