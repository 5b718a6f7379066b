#!/usr/bin/env bash
# tests/integration/test_pull_basic.sh — `aloft-sim --pull-release` fetches
# a release from a real lighttpd and installs it: v2 over HTTP, rebooted,
# confirmed by the health check (the success FLEET.md means); then v3 over
# HTTPS from a server whose certificate a CA made here signed, trusted
# with --ca-file; without it the TLS handshake fails, the pull gives up
# after its tries with the certificate problem named, and the device still
# runs v3.
set -euo pipefail
source "$(dirname "$0")/pull_lib.sh"
start=$SECONDS

demo_image v1 1.0.0
demo_image v2 2.0.0 --size 300000
cp "$tmp/v2.bin" "$tmp/www/v2.bin"
new_device "$tmp/dev.flash" "$tmp/v1.bin"

# --- HTTP: pull, reboot, confirmed
start_lighttpd
release rel2 v2.bin
pull "$tmp/dev.flash" "$tmp/pull.log" rel2 --confirm-after 0 --run-for 0.5
[ "$pull_rc" = 0 ] || { cat "$tmp/pull.log" >&2; fail "the pull exited $pull_rc"; }
contains "$tmp/pull.log" "pull attempt 1 of 5: GET $base_url/v2.bin"
contains "$tmp/pull.log" "pull complete: 300000 bytes in 1 attempt, verified and app1 activated"
contains "$tmp/pull.log" "running app1 @0x150000: demo 2.0.0"
contains "$tmp/pull.log" "app1 confirmed (VALID)"
stop_lighttpd
[ "$(body_bytes 200)" = 300000 ] || { cat "$tmp/access.log" >&2; fail "not one 200 of the whole file"; }
http_port=""

# --- HTTPS with the test CA
make_ca
demo_image v3 3.0.0 --size 250000
cp "$tmp/v3.bin" "$tmp/www/v3.bin"
start_lighttpd tls
release rel3 v3.bin version='"3.0.0"'
pull "$tmp/dev.flash" "$tmp/tls.log" rel3 --ca-file "$tmp/ca.pem" --confirm-after 0 --run-for 0.5
[ "$pull_rc" = 0 ] || { cat "$tmp/tls.log" >&2; fail "the HTTPS pull exited $pull_rc"; }
contains "$tmp/tls.log" "GET https://127.0.0.1:$http_port/v3.bin"
contains "$tmp/tls.log" "running app0 @0x010000: demo 3.0.0"
contains "$tmp/tls.log" "app0 confirmed (VALID)"

# --- HTTPS without trusting the CA: refused by TLS, bounded, named
cp "$tmp/dev.flash" "$tmp/before.flash"
pull "$tmp/dev.flash" "$tmp/untrusted.log" rel3 --pull-tries 2
[ "$pull_rc" = 1 ] || { cat "$tmp/untrusted.log" >&2; fail "an untrusted server's pull exited $pull_rc"; }
contains "$tmp/untrusted.log" "pull attempt 2 of 2"
contains "$tmp/untrusted.log" "certificate"
contains "$tmp/untrusted.log" "pull refused: could not connect"
lacks "$tmp/untrusted.log" "pull attempt 3"
same_file "$tmp/before.flash" "$tmp/dev.flash"

echo "ok: pull over HTTP and HTTPS, confirmed after the reboot ($((SECONDS - start)) s)"
