#!/usr/bin/env bash
# bench/native_bench.sh — upload speed of aloft's native protocol against
# espota, side by side in one run, on one simulated ESP32, through the link
# emulator, next to the limit the flash itself sets.
#
#   bash bench/native_bench.sh [BIN_DIR]        (default build/bin; `make bench`)
#
# Modes, in this order in every round (REPS rounds, alternating):
#   native raw        aloft upload --protocol native --no-compress
#   native zlib       aloft upload --protocol native        (compression on)
#   espota windowed   aloft upload --protocol espota
#   espota s&w        aloft upload --protocol espota --stop-and-wait
#                     (1 KiB, then wait for the ack: espota.py's pace)
# plus the flash-bound limit from the timing model (docs/SIMULATOR.md,
# W25Q32 typical figures): for an image of S bytes written from a 64 KiB
# aligned slot base, floor(S'/64 KiB) block erases x 150 ms + the tail's
# 4 KiB sector erases x 45 ms (S' = S rounded up to 4 KiB, as lib/writer.c
# erases) + ceil(S/256) page programs x 0.4 ms + S x 100 ns of read-back.
# Nothing else the device does (journal, otadata, hashing) is in it.
#
# Device: one aloft-sim (--flash-timing esp32: it sleeps for every modelled
# erase/program/read; --confirm-after 0), a 4 MB flash with the min_spiffs
# scheme (2 x 1920 KiB app slots: 1.5 MiB does not fit the default 1280 KiB).
# Every upload is a real one: the device reboots into the image and confirms
# it before the next upload (checked by the SHA-256 in its boot banner), and
# two different images alternate. Links: linkemu (tests/tools/linkemu.c),
# TCP relay for native and UDP + connect-back relay for espota, the same
# one-way delay (RTT/2) for both; no rate limit, no loss.
#
# Images:
#   random   a 1.5 MiB ESP32 app made by `aloft image make`, its segment data
#            (all but the app description and the zero padding segment)
#            replaced with random bytes and re-sealed (checksum, SHA-256;
#            checked with `aloft image info`): incompressible. (`image make`
#            has no random-filler option; its own filler compresses ~50 %.)
#   fixture  the largest ESP32 fixture, esp32fota_anyfs_stage1 (916 016 B),
#            alternating with the other build of the same program (916 384 B),
#            from ../shared/fixtures/firmware (skipped with a note if absent).
#
# Seconds: aloft's own (--json "seconds"); median of REPS. Native counts from
# before the TCP connect to RESULT (after the device's final verification);
# espota from the device's connect-back to its "OK" (so its invitation round
# trip is not counted, but the device's 300 ms pause before "OK" is). Wire bytes: TCP payload
# host -> device, counted by the relay (native: frames, MACs, zlib stream;
# espota: the image). KiB/s = image KiB / seconds. "wall s": the whole
# `aloft upload` command, for comparison (espota: with its invitation).
#
# Environment: REPS (default 3, at least 3), BENCH_RTTS (default "10 30",
# ms), BENCH_SIZE (default 1536K), BENCH_IMAGES (default "random fixture"),
# BENCH_FIXTURE_DIR (default ../shared/fixtures/firmware next to the repo).
# The default run takes about 10 minutes (mostly stop-and-wait at 30 ms).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=$(cd "${1:-$root/build/bin}" && pwd)
reps=${REPS:-3}
rtts=${BENCH_RTTS:-10 30}
size=${BENCH_SIZE:-1536K}
images=${BENCH_IMAGES:-random fixture}
fixture_dir=${BENCH_FIXTURE_DIR:-$root/../shared/fixtures/firmware}
fixture_a=esp32fota_anyfs_stage1-484e1de0.bin
fixture_b=esp32fota_anyfs_stage1-47803c41.bin
[[ "$reps" =~ ^[0-9]+$ ]] && [ "$reps" -ge 3 ] && [ "$reps" -le 50 ] ||
    { echo "REPS must be a number from 3 to 50" >&2; exit 2; }
