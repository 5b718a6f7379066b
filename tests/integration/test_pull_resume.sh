#!/usr/bin/env bash
# tests/integration/test_pull_resume.sh — a pull continues where it
# stopped. A cut: lighttpd sends at 128 KB/s (a burst a second, so the
# file is not all in socket buffers) and is killed once 10 % arrived,
# within its first burst, then started again; the
# device's next attempt asks for the rest with a Range request, the access
# log shows the 206 and fewer bytes than the file, and v2 boots. A power
# cut: aloft-sim dies at the flash operation half-way through its pull
# (--power-cut, counted on a dry run); started again with the same
# release it resumes from the journal's durable prefix (a Range request
# from a multiple of 64 KiB) and boots v2.
set -euo pipefail
source "$(dirname "$0")/pull_lib.sh"
start=$SECONDS

demo_image v1 1.0.0
demo_image v2 2.0.0 --size 420000
size=$(stat -c %s "$tmp/v2.bin")
cp "$tmp/v2.bin" "$tmp/www/v2.bin"
new_device "$tmp/dev.flash" "$tmp/v1.bin"
cp "$tmp/dev.flash" "$tmp/fresh.flash"

# --- a cut: the server dies mid-response and comes back
lighttpd_extra="connection.kbytes-per-second = 128"
start_lighttpd
release rel v2.bin
spawn "$sim_bin" --flash "$tmp/dev.flash" --pull-release "$tmp/rel.json" --pull-backoff 200 \
    --run-for 0 >"$tmp/cut.log" 2>&1
sim_pid=$spawned
wait_until 30 grep -qE "updating app1  [1-2][0-9]%" "$tmp/cut.log" || { cat "$tmp/cut.log" >&2; fail "the pull did not get going"; }
kill_lighttpd
start_lighttpd
rc=0
wait "$sim_pid" || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/cut.log" >&2; fail "the cut pull exited $rc"; }
contains "$tmp/cut.log" "pull attempt failed, retrying: connection closed early"
from=$(sed -n 's/.*GET .* from byte \([0-9]*\)-$/\1/p' "$tmp/cut.log" | tail -1)
[ -n "$from" ] && [ "$from" -gt 0 ] || { cat "$tmp/cut.log" >&2; fail "no Range request after the cut"; }
contains "$tmp/cut.log" "pull complete: $size bytes in"
contains "$tmp/cut.log" "running app1 @0x150000: demo 2.0.0"
stop_lighttpd
sent=$(body_bytes 206)
[ "$sent" = $((size - from)) ] || { cat "$tmp/access.log" >&2; fail "the 206 sent $sent bytes, not $((size - from))"; }
grep -q " 206 $sent bytes=$from-$" "$tmp/access.log" || { cat "$tmp/access.log" >&2; fail "206 without the Range"; }
echo "cut at $from of $size bytes: the 206 carried $sent"

# --- a power cut half-way through the flash operations of a pull
lighttpd_extra=""
http_port=""
access_log=$tmp/access2.log
start_lighttpd
release rel v2.bin
cp "$tmp/fresh.flash" "$tmp/dry.flash"
pull "$tmp/dry.flash" "$tmp/dry.log" rel
[ "$pull_rc" = 0 ] || { cat "$tmp/dry.log" >&2; fail "the dry run exited $pull_rc"; }
read -r erases programs <<<"$(flash_ops "$tmp/dry.log")"
cut_at=$(( (erases + programs) / 2 ))
cp "$tmp/fresh.flash" "$tmp/dev.flash"
pull "$tmp/dev.flash" "$tmp/cut1.log" rel --power-cut "$cut_at"
[ "$pull_rc" = 3 ] || { cat "$tmp/cut1.log" >&2; fail "no power cut (exit $pull_rc)"; }
contains "$tmp/cut1.log" "POWER CUT at flash operation $cut_at"
pull "$tmp/dev.flash" "$tmp/cut2.log" rel
[ "$pull_rc" = 0 ] || { cat "$tmp/cut2.log" >&2; fail "the pull after the power cut exited $pull_rc"; }
contains "$tmp/cut2.log" "running app0 @0x010000: demo 1.0.0"
held=$(sed -n 's/.*pull: \([0-9]*\) of [0-9]* bytes already in flash (journal), resuming/\1/p' "$tmp/cut2.log")
[ -n "$held" ] && [ "$held" -gt 0 ] && [ $((held % 65536)) = 0 ] ||
    { cat "$tmp/cut2.log" >&2; fail "no resume from the journal"; }
contains "$tmp/cut2.log" "GET $base_url/v2.bin from byte $held-"
contains "$tmp/cut2.log" "(resumed from the journal)"
contains "$tmp/cut2.log" "running app1 @0x150000: demo 2.0.0"
stop_lighttpd
# the dry run's and the cut pull's 200s, then only the rest
[ "$(body_bytes 200 | wc -l)" = 2 ] && [ "$(body_bytes 206 | wc -l)" = 1 ] &&
    [ "$(tail -1 "$access_log")" = "GET /v2.bin HTTP/1.1 206 $((size - held)) bytes=$held-" ] ||
    { cat "$access_log" >&2; fail "the resumed pull fetched more than the rest"; }
echo "power cut at flash operation $cut_at of $((erases + programs)): resumed at $held of $size bytes"

echo "ok: pull resumed after a cut and after a power cut ($((SECONDS - start)) s)"
