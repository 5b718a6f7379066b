#!/usr/bin/env python3
"""Fake ArduinoOTA device for host-side tests (python3, standard library only).

Behaves like the stock ArduinoOTA of a real core, as described in
docs/research protocol.md (sections 2-5), including its quirks:

  esp32-legacy  ESP32 core <= 3.3.0: MD5 login (32-hex nonce); answers "OK"
                to an invitation before Update.begin (a size problem is
                never reported: it just does not connect back); replies to
                the source of the datagram it answers; reads <= 1460 bytes
                and acks each read with its count; 1 s idle timeout with up
                to 3 re-acks of the last count, then "Receive Failed" and a
                silent close; first byte must be 0xE9 (checked when the
                first 4 KiB are flushed; failure: no ack, then the idle
                timeout); "OK" or "<error>\\r\\n" at the end.
  esp32-pbkdf2  ESP32 core >= 3.3.1: as above with the PBKDF2 login (64-hex
                nonce, H = sha256hex(password), or md5hex with --md5-secret).
  esp8266       ESP8266 core: MD5 login; the auth result and the later
                "OK"/"ERR: ..." go to the INVITATION's source port; runs
                Update.begin before answering, so a too-large image gets
                "ERR: ERROR[4]: Not Enough Space\\n"; 1460-byte reads; 1 s
                pauses before and after the final "OK"; errors as
                "ERROR[n]: text\\n".

Options: --port (0 = any free port, see --port-file), --password,
--md5-secret, --max-size, --result (OK, "MD5 Check Failed" or any device
text), --out FILE (the received image is written there before the result
is sent), --mute (never answer), --refuse TEXT (answer invitations with
TEXT, as an aloft device refuses), --sessions N (exit after N uploads).
Binds 127.0.0.1 only, and holds the TCP port of the same number (bound, not
listening: refused, as on a stock device) unless --no-tcp-hold. Logs what
it does on stderr.
"""
import argparse
import hashlib
import hmac
import os
import secrets
import select
import socket
import sys
import time

IDLE, WAITAUTH, RUNUPDATE = "IDLE", "WAITAUTH", "RUNUPDATE"
CMD_FLASH, CMD_FS, CMD_AUTH = 0, 100, 200
READ_MAX = 1460            # bytes per device read (TCP MSS)
SECTOR = 4096              # Update library flash buffer


def md5hex(b):
    return hashlib.md5(b).hexdigest()


def sha256hex(b):
    return hashlib.sha256(b).hexdigest()


def parse_int(data, pos, max_digits):
    """ArduinoOTA's parseInt: skip spaces, read digits, none reads as 0."""
    while pos < len(data) and data[pos:pos + 1] == b" ":
        pos += 1
    start = pos
    while pos < len(data) and data[pos:pos + 1].isdigit() and pos - start < max_digits:
        pos += 1
    return (int(data[start:pos]) if pos > start else 0), pos


def read_until(data, pos, stops):
    end = pos
    while end < len(data) and data[end:end + 1] not in stops:
        end += 1
    return data[pos:end].strip(), end


