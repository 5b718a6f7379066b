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
    mkdir -p "$work/corpus"/{fuzz_image,fuzz_ptable,fuzz_otadata,fuzz_espota,fuzz_espota_host,fuzz_espota_reply,fuzz_native,fuzz_native_host,fuzz_signature,fuzz_delta,fuzz_web}
    local c=$work/corpus
    if [ -x "$aloft" ]; then
        for chip in esp32 esp32s3 esp32c3; do
            "$aloft" image make --chip "$chip" --project seed --version 1 --size 600 \
                -o "$c/fuzz_image/$chip.bin" >/dev/null
        done
    fi
    local fixtures=${ALOFT_FIXTURES:-$top/../shared/fixtures/firmware}
    if [ -f "$fixtures/hello_world_esp32c3-25401b9d.bin" ]; then
        cp "$fixtures"/hello_world_esp32c3-25401b9d.bin "$c/fuzz_image/"
    elif [ "${CI:-}" = true ]; then
        echo "fuzz: FAIL: no firmware fixtures at $fixtures (CI=true)" >&2
        exit 1
    else
        echo "fuzz: SKIP: no firmware fixtures at $fixtures: fuzz_image starts without real firmware"
    fi
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
    # A password device (bit 6): invitation, the right answer, connect-back.
    printf '\300\006\001\002\001' > "$c/fuzz_espota/password_login"
    # Native sessions (see tests/fuzz/fuzz_native.c): byte 0 = password
    # device (bit 0) and what the host does (upload, rollback, zlib ...),
    # then records; "\003\000" runs the link until it is quiet.
    local n=$c/fuzz_native
    printf '\002\003\000' > "$n/open_raw"
    printf '\003\003\000' > "$n/password_raw"
    printf '\012\003\000' > "$n/open_zlib"
    printf '\013\003\000' > "$n/password_zlib"
    printf '\001\003\000' > "$n/info_login"
    printf '\005\003\000' > "$n/rollback"
    printf '\003\003\005\004\001\003\000' > "$n/reconnect"
    printf '\003\007\003\003\000' > "$n/flipped_bit"
    # The host engine against a scripted device (tests/fuzz/fuzz_native_host.c):
    # a HELLO, the host's frames read (\005), fitting answers (\007: AUTH_OK,
    # ACCEPT, ACK, RESULT) until the upload is done.
    local h=$c/fuzz_native_host acks="" i
    for i in $(seq 8); do acks="$acks\005\000\007\002"; done
    printf "\001\003\010\005\000\007\001$acks\005\000\007\003" > "$h/upload_open"
    printf "\005\003\011\005\000\007\000\005\000\007\001$acks\005\000\007\003" > "$h/upload_password"
    printf "\015\003\013\005\000\007\000\005\000\007\001$acks\005\000\007\003" > "$h/upload_zlib"
    printf '\004\003\011\005\000\007\000\005\000' > "$h/info_password"
    printf '\006\003\011\005\000\007\000\005\000\007\003' > "$h/rollback"
    # Web API scripts (tests/fuzz/fuzz_web.c): a login (\005), a begin
    # (\006), data requests at the device's offset with image bytes (\002),
    # each finished (\003), till the upload is done; a flipped proof (\007).
    local w=$c/fuzz_web data="" q len
    for i in $(seq 3); do
        q="offset=$(( (i - 1) * 1024 ))"
        printf -v len '\\%03o' $(( ${#q} + 2 ))
        data="$data\000$len\001\006$q\002\020$(printf '%016d' 0)\003\000"
    done
    printf "\005\000\006\000$data" > "$w/upload"
    printf '\007\001\011\000\000\003\000\000\002\001\002' > "$w/flipped_proof"
    printf '\000\002\000\002\003\000\005\000\000\002\001\011\003\000' > "$w/login_confirm"
}

seed_corpora
# Patch sessions (tests/fuzz/fuzz_native.c): the target writes them, as it
# knows the bytes of its own patch.
mkdir -p "$work/empty"
ALOFT_FUZZ_SEEDS=$work/corpus/fuzz_native "$bin/fuzz_native" -runs=0 "$work/empty" >"$work/seeds.log" 2>&1 ||
    { cat "$work/seeds.log"; echo "fuzz: FAIL: fuzz_native could not write its patch seeds" >&2; exit 1; }
# Delta patches (tests/fuzz/fuzz_delta.c): byte 0 = 1 (base fixed up, whole
# and in 1-byte pieces) or 0x21 (17-byte pieces), then a patch between two
# synthetic images and, with the fixtures, the hello-world pair (P3).
if [ -x "$aloft" ] && [ -s "$work/corpus/fuzz_image/esp32.bin" ]; then
    d=$work/corpus/fuzz_delta
    "$aloft" image make --chip esp32 --project seed --version 2 --size 700 -o "$work/new.bin" >/dev/null
    "$aloft" delta make "$work/corpus/fuzz_image/esp32.bin" "$work/new.bin" -o "$work/synth.patch" >/dev/null
    { printf '\001'; cat "$work/synth.patch"; } >"$d/synthetic"
    { printf '\041'; cat "$work/synth.patch"; } >"$d/synthetic_pieces"
    fx=${ALOFT_FIXTURES:-$top/../shared/fixtures/firmware}
    if [ -f "$fx/hello-world_esp32-994d0965.bin" ]; then
        "$aloft" delta make "$fx/hello-world_esp32-9fa9d6d8.bin" "$fx/hello-world_esp32-994d0965.bin" \
            -o "$work/p3.patch" >/dev/null
        { printf '\001'; cat "$work/p3.patch"; } >"$d/p3"
    fi
fi
# A signature block: the tail of a signed synthetic image.
if [ -x "$aloft" ] && [ -s "$work/corpus/fuzz_image/esp32.bin" ]; then
    "$aloft" keygen --force "$work/seedkey" >/dev/null
    "$aloft" sign --key "$work/seedkey.key" -o "$work/signed.bin" "$work/corpus/fuzz_image/esp32.bin" >/dev/null
    tail -c 160 "$work/signed.bin" > "$work/corpus/fuzz_signature/block"
fi
# MQTT agent inputs (tests/fuzz/fuzz_agent.c): byte 0 picks the topic (0
# command, 1 OpenMQTTGateway, 2 release, 3 Home Assistant, 4 the record),
# byte 1 the device and the pull's end.
a=$work/corpus/fuzz_agent sha=$(printf '0%.0s' $(seq 64))
mkdir -p "$a"
rel='{"project":"gateway","version":"2.1.0","chip":"esp32","url":"http://h/f.bin","size":915456,"sha256":"'$sha'","signed":true,"summary":"s \u00e9","release_url":"https://r"}'
printf '\000\000{"op":"install","id":"r7-gw1-1","release":%s}' "$rel" >"$a/install"
printf '\000\002{"op":"install","id":"x","latest":true,"allow_downgrade":true}' >"$a/latest"
printf '\000\000{"op":"rollback","id":"rb"}' >"$a/rollback"
printf '\001\010{"version":"2.1.0","url":"http://h/f.bin","password":"p","size":5,"sha256":"%s"}' "$sha" >"$a/omg"
printf '\002\000%s' "$rel" >"$a/release"
printf '\003\000install' >"$a/ha"
printf '\004\001{"id":"r7","version":"2.1.0","slot":"a1"}' >"$a/record"
# Content-Range values (tests/fuzz/fuzz_pull_range.c), as servers send them.
mkdir -p "$work/corpus/fuzz_pull_range"
printf 'bytes 65536-915455/915456' >"$work/corpus/fuzz_pull_range/lighttpd"
printf 'Bytes 0-0/*\r\n' >"$work/corpus/fuzz_pull_range/star"
# Per-target options: fuzz_image reads at most 1 KiB (header, segments and
# app description fit; each byte more is SHA-256 time, see fuzz_image.c);
# fuzz_delta too (a header and a few segments fit; see fuzz_delta.c).
target_opts() { case $1 in fuzz_image|fuzz_delta) echo -max_len=1024 ;; esac; }
status=0
for target in "$bin"/fuzz_*; do
    name=$(basename "$target")
    mkdir -p "$work/corpus/$name"   # a target without seeds starts empty
    log=$work/$name.log
    # shellcheck disable=SC2046  # options are words
    if "$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/crashes/$name-" \
        $(target_opts "$name") "$work/corpus/$name" >"$log" 2>&1; then
        execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
        rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
        printf 'fuzz: %-14s %4ss %10s execs (%s/s), 0 crashes\n' "$name" "$seconds" "${execs:-?}" \
            "${rate:-?}"
    else
        printf 'fuzz: %-14s CRASH, see %s\n' "$name" "$log"
        tail -30 "$log"
        status=1
    fi
done
exit $status
