# tests/integration/espota_host_lib.sh — shared by test_espota_host_*.sh and
# test_native_fallback.sh (sourced, not run): common_lib.sh, a test image, and
# the fake ArduinoOTA device (tests/tools/fake_arduinoota.py) on 127.0.0.1
# at a free port.

source "$(dirname "${BASH_SOURCE[0]}")/common_lib.sh"
fake_py="$here/../tools/fake_arduinoota.py"
fake_pid=""

# start_fake ARGS... : a fake device with ARGS; sets $port. Received
# images land in $tmp/got.bin, its log in $tmp/fake.log. It holds the TCP
# port of the same number without listening (a stock device has no TCP
# server), so `aloft upload`'s native attempt is refused there and cannot
# reach another test's listener.
start_fake() {
    stop_fake
    rm -f "$tmp/port" "$tmp/got.bin"
    # 5 s idle timeout (ArduinoOTA: 1 s) unless a test sets one: these tests
    # are about the host's behaviour, and a loaded sanitizer run can pause
    # the host for more than a second.
    spawn python3 "$fake_py" --port 0 --port-file "$tmp/port" --out "$tmp/got.bin" \
        --idle-timeout 5 "$@" 2>"$tmp/fake.log"
    fake_pid=$spawned
    wait_port "$tmp/port" "$fake_pid" "$tmp/fake.log" "the fake device"
    port=$(cat "$tmp/port")
}

stop_fake() {
    if [ -n "$fake_pid" ]; then
        stop_pid "$fake_pid"
        fake_pid=""
    fi
}

# A valid ESP32 app image, shared by all cases.
img="$tmp/fw.bin"
"$aloft" image make --chip esp32 --project espota-test --version 1.0 --size 200000 \
    -o "$img" >/dev/null || fail "image make"
