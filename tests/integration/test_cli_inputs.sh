#!/usr/bin/env bash
# tests/integration/test_cli_inputs.sh — what aloft reads must be a regular
# file of at most 32 MiB (host/fileio.c, one check for every command): a
# directory, /dev/zero, a /proc file, a pipe or a file that is too large is
# refused at once with its path and what it is (exit 1; upload --json puts
# the same words in its error), by upload, image
# info (which must not hang on /dev/zero), sign, verify, espota and
# aloft-sim; nothing is allocated for it and no device is contacted.
# And a request espota cannot carry: `upload --protocol espota --no-reboot`
# is a usage error (exit 2) that says why, before any file or device.
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"   # tmp, fail, expect_rc, contains

mkdir "$tmp/dir"
mkfifo "$tmp/fifo"
truncate -s $((40 * 1024 * 1024)) "$tmp/big.bin"   # sparse: no disk used
proc=/proc/self/status
declare -A why=(
    ["$tmp/dir"]="it is a directory, not a file"
    [/dev/zero]="it is a character device, not a regular file"
    ["$proc"]="it is not a regular file (its size is 0, yet it reads as data: a /proc or /sys file?)"
    ["$tmp/fifo"]="it is a pipe (FIFO), not a regular file"
    ["$tmp/big.bin"]="it is 41 943 040 bytes; aloft reads at most 33 554 432 (32 MiB, the largest flash of an ESP32-class chip)"
    ["$tmp/none.bin"]="No such file or directory"
)
"$aloft" keygen "$tmp/k" >/dev/null || fail "keygen"
# Port 9 (discard) of 127.0.0.1: nothing is sent before the file is read.
for f in "${!why[@]}"; do
    line="aloft: cannot read $f: ${why[$f]}"
    expect_rc 1 timeout 20 "$aloft" upload 127.0.0.1:9 "$f"
    contains "$tmp/err" "$line"
    lacks "$tmp/err" "out of memory"
    lacks "$tmp/err" "empty"
    lacks "$tmp/out" "inviting"
    expect_rc 1 timeout 20 "$aloft" upload --json 127.0.0.1:9 "$f"
    contains "$tmp/err" "$line"
    contains "$tmp/out" '"ok":false'
    # The JSON error says the same: message "cannot read PATH", hint the reason.
    contains "$tmp/out" "\"message\":\"cannot read $f\",\"hint\":\"${why[$f]}"
    expect_rc 1 timeout 20 "$aloft" image info "$f"
    contains "$tmp/err" "$line"
    expect_rc 1 timeout 20 "$aloft" sign --key "$tmp/k.key" -o "$tmp/signed.bin" "$f"
    contains "$tmp/err" "$line"
    expect_rc 1 timeout 20 "$aloft" verify --key "$f" "$tmp/k.pub"
    contains "$tmp/err" "$line"
    expect_rc 1 timeout 20 "$aloft" espota -i 127.0.0.1 -p 9 -f "$f"
    contains "$tmp/err" "$line"
    expect_rc 1 timeout 20 "$sim_bin" --flash "$tmp/dev.flash" --init --firmware "$f"
    contains "$tmp/err" "$line"
done
# A regular empty file is read (and then refused as empty by upload).
: >"$tmp/empty.bin"
expect_rc 1 "$aloft" upload 127.0.0.1:9 "$tmp/empty.bin"
contains "$tmp/err" "aloft: upload failed: the firmware file is empty"

# --no-reboot over espota: ArduinoOTA always restarts; refused up front.
expect_rc 2 "$aloft" upload --protocol espota --no-reboot 127.0.0.1:9 "$tmp/none.bin"
contains "$tmp/err" "aloft upload: --no-reboot cannot be used with --protocol espota: an ArduinoOTA device restarts once the upload is done and espota has no way to ask it not to; leave out --no-reboot, or use --protocol native (an aloft device)"
lacks "$tmp/err" "cannot read"
expect_rc 2 "$aloft" espota -i 127.0.0.1 -p 9 -f "$tmp/empty.bin" --no-reboot
contains "$tmp/err" "aloft espota: unrecognized argument '--no-reboot'"
echo "ok: CLI inputs (${#why[@]} kinds of file refused by 7 readers)"
