#!/usr/bin/env bash
# tests/integration/test_espota_window_stall.sh — regression test for a
# throughput bug in aloft's windowed espota uploader (fixed in
# host/espota_transfer.c: a pending digit run is flushed after 2 ms).
#
# The bug: the device acks every read with its count and no delimiter, so
# a burst of acks arrives as one digit run ("1460146014601460545").
# espota_acks_feed() keeps a digit run that ends the received data pending
# (the rest of the last count might follow) until espota_acks_flush(), which
# pump() in host/espota_transfer.c only calls from idle(), i.e.
# after a poll() timeout of 50 ms when the window is full (tx false). Once
# host and device fall into lockstep (window full -> device drains and acks
# everything in one burst -> nothing more arrives), every window round
# waits those 50 ms: a 1 MiB upload to a fast device takes 2-9 s instead of
# 0.35 s, at random (about half of the runs). With flash at ESP32 speed or
# over a 10 ms link the rounds are slow anyway and it hides.
#
# Fix idea (checked in a scratch copy: 12/12 runs 0.33-0.65 s): when a
# digit run is pending, poll for at most ~2 ms before flushing it
# (`poll(&p, 1, x->acks.ndigits ? 2 : tx ? 1000 : 50)`), or better, count
# the pending run tentatively in in_flight() so a full window opens at once.
#
# The bug is systematic (about half of the uploads), a loaded machine only
# delays the odd one: of 16 uploads, 3 or more over 2 s fail the test (the
# bug would pass only with probability 0.2 %).
set -euo pipefail
source "$(dirname "$0")/espota_sim_lib.sh"

runs=${RUNS:-16}
make_image v1 1.0.0 200K
make_image big 2.0.0 1M 5
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --confirm-after 0
slow=0 all=""
for ((i = 1; i <= runs; i++)); do
    nb=$(boots "$tmp/sim.log")
    expect_rc 0 "$aloft" upload --protocol espota --json "127.0.0.1:$sim_port" "$tmp/big.bin"
    s=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$tmp/out")
    all+=" $s"
    python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 2.0 else 1)' "$s" || slow=$((slow + 1))
    wait_reboot "$tmp/sim.log" $((nb + 1)) 2.0.0
    wait_for "$tmp/sim.log" "confirmed (VALID)" 60 "$nb" || fail "upload $i: 2.0.0 not confirmed"
done
echo "windowed 1 MiB uploads, no flash timing, 0 ms RTT:$all s"
if [ "$slow" -ge 3 ]; then
    echo "reproduced: $slow of $runs uploads took over 2 s (the device needs ~0.05 s + 0.3 s before OK)"
    exit 1
fi
echo "ok: not reproduced ($slow of $runs uploads over 2 s)"
