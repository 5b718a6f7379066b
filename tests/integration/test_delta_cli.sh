#!/usr/bin/env bash
# tests/integration/test_delta_cli.sh — `aloft delta make`, `aloft delta
# apply` and `aloft image info PATCH` as a user runs them: on the P1 and P3
# fixture pairs (docs/FORMATS.md §3) and on synthetic signed images, a patch
# rebuilds the new file byte for byte; a patch for another base, a damaged
# or truncated patch and bad command lines are refused with words that say
# why, and no output file appears. Skipped (exit 77; a failure under
# CI=true) without the fixtures.
set -euo pipefail
source "$(dirname "$0")/common_lib.sh"
fx=${ALOFT_FIXTURES:-}
[ -n "$fx" ] && [ -f "$fx/SOURCES.md" ] ||
    skip_missing "no firmware fixtures: ALOFT_FIXTURES='$fx' has no SOURCES.md"

p1_old=$fx/esp32_nim_ble_ota-b0767c3e.bin p1_new=$fx/esp32_nim_ble_ota-0ab0db3c.bin
p3_old=$fx/hello-world_esp32-9fa9d6d8.bin p3_new=$fx/hello-world_esp32-994d0965.bin

# --- make and apply, default window and 15
for w in "" 15; do
    expect_rc 0 "$aloft" delta make "$p1_old" "$p1_new" -o "$tmp/p1.patch" ${w:+--window-bits $w}
    contains "$tmp/out" "$tmp/p1.patch: $(stat -c %s "$tmp/p1.patch") bytes"
    contains "$tmp/out" "window 2^${w:-12}"
    expect_rc 0 "$aloft" delta apply "$p1_old" "$tmp/p1.patch" -o "$tmp/p1.out"
    same_file "$p1_new" "$tmp/p1.out"
done
# Deterministic: the same inputs give the same patch.
expect_rc 0 "$aloft" delta make "$p1_old" "$p1_new" -o "$tmp/again.patch" --window-bits 15
same_file "$tmp/p1.patch" "$tmp/again.patch"
# --fast (zlib only, what upload --base makes): as valid, never smaller
expect_rc 0 "$aloft" delta make "$p1_old" "$p1_new" -o "$tmp/fast.patch" --window-bits 15 --fast
expect_rc 0 "$aloft" delta apply "$p1_old" "$tmp/fast.patch" -o "$tmp/fast.out"
same_file "$p1_new" "$tmp/fast.out"
[ "$(stat -c %s "$tmp/fast.patch")" -ge "$(stat -c %s "$tmp/p1.patch")" ] ||
    fail "--fast made a smaller patch than the default"

# --- the span: the encoder's (P3's patch is small: one segment of all
# three marks) or --span's
expect_rc 0 "$aloft" delta make "$p3_old" "$p3_new" -o "$tmp/p3one.patch" --fast
contains "$tmp/out" "1 segment of 192 KiB"
expect_rc 0 "$aloft" image info "$tmp/p3one.patch"
contains "$tmp/out" "segments         1 of 192 KiB (3 journal marks each)"
expect_rc 0 "$aloft" image info --json "$tmp/p3one.patch"
contains "$tmp/out" '"segment_span":196608'

# --- image info describes it
expect_rc 0 "$aloft" delta make "$p3_old" "$p3_new" -o "$tmp/p3.patch" --span 65536
contains "$tmp/out" "3 segments of 64 KiB"
expect_rc 0 "$aloft" delta apply "$p3_old" "$tmp/p3.patch" -o "$tmp/p3.out"
same_file "$p3_new" "$tmp/p3.out"
expect_rc 0 "$aloft" image info "$tmp/p3.patch"
contains "$tmp/out" "kind             delta patch (format 2)"
contains "$tmp/out" "base             144672 bytes, sha256 $(sha256sum "$p3_old" | cut -d' ' -f1)"
contains "$tmp/out" "new image        144672 bytes, sha256 $(sha256sum "$p3_new" | cut -d' ' -f1)"
contains "$tmp/out" "segments         3 of 64 KiB (1 journal mark each)"
contains "$tmp/out" "zlib window      2^12 bytes"
contains "$tmp/out" "  2  0x00020000"
expect_rc 0 "$aloft" image info --json "$tmp/p3.patch"
contains "$tmp/out" '"kind":"delta patch"'
contains "$tmp/out" '"new_offset":131072,"new_len":13600'
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["segments"]) == 3' "$tmp/out" ||
    fail "image info --json is not JSON with 3 segments"

# --- another base: refused from the header, nothing written
expect_rc 1 "$aloft" delta apply "$p1_old" "$tmp/p3.patch" -o "$tmp/wrong.bin"
contains "$tmp/err" "delta patch is for another base image: the patch turns a 144 672-byte image"
contains "$tmp/err" "the base here (603 424 bytes) differs in its size"
[ ! -e "$tmp/wrong.bin" ] || fail "a refused patch left $tmp/wrong.bin"
cp "$p3_old" "$tmp/old_changed.bin"
flip "$tmp/old_changed.bin" 5000
expect_rc 1 "$aloft" delta apply "$tmp/old_changed.bin" "$tmp/p3.patch" -o "$tmp/wrong.bin"
contains "$tmp/err" "differs in its SHA-256"

