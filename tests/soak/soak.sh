#!/usr/bin/env bash
# tests/soak/soak.sh — fault soak: SOAK_UPLOADS uploads (default 200) to ONE
# simulated ESP32 (aloft-sim, flash timing off, password set, health check
# after 0 s), each through the link emulator (tests/tools/linkemu.c) with a
# fault drawn per upload:
#
#   none      a clean link
#   cut       the TCP upload stream is reset at a random byte (native resumes
#             by itself; espota fails with a clear error)
#   stall     the link carries nothing for 1-5 s at a random byte (below the
#             10 s timeouts: both protocols succeed)
#   rate      the link drops to 2000 kbit/s
#   flip      one bit of the upload stream is flipped (native: the MAC
#             catches it and the host reconnects and resumes; espota: the
#             device's MD5/SHA-256/image checks refuse it)
#   powercut  the device is restarted with --power-cut N at a random flash
#             operation of this upload; once it died it is restarted
#             normally on the same port and the host retries (native by
#             itself; the script re-runs `aloft upload` once if it gave up)
#
# Protocols alternate (mostly native, some espota) and so do images: the
# real ESP32 fixtures in ../shared/fixtures/firmware (when present) and
# synthetic images of several sizes from `aloft image make`.
#
# After every event: each boot banner of the device must read "running
# appX ... sha256 <16 hex>..." with a SHA-256 prefix of an image we sent in
# full (the one running before the event, or the one being uploaded), and
# no "BOOT FAILED"; an upload ends in success, or (espota under cut/flip)
# in a failure with one of the known clear messages; nothing crashes and
# nothing hangs (every command is bounded by `timeout`). Counters are
# printed at the end; any violation makes the exit status non-zero.
#
# A native upload's success means the device restarted into the image
# (`aloft upload` reads the HELLO after the restart). A power cut after the
# activation can land in the first boot's otadata rewrite (NEW ->
# PENDING_VERIFY in place, as ESP-IDF's bootloader does) or in the
# confirmation, and the device then runs the previous image again: that
# is allowed only when the CLI said so (exit 3, --json boot outcome
# "previous"; the cut fired and the upload needed no reconnect, so it came
# after the RESULT), counted as "lost at first boot (reported)", and the
# device must then settle on the previous image. espota cannot ask the
# device what it runs and says so: the same loss after an espota success
# (the cut fired after it) is counted as "lost at first boot (espota)".
# Any other fall-back to the previous image is a violation.
#
# Usage: bash tests/soak/soak.sh BUILD/bin       (make soak)
# Environment: SOAK_UPLOADS (200), SOAK_SEED (1; the same seed replays the
# same draws), SOAK_KEEP=1 keeps the work directory, SOAK_VERBOSE=1 prints
# every upload's outcome.
set -uo pipefail

if [ -n "${1:-}" ]; then ALOFT_BIN=$1; fi
ALOFT_BIN=$(cd "${ALOFT_BIN:?usage: soak.sh BUILD/bin (or set ALOFT_BIN)}" && pwd) || exit 2
export ALOFT_BIN
soak_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ "${SOAK_KEEP:-0}" = 1 ]; then KEEP_TMP=1; fi
source "$soak_dir/../integration/native_sim_lib.sh"

uploads=${SOAK_UPLOADS:-200}
seed=${SOAK_SEED:-1}
fixtures=${SOAK_FIXTURES:-${ALOFT_FIXTURES:-$soak_dir/../../../shared/fixtures/firmware}}
pw=soak-pw
run_for=$(( uploads * 40 + 600 ))   # safety net for every background process
verbose=${SOAK_VERBOSE:-0}

