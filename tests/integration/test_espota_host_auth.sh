#!/usr/bin/env bash
# tests/integration/test_espota_host_auth.sh — both espota logins against
# fake devices: MD5 (ESP32 <= 3.3.0), PBKDF2 (ESP32 >= 3.3.1) with the
# SHA-256 secret, the automatic retry with the MD5 secret (a device built
# with setPasswordHash(md5)) and -m/--md5-target; a wrong or missing
# password fails with exit 1 and says so; the MD5 warning only follows a
# successful MD5 login.
set -euo pipefail
source "$(dirname "$0")/espota_host_lib.sh"

weak="MD5-based"

# --- MD5 login (legacy ESP32)
start_fake --flavour esp32-legacy --password s3cret
expect_rc 0 "$aloft" upload --auth s3cret "127.0.0.1:$port" "$img"
same_file "$img" "$tmp/got.bin"
contains "$tmp/out" "authenticating (MD5)... ok"
contains "$tmp/err" "$weak"
expect_rc 0 "$aloft" espota -i 127.0.0.1 -p "$port" --auth=s3cret -f "$img"   # the IDE's form
same_file "$img" "$tmp/got.bin"
contains "$tmp/err" "Authenticating (MD5)...OK"
contains "$tmp/err" "[WARNING]"

expect_rc 1 "$aloft" upload --auth wrong "127.0.0.1:$port" "$img"
contains "$tmp/err" "authentication failed"
contains "$tmp/err" "ArduinoOTA.setPassword"
lacks "$tmp/err" "$weak"
expect_rc 1 "$aloft" espota -i 127.0.0.1 -p "$port" -a wrong -f "$img"
contains "$tmp/err" "Authenticating (MD5)...FAIL"
contains "$tmp/err" "[ERROR]: authentication failed"

expect_rc 1 "$aloft" upload "127.0.0.1:$port" "$img"
contains "$tmp/err" "the device asks for a password"
contains "$tmp/err" "--auth PASSWORD"

# --- PBKDF2 login (ESP32 3.3.1+), SHA-256 secret: first try, no warning
start_fake --flavour esp32-pbkdf2 --password s3cret
expect_rc 0 "$aloft" upload --json --auth s3cret "127.0.0.1:$port" "$img"
same_file "$img" "$tmp/got.bin"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["ok"] and o["auth"]=="pbkdf2", o' \
    "$tmp/out" || fail "json auth pbkdf2"
lacks "$tmp/err" "$weak"
[ "$(grep -c 'auth datagram' "$tmp/fake.log")" = 1 ] || fail "PBKDF2 took more than one login"

expect_rc 1 "$aloft" upload --auth wrong "127.0.0.1:$port" "$img"
contains "$tmp/err" "authentication failed"
contains "$tmp/err" "tried as SHA-256 and as MD5 secret"
contains "$tmp/out" "retrying with the MD5 secret"

# --- PBKDF2 with an MD5 secret: refused once, re-invited, then accepted
start_fake --flavour esp32-pbkdf2 --password s3cret --md5-secret
expect_rc 0 "$aloft" upload --auth s3cret "127.0.0.1:$port" "$img"
same_file "$img" "$tmp/got.bin"
contains "$tmp/out" "retrying with the MD5 secret"
contains "$tmp/out" "authenticating (PBKDF2-HMAC-SHA256, MD5 secret)... ok"
contains "$tmp/err" "$weak"
[ "$(grep -c 'invitation from' "$tmp/fake.log")" = 2 ] || fail "no fresh invitation for the retry"

# -m / --md5-target: the MD5 secret at once, one login
start_fake --flavour esp32-pbkdf2 --password s3cret --md5-secret
expect_rc 0 "$aloft" espota -i 127.0.0.1 -p "$port" -a s3cret -m -f "$img"
same_file "$img" "$tmp/got.bin"
lacks "$tmp/err" "Retrying"
[ "$(grep -c 'auth datagram' "$tmp/fake.log")" = 1 ] || fail "--md5-target should log in once"
expect_rc 0 "$aloft" upload --md5-target --auth s3cret "127.0.0.1:$port" "$img"
same_file "$img" "$tmp/got.bin"
contains "$tmp/out" "authenticating (PBKDF2-HMAC-SHA256, MD5 secret)... ok"
lacks "$tmp/out" "retrying"

echo "ok: espota host auth"
