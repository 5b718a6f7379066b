#!/usr/bin/env bash
# tests/integration/test_esp_web.sh — the ESP-IDF component's web page and
# API (esp_web.c over esp_http_server) on Linux over the IDF fakes (the
# esp_http_server fake: one server task, IDF's limits and timeouts),
# driven by web_client.py as test_web_api drives aloft-sim: the page is
# served gzipped; no session, a wrong password and too large an image are
# refused with the firmware (otadata, both slots) unchanged; v2 uploads and
# the device restarts into it; a device with a signing key refuses an
# unsigned image (firmware unchanged) and takes the signed one. The server
# has one task: a request whose body stops coming is given up on after the
# idle timeout (the socket closed), and the page answers again.
set -euo pipefail
source "$(dirname "$0")/web_lib.sh"
source "$(dirname "$0")/esp_fake_lib.sh"
start=$SECONDS

demo_image v1 1.0.0
demo_image v2 2.0.0
keys k1
sign_image v2 k1 v2-k1
key=$(grep -v -- ----- "$tmp/k1.pub" | tr -d '\n')

# start_esp_web FLASH LOG ARGS...: start_esp with the web page on a free
# port; sets web_url.
start_esp_web() {
    local flash=$1 log=$2 http
    shift 2
    http=$(free_tcp_port)
    start_esp "$flash" "$log" --password "$WEB_PASSWORD" --web-port "$http" "$@"
    contains "$log" "web page on http://127.0.0.1:$http/"
    web_url=http://127.0.0.1:$http
}

flash=$tmp/d1.flash
esp_init "$flash" "$tmp/v1.bin"
start_esp_web "$flash" "$tmp/d1.log"
fw=$(firmware_state "$flash")

page_served "$web_url"
web info || fail "info: $(cat "$tmp/out")"
contains "$tmp/out" '"version": "1.0.0"'

web_refused -93 '"text": "not logged in: the request has no valid session' --no-session upload "$tmp/v2.bin"
web_refused -93 "no valid CSRF token" --wrong-csrf upload "$tmp/v2.bin"
WEB_PASSWORD=wrong web_refused -81 '"code": -81' login
web_refused -61 "image is 1 400 000 bytes, slot app1 holds 1 310 720" upload "$tmp/v2.bin" --size 1400000
lacks "$tmp/d1.log" "hook: paused"

# A good upload in 16 KiB requests; the device restarts into v2.
web upload "$tmp/v2.bin" --chunk 16384 || { cat "$tmp/out" "$tmp/err"; fail "upload v2"; }
contains "$tmp/out" '"done": true, "slot": "app1", "version": "2.0.0", "reboot": true'
wait_esp_boot "$tmp/d1.log" 2 2.0.0
in_order "$tmp/d1.log" "event: ERROR web -61: image is larger than the slot" "hook: paused" \
    "event: START web " "event: PROGRESS web 200000/200000" "event: END web 200000/200000" \
    "esp_restart()" "boot #2: running app1 demo 2.0.0"
contains "$tmp/d1.log" "hook: resumed"
web info || fail "info after the restart: $(cat "$tmp/out")"
contains "$tmp/out" '"version": "2.0.0"'
stop_esp

# Signed images only: unsigned refused before anything is written. A
# 1.5 s idle timeout, for the silent body.
flash=$tmp/d2.flash
esp_init "$flash" "$tmp/v1.bin"
start_esp_web "$flash" "$tmp/d2.log" --signing-keys "$key" --idle-timeout 1500
fw=$(firmware_state "$flash")
python3 - "$web_url" <<'PY' || fail "a silent body held the web server"
import socket, sys, time, urllib.parse, urllib.request
u = urllib.parse.urlparse(sys.argv[1])
s = socket.create_connection((u.hostname, u.port))
s.sendall(b"POST /api/update/data?offset=0 HTTP/1.1\r\nHost: d\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
t = time.monotonic()
body = urllib.request.urlopen(sys.argv[1] + "/api/info", timeout=10).read()   # waits its turn
assert b'"ok":true' in body.replace(b" ", b""), body
s.settimeout(10)
assert s.recv(100) == b"", "the silent request's socket is still open"
print("the page answered after %.1f s" % (time.monotonic() - t))
PY
web_refused -69 "image is not signed" upload "$tmp/v2.bin"
contains "$tmp/d2.log" "event: ERROR web -69: image is not signed"
lacks "$tmp/d2.log" "hook: paused"
web upload "$tmp/v2-k1.bin" || fail "signed upload: $(cat "$tmp/out")"
wait_esp_boot "$tmp/d2.log" 2 2.0.0
stop_esp
echo "ok: the ESP web page over the esp_http_server fake ($((SECONDS - start)) s)"