# ---------------------------------------------------------------- RNG
# Our own 64-bit LCG (not $RANDOM, which the helpers use for ports), only
# ever called in this shell: `rnd N` sets R to 0..N-1.
rng=$(( seed * 2654435761 + 12345 ))
rnd() {
    rng=$(( rng * 6364136223846793005 + 1442695040888963407 ))
    R=$(( ((rng >> 33) & 0x7fffffff) % $1 ))
}
# rnd_range LO HI: R in LO..HI (HI < LO gives LO)
rnd_range() {
    if [ "$2" -le "$1" ]; then R=$1; return; fi
    rnd $(( $2 - $1 + 1 ))
    R=$(( R + $1 ))
}

# ---------------------------------------------------------------- counters
n_uploads=0 n_ok=0 n_resumed=0 n_reruns=0 n_powercuts=0 n_flips=0 n_flips_caught=0
n_cuts=0 n_boots=0 n_corrupt=0 n_violations=0 n_lost_reported=0 n_lost_espota=0
declare -A err_kinds=() fault_count=() proto_count=()

violation() {
    n_violations=$(( n_violations + 1 ))
    echo "VIOLATION (upload $n_uploads, $ev_desc): $*" >&2
}

# Failure messages that are clear, expected outcomes of a fault we caused.
known_error() {
    case "$1" in
    "the device closed the connection without confirming" | "the device closed the connection early" | \
    "connection closed early" | \
    "peer went silent" | "upload ended early" | "MD5 mismatch" | "SHA-256 mismatch" | \
    "image checksum mismatch" | "image SHA-256 mismatch" | "not an app image" | \
    "bad segment count in the image header" | "bad segment length" | \
    "flash-mapped segment breaks the 64 KiB mapping rule" | "image is truncated" | \
    "extra bytes after the image" | "image header field out of range" | \
    "image is for another chip" | "app description malformed" | "bad image size" | \
    "image is larger than the slot" | "could not connect" | "update aborted")
        return 0 ;;
    esac
    return 1
}

