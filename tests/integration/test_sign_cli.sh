#!/usr/bin/env bash
# tests/integration/test_sign_cli.sh — `aloft keygen`, `aloft sign` and
# `aloft verify` as a user runs them: keys on disk, a signed file that
# verifies, and each kind of damage refused with words that say why. When
# the openssl tool is installed, it checks our signatures and keys and makes
# some of its own for aloft to accept (an independent implementation);
# without it that part is skipped.
set -euo pipefail

bin=${ALOFT_BIN:?set ALOFT_BIN to the build/bin directory}
aloft="$bin/aloft"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aloft-sign-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_rc() {
    local want=$1 rc=0
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [ "$rc" = "$want" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "'$*' exited $rc, want $want"; }
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }
# u8/u16/u32 FILE OFFSET: little-endian integers out of a file
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u16() { echo $(( $(u8 "$1" "$2") | $(u8 "$1" $(($2 + 1))) << 8 )); }
u32() { echo $(( $(u16 "$1" "$2") | $(u16 "$1" $(($2 + 2))) << 16 )); }
# flip FILE OFFSET: invert one byte in place
flip() {
    local v
    v=$(u8 "$1" "$2")
    printf "\\$(printf %03o $((v ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

expect_rc 0 "$aloft" image make --chip esp32s3 --project sign-test --version 3.1.0 \
    --secure-version 2 --size 200000 -o fw.bin
img_len=$(stat -c %s fw.bin)

# --- keygen
expect_rc 0 "$aloft" keygen release
contains out "wrote release.key"
contains out "wrote release.pub"
key_id=$(awk '/^key id/ {print $3}' out)
[ ${#key_id} = 16 ] || fail "keygen printed no key id"
[ "$(stat -c %a release.key)" = 600 ] || fail "release.key is not mode 0600"
grep -q 'BEGIN EC PRIVATE KEY' release.key || fail "release.key is not a PEM EC key"
grep -q 'BEGIN PUBLIC KEY' release.pub || fail "release.pub is not a PEM public key"
cp release.key release.key.orig
expect_rc 1 "$aloft" keygen release
contains err "release.key exists"
contains err "--force"
cmp -s release.key release.key.orig || fail "keygen overwrote a key without --force"
expect_rc 0 "$aloft" keygen other.key          # the suffix is not doubled
[ -e other.key ] && [ -e other.pub ] || fail "keygen other.key wrote the wrong names"
expect_rc 0 "$aloft" keygen --force other
expect_rc 2 "$aloft" keygen
expect_rc 2 "$aloft" keygen a b

# --- sign
expect_rc 0 "$aloft" sign --key release.key -o fw.signed.bin fw.bin
contains out "signed fw.bin -> fw.signed.bin"
contains out "$key_id"
contains out "sign-test"
signed_len=$(stat -c %s fw.signed.bin)
cmp -s -n "$img_len" fw.bin fw.signed.bin || fail "signing changed the image bytes"
[ $((signed_len - img_len)) -gt 0 ] && [ $((signed_len - img_len)) -le 224 ] ||
    fail "block of $((signed_len - img_len)) bytes"
# Deterministic, and re-signing replaces the block.
expect_rc 0 "$aloft" sign --key release.key -o again.bin fw.signed.bin
contains out "replaced"
cmp -s again.bin fw.signed.bin || fail "re-signing did not give the same file"

expect_rc 2 "$aloft" sign --key release.key fw.bin
contains err "-o OUT is required"
expect_rc 2 "$aloft" sign -o x.bin fw.bin
contains err "--key"
expect_rc 2 "$aloft" sign --key release.key --secure-version 9 -o x.bin fw.bin
contains err "secure_version 2"
expect_rc 1 "$aloft" sign --key release.pub -o x.bin fw.bin
contains err "public key"
cp fw.bin broken.bin
flip broken.bin 100000
expect_rc 1 "$aloft" sign --key release.key -o x.bin broken.bin
contains err "not a valid app image"
[ ! -e x.bin ] || fail "a refused sign wrote a file"

# --- verify: ok, text and JSON
expect_rc 0 "$aloft" verify --key release.pub fw.signed.bin
contains out "signature valid"
contains out "$key_id"
contains out "sign-test"
contains out "3.1.0"
contains out "secure_version  2"
contains out "ESP32-S3"
expect_rc 0 "$aloft" verify --key release.pub --json fw.signed.bin
[ "$(wc -l <out)" = 1 ] || fail "--json must print one line"
contains out '"valid":true'
contains out "\"key_id\":\"$key_id\""
if command -v python3 >/dev/null 2>&1; then
    python3 - out "$img_len" "$(sha256sum fw.bin | cut -d' ' -f1)" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] and d["signed"] and d["error"] is None, d
assert d["image_size"] == int(sys.argv[2]) and d["image_sha256"] == sys.argv[3], d
assert d["project"] == "sign-test" and d["secure_version"] == 2 and d["chip"] == "ESP32-S3", d
EOF
fi
expect_rc 0 "$aloft" image info fw.signed.bin
contains out "signed           yes (key id $key_id"
contains out "valid            yes"

# --- verify: failures say why
cp fw.signed.bin flipped.bin
flip flipped.bin 150000
expect_rc 1 "$aloft" verify --key release.pub flipped.bin
contains err "the image was changed after signing"
expect_rc 1 "$aloft" verify --key release.pub --json flipped.bin
contains out '"valid":false'
contains out '"code":-74'

cp fw.signed.bin meta.bin
flip meta.bin $((img_len + 8 + 40))           # the signed secure_version
expect_rc 1 "$aloft" verify --key release.pub meta.bin
contains err "signature does not verify"

expect_rc 1 "$aloft" verify --key other.pub fw.signed.bin
contains err "unknown key"
contains err "key id $key_id"
expect_rc 0 "$aloft" verify --key other.pub --key release.pub fw.signed.bin   # rotation
contains out "release.pub"

expect_rc 1 "$aloft" verify --key release.pub fw.bin
contains err "not signed"
head -c $((signed_len - 1)) fw.signed.bin >cut.bin
expect_rc 1 "$aloft" verify --key release.pub cut.bin
cp fw.signed.bin damaged.bin
flip damaged.bin $((signed_len - 8))          # block_len
expect_rc 1 "$aloft" verify --key release.pub damaged.bin
contains err "damaged"
expect_rc 2 "$aloft" verify fw.signed.bin
expect_rc 2 "$aloft" verify --key release.pub
expect_rc 1 "$aloft" verify --key missing.pub fw.signed.bin
contains err "missing.pub"

# --- openssl as the independent implementation
if ! command -v openssl >/dev/null 2>&1; then
    echo "test_sign_cli: openssl not installed, skipping the cross-checks"
    echo "test_sign_cli: ok"
    exit 0
fi
start=$img_len
meta_len=$(u16 fw.signed.bin $((start + 6)))
sig_len=$(u8 fw.signed.bin $((start + 8 + meta_len)))
[ "$(u32 fw.signed.bin $((signed_len - 8)))" = $((signed_len - start)) ] || fail "block_len"
tail -c +$((start + 9)) fw.signed.bin | head -c "$meta_len" >meta.raw
tail -c +$((start + 8 + meta_len + 2)) fw.signed.bin | head -c "$sig_len" >sig.der
openssl dgst -sha256 -verify release.pub -signature sig.der meta.raw >out 2>&1 ||
    { cat out >&2; fail "openssl does not accept aloft's signature"; }
contains out "Verified OK"
# key id = first 8 bytes of SHA-256 of the 65-byte point
ossl_id=$(openssl pkey -pubin -in release.pub -outform DER | tail -c 65 | sha256sum | cut -c1-16)
[ "$ossl_id" = "$key_id" ] || fail "key id $key_id, openssl computes $ossl_id"

# Keys made by openssl (SEC1 and PKCS#8) sign and verify.
openssl ecparam -name prime256v1 -genkey -noout -out ossl.key 2>/dev/null
openssl ec -in ossl.key -pubout -out ossl.pub 2>/dev/null
expect_rc 0 "$aloft" sign --key ossl.key -o ossl.bin fw.bin
expect_rc 0 "$aloft" verify --key ossl.pub ossl.bin
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p8.key 2>/dev/null
expect_rc 0 "$aloft" sign --key p8.key -o p8.bin fw.bin
expect_rc 0 "$aloft" verify --key p8.key p8.bin     # a private key file as --key works
openssl ecparam -name secp384r1 -genkey -noout -out p384.key 2>/dev/null
expect_rc 1 "$aloft" sign --key p384.key -o x.bin fw.bin
contains err "P-256"

# A signature made by openssl, spliced into aloft's block, verifies.
openssl dgst -sha256 -sign release.key -out ossl.sig meta.raw
osig_len=$(stat -c %s ossl.sig)
le32() { local v=$1; printf "\\$(printf %03o $((v & 255)))\\$(printf %03o $((v >> 8 & 255)))\\$(printf %03o $((v >> 16 & 255)))\\$(printf %03o $((v >> 24 & 255)))"; }
{
    head -c $((start + 8 + meta_len)) fw.signed.bin
    printf "\\$(printf %03o "$osig_len")"
    cat ossl.sig
    le32 $((8 + meta_len + 1 + osig_len + 8))
    printf ALSG
} >spliced.bin
expect_rc 0 "$aloft" verify --key release.pub spliced.bin
contains out "signature valid"
echo "test_sign_cli: ok"
