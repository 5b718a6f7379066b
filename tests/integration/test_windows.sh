#!/usr/bin/env bash
# tests/integration/test_windows.sh — aloft.exe (the mingw-w64 build the
# normal build makes in windows/) under wine, against aloft-sim on
# 127.0.0.1, with Windows paths (Z:\...):
#   - win_selftest.exe: CNG hashes, PBKDF2, RNG, ECDSA, key PEM, socket
#     error words, the suffix sort;
#   - --version and the words of usage errors and missing files as on
#     Linux; a key pair made by aloft.exe reads in openssl;
#     a file signed by aloft.exe verifies with Linux aloft, and one signed on
#     Linux with aloft.exe;
#   - a delta patch made by aloft.exe is byte for byte Linux's --fast one
#     (Debian has no Zopfli for mingw, so aloft.exe makes zlib-only patches);
#   - uploads to a device with a password and signing keys: a wrong
#     password is refused with Linux's words and nothing is written; a
#     blocked connect-back gets the Windows firewall advice; the
#     native protocol (PBKDF2 login) and espota (MD5 login, connect-back)
#     each deliver a Windows-signed image, which the device boots; progress
#     is plain lines when redirected; PlatformIO's aloft_upload.py, as on
#     Windows, finds aloft.exe on PATH and uploads with it.
# The wine prefix is kept in windows/wineprefix (its first creation takes
# about 15-20 s; later runs reuse it).
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"
start=$SECONDS

winbin=$(cd "$bin/.." && pwd)/windows/bin
exe="$winbin/aloft.exe"
command -v wine >/dev/null || skip_missing "wine is not installed (Debian: wine, wine64)"
[ -f "$exe" ] && [ -f "$winbin/win_selftest.exe" ] ||
    skip_missing "no $exe (the normal build makes it when gcc-mingw-w64-x86-64 is installed)"
wrapped && skip "the programs are wrappers"

export WINEPREFIX="$winbin/../wineprefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
trap 'wineserver -k 2>/dev/null || true; cleanup' EXIT
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    t0=$(now_ms)
    wine wineboot --init >/dev/null 2>&1 || fail "wineboot failed"
    echo "wine prefix made in $(( $(now_ms) - t0 )) ms"
fi

# winpath FILE: FILE as a Windows program sees it (drive Z: is /)
winpath() { local p="Z:$1"; echo "${p//\//\\}"; }
# w CODE ARGS...: aloft.exe ARGS under wine must exit with CODE; its output
# in $tmp/out and $tmp/err without the CR of Windows line ends
w() {
    local want=$1
    shift
    expect_rc "$want" wine "$exe" "$@"
    sed -i 's/\r$//' "$tmp/out" "$tmp/err"
}

# --- the port's own checks
expect_rc 0 wine "$winbin/win_selftest.exe"
contains "$tmp/out" "ok: "
w 0 --version
[ "$(cat "$tmp/out")" = "$("$aloft" --version)" ] || fail "--version differs from Linux's"

# same CODE ARGS...: aloft.exe and Linux aloft exit with CODE and print the
# same words (run in $tmp, relative paths)
same() {
    local want=$1
    shift
    (cd "$tmp" && w "$want" "$@")
    mv "$tmp/out" "$tmp/win.out"
    mv "$tmp/err" "$tmp/win.err"
    (cd "$tmp" && expect_rc "$want" "$aloft" "$@")
    cmp -s "$tmp/win.out" "$tmp/out" && cmp -s "$tmp/win.err" "$tmp/err" ||
        { diff "$tmp/win.err" "$tmp/err" >&2 || true; fail "aloft.exe $* says other words than Linux"; }
}
same 2 frobnicate
same 2 upload
same 2 upload --protocol carrier-pigeon dev fw.bin
same 1 image info missing.bin
same 1 sign --key missing.key -o out.bin missing.bin

# --- keys and signatures, both ways
make_image v1 1.0.0 60000
make_image v2 2.0.0 90000 2
make_image v3 3.0.0 90000 3
make_image v4 4.0.0 90000 4
"$aloft" keygen "$tmp/lin" >/dev/null || fail "keygen on Linux"
w 0 keygen "$(winpath "$tmp/win")"
contains "$tmp/out" "key id"
openssl pkey -in "$tmp/win.key" -noout 2>/dev/null || fail "openssl cannot read win.key"
openssl pkey -pubin -in "$tmp/win.pub" -noout 2>/dev/null || fail "openssl cannot read win.pub"
w 0 sign --key "$(winpath "$tmp/lin.key")" -o "$(winpath "$tmp/v2-s.bin")" "$(winpath "$tmp/v2.bin")"
w 0 sign --key "$(winpath "$tmp/lin.key")" -o "$(winpath "$tmp/v3-s.bin")" "$(winpath "$tmp/v3.bin")"
expect_rc 0 "$aloft" verify --key "$tmp/lin.pub" "$tmp/v2-s.bin"
"$aloft" sign --key "$tmp/win.key" -o "$tmp/v2-lw.bin" "$tmp/v2.bin" >/dev/null || fail "Linux sign"
w 0 verify --key "$(winpath "$tmp/win.pub")" "$(winpath "$tmp/v2-lw.bin")"
w 1 verify --key "$(winpath "$tmp/lin.pub")" "$(winpath "$tmp/v2-lw.bin")"
contains "$tmp/err" "signed with key id"