[ -x "$bin_dir/aloft" ] && [ -x "$bin_dir/aloft-sim" ] ||
    { echo "no aloft/aloft-sim in $bin_dir (build first: make build)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 2; }

export ALOFT_BIN=$bin_dir
# The test helpers: temp dir ($tmp), background processes started with spawn
# and stopped by the EXIT trap, random free ports with retry, linkemu.
source "$root/tests/integration/native_sim_lib.sh"
# flash_limit_ms, median
source "$root/bench/bench_lib.sh"

# Stop what this script started by its pids too (still our children, so the
# pids are ours), not only by the job list the helpers' trap walks.
bench_cleanup() {
    local p
    for p in ${up_pid:-} ${tcp_pid:-} ${relay_pid:-} ${sim_pid:-}; do
        if [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "$$" ]; then
            kill "$p" 2>/dev/null || true
        fi
    done
    cleanup
}
trap bench_cleanup EXIT

bench_start=$(now_ms)
modes=(raw zlib espota saw)
declare -A mode_name=([raw]="native raw" [zlib]="native zlib" [espota]="espota windowed"
                      [saw]="espota stop-and-wait")

build_linkemu

# ---- images ---------------------------------------------------------------

# randomize SRC DST: SRC's segment data (except the 256-byte app description
# and padding segments, load address 0) replaced by random bytes, then the
# XOR checksum and the appended SHA-256 recomputed.
randomize() {
    python3 - "$1" "$2" <<'PY' || fail "cannot randomize $1"
import hashlib, os, struct, sys
img = bytearray(open(sys.argv[1], "rb").read())
off, x = 24, 0xEF
for i in range(img[1]):
    load, n = struct.unpack_from("<II", img, off)
    off += 8
    if load != 0:
        keep = 256 if i == 0 else 0
        img[off + keep:off + n] = os.urandom(n - keep)
    for b in img[off:off + n]:
        x ^= b
    off += n
off += 15 - off % 16
img[off] = x
off += 1
assert img[23] == 1 and len(img) == off + 32, "unexpected image layout"
img[off:off + 32] = hashlib.sha256(img[:off]).digest()
open(sys.argv[2], "wb").write(img)
PY
    "$aloft" image info "$2" | grep -q "^valid *yes" || fail "$2 is not a valid image"
}

# image files per image kind: "A B" (alternating), and a label
declare -A files label
notes=()
for kind in $images; do
    case $kind in
    random)
        make_image syn2 2.0.0 "$size" 2
        make_image syn3 3.0.0 "$size" 3
        randomize "$tmp/syn2.bin" "$tmp/rnd2.bin"
        randomize "$tmp/syn3.bin" "$tmp/rnd3.bin"
        files[random]="$tmp/rnd2.bin $tmp/rnd3.bin"
        sb=$(stat -c %s "$tmp/syn2.bin")
        sz=$(gzip -9 -n -c "$tmp/syn2.bin" | wc -c)
        rz=$(gzip -9 -n -c "$tmp/rnd2.bin" | wc -c)
        label[random]="random $((sb / 1024)) KiB"
        notes+=("random: $sb B synthetic app with random segment data; gzip -9 keeps $((100 * rz / sb)) % of it (aloft image make's own filler: $((100 * sz / sb)) %)")
        ;;
    fixture)
        if [ -f "$fixture_dir/$fixture_a" ] && [ -f "$fixture_dir/$fixture_b" ]; then
            files[fixture]="$fixture_dir/$fixture_a $fixture_dir/$fixture_b"
            fb=$(stat -c %s "$fixture_dir/$fixture_a")
            fz=$(gzip -9 -n -c "$fixture_dir/$fixture_a" | wc -c)
            label[fixture]="fixture $((fb / 1024)) KiB"
            notes+=("fixture: $fixture_a ($fb B; gzip -9 keeps $((100 * fz / fb)) %), alternating with $fixture_b")
        else
            notes+=("fixture: SKIPPED, $fixture_dir/$fixture_a (and $fixture_b) not found")
        fi
        ;;
    *) fail "unknown image kind '$kind' in BENCH_IMAGES" ;;
    esac
