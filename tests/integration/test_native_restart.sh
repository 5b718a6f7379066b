#!/usr/bin/env bash
# tests/integration/test_native_restart.sh — after a native update's
# RESULT the device restarts as soon as the RESULT has left (port/sockets:
# its connection's send queue is empty, SIOCOUTQNSD), not a fixed 100 ms
# later, and the host still gets the RESULT (exit 0, "restarts now").
# Timed by a watcher: the device's boot line against the end of
# `aloft upload --no-wait` (which ends at the RESULT); the smallest gap of
# three uploads must stay well under the old 100 ms (about 0 now).
set -euo pipefail
source "$(dirname "$0")/native_sim_lib.sh"

make_image v1 1.0.0 200000 1
make_image v2 2.0.0 200000 2
new_device "$tmp/dev.flash" "$tmp/v1.bin"
start_sim "$tmp/dev.flash" "$tmp/sim.log" --confirm-after 0
dev="127.0.0.1:$sim_port"

# watch LOG BOOTS CMD...: run CMD; print ms from its end to the LOG's
# BOOTS-th boot line (negative: the boot came first)
cat >"$tmp/watch.py" <<'PY'
import subprocess, sys, time
log, boots, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
p = subprocess.Popen(cmd, stdout=open(sys.argv[1] + ".out", "ab"), stderr=subprocess.STDOUT)
end = boot = None
deadline = time.monotonic() + 60
while (end is None or boot is None) and time.monotonic() < deadline:
    if end is None and p.poll() is not None:
        end = time.monotonic()
    if boot is None and open(log, "rb").read().count(b"aloft-sim: running ") >= boots:
        boot = time.monotonic()
    time.sleep(0.001)
if p.wait() != 0 or boot is None:
    sys.exit("upload failed (exit %s) or no boot" % p.returncode)
print(round((boot - end) * 1000))
PY

gaps=()
boots=1
for img in v2 v1 v2; do
    boots=$((boots + 1))
    gap=$(python3 "$tmp/watch.py" "$tmp/sim.log" "$boots" \
        "$aloft" upload --no-wait "$dev" "$tmp/$img.bin") || { cat "$tmp/sim.log.out" >&2; fail "upload of $img"; }
    gaps+=("$gap")
    wait_for "$tmp/sim.log" "confirmed (VALID)" 30 $((boots - 1)) || fail "boot $boots not confirmed"
done
contains "$tmp/sim.log.out" "and restarts now"
min=$(printf '%s\n' "${gaps[@]}" | sort -n | head -1)
echo "RESULT -> boot: ${gaps[*]} ms (smallest $min)"
[ "$min" -lt 60 ] || fail "the device restarted ${min} ms after the RESULT reached the host (a fixed delay?)"
echo "PASS"
