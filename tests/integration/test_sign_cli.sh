#!/usr/bin/env bash
# tests/integration/test_sign_cli.sh — `aloft keygen`, `aloft sign` and
# `aloft verify` as a user runs them: keys on disk, a signed file that
# verifies, and each kind of damage refused with words that say why.
# (test_sign_openssl.sh checks aloft's signatures and keys against openssl.)
set -euo pipefail
source "$(dirname "$0")/common_lib.sh"
cd "$tmp"

expect_rc 0 "$aloft" image make --chip esp32s3 --project sign-test --version 3.1.0 \
    --secure-version 2 --size 200000 -o fw.bin
contains out "wrote fw.bin: ESP32-S3 app image, 200000 bytes, project sign-test, version 3.1.0, secure_version 2"
img_len=$(stat -c %s fw.bin)
img_sha=$(sha256sum fw.bin | cut -d' ' -f1)

# --- keygen
expect_rc 0 "$aloft" keygen release
contains out "wrote release.key (private key, mode 0600"
contains out "wrote release.pub (public key"
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
contains out "wrote other.key (private key"
contains out "wrote other.pub (public key"
[ -e other.key ] && [ -e other.pub ] || fail "keygen other.key wrote the wrong names"
old_id=$(awk '/^key id/ {print $3}' out)
expect_rc 0 "$aloft" keygen --force other
contains out "wrote other.key (private key"
other_id=$(awk '/^key id/ {print $3}' out)
[ ${#other_id} = 16 ] && [ "$other_id" != "$old_id" ] ||
    fail "keygen --force made no new key (key id $old_id, then $other_id)"
expect_rc 2 "$aloft" keygen
contains err "missing NAME (writes NAME.key and NAME.pub)"
expect_rc 2 "$aloft" keygen a b
contains err "one NAME at a time (got 'a' and 'b')"

# --- sign
expect_rc 0 "$aloft" sign --key release.key -o fw.signed.bin fw.bin
signed_len=$(stat -c %s fw.signed.bin)
contains out "signed fw.bin -> fw.signed.bin ($signed_len bytes: image + $((signed_len - img_len))-byte signature block)"
contains out "key id          $key_id"
contains out "project         sign-test"
contains out "image           $img_len bytes, sha256 $img_sha"
cmp -s -n "$img_len" fw.bin fw.signed.bin || fail "signing changed the image bytes"
[ $((signed_len - img_len)) -gt 0 ] && [ $((signed_len - img_len)) -le 224 ] ||
    fail "block of $((signed_len - img_len)) bytes"
# Deterministic, and re-signing replaces the block.
expect_rc 0 "$aloft" sign --key release.key -o again.bin fw.signed.bin
contains out "(the old signature block of fw.signed.bin was replaced)"
cmp -s again.bin fw.signed.bin || fail "re-signing did not give the same file"

expect_rc 2 "$aloft" sign --key release.key fw.bin
contains err "-o OUT is required"
expect_rc 2 "$aloft" sign -o x.bin fw.bin
contains err "--key KEY.key is required"
expect_rc 2 "$aloft" sign --key release.key --secure-version 9 -o x.bin fw.bin
contains err "--secure-version 9 differs from the image's secure_version 2"
expect_rc 1 "$aloft" sign --key release.pub -o x.bin fw.bin
contains err "cannot use release.pub as a signing key: it is a public key"
cp fw.bin broken.bin
flip broken.bin 100000
expect_rc 1 "$aloft" sign --key release.key -o x.bin broken.bin
contains err "cannot sign broken.bin: it is not a valid app image: image checksum mismatch"
[ ! -e x.bin ] || fail "a refused sign wrote a file"

# --- verify: ok, text and JSON
expect_rc 0 "$aloft" verify --key release.pub fw.signed.bin
contains out "fw.signed.bin: signature valid (key id $key_id, release.pub)"
contains out "project         sign-test"
contains out "version         3.1.0"
contains out "secure_version  2"
contains out "chip            ESP32-S3 (chip id 9)"
contains out "block           $((signed_len - img_len)) bytes after the image"
expect_rc 0 "$aloft" verify --key release.pub --json fw.signed.bin
[ "$(wc -l <out)" = 1 ] || fail "--json must print one line"
contains out '"valid":true'
contains out "\"key_id\":\"$key_id\""
python3 - out "$img_len" "$img_sha" <<'PY' || fail "verify --json fields"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] and d["signed"] and d["error"] is None, d
assert d["image_size"] == int(sys.argv[2]) and d["image_sha256"] == sys.argv[3], d
assert d["project"] == "sign-test" and d["secure_version"] == 2 and d["chip"] == "ESP32-S3", d
PY
expect_rc 0 "$aloft" image info fw.signed.bin
contains out "signed           yes (key id $key_id, $((signed_len - img_len))-byte block"
contains out "valid            yes"

# --- verify: failures say why
cp fw.signed.bin flipped.bin
flip flipped.bin 150000
expect_rc 1 "$aloft" verify --key release.pub flipped.bin
contains err "flipped.bin: signed metadata does not match the image: the image was changed after signing"
contains err "the signed one ${img_sha:0:16}"
contains out "flipped.bin: INVALID; the block claims:"
expect_rc 1 "$aloft" verify --key release.pub --json flipped.bin
contains out '"valid":false'
contains out '"code":-74'
contains out '"message":"signed metadata does not match the image'

cp fw.signed.bin meta.bin
flip meta.bin $((img_len + 8 + 40))           # the signed secure_version
expect_rc 1 "$aloft" verify --key release.pub meta.bin
contains err "meta.bin: signature does not verify: the signature made with key id $key_id does not match the signed metadata"
contains out "secure_version  253"            # 2 with its bits inverted

expect_rc 1 "$aloft" verify --key other.pub fw.signed.bin
contains err "signed with an unknown key: it was signed with key id $key_id, and the given key has id $other_id"
expect_rc 0 "$aloft" verify --key other.pub --key release.pub fw.signed.bin   # rotation
contains out "fw.signed.bin: signature valid (key id $key_id, release.pub)"

expect_rc 1 "$aloft" verify --key release.pub fw.bin
contains err "fw.bin: image is not signed: no signature block at the end of the file"
head -c $((signed_len - 1)) fw.signed.bin >cut.bin
expect_rc 1 "$aloft" verify --key release.pub cut.bin
contains err "cut.bin: image is not signed: no signature block at the end of the file"
cp fw.signed.bin damaged.bin
flip damaged.bin $((signed_len - 8))          # block_len
expect_rc 1 "$aloft" verify --key release.pub damaged.bin
contains err "the signature block at the end of the file is damaged (its lengths or fields do not add up)"
expect_rc 2 "$aloft" verify fw.signed.bin
contains err "--key KEY.pub is required"
expect_rc 2 "$aloft" verify --key release.pub
contains err "missing FILE (the signed image to check)"
expect_rc 1 "$aloft" verify --key missing.pub fw.signed.bin
contains err "cannot read missing.pub: No such file or directory"
echo "test_sign_cli: ok"
