#!/usr/bin/env bash
# test_arduino_platformio.sh — port/arduino/platformio/aloft_upload.py, the
# PlatformIO extra script, run as PlatformIO runs it (tests/arduino/
# pio_standin.py stands in for SCons: the environment platform-espressif32
# leaves for an upload to an IP, espota.py's command with upload_flags in
# UPLOADERFLAGS), and its upload action really run:
#   - the command lines it builds from upload_port/upload_flags/targets;
#   - `pio run -t upload` with upload_port 127.0.0.1 and upload_flags
#     --auth=... --port=N reaches aloft-sim with the native protocol, which
#     boots the image; the password is not echoed;
#   - on Windows it runs aloft.exe (found on PATH);
#   - a stock ArduinoOTA device (the fake one) still gets the image: aloft
#     falls back to espota by itself;
#   - `pio run -t uploadfs` sends the filesystem image (--fs);
#   - without an aloft program, espota.py's command stays, with a note.
source "$(dirname "${BASH_SOURCE[0]}")/native_sim_lib.sh"
standin="$here/../arduino/pio_standin.py"
fake_py="$here/../tools/fake_arduinoota.py"

python3 "$standin" cases >"$tmp/cases.out" 2>&1 || { cat "$tmp/cases.out" >&2; fail "command lines"; }
contains "$tmp/cases.out" "ok: "

make_image v1 1.0.0 300000 1
make_image v2 2.0.0 300000 2
make_image v3 3.0.0 300000 3
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --password secret --confirm-after 0

# `aloft` found through custom_aloft in platformio.ini
expect_rc 0 python3 "$standin" upload --option "custom_aloft=$aloft" \
    127.0.0.1 "$tmp/v2.bin" --auth=secret "--port=$sim_port"
contains "$tmp/out" "aloft_upload.py: $aloft upload --auth *** 127.0.0.1:$sim_port $tmp/v2.bin"
lacks "$tmp/out" "secret"
wait_reboot "$tmp/sim.log" 2 2.0.0
wait_for "$tmp/sim.log" "confirmed (VALID)" 60 1 || fail "v2 not confirmed"

# Windows: aloft.exe on PATH (here a link to the same program)
mkdir "$tmp/winbin"
ln -s "$aloft" "$tmp/winbin/aloft.exe"
expect_rc 0 env PATH="$tmp/winbin:/usr/bin:/bin" python3 "$standin" upload --platform win32 \
    127.0.0.1 "$tmp/v3.bin" "--auth=secret --port=$sim_port"
contains "$tmp/out" "aloft_upload.py: $tmp/winbin/aloft.exe upload --auth *** 127.0.0.1:$sim_port"
wait_reboot "$tmp/sim.log" 3 3.0.0
wait_for "$tmp/sim.log" "confirmed (VALID)" 60 2 || fail "v3 not confirmed"

# uploadfs: the filesystem image lands in the spiffs partition
head -c 60000 /dev/urandom >"$tmp/fs.bin"
expect_rc 0 env ALOFT="$aloft" python3 "$standin" upload --target uploadfs \
    127.0.0.1 "$tmp/fs.bin" -a secret -p "$sim_port"
contains "$tmp/out" "upload --auth *** --fs 127.0.0.1:$sim_port"
stop_sim
cmp -s <(fs_bytes "$tmp/dev.flash" 60000) "$tmp/fs.bin" || fail "spiffs does not hold fs.bin"

# a stock ArduinoOTA device: nothing listens on TCP, aloft falls back to espota
spawn python3 "$fake_py" --port 0 --port-file "$tmp/fake.port" --out "$tmp/got.bin" \
    --password otapass --idle-timeout 5 --sessions 1 2>"$tmp/fake.log"
fake_pid=$spawned
wait_port "$tmp/fake.port" "$fake_pid" "$tmp/fake.log" "the fake ArduinoOTA device"
expect_rc 0 env ALOFT="$aloft" python3 "$standin" upload \
    127.0.0.1 "$tmp/v2.bin" --auth=otapass "--port=$(cat "$tmp/fake.port")"
contains "$tmp/err" "falling back to espota"
same_file "$tmp/v2.bin" "$tmp/got.bin"

# no aloft anywhere: espota.py keeps the upload, and the user is told
expect_rc 3 env -u ALOFT PATH=/usr/bin:/bin python3 "$standin" upload \
    127.0.0.1 "$tmp/v2.bin" --auth=secret
contains "$tmp/err" "no aloft on PATH (nor custom_aloft in platformio.ini, nor \$ALOFT); uploading with espota.py instead"
contains "$tmp/out" 'UPLOADCMD kept: "$PYTHONEXE" "$UPLOADER" $UPLOADERFLAGS -f $SOURCE'

# custom_aloft naming nothing: said so, espota.py keeps the upload
expect_rc 3 python3 "$standin" upload --option "custom_aloft=$tmp/nowhere/aloft" \
    127.0.0.1 "$tmp/v2.bin" --auth=secret
contains "$tmp/err" "custom_aloft in platformio.ini is $tmp/nowhere/aloft, which does not exist"

echo "PASS: PlatformIO upload through aloft (native, aloft.exe, uploadfs, espota fallback, no aloft)"
