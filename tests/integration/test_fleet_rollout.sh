#!/usr/bin/env bash
# tests/integration/test_fleet_rollout.sh — `aloft fleet` end to end on a
# real mosquitto and lighttpd with 10 scripted devices (fleet_device.py:
# they fetch the image over HTTP and check its size and SHA-256): release
# (image, delta patch from the earlier release, release.json, retained
# announcement), devices, a rollout with a canary and waves of 50 % and
# 100 % where every device is commanded exactly once and confirms, a
# device that rolls back is counted failed, an offline device is skipped,
# --json, and refusals with words that say what to do.
set -euo pipefail
source "$(dirname "$0")/fleet_lib.sh"

start_broker $(names dev 10 | tr , " ")
start_lighttpd
"$aloft" image make --chip esp32 --project gateway --version 1.0.0 --size 64K -o "$tmp/v1.bin" >/dev/null
"$aloft" image make --chip esp32 --project gateway --version 2.0.0 --size 64K --seed 1 -o "$tmp/v2.bin" >/dev/null

# --- release: refusals first
expect_rc 2 "$aloft" fleet release "$tmp/v2.bin"
contains "$tmp/err" "missing --url URL"
head -c 1000 /dev/urandom >"$tmp/junk.bin"
expect_rc 1 fleet release "$tmp/junk.bin" --url "$base_url" --dir "$tmp/www"
contains "$tmp/err" "is not a valid app image"
expect_rc 1 fleet release "$tmp/v2.bin" --url "$base_url" --dir "$tmp/www" --signed
contains "$tmp/err" "is not signed: sign it first ('aloft sign"
expect_rc 1 "$aloft" fleet release "$tmp/v2.bin" --url "$base_url" --broker 127.0.0.1:1 --db "$fleet_db"
contains "$tmp/err" "cannot reach the MQTT broker: 127.0.0.1:1"

# --- release 1.0.0 then 2.0.0: the second carries a patch from the first
expect_rc 0 fleet release "$tmp/v1.bin" --url "$base_url" --dir "$tmp/www"
expect_rc 0 fleet release "$tmp/v2.bin" --url "$base_url" --dir "$tmp/www" --summary "fixes BLE" --json
rel=$tmp/www/gateway/2.0.0/release.json
same_file "$tmp/v2.bin" "$tmp/www/gateway/2.0.0/v2.bin"
[ "$(json_get "$rel" 'o["url"]')" = "$base_url/gateway/2.0.0/v2.bin" ] || fail "release url"
[ "$(json_get "$rel" 'o["sha256"]')" = "$(sha256sum "$tmp/v2.bin" | cut -d' ' -f1)" ] || fail "release sha256"
[ "$(json_get "$rel" 'o["chip"] + " " + o["project"] + " " + o["version"] + " " + str(o["signed"])')" = "ESP32 gateway 2.0.0 False" ] ||
    fail "release names"
[ "$(json_get "$rel" 'o["patches"][0]["base_sha256"]')" = "$(sha256sum "$tmp/v1.bin" | cut -d' ' -f1)" ] ||
    fail "the patch's base is not 1.0.0"
curl_free_get() { "$fleet_py" -c 'import sys, urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' "$1"; }
curl_free_get "$(json_get "$rel" 'o["patches"][0]["url"]')" >"$tmp/p.patch"
expect_rc 0 "$aloft" delta apply "$tmp/v1.bin" "$tmp/p.patch" -o "$tmp/v2.rebuilt"
same_file "$tmp/v2.bin" "$tmp/v2.rebuilt"
retained aloft/release/gateway "$tmp/retained.json"
cmp -s <(tr -d '\n' <"$tmp/retained.json") "$rel" || fail "the retained release differs from release.json"