# --- delta patches: the same bytes as Linux
w 0 delta make "$(winpath "$tmp/v1.bin")" "$(winpath "$tmp/v2.bin")" -o "$(winpath "$tmp/p.win")"
"$aloft" delta make --fast "$tmp/v1.bin" "$tmp/v2.bin" -o "$tmp/p.lin" >/dev/null || fail "delta on Linux"
cmp -s "$tmp/p.win" "$tmp/p.lin" || fail "aloft.exe's delta patch differs from Linux's"
echo "selftest, keys, signatures, delta in $((SECONDS - start)) s"

# --- uploads to a device with a password and signing keys
pass="pw-$RANDOM"
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --confirm-after 0 --password "$pass" \
    --espota-auth md5 --public-key "$tmp/lin.pub"
dev="127.0.0.1:$sim_port"
cp "$tmp/dev.flash" "$tmp/before.flash"

w 1 upload --auth "not-$pass" "$dev" "$(winpath "$tmp/v2-s.bin")"
contains "$tmp/err" "the device rejected the password; use the one it was provisioned with (--auth PASS)"
w 1 upload --protocol espota --auth "not-$pass" "$dev" "$(winpath "$tmp/v2-s.bin")"
contains "$tmp/err" "rejected the password"
# A firewall that blocks the connect-back (linkemu refuses it, as in
# test_espota_sim_firewall.sh): the hint says what to do on Windows.
build_linkemu
start_relay "$tmp/relay.log" --no-connect-back
hp=$(free_tcp_port)
w 1 upload --protocol espota --timeout 2 --host-ip 127.0.0.1 --host-port "$hp" --auth "$pass" \
    "$relay_ip:$relay_port" "$(winpath "$tmp/v2-s.bin")"
contains "$tmp/err" "upload failed: device did not connect back"
contains "$tmp/err" "did not open a TCP connection to 127.0.0.1:$hp within 2 s"
contains "$tmp/err" "Windows Defender Firewall: answer its prompt for aloft.exe with Allow access"
contains "$tmp/err" "netsh advfirewall firewall add rule name=aloft dir=in action=allow protocol=TCP localport=N"
kill "$relay_pid"
cmp -s "$tmp/before.flash" "$tmp/dev.flash" || fail "a refused upload changed the flash"

w 0 upload --auth "$pass" "$dev" "$(winpath "$tmp/v2-s.bin")"
contains "$tmp/out" "this file is signed (key id"
contains "$tmp/out" "upload 100%"
contains "$tmp/out" "the device activated app1 (2.0.0) and restarts now"
wait_reboot "$sim_log" 2 2.0.0
wait_for "$sim_log" "confirmed (VALID)" 60 || fail "2.0.0 not confirmed"

w 0 upload --protocol espota --auth "$pass" "$dev" "$(winpath "$tmp/v3-s.bin")"
wait_reboot "$sim_log" 3 3.0.0
contains "$sim_log" "running app0 @0x010000: espota-sim 3.0.0"
wait_for "$sim_log" "confirmed (VALID)" 60 2 || fail "3.0.0 not confirmed"

# PlatformIO on Windows (tests/arduino/pio_standin.py as platform win32):
# aloft_upload.py finds aloft.exe on PATH (here a wrapper that starts it
# under wine, as Windows starts an .exe) and uploads with it.
mkdir "$tmp/winpath"
printf '#!/bin/sh\nexec wine "%s" "$@"\n' "$exe" >"$tmp/winpath/aloft.exe"
chmod +x "$tmp/winpath/aloft.exe"
w 0 sign --key "$(winpath "$tmp/lin.key")" -o "$(winpath "$tmp/v4-s.bin")" "$(winpath "$tmp/v4.bin")"
expect_rc 0 env PATH="$tmp/winpath:$PATH" python3 "$here/../arduino/pio_standin.py" upload \
    --platform win32 127.0.0.1 "$tmp/v4-s.bin" "--auth=$pass --port=$sim_port"
contains "$tmp/out" "aloft_upload.py: $tmp/winpath/aloft.exe upload --auth *** 127.0.0.1:$sim_port"
wait_reboot "$sim_log" 4 4.0.0
echo "windows: all checks in $((SECONDS - start)) s"