class Device:
    def __init__(self, args):
        self.a = args
        self.esp8266 = args.flavour == "esp8266"
        self.pbkdf2 = args.flavour == "esp32-pbkdf2"
        self.udp, self.tcp_hold = self.bind(args.port, not args.no_tcp_hold)
        self.port = self.udp.getsockname()[1]
        self.state = IDLE
        self.sessions = 0
        self.inv = None

    @staticmethod
    def bind(port, hold):
        """The UDP socket, and (hold) the TCP port of the same number bound
        but not listening: a stock device has no TCP server, so a host's TCP
        attempt there is refused, and no other process can listen on it."""
        for _ in range(100):
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            udp.bind(("127.0.0.1", port))
            if not hold:
                return udp, None
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                tcp.bind(("127.0.0.1", udp.getsockname()[1]))
                return udp, tcp
            except OSError:
                tcp.close()
                if port:
                    return udp, None
                udp.close()
        sys.exit("no UDP port whose TCP twin is free")

    def log(self, msg):
        print(f"[fake {self.a.flavour}] {msg}", file=sys.stderr, flush=True)

    # Logged before sending: once the host has the answer, the log has it.
    def send_udp(self, text, addr):
        self.log(f"udp -> {addr[0]}:{addr[1]} {text!r}")
        self.udp.sendto(text.encode() if isinstance(text, str) else text, addr)

    # ---- phase 1: invitation ---------------------------------------

    def on_invitation(self, data, addr):
        digits = 16 if self.esp8266 else 15
        cmd, pos = parse_int(data, 0, digits)
        if cmd not in (CMD_FLASH, CMD_FS):
            self.log(f"ignored datagram with command {cmd}")
            return
        port, pos = parse_int(data, pos, digits)
        size, pos = parse_int(data, pos, digits)
        md5, _ = read_until(data, pos + 1, (b"\n", b"\0"))
        if len(md5) != 32:
            self.log("bad md5 length")
            return
        self.inv = {"cmd": cmd, "port": port, "size": size, "md5": md5.decode(errors="replace"),
                    "addr": addr, "connect_ip": addr[0]}
        self.log(f"invitation from {addr[0]}:{addr[1]}: cmd {cmd} port {port} size {size} md5 {md5.decode()}")
        if self.a.mute:
            return
        if self.a.refuse:
            self.send_udp(self.a.refuse, addr)
            return
        if self.a.password is not None:
            self.nonce = secrets.token_hex(32) if self.pbkdf2 else \
                md5hex(str(int(time.monotonic() * 1e6)).encode())
            self.send_udp("AUTH " + self.nonce, addr)
            self.state = WAITAUTH
            return
        if not self.esp8266:
            self.send_udp("OK", addr)   # ESP32: OK before Update.begin
        self.state = RUNUPDATE

    # ---- phase 2: authentication -----------------------------------

    def secret(self):
        pw = self.a.password.encode()
        if self.pbkdf2 and not self.a.md5_secret:
            return sha256hex(pw)
        return md5hex(pw)

    def expected_response(self, cnonce):
        h = self.secret()
        if not self.pbkdf2:
            return md5hex(f"{h}:{self.nonce}:{cnonce}".encode())
        dk = hashlib.pbkdf2_hmac("sha256", h.encode(), f"{self.nonce}:{cnonce}".encode(), 10000, 32)
        return sha256hex(f"{dk.hex()}:{self.nonce}:{cnonce}".encode())

    def on_auth(self, data, addr):
        self.state = IDLE
        cmd, pos = parse_int(data, 0, 16 if self.esp8266 else 15)
        if cmd != CMD_AUTH:
            self.log(f"{CMD_AUTH} was expected. got {cmd} instead")
            return
        cnonce, pos = read_until(data, pos + 1, (b" ", b"\n", b"\0"))
        response, _ = read_until(data, pos + 1, (b"\n", b"\0"))
        want = 64 if self.pbkdf2 else 32
        if len(cnonce) != want or len(response) != want:
            self.log("auth param fail")
            return
        ok = hmac.compare_digest(response.decode(errors="replace"),
                                 self.expected_response(cnonce.decode()))
        # ESP8266 answers on the invitation's port, ESP32 to this datagram's source.
        reply_to = self.inv["addr"] if self.esp8266 else addr
        self.log(f"auth datagram from {addr[0]}:{addr[1]}: {'match' if ok else 'mismatch'}")
        if not ok:
            self.send_udp("Authentication Failed", reply_to)
            return
        if not self.esp8266:
            self.send_udp("OK", reply_to)
            self.inv["connect_ip"] = addr[0]
        self.state = RUNUPDATE

    # ---- phase 3: connect-back and data ----------------------------

    def begin(self):
        """Update.begin: ESP32 fails silently, ESP8266 answers ERR."""
        size = self.inv["size"]
        too_big = self.a.max_size is not None and size > self.a.max_size
        if self.esp8266:
            if too_big:
                self.send_udp("ERR: ERROR[4]: Not Enough Space\n", self.inv["addr"])
                return False
            self.send_udp("OK", self.inv["addr"])
            time.sleep(0.1)
            return True
        if too_big:
            self.log("Begin ERROR: Bad Size Given")
            return False
        return True

    def connect(self):
        target = (self.inv["connect_ip"], self.inv["port"])
        try:
            return socket.create_connection(target, timeout=3.0)
        except OSError as e:
            self.log(f"Connect Failed to {target[0]}:{target[1]}: {e}")
            return None

    def run_update(self):
        self.state = IDLE
        if not self.begin():
            return
        sock = self.connect()
        if sock is None:
            return
        sock.settimeout(None)
        self.log(f"connected to {self.inv['connect_ip']}:{self.inv['port']}")
        try:
            received = (self.receive_esp8266 if self.esp8266 else self.receive_esp32)(sock)
            if received is not None:
                self.finish(sock, received)
        finally:
            sock.close()
            self.sessions += 1

    def flash_write(self, received, chunk):
        """Update.write: returns bytes taken, 0 on error (sticky)."""
        if self.write_error:
            return 0
        total = len(received) + len(chunk)
        if total > self.inv["size"]:
            self.write_error = "Not Enough Space"
        elif (self.inv["cmd"] == CMD_FLASH and len(received) < SECTOR and
              total >= min(SECTOR, self.inv["size"]) and (received + chunk)[0] != 0xE9):
            self.write_error = "Wrong Magic Byte"
        if self.write_error:
            self.log(f"Write ERROR: {self.write_error}")
            return 0
        received += chunk
        return len(chunk)

    def receive_esp32(self, sock):
        received = bytearray()
        last, tries = 0, 0
        self.write_error = None
        while len(received) < self.inv["size"]:
            ready, _, _ = select.select([sock], [], [], self.a.idle_timeout)
            if not ready:
                if last and tries < 3:
                    tries += 1
                    self.log(f"Try[{tries}]: {last}")
                    sock.sendall(str(last).encode())
                    continue
                self.log(f"Receive Failed after {len(received)} bytes")
                return None
            chunk = sock.recv(READ_MAX)
            if not chunk:
                self.log(f"host closed after {len(received)} bytes: Aborted")
                return None
            last = self.flash_write(received, chunk)
            if last:
                sock.sendall(str(last).encode())
        return received

    def receive_esp8266(self, sock):
        received = bytearray()
        while len(received) < self.inv["size"]:
            # The real 1 s wait never fires (post-decrement bug): a stall
            # lasts until the host gives up; this guard keeps tests finite.
            ready, _, _ = select.select([sock], [], [], 30.0)
            if not ready:
                return None
            chunk = sock.recv(min(READ_MAX, self.inv["size"] - len(received)))
            if not chunk:
                self.log(f"host closed after {len(received)} bytes")
                return None
            received += chunk
            sock.sendall(str(len(chunk)).encode())
        return received

    def result_text(self, received):
        """None for success, else the Update library's error text."""
        calculated = md5hex(bytes(received))
        if self.a.result not in (None, "OK"):
            if self.esp8266 and "MD5" in self.a.result:
                return (f"ERROR[7]: MD5 verification failed: expected: {self.inv['md5']}, "
                        f"calculated: {calculated}\n")
            return self.a.result + ("\n" if self.esp8266 else "\r\n")
        if calculated != self.inv["md5"].lower():
            return "MD5 Check Failed\r\n"
        return None

    def finish(self, sock, received):
        if self.a.out:
            with open(self.a.out, "wb") as f:
                f.write(received)
        error = self.result_text(received)
        if self.esp8266:
            time.sleep(1.0)   # keeps the last count apart from "OK"
        self.log(f"sending result: {(error or 'OK').strip()!r}")
        sock.sendall((error or "OK").encode())
        if self.esp8266 and error is None:
            time.sleep(1.0)

    # ---- main loop --------------------------------------------------

    def serve(self):
        self.log(f"listening on 127.0.0.1:{self.port}")
        while not (self.a.sessions and self.sessions >= self.a.sessions):
            data, addr = self.udp.recvfrom(1024)
            if self.state == WAITAUTH:
                self.on_auth(data, addr)
            else:
                self.on_invitation(data, addr)
            if self.state == RUNUPDATE:
                self.run_update()


def main():
    p = argparse.ArgumentParser(description="Fake ArduinoOTA device for tests")
    p.add_argument("--flavour", "--flavor", choices=["esp32-legacy", "esp32-pbkdf2", "esp8266"],
                   default="esp32-legacy")
    p.add_argument("--port", type=int, default=3232)
    p.add_argument("--port-file", help="write the bound UDP port here once listening")
    p.add_argument("--password")
    p.add_argument("--md5-secret", action="store_true",
                   help="esp32-pbkdf2: the device stores md5hex(password) (setPasswordHash(md5))")
    p.add_argument("--max-size", type=int)
    p.add_argument("--result", default="OK")
    p.add_argument("--out")
    p.add_argument("--mute", action="store_true")
    p.add_argument("--refuse")
    p.add_argument("--idle-timeout", type=float, default=1.0)
    p.add_argument("--sessions", type=int, default=0)
    p.add_argument("--no-tcp-hold", action="store_true",
                   help="leave the TCP port of the same number free (for a test's own service)")
    args = p.parse_args()
    dev = Device(args)
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{dev.port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    try:
        dev.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
