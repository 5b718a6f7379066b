"""tests/arduino/pio_standin.py — runs port/arduino/platformio/aloft_upload.py
as PlatformIO would, without PlatformIO: a minimal stand-in for the SCons
environment (subst, Replace, GetProjectOption), SCons.Script's
COMMAND_LINE_TARGETS and the Import() SCons gives extra scripts.

  pio_standin.py cases                    the command lines built from given
                                          upload_port/upload_flags/targets
  pio_standin.py upload [--platform P] [--target T] [--protocol P]
                 [--option NAME=VALUE] UPLOAD_PORT FIRMWARE [FLAG...]
                                          loads the script into an environment
                                          as platform-espressif32 leaves it for
                                          an OTA port, then runs the upload
                                          action (UPLOADCMD): its exit status
"""
import argparse
import os
import re
import sys
import tempfile
import types

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      "..", "..", "port", "arduino", "platformio", "aloft_upload.py")
ESPOTA_CMD = '"$PYTHONEXE" "$UPLOADER" $UPLOADERFLAGS -f $SOURCE'


class Env(dict):
    """The few SCons Environment methods the script calls."""

    def __init__(self, options=None, **values):
        super().__init__(values)
        self.options = options or {}

    def subst(self, s):
        def var(m):
            v = self.get(m.group(1), "")
            return " ".join(map(str, v)) if isinstance(v, list) else str(v)
        return re.sub(r"\$\{?([A-Z_]+)\}?", var, s)

    def Replace(self, **kw):
        self.update(kw)

    def GetProjectOption(self, name, default=None):
        return self.options.get(name, default)


def espota_env(port, flags, protocol="espota", targets=(), options=None):
    """What platform-espressif32 leaves for an upload to an IP or *.local:
    espota.py with UPLOAD_FLAGS prepended to UPLOADERFLAGS (platformio-core)."""
    uploaderflags = list(flags) + ["--debug", "--progress", "-i", "$UPLOAD_PORT"]
    if {"uploadfs", "uploadfsota"} & set(targets):
        uploaderflags.append("--spiffs")
    return Env(options, UPLOAD_PORT=port, UPLOAD_FLAGS=list(flags), UPLOAD_PROTOCOL=protocol,
               UPLOADER="espota.py", UPLOADERFLAGS=uploaderflags, UPLOADCMD=ESPOTA_CMD,
               PYTHONEXE=sys.executable)


def load(env, targets=(), platform=None):
    """Run the extra script against env; returns the script's namespace."""
    scons = types.ModuleType("SCons")
    script = types.ModuleType("SCons.Script")
    script.COMMAND_LINE_TARGETS = list(targets)
    scons.Script = script
    sys.modules["SCons"], sys.modules["SCons.Script"] = scons, script
    ns = {"__name__": "aloft_upload", "__file__": SCRIPT}
    ns["Import"] = lambda name: ns.__setitem__(name, env)
    saved = sys.platform
    if platform:
        sys.platform = platform
        # Windows always sets PATHEXT; shutil.which's default for it is split
        # with os.pathsep, which on Linux is ':', so give it one extension.
        os.environ.setdefault("PATHEXT", ".EXE")
    try:
        with open(SCRIPT) as f:
            exec(compile(f.read(), SCRIPT, "exec"), ns)
    finally:
        sys.platform = saved
    return ns