done
kinds=()
for kind in $images; do [ -n "${files[$kind]:-}" ] && kinds+=("$kind"); done
[ "${#kinds[@]}" -gt 0 ] || fail "no image to upload"

# ---- device and links -----------------------------------------------------

make_image v1 1.0.0 200K 1
flash="$tmp/bench.flash"
"$sim_bin" --flash "$flash" --init --scheme min_spiffs --firmware "$tmp/v1.bin" >/dev/null ||
    fail "sim --init"
"$sim_bin" --flash "$flash" --run-for 0 >/dev/null || fail "first boot"
start_sim "$flash" "$tmp/sim.log" --flash-timing esp32 --confirm-after 0 --run-for 3600

# start_tcp_relay DELAY_MS: linkemu in TCP mode on a free port of 127.0.0.1 in
# front of the simulator's native port; sets tcp_port, tcp_pid, tcp_log.
start_tcp_relay() {
    tcp_log="$tmp/tcp_relay.log"
    rm -f "$tmp/tcp.port"
    spawn "$linkemu" --tcp 127.0.0.1:0 --to "127.0.0.1:$sim_port" --delay-ms "$1" \
        --port-file "$tmp/tcp.port" --run-for 3600 -v 2>"$tcp_log"
    tcp_pid=$spawned
    local i
    for ((i = 0; i < 250; i++)); do
        [ -s "$tmp/tcp.port" ] && break
        sleep 0.02
    done
    [ -s "$tmp/tcp.port" ] || { cat "$tcp_log" >&2; fail "linkemu (tcp) did not start"; }
    tcp_port=$(cat "$tmp/tcp.port")
}

# closed_up LOG: host->device bytes of every connection LOG saw closed, one a line
closed_up() { sed -n 's/.*conn [0-9]* closed ([^)]*): \([0-9]*\) bytes up.*/\1/p' "$1"; }

# ---- one upload -----------------------------------------------------------

uploads=0 uploaded_bytes=0
# one_upload MODE FILE: sets up_secs (aloft's), up_wall (ms, the command), up_wire
one_upload() {
    local mode=$1 file=$2 args dev log
    case $mode in
    raw) args=(--protocol native --no-compress) ;;
    zlib) args=(--protocol native) ;;
    espota) args=(--protocol espota --host-ip 127.0.0.1) ;;
    saw) args=(--protocol espota --host-ip 127.0.0.1 --stop-and-wait) ;;
    esac
    if [ "$mode" = raw ] || [ "$mode" = zlib ]; then
        dev="127.0.0.1:$tcp_port" log=$tcp_log
    else
        dev="$relay_ip:$relay_port" log=$relay_log
    fi
    local bytes sha nb nc nclosed rc=0 i
    bytes=$(stat -c %s "$file")
    sha=$(sha256sum "$file" | cut -c1-16)
    nb=$(boots "$sim_log")
    nc=$(grep -c "confirmed (VALID)" "$sim_log" || true)
    nclosed=$(closed_up "$log" | wc -l)
    # in the background and waited for, so that a signal reaches the trap at once
    local t0
    t0=$(now_ms)
    spawn timeout 900 "$aloft" upload --json "${args[@]}" "$dev" "$file" \
        >"$tmp/run.json" 2>"$tmp/run.err"
    up_pid=$spawned
    wait "$up_pid" || rc=$?
    up_pid=""
    up_wall=$(( $(now_ms) - t0 ))
    [ "$rc" = 0 ] || { cat "$tmp/run.json" "$tmp/run.err" >&2; tail -5 "$sim_log" >&2; fail "${mode_name[$mode]} upload of $file failed"; }
    wait_for "$sim_log" "aloft-sim: boot #" 20 $((nb + 1)) || { tail -5 "$sim_log" >&2; fail "no reboot after the upload"; }
    grep "aloft-sim: running" "$sim_log" | tail -1 | grep -qF "sha256 $sha..." ||
        { tail -5 "$sim_log" >&2; fail "the device did not boot $file"; }
    wait_for "$sim_log" "confirmed (VALID)" 20 $((nc + 1)) || fail "$file not confirmed"
    for ((i = 0; i < 500; i++)); do
        [ "$(closed_up "$log" | wc -l)" -gt "$nclosed" ] && break
        sleep 0.02
    done
    up_wire=$(closed_up "$log" | tail -n +$((nclosed + 1)) | awk '{s += $1} END {print s + 0}')
    up_secs=$(python3 -c '
import json, sys
o = json.load(open(sys.argv[1]))
assert o["ok"] and o["bytes"] == int(sys.argv[2]), "not a whole upload"
if o["protocol"] == "native":
    assert o["resumed_from"] == 0 and o["reconnects"] == 0, "resumed or reconnected"
    assert o["compressed"] == (sys.argv[3] == "zlib"), "compression not as asked"
    if o["wire_bytes"] != int(sys.argv[4]):
        print("note: aloft counted %d wire bytes, the relay %s" % (o["wire_bytes"], sys.argv[4]), file=sys.stderr)
print("%.3f" % o["seconds"])' "$tmp/run.json" "$bytes" "$mode" "$up_wire") ||
        { cat "$tmp/run.json" >&2; fail "unexpected result of ${mode_name[$mode]}"; }
    uploads=$((uploads + 1))
    uploaded_bytes=$((uploaded_bytes + bytes))
}