# --- no devices yet
expect_rc 1 fleet rollout --project gateway
contains "$tmp/err" "no device to update"
contains "$tmp/err" "'aloft fleet devices' shows what the broker knows"
expect_rc 1 fleet rollout --project other
contains "$tmp/err" "no release of other on aloft/release/other"
expect_rc 2 fleet rollout --project gateway --waves 50,40
contains "$tmp/err" "percentages must rise"

# --- 10 devices: dev07 rolls back, dev10 is offline
start_devices "$tmp/devices.log" --names "$(names dev 10)" --behave dev07=fail --offline dev10
expect_rc 0 fleet devices
contains "$tmp/out" "dev01"
grep -E '^dev01 +ESP32 +gateway +1\.0\.0 +yes +app0 VALID 1\.0\.0\*, app1 EMPTY' "$tmp/out" >/dev/null ||
    { cat "$tmp/out"; fail "devices row"; }
grep -E '^dev10 .* no ' "$tmp/out" >/dev/null || fail "dev10 is not shown offline"
expect_rc 0 fleet devices --json
[ "$(json_get "$tmp/out" 'len(o)')" = 10 ] || fail "devices --json"

expect_rc 1 fleet rollout --project gateway --canary 1 --waves 50,100 --success 75 --fail-threshold 50 \
    --timeout 20 --json
# dev07 failed (rolled back) with the device's words, dev10 skipped, the rest confirmed.
tail -1 "$tmp/out" >"$tmp/final.json"
[ "$(json_get "$tmp/final.json" 'o["state"]')" = done ] || fail "rollout did not end done"
[ "$(json_get "$tmp/final.json" 'o["counts"]["confirmed"]')" = 8 ] || fail "not 8 confirmed"
[ "$(json_get "$tmp/final.json" 'o["counts"]["failed"]')" = 1 ] || fail "not 1 failed"
[ "$(json_get "$tmp/final.json" 'o["counts"]["skipped"]')" = 1 ] || fail "not 1 skipped"
json_get "$tmp/final.json" "[d['error'] for d in o['devices'] if d['name'] == 'dev07'][0]" >"$tmp/e7"
contains "$tmp/e7" "rolled back (code -46)"
[ "$(json_get "$tmp/final.json" "[d['wave'] for d in o['devices'] if d['name'] in ('dev01', 'dev05', 'dev06', 'dev10')]")" = "[1, 2, 3, 3]" ] ||
    fail "waves are not canary 1, then up to 50 %, then 100 %"
contains "$tmp/out" '{"device":"dev01","wave":1,"state":"sent","attempt":1,"error":""}'
# Each online device commanded exactly once, with rollout 1's ids; dev10 never.
for d in $(names dev 9 | tr , ' '); do
    [ "$(commands "$d")" = 1 ] || fail "$d commanded $(commands "$d") times"
done
[ "$(commands dev10)" = 0 ] || fail "the offline dev10 was commanded"
contains "$tmp/record" "dev03 r1-dev03-1"
# The canary confirmed before wave 2 was commanded.
[ "$(grep -n '"device":"dev01","wave":1,"state":"confirmed"' "$tmp/out" | cut -d: -f1)" -lt \
  "$(grep -n '"device":"dev02","wave":2,"state":"sent"' "$tmp/out" | cut -d: -f1)" ] ||
    fail "wave 2 started before the canary confirmed"
expect_rc 0 fleet devices
grep -E '^dev02 +ESP32 +gateway +2\.0\.0 ' "$tmp/out" >/dev/null || fail "dev02 does not run 2.0.0"
grep -E '^dev07 +ESP32 +gateway +1\.0\.0 ' "$tmp/out" >/dev/null || fail "dev07 does not run 1.0.0"

# --- status, text and JSON; the ended rollout cannot run again
expect_rc 0 fleet status
contains "$tmp/out" "rollout 1: gateway 2.0.0, done, wave 3 of 3"
contains "$tmp/out" "devices: 10: 8 confirmed, 1 failed, 0 in flight, 0 queued, 1 skipped"
grep -E '^dev10 +3 skipped +0  offline when its wave came' "$tmp/out" >/dev/null || fail "status row of dev10"
expect_rc 1 fleet run
contains "$tmp/err" "rollout 1 has ended (done); start a new one with 'aloft fleet rollout'"
expect_rc 1 fleet pause
contains "$tmp/err" "rollout 1 is done: nothing to pause"

