#!/usr/bin/env bash
# tests/integration/test_sign_openssl.sh — the openssl tool as an
# independent implementation of aloft's signatures: it accepts a signature
# and key id made by aloft, aloft accepts keys (SEC1 and PKCS#8) and a
# signature made by openssl, and refuses a key on another curve. Skipped
# (exit 77; a failure under CI=true) when openssl is not installed.
set -euo pipefail
source "$(dirname "$0")/common_lib.sh"
command -v openssl >/dev/null 2>&1 || skip_missing "openssl is not installed (Debian package openssl)"
cd "$tmp"

# ossl_key_id PEM [-pubin]: aloft's key id computed by openssl: the first 8
# bytes of SHA-256 of the 65-byte uncompressed point
ossl_key_id() { openssl pkey "${@:2}" -in "$1" -pubout -outform DER | tail -c 65 | sha256sum | cut -c1-16; }

"$aloft" image make --chip esp32s3 --project sign-test --version 3.1.0 --secure-version 2 \
    --size 200000 -o fw.bin >/dev/null || fail "image make"
img_len=$(stat -c %s fw.bin)
expect_rc 0 "$aloft" keygen release
key_id=$(awk '/^key id/ {print $3}' out)
expect_rc 0 "$aloft" sign --key release.key -o fw.signed.bin fw.bin
signed_len=$(stat -c %s fw.signed.bin)

# --- aloft's signature and key id, checked by openssl
start=$img_len
meta_len=$(u16 fw.signed.bin $((start + 6)))
sig_len=$(u8 fw.signed.bin $((start + 8 + meta_len)))
[ "$(u32 fw.signed.bin $((signed_len - 8)))" = $((signed_len - start)) ] || fail "block_len"
tail -c +$((start + 9)) fw.signed.bin | head -c "$meta_len" >meta.raw
tail -c +$((start + 8 + meta_len + 2)) fw.signed.bin | head -c "$sig_len" >sig.der
openssl dgst -sha256 -verify release.pub -signature sig.der meta.raw >out 2>&1 ||
    { cat out >&2; fail "openssl does not accept aloft's signature"; }
contains out "Verified OK"
ossl_id=$(ossl_key_id release.pub -pubin)
[ "$ossl_id" = "$key_id" ] || fail "key id $key_id, openssl computes $ossl_id"

# --- keys made by openssl (SEC1 and PKCS#8) sign and verify
openssl ecparam -name prime256v1 -genkey -noout -out ossl.key 2>/dev/null
openssl ec -in ossl.key -pubout -out ossl.pub 2>/dev/null
id=$(ossl_key_id ossl.key)
expect_rc 0 "$aloft" sign --key ossl.key -o ossl.bin fw.bin
contains out "key id          $id"
expect_rc 0 "$aloft" verify --key ossl.pub ossl.bin
contains out "ossl.bin: signature valid (key id $id, ossl.pub)"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p8.key 2>/dev/null
id=$(ossl_key_id p8.key)
expect_rc 0 "$aloft" sign --key p8.key -o p8.bin fw.bin
contains out "key id          $id"
expect_rc 0 "$aloft" verify --key p8.key p8.bin     # a private key file as --key works
contains out "p8.bin: signature valid (key id $id, p8.key)"
openssl ecparam -name secp384r1 -genkey -noout -out p384.key 2>/dev/null
expect_rc 1 "$aloft" sign --key p384.key -o x.bin fw.bin
contains err "cannot use p384.key as a signing key: it is a key on curve secp384r1, aloft needs P-256 (prime256v1)"
[ ! -e x.bin ] || fail "a refused sign wrote a file"

# --- a signature made by openssl, spliced into aloft's block, verifies
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
contains out "spliced.bin: signature valid (key id $key_id, release.pub)"
echo "test_sign_openssl: ok"
