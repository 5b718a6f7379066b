# tests/integration/espota_host_lib.sh — shared by test_espota_host_*.sh
# (sourced, not run): a temp dir, a test image, and the fake ArduinoOTA
# device (tests/tools/fake_arduinoota.py) on 127.0.0.1 at a free port.

bin=${ALOFT_BIN:?set ALOFT_BIN to the build/bin directory}
aloft="$bin/aloft"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fake_py="$here/../tools/fake_arduinoota.py"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/aloft-espota-host.XXXXXX")
fake_pid=""

cleanup() {
    if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_rc CODE CMD... : run CMD, keep stdout/stderr in $tmp/out, $tmp/err
expect_rc() {
    local want=$1 rc=0
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" != "$want" ]; then
        cat "$tmp/out" "$tmp/err" >&2
        [ -f "$tmp/fake.log" ] && cat "$tmp/fake.log" >&2
        fail "'$*' exited $rc, want $want"
    fi
}
contains() { grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 lacks '$2'"; }; }
lacks() { ! grep -qF -- "$2" "$1" || { cat "$1" >&2; fail "$1 has '$2'"; }; }
same_file() { cmp -s "$1" "$2" || fail "$2 differs from $1"; }

# start_fake ARGS... : a fake device with ARGS; sets $port. Received
# images land in $tmp/got.bin, its log in $tmp/fake.log.
start_fake() {
    stop_fake
    rm -f "$tmp/port" "$tmp/got.bin"
    # 5 s idle timeout (ArduinoOTA: 1 s) unless a test sets one: these tests
    # are about the host's behaviour, and a loaded sanitizer run can pause
    # the host for more than a second.
    python3 "$fake_py" --port 0 --port-file "$tmp/port" --out "$tmp/got.bin" \
        --idle-timeout 5 "$@" 2>"$tmp/fake.log" &
    fake_pid=$!
    for _ in $(seq 100); do
        [ -s "$tmp/port" ] && break
        sleep 0.05
    done
    [ -s "$tmp/port" ] || { cat "$tmp/fake.log" >&2; fail "fake device did not start"; }
    port=$(cat "$tmp/port")
}

stop_fake() {
    if [ -n "$fake_pid" ]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
        fake_pid=""
    fi
}

# A valid ESP32 app image, shared by all cases.
img="$tmp/fw.bin"
"$aloft" image make --chip esp32 --project espota-test --version 1.0 --size 200000 \
    -o "$img" >/dev/null || fail "image make"
