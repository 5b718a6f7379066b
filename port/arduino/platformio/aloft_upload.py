# aloft_upload.py — PlatformIO extra script: `pio run -t upload` (and
# uploadfs) to a device on the network goes through `aloft upload`.
#
#   [env:gateway]
#   upload_port = 192.168.1.50          (or gateway.local)
#   upload_flags = --auth=secret --port=3232
#   extra_scripts = aloft_upload.py     (a post script, PlatformIO's default:
#                                        it runs after the platform set UPLOADCMD)
#
# platform-espressif32 turns every upload to an IP address or *.local into
# espota (even with upload_protocol = custom) and builds espota.py's command
# from UPLOADERFLAGS, which then also holds espota's own flags. This script
# replaces that command: it reads $UPLOAD_PORT and $UPLOAD_FLAGS (espota's
# spelling, which `aloft upload` understands after translation), not
# UPLOADERFLAGS. `aloft upload` speaks aloft's native protocol and falls back
# to espota by itself when the device has no aloft (nothing listens on its
# TCP port), so stock ArduinoOTA devices keep working. Serial uploads are
# left alone; without an aloft program (PATH, $ALOFT, or custom_aloft in
# platformio.ini) espota.py stays in charge, with a note saying so.

import os
import re
import shlex
import shutil
import subprocess
import sys

from SCons.Script import COMMAND_LINE_TARGETS  # noqa: F401 (PlatformIO's SCons)

Import("env")  # noqa: F821 (SCons injects Import into extra scripts)

# platform-espressif32's own test for an OTA upload port.
NETWORK_PORT = re.compile(r'^"?((([0-9]{1,3}\.){3}[0-9]{1,3})|[^\\/]+\.local)"?$')

# espota flags (as written in upload_flags) -> aloft upload's; None: dropped
# (aloft always shows its progress; -i and -f come from upload_port and the
# build). --port goes into DEVICE as HOST:PORT.
WITH_VALUE = {
    "-a": "--auth", "--auth": "--auth",
    "-p": "port", "--port": "port",
    "-P": "--host-port", "--host_port": "--host-port", "--host-port": "--host-port",
    "-I": "--host-ip", "--host_ip": "--host-ip", "--host-ip": "--host-ip",
    "-t": "--timeout", "--timeout": "--timeout",
    "-i": None, "--ip": None, "-f": None, "--file": None,
    # aloft's own options, passed as they are
    "--protocol": "--protocol", "--retries": "--retries", "--tries": "--tries",
}
FLAGS = {
    "-m": "--md5-target", "--md5-target": "--md5-target",
    "-s": "--fs", "--spiffs": "--fs",
    "-d": None, "--debug": None, "-r": None, "--progress": None,
    "--no-compress": "--no-compress", "--json": "--json",
}


class UploadFlagError(ValueError):
    pass


def split_flags(flags):
    """upload_flags as PlatformIO hands them over: a list (or one string) whose
    items may each hold several flags (platformio-core #1787)."""
    if isinstance(flags, str):
        flags = [flags]
    out = []
    for item in flags or []:
        out.extend(shlex.split(str(item)))
    return out


def translate(flags):
    """espota-style upload flags -> (aloft upload options, device port or None)."""
    opts, port = [], None
    i = 0
    while i < len(flags):
        flag = flags[i]
        name, value = flag, None
        if flag.startswith("--") and "=" in flag:
            name, value = flag.split("=", 1)
        elif re.match(r"^-[apPIt].+", flag):      # -asecret, -p3232
            name, value = flag[:2], flag[2:]
        if name in WITH_VALUE:
            if value is None:
                i += 1
                if i >= len(flags):
                    raise UploadFlagError("upload_flags: %s needs a value" % name)
                value = flags[i]
            target = WITH_VALUE[name]
            if target == "port":
                port = value
            elif target is not None:
                opts += [target, value]
        elif value is None and name in FLAGS:
            if FLAGS[name] is not None and FLAGS[name] not in opts:
                opts.append(FLAGS[name])
        else:
            raise UploadFlagError(
                "upload_flags: '%s' is neither an espota flag nor an aloft upload option"
                % flag)
        i += 1
    return opts, port


def find_aloft(env):
    """(path, None) of the aloft program, or (None, why not): custom_aloft in
    platformio.ini, else $ALOFT, else aloft on PATH (aloft.exe on Windows)."""
    exe = "aloft.exe" if sys.platform.startswith(("win", "cygwin")) else "aloft"
    given_by = [("custom_aloft in platformio.ini", env.GetProjectOption("custom_aloft", "")),
                ("$ALOFT", os.environ.get("ALOFT", ""))]
    for where, given in given_by:
        if given:
            found = shutil.which(given) or (given if os.path.isfile(given) else None)
            if found:
                return found, None
            return None, "%s is %s, which does not exist" % (where, given)
    found = shutil.which(exe)
    return (found, None) if found else (None, "no %s on PATH (nor custom_aloft in platformio.ini, "
                                              "nor $ALOFT)" % exe)


def upload_port(env):
    return env.subst("$UPLOAD_PORT").strip().strip('"')


def is_network_upload(env):
    port = upload_port(env)
    protocol = env.subst("$UPLOAD_PROTOCOL")
    if not port:
        return False
    if NETWORK_PORT.match(port):
        return True
    # upload_protocol = espota/custom with a plain host name
    return protocol in ("espota", "custom") and not re.search(r"[\\/]|^COM\d+$", port)


def filesystem_upload(env):
    targets = set(COMMAND_LINE_TARGETS)
    return bool(targets & {"uploadfs", "uploadfsota"}) or "--spiffs" in [
        str(f) for f in env.get("UPLOADERFLAGS", [])]


def aloft_command(env, aloft, firmware):
    """The argv of `aloft upload` for this environment."""
    opts, port = translate(split_flags(env.get("UPLOAD_FLAGS", [])))
    if filesystem_upload(env) and "--fs" not in opts:
        opts.append("--fs")
    device = upload_port(env)
    if port:
        device = "%s:%s" % (device, port)
    return [aloft, "upload"] + opts + [device, firmware]


def aloft_upload(source, target, env):
    """The upload action (UPLOADCMD): runs aloft, returns its exit status."""
    try:
        argv = aloft_command(env, env["ALOFT_PROGRAM"], str(source[0]))
    except UploadFlagError as e:
        sys.stderr.write("aloft_upload.py: %s\n" % e)
        return 2
    # the command as run, the password masked
    print("aloft_upload.py: " + " ".join(
        "***" if i and argv[i - 1] == "--auth" else shlex.quote(a) for i, a in enumerate(argv)))
    sys.stdout.flush()
    return subprocess.call(argv)


def setup(env):
    if not is_network_upload(env):
        return
    aloft, why = find_aloft(env)
    if aloft is None:
        sys.stderr.write("aloft_upload.py: %s; uploading with espota.py instead\n" % why)
        return
    env.Replace(ALOFT_PROGRAM=aloft, UPLOADCMD=aloft_upload)


setup(env)  # noqa: F821