# ---------------------------------------------------------------- images
# pool: paths; sha16[path]: the first 16 hex digits of the file's SHA-256
# (what the boot banner prints).
declare -a pool=()
declare -A sha16=()
add_image() {
    pool+=("$1")
    sha16[$1]=$(sha256sum "$1" | cut -c1-16)
}
if [ -d "$fixtures" ]; then
    for f in "$fixtures"/*.bin; do
        "$aloft" image info "$f" 2>/dev/null | grep -q "^chip *ESP32 (chip id 0)" && add_image "$f"
    done
else
    echo "soak: no firmware fixtures at $fixtures: synthetic images only"
fi
n_fixtures=${#pool[@]}
i=0
for size in 64K 150K 300K 520K 700K 900K 1200K; do
    i=$(( i + 1 ))
    "$aloft" image make --chip esp32 --project soak-synth --version "3.$i.0" --size "$size" \
        --seed "$(( seed * 100 + i ))" -o "$tmp/synth$i.bin" >/dev/null || fail "image make $size"
    add_image "$tmp/synth$i.bin"
done
"$aloft" image make --chip esp32 --project soak-synth --version 1.0.0 --size 200K \
    --seed "$seed" -o "$tmp/base.bin" >/dev/null || fail "image make base"
sha16[$tmp/base.bin]=$(sha256sum "$tmp/base.bin" | cut -c1-16)

# ---------------------------------------------------------------- device
flash="$tmp/dev.flash"
"$sim_bin" --flash "$flash" --init --scheme default --firmware "$tmp/base.bin" >/dev/null ||
    fail "sim --init"
sim_n=0
sim_pid=""
sim_port=""
declare -A checked=()   # log -> banner lines already checked
ev_logs=()              # the simulator logs of the current event
running=${sha16[$tmp/base.bin]}

# sim_up ARGS...: start aloft-sim (start_sim) on $sim_port, the same one
# across restarts as far as it can be had; a new log per process. Returns 3
# if the process died of a power cut before it served.
sim_keep_port=1
sim_up() {
    sim_n=$(( sim_n + 1 ))
    ev_logs+=("$tmp/sim.$sim_n.log")
    start_sim "$flash" "$tmp/sim.$sim_n.log" --password "$pw" --confirm-after 0 \
        --flash-timing off --run-for "$run_for" "$@"
}

# sim_down: SIGTERM (the device is switched off while idle) and reap.
sim_down() { stop_sim; }

# check_boots ALLOWED...: every banner line not yet checked in the logs of
# this event must run a verified image whose SHA-256 prefix is allowed;
# sets $running to the last one.
check_boots() {
    local log line sha n k
    for log in "${ev_logs[@]}"; do
        [ -f "$log" ] || continue
        if grep -q "BOOT FAILED" "$log"; then
            n_corrupt=$(( n_corrupt + 1 ))
            violation "BOOT FAILED in $log: $(grep -m1 "BOOT FAILED" "$log")"
        fi
        n=0
        k=${checked[$log]:-0}
        while IFS= read -r line; do
            n=$(( n + 1 ))
            [ "$n" -le "$k" ] && continue
            n_boots=$(( n_boots + 1 ))
            if [[ ! "$line" =~ running\ app[01]\ @0x[0-9a-f]+:\ .*\ sha256\ ([0-9a-f]{16})\.\.\. ]]; then
                n_corrupt=$(( n_corrupt + 1 ))
                violation "unexpected boot banner: $line"
                continue
            fi
            sha=${BASH_REMATCH[1]}
            if [[ " $* " != *" $sha "* ]]; then
                n_corrupt=$(( n_corrupt + 1 ))
                violation "booted sha256 $sha..., not an image sent in full (allowed: $*): $line"
            fi
            running=$sha
        done < <(grep "aloft-sim: running" "$log")
        checked[$log]=$n
    done
}

# settled_or_down [SHA]: the device is down, or its last banner runs SHA
# (if given) and that image is confirmed (VALID), so that the next update
# is not refused.
settled_or_down() {
    local want=${1:-} last
    [ -n "$sim_pid" ] && alive "$sim_pid" || return 0
    last=$(awk '/aloft-sim: running/ { l = $0; c = 0 } /confirmed \(VALID\)/ { c = 1 }
                END { if (l != "") print (c || l ~ /state VALID/ ? "V" : "P") " " l }' "$sim_log")
    [ -n "$last" ] && [ "${last%% *}" = V ] && { [ -z "$want" ] || [[ "$last" == *"sha256 $want..."* ]]; }
}

# settled [SHA]: the device is up and settled (as above) within 60 s.
settled() {
    wait_until 60 settled_or_down "${1:-}" && [ -n "$sim_pid" ] && alive "$sim_pid"
}

# ---------------------------------------------------------------- relay
# relay_up PROTO ARGS...: linkemu in front of the device for one upload;
# sets relay_addr (what `aloft upload` is given) and relay_log.
relay_up() {
    local proto=$1
    shift
    relay_log="$tmp/relay.$n_uploads.log"
    if [ "$proto" = espota ]; then
        start_relay "$relay_log" --run-for "$run_for" "$@"
        relay_addr="$relay_ip:$relay_port"
    else
        start_tcp_relay "$relay_log" "127.0.0.1:$sim_port" --run-for "$run_for" "$@"
        relay_addr=$relay
    fi
}
relay_down() { stop_relay; }

# ---------------------------------------------------------------- upload
# upload_cmd PROTO IMAGE: the bounded command line of one upload (--json)
upload_cmd() {
    cmd=(timeout 210 "$aloft" upload --json --auth "$pw" --protocol "$1")   # + the restart
    [ "$1" = espota ] && cmd=(timeout 60 "$aloft" upload --json --auth "$pw" --protocol espota
                              --host-ip 127.0.0.1)
    cmd+=("$relay_addr" "$2")
}

# result FILE: sets r_ok (true/false/""), r_msg, r_reconnects and r_boot
# (what the device ran after the restart: running, previous, not_back,
# unknown; "" when not checked) from --json
result() {
    local line
    line=$(python3 -c '
import json, sys
try:
    o = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except Exception:
    print("||0|"); sys.exit(0)
e = o.get("error") or {}
b = o.get("boot") or {}
print("%s|%s|%d|%s" % ("true" if o.get("ok") else "false", (e.get("message") or "").replace("|", "/"),
                       o.get("reconnects") or 0, b.get("outcome") or ""))' "$1")
    IFS='|' read -r r_ok r_msg r_reconnects r_boot <<<"$line"
}

# sim_reap: if the device died, count a power cut (exit status 3; anything
# else is a violation) and restart it normally on the same port.
sim_reap() {
    local rc=0
    [ -n "$sim_pid" ] || return 0
    alive "$sim_pid" && return 0
    wait "$sim_pid" 2>/dev/null || rc=$?
    sim_pid=""
    if [ "$rc" = 3 ]; then
        cut_fired=true
        n_powercuts=$(( n_powercuts + 1 ))
    else
        violation "aloft-sim exited with status $rc (not a power cut): $(tail -3 "$sim_log")"
    fi
    sim_up || { cut_fired=true; n_powercuts=$(( n_powercuts + 1 )); sim_up || true; }
}

# upload_ended PID: the background upload PID has ended; meanwhile a device
# that died of its power cut is restarted (sim_reap).
upload_ended() {
    sim_reap
    ! alive "$1"
}

# wait_upload PID: wait for a background upload while the device may die
# of its power cut (then it is restarted). Sets up_rc; cut_fired is set
# when a cut fired.
wait_upload() {
    wait_until 600 upload_ended "$1" || violation "the upload did not end within 600 s"
    up_rc=0
    wait "$1" 2>/dev/null || up_rc=$?
    sim_reap   # it may have died just as the upload ended
}

# ---------------------------------------------------------------- the soak
build_linkemu
sim_up || fail "the device died at its first boot"
ev_desc="first boot"
check_boots "$running"
settled "$running" || fail "the device did not come up"
echo "soak: $uploads uploads, seed $seed, ${#pool[@]} images ($n_fixtures real ESP32 fixtures)," \
     "device on 127.0.0.1:$sim_port"
faults=(none none cut cut stall rate flip flip powercut powercut)
t_start=$SECONDS

for ((u = 1; u <= uploads; u++)); do
    n_uploads=$u
    ev_logs=("$sim_log")
    prev=$running
    # the image: any but the running one
    for ((k = 0; k < 20; k++)); do
        rnd ${#pool[@]}
        img=${pool[$R]}
        [ "${sha16[$img]}" != "$running" ] && break
    done
    isha=${sha16[$img]}
    size=$(stat -c %s "$img")
    rnd 4; proto=native; [ "$R" = 0 ] && proto=espota
    rnd ${#faults[@]}; fault=${faults[$R]}
    fault_count[$fault]=$(( ${fault_count[$fault]:-0} + 1 ))
    proto_count[$proto]=$(( ${proto_count[$proto]:-0} + 1 ))
    largs=()
    case $fault in
    cut)
        if [ "$proto" = native ]; then rnd_range 100000 $(( size / 2 )); else rnd_range 1024 $(( size - 1 )); fi
        largs=(--cut-after-bytes "$R") ;;
    stall)
        rnd_range 1000 $(( size / 2 )); largs=(--stall-after-bytes "$R")
        rnd_range 1000 5000; largs+=(--stall-ms "$R") ;;
    rate)
        largs=(--rate-kbps 2000) ;;
    flip)
        # native: every connection is flipped at the same offset, so it must
        # lie far enough in for a resumed connection to make durable progress
        # (small images may then see no flip at all; the counts say so)
        if [ "$proto" = native ]; then rnd_range 100000 $(( size / 2 )); else rnd "$size"; fi
        largs=(--flip-after-bytes "$R")
        rnd 1000; largs+=(--flip-seed "$R") ;;
    powercut)
        # about every erase/program an upload of this size makes, plus the
        # activation and the first boot's confirmation
        rnd_range 1 $(( size / 256 + size / 4096 + 24 )); pc=$R
        rnd 100000; pcs=$(( R + 1 ))
        largs=(--power-cut "$pc" --power-cut-seed "$pcs") ;;
    esac
    ev_desc="$proto $(basename "$img") ($size bytes, sha256 $isha...), fault $fault ${largs[*]}"
    [ "$verbose" = 1 ] && echo "[$u] $ev_desc"

    if [ "$fault" = powercut ]; then
        sim_down
        if ! sim_up --power-cut "$pc" --power-cut-seed "$pcs"; then
            n_powercuts=$(( n_powercuts + 1 ))
            sim_up || fail "the device did not come up after a power cut"
        fi
        relay_up "$proto"
    else
        relay_up "$proto" "${largs[@]}"
    fi
    upload_cmd "$proto" "$img"
    out="$tmp/up.$u.out" err="$tmp/up.$u.err"
    cut_fired=false
    spawn "${cmd[@]}" >"$out" 2>"$err"
    wait_upload "$spawned"
    result "$out"
    if [ "$fault" = powercut ]; then
        if [ "$r_ok" != true ] && [ "$cut_fired" = true ] && [ "$r_boot" != previous ]; then
            # the host gave up while the device was down: run it once more
            n_reruns=$(( n_reruns + 1 ))
            [ "$verbose" = 1 ] && echo "  re-run after the power cut ($r_msg)"
            spawn "${cmd[@]}" >"$out.2" 2>"$err.2"
            wait_upload "$spawned"
            out="$out.2" err="$err.2"
            result "$out"
        fi
        if [ "$cut_fired" = false ]; then
            # the cut may still be armed (N beyond this upload's operations,
            # or it fires at the first boot's confirmation): let the device
            # settle, then restart it without one
            settled "" || true
            sim_reap
            if [ "$cut_fired" = false ]; then
                sim_down
                sim_up || { n_powercuts=$(( n_powercuts + 1 )); sim_up || fail "no restart"; }
            fi
        fi
    fi
    relay_down
    flips=$(sed -n 's/^linkemu: flipped \([0-9]*\) bits$/\1/p' "$relay_log" | tail -1)
    cuts=$(sed -n 's/.* connections, \([0-9]*\) cut, .*/\1/p' "$relay_log" | tail -1)
    n_flips=$(( n_flips + ${flips:-0} ))
    n_cuts=$(( n_cuts + ${cuts:-0} ))

    # --- the outcome
    if [ "$up_rc" = 124 ] || [ "$up_rc" -ge 125 ]; then
        violation "aloft upload hung or crashed (exit $up_rc): $(tail -3 "$err")"
    elif [ "$r_ok" = true ] && [ "$up_rc" = 0 ]; then
        n_ok=$(( n_ok + 1 ))
        [ "${r_reconnects:-0}" -gt 0 ] && n_resumed=$(( n_resumed + 1 ))
        if [ "${flips:-0}" -gt 0 ]; then
            # each flipped connection must have been dropped and resumed
            if [ "${r_reconnects:-0}" -ge "$flips" ]; then
                n_flips_caught=$(( n_flips_caught + flips ))
            else
                violation "$flips flipped bits but only ${r_reconnects:-0} reconnects"
            fi
        fi
        [ "$proto" = espota ] && [ "${flips:-0}" -gt 0 ] &&
            violation "espota accepted a stream with a flipped bit"
        [ "$proto" = espota ] && [ "${cuts:-0}" -gt 0 ] &&
            violation "espota reported success for a cut stream"
    elif [ "$r_ok" = false ] && [ "$up_rc" = 3 ] && [ "$r_boot" = previous ]; then
        # activated, then the device restarted into the previous image
        if [ "$fault" = powercut ] && [ "$cut_fired" = true ] && [ "${r_reconnects:-0}" = 0 ]; then
            n_lost_reported=$(( n_lost_reported + 1 ))
        else
            violation "the device restarted into the previous image without a power cut after the activation (fault $fault, cut fired: $cut_fired, reconnects ${r_reconnects:-0})"
        fi
    elif [ "$r_ok" = false ] && [ "$up_rc" = 1 ]; then
        if ! known_error "$r_msg"; then
            violation "unknown failure: '$r_msg': $(tail -3 "$err")"
        elif [ "$proto" = native ] || [ "$fault" = powercut ] ||
             { [ "$fault" != cut ] && [ "$fault" != flip ]; }; then
            violation "should have succeeded, failed with '$r_msg': $(grep -v '^upload ' "$err" | tail -3)"
        else
            err_kinds[$r_msg]=$(( ${err_kinds[$r_msg]:-0} + 1 ))
            n_flips_caught=$(( n_flips_caught + ${flips:-0} ))
        fi
    else
        violation "no JSON result (exit $up_rc): $(tail -3 "$out" "$err")"
    fi

    # --- the device: up, running what it should, every boot verified
    if [ "$r_ok" = true ]; then want=$isha; elif [ "$r_boot" = previous ]; then want=$prev
    elif [ "$fault" = powercut ]; then want=""; else want=$prev; fi
    if [ "$r_ok" = true ] && [ "$proto" = espota ] && [ "$fault" = powercut ] &&
       [ "$cut_fired" = true ] && [ "$out" = "$tmp/up.$u.out" ] && ! settled "$want" &&
       settled "$prev" && grep -q '"why":"espota cannot confirm' "$out"; then
        # espota's OK came before the cut (no re-run), and it said it cannot tell
        n_lost_espota=$(( n_lost_espota + 1 ))
        want=$prev
    fi
    if ! settled "$want"; then
        check_boots "$prev" "$isha"
        violation "the device did not settle on ${want:-a confirmed image}: $(grep -v '^\[aloft' "$sim_log" | tail -3)"
        if [ -z "$sim_pid" ]; then sim_up || sim_up || fail "the device does not come up"; fi
        settled "" || fail "the device does not settle; giving up"
    fi
    check_boots "$prev" "$isha"
    [ "$verbose" = 1 ] && echo "  -> ok=$r_ok ${r_msg:+($r_msg) }reconnects=${r_reconnects:-0} boot=${r_boot:-}" \
        "flips=${flips:-0} cuts=${cuts:-0} running $running"
    if [ $(( u % 25 )) = 0 ]; then
        echo "soak: $u/$uploads uploads, $n_ok ok, $n_violations violations, $(( SECONDS - t_start )) s"
    fi
