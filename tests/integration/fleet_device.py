#!/usr/bin/python3
"""tests/integration/fleet_device.py: a scripted stand-in for aloft *devices*
on a real MQTT broker, speaking docs/FLEET.md: each device connects as
itself (user = its name; will: offline), publishes its state and online,
retained, and answers install commands on PREFIX/DEV/cmd the way the test
scripts it:

  confirm   downloading (the file fetched over HTTP and its size and SHA-256
            checked), rebooting, then confirmed with the new version (default)
  fail      downloading, rebooting, then failed: rolled back (-46)
  silent    downloading, then nothing (never confirms: the timeout's case;
            a retry starts over)
  refuse    refused (version not newer)

--hold FILE: while FILE exists and names a device (one name a line), that
device waits before each step of an update, so a test decides when an update
moves on (a gate, not a clock).

Every command received is appended to --record as "NAME ID" (one line, flushed),
so a test counts how often each device was commanded. Prints "ready" once
every device has published its state. Not a test double for the broker or the
controller: both are the real ones.

usage: fleet_device.py --port P --names dev01,dev02 [--behave dev02=fail]
       [--silent-every K] [--offline dev03] [--record FILE] [--hold FILE]
       [--password PASS] [--cafile CA] [--prefix aloft] [--project P]
       [--version V] [--chip ESP32]
"""
import argparse
import os
import hashlib
import json
import signal
import sys
import threading
import time
import urllib.request

import paho.mqtt.client as mqtt

ap = argparse.ArgumentParser()
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--names", required=True)
ap.add_argument("--behave", action="append", default=[])
ap.add_argument("--silent-every", type=int, default=0)
ap.add_argument("--offline", default="")
ap.add_argument("--record", default=None)
ap.add_argument("--hold", default=None)
ap.add_argument("--password", default=None)
ap.add_argument("--cafile", default=None)
ap.add_argument("--prefix", default="aloft")
ap.add_argument("--project", default="gateway")
ap.add_argument("--version", default="1.0.0")
ap.add_argument("--chip", default="ESP32")
ap.add_argument("--no-fetch", action="store_true")
args = ap.parse_args()

names = [n for n in args.names.split(",") if n]
behave = dict(b.split("=", 1) for b in args.behave)
if args.silent_every:
    for k, n in enumerate(names):
        if (k + 1) % args.silent_every == 0:
            behave[n] = "silent"
offline = set(n for n in args.offline.split(",") if n)
record_lock = threading.Lock()
record = open(args.record, "a") if args.record else None


class Device:
    def __init__(self, name):
        self.name = name
        self.version = args.version
        self.busy = False
        self.ready = threading.Event()
        self.c = mqtt.Client(client_id="dev-" + name, clean_session=True)
        if args.password is not None:
            self.c.username_pw_set(name, args.password)
        if args.cafile:
            self.c.tls_set(ca_certs=args.cafile)
        self.t = lambda what: "%s/%s/%s" % (args.prefix, name, what)
        self.c.will_set(self.t("online"), "offline", qos=1, retain=True)
        self.c.on_connect = self.on_connect
        self.c.on_message = self.on_message

    def state(self):
        slots = [{"label": "app0", "state": "VALID", "project": args.project,
                  "version": self.version, "sha256": "0" * 64},
                 {"label": "app1", "state": "EMPTY"}]
        return json.dumps({"name": self.name, "chip": args.chip, "project": args.project,
                           "version": self.version, "running_slot": "app0",
                           "signed_only": False, "agent": 1, "slots": slots})

    def on_connect(self, c, userdata, flags, rc):
        if rc != 0:
            print("%s: connect refused rc=%d" % (self.name, rc), file=sys.stderr, flush=True)
            return
        c.subscribe(self.t("cmd"), qos=1)
        c.publish(self.t("state"), self.state(), qos=1, retain=True)
        info = c.publish(self.t("online"), "offline" if self.name in offline else "online",
                         qos=1, retain=True)
        threading.Thread(target=lambda: (info.wait_for_publish(), self.ready.set()),
                         daemon=True).start()

    def progress(self, cid, version, phase, done=0, total=0, error=None):
        o = {"id": cid, "version": version, "phase": phase, "done": done, "total": total,
             "error": error}
        self.c.publish(self.t("update"), json.dumps(o), qos=1, retain=True)

    def held(self):
        try:
            with open(args.hold) as f:
                return self.name in f.read().split()
        except (OSError, TypeError):
            return False

    def pause(self):
        while self.held():   # the test removes the file (or the name) to go on
            time.sleep(0.02)

    def on_message(self, c, userdata, msg):
        try:
            cmd = json.loads(msg.payload)
        except ValueError:
            return
        if cmd.get("op") != "install":
            return
        cid = cmd.get("id", "")
        if record:
            with record_lock:
                record.write("%s %s\n" % (self.name, cid))
                record.flush()
        threading.Thread(target=self.install, args=(cid, cmd.get("release", {})),
                         daemon=True).start()

    def install(self, cid, rel):
        version = rel.get("version", "")
        what = behave.get(self.name, "confirm")
        if self.busy:
            self.progress(cid, version, "refused", error={"code": -9, "message": "busy",
                                                          "hint": "an update runs"})
            return
        if what == "refuse":
            self.progress(cid, version, "refused",
                          error={"code": -44, "message": "version not newer",
                                 "hint": "allow_downgrade"})
            return
        self.busy = True
        total = rel.get("size", 0)
        self.progress(cid, version, "downloading", 0, total)
        if not args.no_fetch:
            try:
                data = urllib.request.urlopen(rel["url"], timeout=10).read()
            except Exception as e:  # the device reports what a real one would
                self.busy = False
                self.progress(cid, version, "failed", 0, total,
                              {"code": -5, "message": "download failed", "hint": str(e)})
                return
            if len(data) != total or hashlib.sha256(data).hexdigest() != rel.get("sha256"):
                self.busy = False
                self.progress(cid, version, "failed", len(data), total,
                              {"code": -41, "message": "SHA-256 mismatch",
                               "hint": "the file differs from the release object"})
                return
        self.pause()
        self.progress(cid, version, "downloading", total, total)
        if what == "silent":
            self.busy = False   # as if it lost the update: a retry starts again
            return
        self.pause()
        self.progress(cid, version, "rebooting", total, total)
        self.pause()
        self.busy = False
        if what == "fail":
            self.progress(cid, version, "failed", total, total,
                          {"code": -46, "message": "rolled back",
                           "hint": "the new image did not confirm itself; the previous runs"})
            return
        self.version = version
        self.c.publish(self.t("state"), self.state(), qos=1, retain=True)
        self.progress(cid, version, "confirmed", total, total)


devs = [Device(n) for n in names]
for d in devs:
    d.c.connect(args.host, args.port, keepalive=30)
    d.c.loop_start()
for d in devs:
    if not d.ready.wait(30):
        print("%s: not connected" % d.name, file=sys.stderr, flush=True)
        sys.exit(1)
    if d.name in offline:
        d.c.disconnect()
        d.c.loop_stop()
print("ready", flush=True)
try:
    signal.pause()   # the devices run on their own threads until a signal
except KeyboardInterrupt:
    pass