echo "native bench: aloft native vs espota on one simulated ESP32 (aloft-sim --flash-timing esp32,"
echo "W25Q32 typical times), through linkemu; $reps rounds of the 4 modes, alternating; median shown"
echo "host: $("$aloft" --version 2>/dev/null | head -1), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${notes[@]}"; do echo "  $n"; done
echo

# ---- the runs -------------------------------------------------------------

declare -A med wire wall size_of
for rtt in $rtts; do
    half=$(awk -v r="$rtt" 'BEGIN {print r / 2}')
    start_tcp_relay "$half"
    start_relay "$tmp/relay.log" --run-for 3600 --delay-ms "$half"
    relay_log="$tmp/relay.log"
    for kind in "${kinds[@]}"; do
        read -r fa fb <<<"${files[$kind]}"
        declare -A secs=() wires=() walls=()
        k=0
        for ((r = 1; r <= reps; r++)); do
            for mode in "${modes[@]}"; do
                # the two images alternate upload by upload
                if ((k % 2 == 0)); then f=$fa; else f=$fb; fi
                k=$((k + 1))
                one_upload "$mode" "$f"
                secs[$mode]+=" $up_secs"
                wires[$mode]+=" $up_wire"
                walls[$mode]+=" $(awk -v m="$up_wall" 'BEGIN {printf "%.3f", m / 1000}')"
                size_of[$kind,$mode]=$(stat -c %s "$f")
            done
        done
        for mode in "${modes[@]}"; do
            med[$rtt,$kind,$mode]=$(echo "${secs[$mode]}" | median)
            wire[$rtt,$kind,$mode]=$(echo "${wires[$mode]}" | median)
            wall[$rtt,$kind,$mode]=$(echo "${walls[$mode]}" | median)
            printf '  measured: RTT %2s ms, %-18s %-21s s:%s\n' "$rtt" "${label[$kind]}," \
                "${mode_name[$mode]}" "${secs[$mode]}" >&2
        done
        unset secs wires walls
    done
    stop_relay
    stop_pid "$tcp_pid"
done
stop_sim
flash_line=$(grep "flash operations this run" "$sim_log" | tail -1 | sed 's/^aloft-sim: //')

# ---- tables ---------------------------------------------------------------