done
sim_down
ev_logs=("$sim_log")
check_boots "$running"

n_errors=0
for k in "${!err_kinds[@]}"; do n_errors=$(( n_errors + err_kinds[$k] )); done
echo "soak: done in $(( SECONDS - t_start )) s (seed $seed)"
echo "  uploads              $n_uploads (native ${proto_count[native]:-0}, espota ${proto_count[espota]:-0})"
printf '  faults               '
for f in none cut stall rate flip powercut; do printf '%s %s  ' "$f" "${fault_count[$f]:-0}"; done
echo
echo "  successes            $n_ok"
echo "  resumed (reconnects) $n_resumed"
echo "  re-runs after a cut  $n_reruns"
echo "  lost at first boot   $n_lost_reported (reported), $n_lost_espota (espota, which cannot tell)"
echo "  clear errors         $n_errors"
for k in "${!err_kinds[@]}"; do printf '    %-40s %s\n' "$k" "${err_kinds[$k]}"; done
echo "  link cuts fired      $n_cuts"
echo "  power cuts           $n_powercuts"
echo "  flipped bits         $n_flips (caught $n_flips_caught)"
echo "  boots checked        $n_boots"
echo "  corrupt activations  $n_corrupt"
echo "  violations           $n_violations"
[ "$n_violations" = 0 ] && [ "$n_corrupt" = 0 ] && [ "$n_uploads" = "$uploads" ] || exit 1
