# tests/integration/safe_lib.sh — shared by test_safe_*.sh (sourced, not
# run): the native simulator helpers (native_sim_lib.sh: temp dir, spawn and
# cleanup, expect_rc, start_sim, ...) plus what the safe-update tests
# need: demo images, signed and tampered files, and looks at the flash file.
#
# Flash layout of a new device (scheme default): otadata 0xe000 (8 KiB),
# app0 0x10000 and app1 0x150000 (1280 KiB each).

source "$(dirname "${BASH_SOURCE[0]}")/native_sim_lib.sh"

OTADATA=$((0xe000)) OTADATA_LEN=$((0x2000))
APP0=$((0x10000)) APP1=$((0x150000)) SLOT_LEN=$((0x140000))

# demo_image NAME VERSION [image make options...]: $tmp/NAME.bin, an ESP32
# app image of project "demo", 200 000 bytes (options may override).
demo_image() {
    local name=$1 version=$2
    shift 2
    "$aloft" image make --chip esp32 --project demo --version "$version" --size 200000 \
        --seed "$RANDOM" "$@" -o "$tmp/$name.bin" >/dev/null || fail "image make $name"
}

# keys NAME...: key pairs $tmp/NAME.key and $tmp/NAME.pub
keys() {
    local k
    for k in "$@"; do
        "$aloft" keygen "$tmp/$k" >/dev/null || fail "keygen $k"
    done
}

# sign_image IN KEY OUT: $tmp/OUT.bin = $tmp/IN.bin signed with $tmp/KEY.key
sign_image() {
    "$aloft" sign --key "$tmp/$2.key" -o "$tmp/$3.bin" "$tmp/$1.bin" >/dev/null ||
        fail "sign $1 with $2"
}

# tamper_image IN OUT: $tmp/OUT.bin = the signed $tmp/IN.bin with one byte
# of the image changed, its checksum and appended SHA-256 fixed up (so it
# is a valid image, just not the one that was signed), the block kept.
tamper_image() {
    python3 - "$tmp/$1.bin" "$tmp/$2.bin" <<'PY' || fail "tamper_image $1"
import hashlib, struct, sys
f = bytearray(open(sys.argv[1], "rb").read())
block = struct.unpack_from("<I", f, len(f) - 8)[0]
n = len(f) - block                   # the image, without the signature block
assert f[23] == 1, "no appended SHA-256"
pos, last = 24, None
for _ in range(f[1]):                # segments: the last one's data
    load, size = struct.unpack_from("<II", f, pos)
    last = (pos + 8, size)
    pos += 8 + size
at = last[0] + last[1] // 2
f[at] ^= 0x5A
f[n - 33] ^= 0x5A                    # the XOR checksum follows the byte
f[n - 32:n] = hashlib.sha256(bytes(f[:n - 32])).digest()
open(sys.argv[2], "wb").write(f)
PY
}

# tamper_meta IN OUT: $tmp/OUT.bin = the signed $tmp/IN.bin with the signed
# metadata's secure_version raised to 7 (the signature no longer matches).
tamper_meta() {
    python3 - "$tmp/$1.bin" "$tmp/$2.bin" <<'PY' || fail "tamper_meta $1"
import struct, sys
f = bytearray(open(sys.argv[1], "rb").read())
block = struct.unpack_from("<I", f, len(f) - 8)[0]
meta = len(f) - block + 8
struct.pack_into("<I", f, meta + 40, 7)
open(sys.argv[2], "wb").write(f)
PY
}

# bytes FLASH OFFSET LEN: that part of the flash file, on stdout
bytes() { dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=64K status=none; }

# region FLASH OFFSET LEN: SHA-256 of that part of the flash file
region() { bytes "$1" "$2" "$3" | sha256sum | cut -c1-64; }

# firmware_state FLASH: otadata and both app slots, one hash each
firmware_state() {
    echo "otadata $(region "$1" $OTADATA $OTADATA_LEN)"
    echo "app0 $(region "$1" $APP0 $SLOT_LEN)"
    echo "app1 $(region "$1" $APP1 $SLOT_LEN)"
}

# running LOG: "app0 demo 1.0.0 VALID" from the last boot banner
running() {
    { grep "aloft-sim: running" "$1" || true; } | tail -1 |
        sed -n 's/.*running \(app[0-9]\) @0x[0-9a-f]*: \([^ ]*\) \([^ ]*\) (.*state \([A-Z_]*\)$/\1 \2 \3 \4/p'
}

# expect_running LOG "app0 demo 1.0.0 VALID"
expect_running() {
    local got
    got=$(running "$1")
    [ "$got" = "$2" ] || { tail -8 "$1" >&2; fail "running '$got', want '$2'"; }
}

# refused WORDS...: the last command failed and said each of WORDS (stderr)
refused() {
    local w
    for w in "$@"; do contains "$tmp/err" "$w"; done
    lacks "$tmp/out" "done:"
}

# signing_cases: keys k1..k3 and the images every signing test offers:
# v1 (running), v2 signed by k1/k2/k3, a downgrade, another chip, another
# project, and v2-k1 with a changed image byte / a changed metadata byte.
signing_cases() {
    keys k1 k2 k3
    demo_image v1 1.0.0 --secure-version 3
    demo_image v2 2.0.0 --secure-version 3
    demo_image down 2.0.0 --secure-version 2
    demo_image s3 2.0.0 --secure-version 3 --chip esp32s3
    demo_image other 2.0.0 --secure-version 3 --project other
    sign_image v2 k1 v2-k1
    sign_image v2 k2 v2-k2
    sign_image v2 k3 v2-k3
    sign_image down k1 down-k1
    sign_image s3 k1 s3-k1
    sign_image other k1 other-k1
    tamper_image v2-k1 v2-image-changed
    tamper_meta v2-k1 v2-meta-changed
}
