# tests/integration/common_lib.sh — what every test script shares (sourced,
# not run; the other *_lib.sh source it): the programs under test, a temp
# dir removed at exit together with every background process we started,
# failing and skipping, a command's exit code and words, and waiting.
#
# Waiting: tests wait on an event (a log line, a port file, a process
# ending), never for a fixed time, through wait_until below, with deadlines
# generous enough for a sanitizer build on a loaded machine (ctest -j8): a
# deadline costs nothing when the event comes, it only bounds a failure.

if [ -n "${aloft_common_lib:-}" ]; then return 0; fi
aloft_common_lib=1

bin=${ALOFT_BIN:?set ALOFT_BIN to the build/bin directory}
aloft="$bin/aloft"
sim_bin="$bin/aloft-sim"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aloft-$(basename "$0" .sh).XXXXXX")

# Every background process goes through spawn; at exit the ones that still
# run are stopped (`jobs -pr` alone sometimes misses a running job).
spawned_pids=()
cleanup() {
    local p
    for p in "${spawned_pids[@]}" $(jobs -pr); do
        if alive "$p"; then kill "$p" 2>/dev/null || true; fi
    done
    wait 2>/dev/null || true
    if [ "${KEEP_TMP:-0}" = 1 ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }

# skip_missing WHAT: something this test needs is not here (a tool, the
# fixtures): exit 77, which CTest counts as skipped (SKIP_RETURN_CODE), with
# a line that says what. Under CI (CI=true) nothing may be missing: fail.
skip_missing() {
    if [ "${CI:-}" = true ]; then fail "$* (CI=true: a missing prerequisite is a failure)"; fi
    echo "SKIP: $*"
    exit 77
}

# skip WHY: this test does not apply to this run (e.g. a timing race under
# the valgrind wrappers); exit 77 whether CI or not.
skip() { echo "SKIP: $*"; exit 77; }

# wrapped: the programs are wrappers (make valgrind runs them under
# memcheck, tens of times slower), not the ELF binaries themselves.
wrapped() { [ "$(head -c 4 "$sim_bin" | od -An -c | tr -d ' ')" != "177ELF" ]; }

now_ms() { local t=$EPOCHREALTIME; echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 )); }

# ---------------------------------------------------------------- checks

# expect_rc CODE CMD... : run CMD, keep stdout/stderr in $tmp/out, $tmp/err;
# on another exit code show them (and the device's log, if any) and fail.
expect_rc() {
    local want=$1 rc=0 f
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$tmp/out" "$tmp/err" >&2
        for f in ${sim_log:-} "$tmp/fake.log"; do
            if [ -f "$f" ]; then echo "--- $f" >&2; tail -20 "$f" >&2; fi
        done
        fail "'$*' exited $rc, want $want"
    fi
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }
lacks() { ! grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 has '$2'"; }; }
same_file() { cmp -s "$1" "$2" || fail "$2 differs from $1"; }

# u8/u16/u32 FILE OFFSET: little-endian integers out of a file
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u16() { echo $(( $(u8 "$1" "$2") | $(u8 "$1" $(($2 + 1))) << 8 )); }
u32() { echo $(( $(u16 "$1" "$2") | $(u16 "$1" $(($2 + 2))) << 16 )); }

# flip FILE OFFSET: invert one byte in place (always a change, whatever the
# byte held; writing a fixed value is no change once in 256 random images)
flip() {
    printf "\\$(printf %03o $(($(u8 "$1" "$2") ^ 0xff)))" |
        dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# json_get FILE EXPR: evaluate the python expression EXPR on the JSON object
# o read from FILE and print the result.
json_get() {
    python3 -c 'import json, sys; o = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
        "$1" "$2" || fail "$1 is not the JSON expected ($2)"
}

# ---------------------------------------------------------------- waiting

# wait_until SECONDS CMD...: run CMD every 20 ms until it succeeds; returns
# 1 if it still fails after SECONDS. The one waiting loop of the tests.
wait_until() {
    local deadline=$(( $(now_ms) + $1 * 1000 ))
    shift
    until "$@"; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.02
    done
}

# has_lines FILE TEXT [COUNT]: FILE has at least COUNT (1) lines with TEXT.
has_lines() { [ "$(grep -cF -- "$2" "$1" 2>/dev/null || true)" -ge "${3:-1}" ]; }

# wait_for FILE TEXT SECONDS [COUNT]: until FILE has COUNT lines with TEXT.
wait_for() { wait_until "$3" has_lines "$1" "$2" "${4:-1}"; }

# alive PID: PID is a child of this shell that still runs (not a zombie;
# not yet reaped, so the pid cannot belong to anyone else).
alive() {
    local st ppid
    read -r _ _ st ppid _ 2>/dev/null <"/proc/$1/stat" || return 1
    [ "$ppid" = "$BASHPID" ] && [ "$st" != Z ]
}

# ready_or_gone FILE PID: FILE is there (not empty), or PID ended.
ready_or_gone() { [ -s "$1" ] || ! alive "$2"; }

# spawn CMD... : run CMD in the background; its pid in $spawned.
spawn() {
    "$@" &
    spawned=$!
    spawned_pids+=("$spawned")
}

# wait_port FILE PID LOG WHAT: wait until the process PID wrote its
# listening port to FILE (or died); fail showing LOG if it did not.
wait_port() {
    wait_until 60 ready_or_gone "$1" "$2"
    [ -s "$1" ] || { cat "$3" >&2; fail "$4 did not start"; }
}

# stop_pid PID: SIGTERM to PID if it still runs, then reap it.
stop_pid() {
    if alive "$1"; then kill "$1" 2>/dev/null || true; fi
    wait "$1" 2>/dev/null || true
}

# free_tcp_port: a TCP port no socket uses right now, drawn from 5000..9999:
# below every range the tests' processes take ports from (aloft's espota
# listener 10000..60000, the simulators 20000..32767, the kernel's
# ephemeral ports 32768..60999, which a port from bind(0) is, and which the
# next outgoing connection may reuse), so it stays free until the test
# binds it or connects to it.
free_tcp_port() {
    python3 -c '
import random, socket
for _ in range(1000):
    p = random.randint(5000, 9999)
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break'
}

# in_order FILE TEXT...: each fixed TEXT occurs in FILE, each after the one
# before (no pipe into grep -m1: under pipefail its early exit fails the
# caller now and then, silently)
in_order() {
    local file=$1
    shift
    python3 - "$file" "$@" <<'PY' || { tail -40 "$file" >&2; fail "$file: not in order: $*"; }
import sys
text = open(sys.argv[1], errors="replace").read()
at = 0
for want in sys.argv[2:]:
    i = text.find(want, at)
    if i < 0:
        sys.exit("missing after offset %d: %r" % (at, want))
    at = i + len(want)
PY
}