# --- damaged and truncated patches
cp "$tmp/p3.patch" "$tmp/bad.patch"
flip "$tmp/bad.patch" 50
expect_rc 1 "$aloft" delta apply "$p3_old" "$tmp/bad.patch" -o "$tmp/wrong.bin"
contains "$tmp/err" "delta patch is malformed: header CRC, at patch byte 92"
expect_rc 1 "$aloft" image info "$tmp/bad.patch"
contains "$tmp/err" "header CRC, at patch byte 92"
head -c 5000 "$tmp/p3.patch" >"$tmp/short.patch"
expect_rc 1 "$aloft" delta apply "$p3_old" "$tmp/short.patch" -o "$tmp/wrong.bin"
contains "$tmp/err" "delta patch is malformed: truncated, at patch byte"
cp "$tmp/p3.patch" "$tmp/flip.patch"
size=$(stat -c %s "$tmp/flip.patch")
flip "$tmp/flip.patch" $((size - 3000))
expect_rc 1 "$aloft" delta apply "$p3_old" "$tmp/flip.patch" -o "$tmp/wrong.bin"
contains "$tmp/err" "delta patch is malformed"
[ ! -e "$tmp/wrong.bin" ] || fail "a refused patch left $tmp/wrong.bin"
# A version 1 patch (made by an older aloft): the words say to make it again.
cp "$tmp/p3.patch" "$tmp/v1.patch"
printf '\001' | dd of="$tmp/v1.patch" bs=1 seek=4 conv=notrunc status=none
expect_rc 1 "$aloft" delta apply "$p3_old" "$tmp/v1.patch" -o "$tmp/wrong.bin"
contains "$tmp/err" "delta patch is malformed: version 1 (old), at patch byte 4"
contains "$tmp/err" "make it again with this aloft"
expect_rc 1 "$aloft" image info "$tmp/v1.patch"
contains "$tmp/err" "version 1 (old)"
[ ! -e "$tmp/wrong.bin" ] || fail "a refused patch left $tmp/wrong.bin"

# --- a signed new image keeps its block; a signed old one is its plain image
expect_rc 0 "$aloft" keygen "$tmp/key"
expect_rc 0 "$aloft" image make --chip esp32 --project demo --version 1 --size 80k --seed 1 -o "$tmp/v1.bin"
expect_rc 0 "$aloft" image make --chip esp32 --project demo --version 2 --size 90k --seed 1 -o "$tmp/v2.bin"
expect_rc 0 "$aloft" sign --key "$tmp/key.key" -o "$tmp/v1s.bin" "$tmp/v1.bin"
expect_rc 0 "$aloft" sign --key "$tmp/key.key" -o "$tmp/v2s.bin" "$tmp/v2.bin"
expect_rc 0 "$aloft" delta make "$tmp/v1s.bin" "$tmp/v2s.bin" -o "$tmp/s.patch" --window-bits 9
expect_rc 0 "$aloft" image info "$tmp/s.patch"
contains "$tmp/out" "signed           yes"
contains "$tmp/out" "base             $(stat -c %s "$tmp/v1.bin") bytes, sha256 $(sha256sum "$tmp/v1.bin" | cut -d' ' -f1)"
expect_rc 0 "$aloft" delta apply "$tmp/v1.bin" "$tmp/s.patch" -o "$tmp/v2out.bin"
same_file "$tmp/v2s.bin" "$tmp/v2out.bin"
expect_rc 0 "$aloft" verify --key "$tmp/key.pub" "$tmp/v2out.bin"

# --- command lines
expect_rc 2 "$aloft" delta
expect_rc 2 "$aloft" delta frobnicate
contains "$tmp/err" "unknown subcommand 'frobnicate'"
expect_rc 2 "$aloft" delta make "$p3_old" "$p3_new"
contains "$tmp/err" "missing -o FILE"
expect_rc 2 "$aloft" delta make "$p3_old" "$p3_new" -o "$tmp/x" --window-bits 16
contains "$tmp/err" "--window-bits takes 9..15 (got '16')"
for s in 0 65535 100000 x; do
    expect_rc 2 "$aloft" delta make "$p3_old" "$p3_new" -o "$tmp/x" --span "$s"
    contains "$tmp/err" "--span takes a multiple of 65536 bytes (got '$s')"
done
[ ! -e "$tmp/x" ] || fail "a refused command line left $tmp/x"
expect_rc 2 "$aloft" delta apply "$p3_old" -o "$tmp/x"
contains "$tmp/err" "needs two files"
expect_rc 1 "$aloft" delta make "$tmp/nope.bin" "$p3_new" -o "$tmp/x"
contains "$tmp/err" "cannot read $tmp/nope.bin"
expect_rc 0 "$aloft" delta make --help
contains "$tmp/out" "usage: aloft delta make OLD NEW -o PATCH"
echo "PASS: delta make/apply/info"
