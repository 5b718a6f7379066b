#!/usr/bin/env bash
# make fuzz: run every libFuzzer target for FUZZ_SECONDS each, seeded with
# valid messages (synthetic images, the firmware fixtures, partition tables,
# otadata entries, espota exchanges), and print executions and findings.
# A crash stops the run with the reproducer saved under build-fuzz/crashes.
set -euo pipefail
bin=${1:?usage: fuzz.sh BIN_DIR SECONDS}
seconds=${2:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
work=$top/build-fuzz/work
mkdir -p "$work/crashes"
aloft=$top/build/bin/aloft

seed_corpora() {
    mkdir -p "$work/corpus"/{fuzz_image,fuzz_ptable,fuzz_otadata,fuzz_espota,fuzz_espota_host,fuzz_espota_reply,fuzz_native,fuzz_signature}
    local c=$work/corpus
    if [ -x "$aloft" ]; then
        for chip in esp32 esp32s3 esp32c3; do
            "$aloft" image make --chip "$chip" --project seed --version 1 --size 600 \
                -o "$c/fuzz_image/$chip.bin" >/dev/null
        done
    fi
    local fixtures=$top/../shared/fixtures/firmware
    [ -d "$fixtures" ] && cp "$fixtures"/hello_world_esp32c3-25401b9d.bin "$c/fuzz_image/" 2>/dev/null || true
    # A partition table and two otadata entries, cut from a simulated flash.
    if [ -x "$top/build/bin/aloft-sim" ] && [ -s "$c/fuzz_image/esp32.bin" ]; then
        "$top/build/bin/aloft-sim" --flash "$work/seed.flash" --init --quiet \
            --firmware "$c/fuzz_image/esp32.bin" >/dev/null
        "$top/build/bin/aloft-sim" --flash "$work/seed.flash" --run-for 0 --quiet >/dev/null
        dd if="$work/seed.flash" of="$c/fuzz_ptable/default.bin" bs=4096 skip=8 count=1 status=none
        dd if="$work/seed.flash" of="$c/fuzz_otadata/entries.bin" bs=32 skip=$((0xE000 / 32)) count=1 status=none
    fi
    printf '0 4000 9000 0123456789abcdef0123456789abcdef\n' > "$c/fuzz_espota/invite"
    printf '200 43cebe68834499088e32d7c0483f0fce 4b00f9a2b312b759216142e9e32c7349\n' > "$c/fuzz_espota/auth"
    printf 'ERR: too large 1412096>1310720' > "$c/fuzz_espota/refusal"
    # Host scripts (see tests/fuzz/fuzz_espota_host.c): an open device, an
    # MD5 login, a PBKDF2 login refused then retried and refused over UDP,
    # stop-and-wait through the read callback ending in an ESP8266 error.
    local h=$c/fuzz_espota_host
    op() { printf "\\$(printf %03o "$1")"; }
    rec() { op "$1"; op "${#2}"; printf '%s' "$2"; }
    { op 96; op 250; rec 0 OK; op 1; op 7; rec 2 1460; op 7; rec 2 541; rec 2 OK; } >"$h/open"
    { op 97; op 250; rec 0 "AUTH 0123456789abcdef0123456789abcdef"; rec 0 OK; op 1; op 7
      rec 2 1460541; op 4; op 20; rec 2 OK; } >"$h/md5"
    { op 1; op 100; rec 0 "AUTH $(printf 'ab%.0s' $(seq 32))"; rec 0 "Authentication Failed"
      rec 0 "AUTH $(printf 'cd%.0s' $(seq 32))"; rec 0 "ERR: too large 1412096>1310720"; } >"$h/pbkdf2"
    { op 12; op 150; rec 0 OK; op 1; op 7; rec 2 1024; op 7; rec 2 177
      op 4; op 20; rec 2 $'ERROR[7]: MD5 verification failed\n'; } >"$h/stop_and_wait"
    # Device texts (tests/fuzz/fuzz_espota_reply.c): aloft's, ESP8266's, ESP32's.
    local r=$c/fuzz_espota_reply
    printf 'ERR: too large 1412096>1310720' >"$r/aloft_refusal"
    printf 'ERR: image is for another chip: image is built for ESP32-S3 but the device is ESP32\r\n' \
        >"$r/aloft_line"
    printf 'ERR: ERROR[4]: Not Enough Space\n' >"$r/esp8266_refusal"
    printf 'ERROR[7]: MD5 verification failed: expected: a, calculated: b\n' >"$r/esp8266_result"
    printf 'MD5 Check Failed\r\n' >"$r/esp32_result"
    printf 'ERR: code -111111111111111111111111111111' >"$r/code_overflow"   # once a crash
    # Native scripts (see tests/fuzz/fuzz_native.c): open or password device,
    # OFFER raw or zlib, the image in 255-byte DATA frames, END.
    local data="" i
    for i in $(seq 36); do data="$data\\006\\377"; done
    printf "\\000\\005\\000$data\\007\\000" > "$c/fuzz_native/open_raw"
    printf "\\001\\005\\000$data\\007\\000" > "$c/fuzz_native/password_raw"
    printf "\\000\\005\\001$data\\007\\000" > "$c/fuzz_native/open_zlib"
}

seed_corpora
# A signature block: the tail of a signed synthetic image.
if [ -x "$aloft" ] && [ -s "$work/corpus/fuzz_image/esp32.bin" ]; then
    "$aloft" keygen --force "$work/seedkey" >/dev/null
    "$aloft" sign --key "$work/seedkey.key" -o "$work/signed.bin" "$work/corpus/fuzz_image/esp32.bin" >/dev/null
    tail -c 160 "$work/signed.bin" > "$work/corpus/fuzz_signature/block"
fi
status=0
for target in "$bin"/fuzz_*; do
    name=$(basename "$target")
    mkdir -p "$work/corpus/$name"   # a target without seeds starts empty
    log=$work/$name.log
    if "$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/crashes/$name-" \
        "$work/corpus/$name" >"$log" 2>&1; then
        execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
        printf 'fuzz: %-14s %4ss %10s execs, 0 crashes\n' "$name" "$seconds" "${execs:-?}"
    else
        printf 'fuzz: %-14s CRASH, see %s\n' "$name" "$log"
        tail -30 "$log"
        status=1
    fi
done
exit $status
