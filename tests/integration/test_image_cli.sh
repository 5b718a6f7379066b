#!/usr/bin/env bash
# tests/integration/test_image_cli.sh — `aloft image make` and `aloft image
# info` as a user runs them: exit codes, text and JSON output, and a damaged
# file refused with a message that says what is wrong. (The real firmware
# fixtures go through `aloft image info` in test_image_fixtures.sh.)
set -euo pipefail
source "$(dirname "$0")/common_lib.sh"

# --- top level
version=$(sed -n 's/^#define ALOFT_VERSION_STRING "\(.*\)"$/\1/p' "$here/../../include/aloft/version.h")
[ -n "$version" ] || fail "no ALOFT_VERSION_STRING in include/aloft/version.h"
expect_rc 0 "$aloft" --version
[ "$(cat "$tmp/out")" = "aloft $version" ] || fail "--version printed '$(cat "$tmp/out")', want 'aloft $version'"
expect_rc 0 "$aloft" --help
contains "$tmp/out" "usage: aloft COMMAND [ARGS...]"
contains "$tmp/out" "image      inspect or build ESP32 app images"
expect_rc 2 "$aloft"
contains "$tmp/err" "usage: aloft COMMAND [ARGS...]"
expect_rc 2 "$aloft" frobnicate
contains "$tmp/err" "unknown command 'frobnicate'"

# --- image make
img="$tmp/fw.bin"
expect_rc 0 "$aloft" image make --chip esp32s3 --project cli-test --version 2.4.1 \
    --secure-version 3 --size 300000 -o "$img"
contains "$tmp/out" "wrote $img: ESP32-S3 app image, 300000 bytes, project cli-test, version 2.4.1, secure_version 3"
size=$(stat -c %s "$img")
if [ "$size" -lt 299997 ] || [ "$size" -gt 300015 ]; then fail "size $size not near 300000"; fi

# Same spec, same bytes; the size suffix works.
expect_rc 0 "$aloft" image make --chip=ESP32-S3 --project cli-test --version 2.4.1 \
    --secure-version=3 --size 300000 --output "$tmp/again.bin"
contains "$tmp/out" "wrote $tmp/again.bin: ESP32-S3 app image, 300000 bytes"
cmp -s "$img" "$tmp/again.bin" || fail "image make is not deterministic"
expect_rc 0 "$aloft" image make --chip esp32c6 --project p --version v --size 1M -o "$tmp/c6.bin"
contains "$tmp/out" "wrote $tmp/c6.bin: ESP32-C6 app image, 1048576 bytes, project p, version v, secure_version 0"
[ "$(stat -c %s "$tmp/c6.bin")" -le $((1048576 + 15)) ] || fail "--size 1M"

# Usage errors say what is missing.
expect_rc 2 "$aloft" image make --project p --version v --size 1000 -o "$tmp/x.bin"
contains "$tmp/err" "--chip is required"
expect_rc 2 "$aloft" image make --chip esp33 --project p --version v --size 1000 -o "$tmp/x.bin"
contains "$tmp/err" "unknown chip 'esp33'"
expect_rc 2 "$aloft" image make --chip esp32 --project p --version v --size lots -o "$tmp/x.bin"
contains "$tmp/err" "--size 'lots'"
expect_rc 2 "$aloft" image make --chip esp32 --project p --version v --size 1000
contains "$tmp/err" "-o OUT is required"
expect_rc 2 "$aloft" image make --chip esp32 --project 0123456789012345678901234567890123 \
    --version v --size 1000 -o "$tmp/x.bin"
contains "$tmp/err" "at most 31"
expect_rc 2 "$aloft" image make --chip esp8266 --project p --version v --size 1000 -o "$tmp/x.bin"
contains "$tmp/err" "ESP8266"
[ ! -e "$tmp/x.bin" ] || fail "a refused image make wrote a file"

# --- image info, text
expect_rc 0 "$aloft" image info "$img"
contains "$tmp/out" "chip             ESP32-S3 (chip id 9)"
contains "$tmp/out" "segments         5"
contains "$tmp/out" "  project        cli-test"
contains "$tmp/out" "  version        2.4.1"
contains "$tmp/out" "  secure_version 3"
contains "$tmp/out" "appended sha256  present (ok)"
contains "$tmp/out" "signed           no"
contains "$tmp/out" "valid            yes"
contains "$tmp/out" "file sha256      $(sha256sum "$img" | cut -d' ' -f1)"
contains "$tmp/out" "image length     $size bytes"

# --- image info, JSON
expect_rc 0 "$aloft" image info "$img" --json
[ "$(wc -l <"$tmp/out")" = 1 ] || fail "--json must print one line"
contains "$tmp/out" '"valid":true'
contains "$tmp/out" '"chip":"ESP32-S3"'
contains "$tmp/out" '"project":"cli-test"'
python3 - "$tmp/out" "$size" "$(sha256sum "$img" | cut -d' ' -f1)" <<'EOF' || fail "image info --json fields"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["valid"] is True and j["error"] is None, j
assert j["chip_id"] == 9 and j["image_length"] == int(sys.argv[2]), j
assert j["file_sha256"] == sys.argv[3] == j["image_sha256"], j
assert j["app_desc"]["secure_version"] == 3 and j["app_desc"]["version"] == "2.4.1", j
assert len(j["segments"]) == j["segment_count"] == 5, j
assert j["segments"][0]["offset"] == 0x20, j
EOF

# --- a damaged copy: exit 1, a message naming the defect, file untouched
bad="$tmp/bad.bin"
cp "$img" "$bad"
flip "$bad" 1000
before=$(sha256sum "$bad")
expect_rc 1 "$aloft" image info "$bad"
contains "$tmp/err" "image checksum mismatch"
contains "$tmp/err" "stored checksum"
contains "$tmp/out" "valid            no"
[ "$(sha256sum "$bad")" = "$before" ] || fail "image info modified the file"
expect_rc 1 "$aloft" image info --json "$bad"
contains "$tmp/out" '"valid":false'
contains "$tmp/out" '"code":-25'

# Truncated and trailing files.
head -c 100000 "$img" >"$tmp/short.bin"
expect_rc 1 "$aloft" image info "$tmp/short.bin"
contains "$tmp/err" "image is truncated: it ends after 100 000 bytes"
{ cat "$img"; printf 'junk'; } >"$tmp/long.bin"
expect_rc 1 "$aloft" image info "$tmp/long.bin"
contains "$tmp/err" "extra bytes after the image"

# Not an image at all, and a file that is not there.
printf 'hello world, not firmware' >"$tmp/text.bin"
expect_rc 1 "$aloft" image info "$tmp/text.bin"
contains "$tmp/err" "not an app image: first byte is 0x68"
expect_rc 1 "$aloft" image info "$tmp/missing.bin"
contains "$tmp/err" "aloft: cannot read $tmp/missing.bin: No such file or directory"

# Usage errors.
expect_rc 2 "$aloft" image info
contains "$tmp/err" "missing FILE"
expect_rc 2 "$aloft" image info "$img" --yaml
contains "$tmp/err" "unknown option '--yaml'"
expect_rc 2 "$aloft" image
contains "$tmp/err" "missing subcommand: info or make"
expect_rc 0 "$aloft" image info --help
contains "$tmp/out" "usage: aloft image info FILE [--json]"

echo "test_image_cli: ok"