def cases():
    """Each line of upload_port/upload_flags users write -> the argv."""
    aloft = os.path.join(tempfile.mkdtemp(), "aloft")   # found, never run here
    open(aloft, "w").close()
    table = [
        # (port, flags, targets, expected argv after "aloft upload")
        ("192.168.1.50", [], [], ["192.168.1.50", "fw.bin"]),
        ('"192.168.1.50"', ["--auth=secret"], [], ["--auth", "secret", "192.168.1.50", "fw.bin"]),
        ("gw.local", ['--auth="s e"', "--port=3232"], [],
         ["--auth", "s e", "gw.local:3232", "fw.bin"]),
        ("10.0.0.7", ["--auth=secret --port=8266"], [],          # one line, two flags
         ["--auth", "secret", "10.0.0.7:8266", "fw.bin"]),
        ("10.0.0.7", ["-a", "pw", "-p", "3300", "-P", "40000", "-I", "10.0.0.2"], [],
         ["--auth", "pw", "--host-port", "40000", "--host-ip", "10.0.0.2", "10.0.0.7:3300",
          "fw.bin"]),
        ("10.0.0.7", ["-apw", "-p3300", "--debug", "--progress", "-r", "-d"], [],
         ["--auth", "pw", "10.0.0.7:3300", "fw.bin"]),
        ("10.0.0.7", ["--timeout=20", "-m", "--protocol=native"], [],
         ["--timeout", "20", "--md5-target", "--protocol", "native", "10.0.0.7", "fw.bin"]),
        ("10.0.0.7", ["--auth=x"], ["uploadfs"], ["--auth", "x", "--fs", "10.0.0.7", "fw.bin"]),
        ("10.0.0.7", ["--spiffs"], ["uploadfsota"], ["--fs", "10.0.0.7", "fw.bin"]),
    ]
    n = 0
    for port, flags, targets, want in table:
        env = espota_env(port, flags, targets=targets, options={"custom_aloft": aloft})
        os.environ.pop("ALOFT", None)
        ns = load(env, targets)
        assert env["UPLOADCMD"] is ns["aloft_upload"], (port, flags, "UPLOADCMD not replaced")
        got = ns["aloft_command"](env, env["ALOFT_PROGRAM"], "fw.bin")
        assert got == [aloft, "upload"] + want, "%r %r: %r, want %r" % (port, flags, got, want)
        n += 1
    # serial ports and an upload_protocol = custom with a host name
    for port, protocol, replaced in [("/dev/ttyUSB0", "esptool", False), ("COM3", "esptool", False),
                                     ("COM3", "custom", False), ("gateway", "custom", True),
                                     ("gateway", "esptool", False)]:
        env = espota_env(port, [], protocol=protocol, options={"custom_aloft": sys.executable})
        ns = load(env)
        assert (env["UPLOADCMD"] is ns["aloft_upload"]) == replaced, (port, protocol)
        n += 1
    # a flag aloft cannot take: refused with a message, nothing run
    env = espota_env("10.0.0.7", ["--bogus"], options={"custom_aloft": sys.executable})
    ns = load(env)
    try:
        ns["aloft_command"](env, "aloft", "fw.bin")
        raise AssertionError("--bogus accepted")
    except ns["UploadFlagError"] as e:
        assert "--bogus" in str(e), e
    env = espota_env("10.0.0.7", ["--auth"], options={"custom_aloft": sys.executable})
    ns = load(env)
    try:
        ns["aloft_command"](env, "aloft", "fw.bin")
        raise AssertionError("--auth without a value accepted")
    except ns["UploadFlagError"] as e:
        assert "needs a value" in str(e), e
    n += 2
    os.unlink(aloft)
    os.rmdir(os.path.dirname(aloft))
    print("ok: %d cases" % n)


def upload(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--platform")
    p.add_argument("--target", action="append", default=[])
    p.add_argument("--protocol", default="espota")
    p.add_argument("--option", action="append", default=[])
    p.add_argument("port")
    p.add_argument("firmware")
    p.add_argument("flags", nargs=argparse.REMAINDER)
    a = p.parse_args(argv)
    options = dict(o.split("=", 1) for o in a.option)
    env = espota_env(a.port, a.flags, protocol=a.protocol, targets=a.target, options=options)
    ns = load(env, a.target, a.platform)
    if env["UPLOADCMD"] is not ns["aloft_upload"]:
        print("standin: UPLOADCMD kept: %s" % env["UPLOADCMD"])
        return 3
    # SCons calls a function action by keyword with its target and source
    # nodes (str() of a node is its path)
    return env["UPLOADCMD"](target=["upload"], source=[a.firmware], env=env)


if __name__ == "__main__":
    if sys.argv[1:2] == ["cases"]:
        cases()
    elif sys.argv[1:2] == ["upload"]:
        sys.exit(upload(sys.argv[2:]))
    else:
        sys.exit(__doc__)
