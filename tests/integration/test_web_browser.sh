#!/usr/bin/env bash
# The device page in Debian's chromium, headless, driven by playwright-core
# (tests/web/web.test.mjs): a wrong password, an image larger than the slot,
# an upload of v2 whose progress comes from the device and after which the
# page comes back on v2 by itself (confirm, then roll back), and a
# signed-only device given an unsigned image; a filesystem image the device
# cannot stage unasked (the page shows the warning and asks: cancel, then
# in place) and one staged on a fresh device; the firmware untouched by
# every refusal. Needs chromium, node and `npm ci` in tests/web (make deps).
# ALOFT_WEB_SCREENSHOT=FILE also saves the page after the upload.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/web_lib.sh"

web_dir="$here/../web"
chromium=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium" ] || skip_missing "chromium (apt-get install chromium)"
command -v node >/dev/null || skip_missing "node (apt-get install nodejs)"
[ -d "$web_dir/node_modules/playwright-core" ] ||
    skip_missing "playwright-core (make deps, or: cd tests/web && npm ci)"

demo_image v1 1.0.0
demo_image v2 2.0.0 --size 300000
demo_image big 3.0.0 --size 1400000
head -c 100000 /dev/urandom >"$tmp/fs.bin"
keys k1
"$aloft" sign --key "$tmp/k1.key" --fs --chip esp32 -o "$tmp/fs-k1.bin" "$tmp/fs.bin" >/dev/null ||
    fail "sign --fs"

new_device "$tmp/d1.flash" "$tmp/v1.bin"
start_web_sim "$tmp/d1.flash" "$tmp/d1.log" --never-confirm
url1=$web_url
new_device "$tmp/d2.flash" "$tmp/v1.bin"
start_web_sim "$tmp/d2.flash" "$tmp/d2.log" --public-key "$tmp/k1.pub"
url2=$web_url

ALOFT_WEB_URL1=$url1 ALOFT_WEB_FLASH1=$tmp/d1.flash ALOFT_WEB_URL2=$url2 \
ALOFT_WEB_FLASH2=$tmp/d2.flash ALOFT_WEB_V2=$tmp/v2.bin ALOFT_WEB_BIG=$tmp/big.bin \
ALOFT_WEB_FS=$tmp/fs.bin ALOFT_WEB_FS_SIGNED=$tmp/fs-k1.bin \
CHROMIUM=$chromium node --test --test-reporter=spec "$web_dir/web.test.mjs" >"$tmp/node.out" 2>&1 ||
    { cat "$tmp/node.out" "$tmp/d1.log" >&2; fail "browser tests"; }
cat "$tmp/node.out"
# What the page showed is what the device did: v2 ran, then the rollback.
contains "$tmp/d1.log" "running app1 @0x150000: demo 2.0.0"
contains "$tmp/d1.log" "confirmed from the web page: app1 confirmed (VALID)"
expect_running "$tmp/d1.log" "app0 demo 1.0.0 VALID"
expect_running "$tmp/d2.log" "app0 demo 1.0.0 VALID"
echo "PASS: the page logs in, uploads, comes back on v2, confirms, rolls back; refusals leave the firmware"
