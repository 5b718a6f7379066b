#!/usr/bin/env bash
# tests/integration/test_pull_refusals.sh — what a pull refuses, each with
# words that say why. Before anything is erased (the flash file is byte
# for byte what it was): a 404; a release whose size is not the served
# file's Content-Length; a release too large for the slot (no request at
# all); an image for another chip (its first bytes); an unsigned release
# on a device with keys; a server that is down (bounded retries, then the
# connect error). Before activation (v1 still boots from app0, app0 and
# otadata untouched): a SHA-256 that does not match; a release said to be
# signed whose file is not. A release object that is not one is refused
# naming the member.
set -euo pipefail
source "$(dirname "$0")/pull_lib.sh"
start=$SECONDS

demo_image v1 1.0.0
demo_image v2 2.0.0 --size 260000
"$aloft" image make --chip esp32c3 --project demo --version 2.0.0 --size 260000 \
    -o "$tmp/www/c3.bin" >/dev/null || fail "image make c3"
keys k1
cp "$tmp/v2.bin" "$tmp/www/v2.bin"
size=$(stat -c %s "$tmp/v2.bin")
new_device "$tmp/dev.flash" "$tmp/v1.bin"
cp "$tmp/dev.flash" "$tmp/before.flash"
start_lighttpd

# pull_ends HOW REL WORDS... [-- SIM ARGS]: the pull of REL exits 1 with
# "pull HOW: " and each of WORDS in its log
pull_ends() {
    local how=$1 rel=$2 w words=() args=()
    shift 2
    while [ $# -gt 0 ] && [ "$1" != -- ]; do words+=("$1"); shift; done
    [ $# -gt 0 ] && shift && args=("$@")
    pull "$tmp/dev.flash" "$tmp/$rel.log" "$rel" "${args[@]}"
    [ "$pull_rc" = 1 ] || { cat "$tmp/$rel.log" >&2; fail "$rel: the pull exited $pull_rc"; }
    contains "$tmp/$rel.log" "pull $how: "
    for w in "${words[@]}"; do contains "$tmp/$rel.log" "$w"; done
}

# refused_before_erase REL WORDS... [-- SIM ARGS]: the pull of REL is
# refused with each of WORDS in its log, and the flash is unchanged
refused_before_erase() {
    pull_ends refused "$@"
    same_file "$tmp/before.flash" "$tmp/dev.flash"
}

# failed_before_activation REL WORDS... [-- SIM ARGS]: downloaded, refused
# by the final checks; v1 still runs from app0, otadata untouched
failed_before_activation() {
    local rel=$1
    pull_ends failed "$@"
    [ "$(region "$tmp/dev.flash" $APP0 $SLOT_LEN)" = "$(region "$tmp/before.flash" $APP0 $SLOT_LEN)" ] ||
        fail "$rel: app0 changed"
    [ "$(region "$tmp/dev.flash" $OTADATA $OTADATA_LEN)" = "$(region "$tmp/before.flash" $OTADATA $OTADATA_LEN)" ] ||
        fail "$rel: otadata changed"
    expect_rc 0 "$sim_bin" --flash "$tmp/dev.flash" --run-for 0
    contains "$tmp/out" "running app0 @0x010000: demo 1.0.0"
}

release missing missing.bin size=$size sha256="\"$(sha256sum "$tmp/v2.bin" | cut -c1-64)\""
refused_before_erase missing "the server refused the download: it answered HTTP status 404"
lacks "$tmp/missing.log" "pull attempt 2"

release short v2.bin size=$((size - 1))
refused_before_erase short "the server's file is not the release's: the response's Content-Length is" \
    "where the release needs"

release huge v2.bin size=1400000
refused_before_erase huge "image is larger than the slot: image is 1 400 000 bytes, slot app1 holds 1 310 720"
lacks "$tmp/huge.log" "pull attempt"

release c3 c3.bin chip='"esp32c3"'
refused_before_erase c3 "image is for another chip: image is built for ESP32-C3 but the device is ESP32"

release unsigned v2.bin
refused_before_erase unsigned "image is not signed" -- --public-key "$tmp/k1.pub"
lacks "$tmp/unsigned.log" "pull attempt"

# a server that is down: 3 tries (100, 200 ms apart), then the connect error
down_port=$(free_tcp_port)
python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); o["url"] = sys.argv[2]; json.dump(o, open(sys.argv[3], "w"))' \
    "$tmp/unsigned.json" "http://127.0.0.1:$down_port/v2.bin" "$tmp/down.json"
t0=$(now_ms)
refused_before_erase down "pull attempt 3 of 3" "could not connect" -- --pull-tries 3
took=$(( $(now_ms) - t0 ))
lacks "$tmp/down.log" "pull attempt 4"
[ "$(grep -c "pull attempt failed, retrying: could not connect" "$tmp/down.log")" = 2 ] ||
    { cat "$tmp/down.log" >&2; fail "not 2 retries"; }
[ "$took" -ge 300 ] || fail "3 tries with 100 + 200 ms of backoff took only $took ms"

# release objects that are not one: the member named, nothing touched
printf '{"url": "ftp://x/v2.bin", "size": 5, "sha256": "00"}' >"$tmp/ftp.json"
refused_json() {
    pull "$tmp/dev.flash" "$tmp/$1.log" "$1"
    [ "$pull_rc" = 1 ] || { cat "$tmp/$1.log" >&2; fail "$1: the pull exited $pull_rc"; }
    contains "$tmp/$1.log" "aloft-sim: $tmp/$1.json: $2"
    same_file "$tmp/before.flash" "$tmp/dev.flash"
}
refused_json ftp '"url" must be an http:// or https:// URL'
release shortsha v2.bin sha256='"abcd"'
refused_json shortsha '"sha256" must be 64 hex digits'
printf '{"url": "http://x/v2.bin",' >"$tmp/cut.json"
refused_json cut 'not a JSON object'

release badsha v2.bin sha256="\"$(printf '0%.0s' {1..64})\""
failed_before_activation badsha "SHA-256 mismatch"

release fakesigned v2.bin signed=true
failed_before_activation fakesigned "image is not signed" -- --public-key "$tmp/k1.pub"

echo "ok: pull refusals, each before an erase or before activation ($((SECONDS - start)) s)"