# row RTT KIND MODE: one table row
row() {
    local rtt=$1 kind=$2 mode=$3 b=${size_of[$2,$3]}
    awk -v name="${mode_name[$mode]}" -v s="${med[$rtt,$kind,$mode]}" -v b="$b" \
        -v w="${wire[$rtt,$kind,$mode]}" -v saw="${med[$rtt,$kind,saw]}" \
        -v lim="$(flash_limit_ms "$b")" -v wall="${wall[$rtt,$kind,$mode]}" 'BEGIN {
        printf "  %-24s %8.2f %8.1f %11d %8.2fx %8.0f %% %8.2f\n", name, s, b / 1024 / s, w, saw / s, lim / 1000 / s * 100, wall }'
}

targets=()
for rtt in $rtts; do
    echo "RTT $rtt ms ($(awk -v r="$rtt" 'BEGIN {print r / 2}') ms each way)"
    printf '  %-24s %8s %8s %11s %9s %10s %8s\n' "mode" "seconds" "KiB/s" "wire bytes" "vs s&w" "of limit" "wall s"
    for kind in "${kinds[@]}"; do
        b=${size_of[$kind,raw]}
        lim=$(flash_limit_ms "$b")
        echo "  ${label[$kind]} ($b B; wire bytes = TCP payload host -> device)"
        awk -v lim="$lim" -v b="$b" 'BEGIN {
            printf "  %-24s %8.2f %8.1f %11s %9s %8.0f %% %8s\n", "flash-bound limit", lim / 1000, b / 1024 / (lim / 1000), "-", "-", 100, "-" }'
        for mode in "${modes[@]}"; do row "$rtt" "$kind" "$mode"; done
        read -r fa fb <<<"${files[$kind]}"
        if [ "$(stat -c %s "$fa")" != "$(stat -c %s "$fb")" ]; then
            echo "  (raw and espota windowed uploaded $(basename "$fa"), zlib and stop-and-wait"
            echo "  $(basename "$fb") ($(stat -c %s "$fb") B); each row uses its own file's size)"
        fi
        # targets: native raw within 10 % of the limit (10 ms); native (raw
        # and zlib) >= 2.5x stop-and-wait at 10 ms, >= 5x at 30 ms
        raw=${med[$rtt,$kind,raw]} zl=${med[$rtt,$kind,zlib]} saw=${med[$rtt,$kind,saw]}
        if [ "$rtt" = 10 ]; then
            targets+=("$(awk -v s="$raw" -v l="$lim" -v k="${label[$kind]}" 'BEGIN {
                printf "%s  native raw within 10 %% of the flash-bound limit (RTT 10 ms, %s): %.2f s vs %.2f s = %+.1f %%",
                    (s <= l / 1000 * 1.10) ? "PASS" : "MISS", k, s, l / 1000, (s / (l / 1000) - 1) * 100 }')")
        fi
        want=""
        [ "$rtt" = 10 ] && want=2.5
        [ "$rtt" = 30 ] && want=5
        if [ -n "$want" ]; then
            targets+=("$(awk -v r="$raw" -v z="$zl" -v w="$saw" -v want="$want" -v rtt="$rtt" -v k="${label[$kind]}" 'BEGIN {
                lo = w / r; if (w / z < lo) lo = w / z
                printf "%s  native >= %sx espota stop-and-wait (RTT %s ms, %s): raw %.2fx, zlib %.2fx",
                    (lo >= want) ? "PASS" : "MISS", want, rtt, k, w / r, w / z }')")
        fi
    done
    echo
done
echo "targets:"
for t in "${targets[@]}"; do echo "  $t"; done
echo
echo "seconds: median of $reps; vs s&w = stop-and-wait seconds / these seconds; of limit ="
echo "flash-bound seconds / these seconds; wall s = the whole aloft upload command (median; espota:"
echo "with its invitation). Every upload rebooted the device into its image and"
echo "was confirmed. Device $flash_line"
echo "over $uploads uploads of $((uploaded_bytes / 1024)) KiB in all. Bench time: $(( ($(now_ms) - bench_start) / 1000 )) s."