# --- the broker's login and TLS: a wrong password, a CA that did not sign
# the broker's certificate, then the test CA
expect_rc 1 "$aloft" fleet devices --broker "127.0.0.1:$mqtt_port" --user aloft-controller --password wrong
contains "$tmp/err" "the MQTT broker refused the login"
contains "$tmp/err" "check --user and the password (--password, --password-file or ALOFT_MQTT_PASSWORD)"
expect_rc 2 "$aloft" fleet devices --password x
contains "$tmp/err" "a password needs --user NAME"
printf '%s\n' "$ctl_pw" >"$tmp/ctl.pw"
expect_rc 1 "$aloft" fleet devices --broker "127.0.0.1:$mqtts_port" --user aloft-controller \
    --password-file "$tmp/ctl.pw" --cafile /etc/ssl/certs/ca-certificates.crt
contains "$tmp/err" "TLS with the MQTT broker failed"
expect_rc 0 "$aloft" fleet devices --broker "127.0.0.1:$mqtts_port" --user aloft-controller \
    --password-file "$tmp/ctl.pw" --cafile "$tmp/ca.pem"
contains "$tmp/out" "dev07"

# --- a second rollout, over TLS: only the device still on 1.0.0 and online
fleet_port=$mqtts_port fleet_opts="--cafile $tmp/ca.pem" \
    expect_rc 1 fleet rollout --project gateway --name 'dev0*' --timeout 20
contains "$tmp/out" "8 devices run 2.0.0 already"
contains "$tmp/out" "rollout 2: gateway 2.0.0 to 1 devices in 4 waves"
[ "$(commands dev07)" = 2 ] || fail "dev07 not commanded again"
contains "$tmp/record" "dev07 r2-dev07-1"
# --- a signed release: the file with its block, "signed": true
"$aloft" image make --chip esp32s3 --project lock --version 1.2.0 --size 32K -o "$tmp/lock.bin" >/dev/null
"$aloft" keygen "$tmp/k" >/dev/null
"$aloft" sign --key "$tmp/k.key" -o "$tmp/lock.signed.bin" "$tmp/lock.bin" >/dev/null
expect_rc 0 fleet release "$tmp/lock.signed.bin" --url "$base_url/" --dir "$tmp/www" --signed
contains "$tmp/out" "released lock 1.2.0 (ESP32-S3, $(stat -c %s "$tmp/lock.signed.bin") bytes, signed) at $base_url/lock/1.2.0/lock.signed.bin"
rel=$tmp/www/lock/1.2.0/release.json
[ "$(json_get "$rel" 'o["signed"], o["size"], o["chip"]')" = "(True, $(stat -c %s "$tmp/lock.signed.bin"), 'ESP32-S3')" ] ||
    fail "signed release object: $(cat "$rel")"
[ "$(json_get "$rel" 'o["sha256"]')" = "$(sha256sum "$tmp/lock.signed.bin" | cut -d' ' -f1)" ] ||
    fail "the signed release's sha256 is not the signed file's"
# --- without --dir: the file is at the URL prefix the user gives (a CDN)
expect_rc 0 fleet release "$tmp/lock.signed.bin" --url https://cdn.example.com/fw --json
[ "$(json_get "$tmp/out" 'o["url"], "patches" in o')" = "('https://cdn.example.com/fw/lock.signed.bin', False)" ] ||
    fail "release without --dir: $(cat "$tmp/out")"
retained aloft/release/lock "$tmp/lock.json"
cmp -s <(tr -d '\n' <"$tmp/lock.json") <(tr -d '\n' <"$tmp/out") || fail "the retained release is not the one printed"
echo "PASS"
