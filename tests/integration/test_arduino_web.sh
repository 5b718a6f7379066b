#!/usr/bin/env bash
# test_arduino_web.sh — AloftOTA.setWebPort: the Arduino library serves
# the device's web page through the ESP-IDF component's esp_web.c (over the
# esp_http_server fake), and announces _aloft._tcp beside _arduino._tcp
# through the component's esp_mdns.c (over the mdns fake). The WebPage
# test sketch: the page is web/index.html; a wrong password is refused with
# the firmware unchanged; v2 uploaded through the API the page uses runs
# the sketch's onStart/onEnd, the board restarts into it and announces its
# new version.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/web_lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/arduino_lib.sh"
WEB_PASSWORD=admin

img() { "$aloft" image make --chip esp32 --project web --version "$1" --size 200000 \
    --seed "$2" -o "$tmp/$1.bin" >/dev/null || fail "image make $1"; }
img 1.0.0 1
img 2.0.0 2
flash=$tmp/dev.flash
new_device "$flash" "$tmp/1.0.0.bin"
http=$(free_tcp_port)
start_board WebPage "$flash" "$tmp/board.log" ALOFT_TEST_WEB_PORT="$http"
web_url=http://127.0.0.1:$http
contains "$board_log" "web page on TCP port $http (password)"
fw=$(firmware_state "$flash")

# discovery: both records, under the sketch's host name
contains "$board_log" "mdns: webpage.local"
contains "$board_log" "mdns: _aloft._tcp port $board_port txt txtvers=1 proto=1 chip=esp32 project=web version=1.0.0 auth=yes signed=no"
contains "$board_log" "mdns: _arduino._tcp port $board_port txt board=esp32 tcp_check=no ssh_upload=no auth_upload=yes"

page_served "$web_url"
WEB_PASSWORD=wrong web_refused -81 '"code": -81' upload "$tmp/2.0.0.bin"
lacks "$board_log" "onStart"

web upload "$tmp/2.0.0.bin" || { cat "$tmp/out" "$tmp/err"; fail "upload through the page's API"; }
contains "$tmp/out" '"done": true, "slot": "app1", "version": "2.0.0", "reboot": true'
wait_power_on 2 2.0.0
in_order "$board_log" "onStart" "onEnd" "=== power on 2" "board: running web 2.0.0 (PENDING_VERIFY)" \
    "mdns: _aloft._tcp port $board_port txt txtvers=1 proto=1 chip=esp32 project=web version=2.0.0"
wait_until 30 web info || fail "no page after the restart: $(cat "$tmp/out")"
contains "$tmp/out" '"version": "2.0.0"'
stop_board
echo "PASS: AloftOTA serves the web page (esp_web.c) and announces _aloft._tcp beside _arduino._tcp (esp_mdns.c)"
