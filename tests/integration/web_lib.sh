# tests/integration/web_lib.sh — shared by test_web_*.sh (sourced, not run):
# the safe-update helpers (safe_lib.sh: demo images, keys, firmware_state)
# plus simulated devices serving the web page (aloft-sim --http).

source "$(dirname "${BASH_SOURCE[0]}")/safe_lib.sh"
web_client="$here/web_client.py"
WEB_PASSWORD=web-secret

# start_web_sim FLASH LOG ARGS...: start_sim with the web page on a free
# TCP port; sets web_url (and sim_port, sim_pid, sim_log as start_sim).
start_web_sim() {
    local flash=$1 log=$2 http
    shift 2
    http=$(free_tcp_port)
    start_sim "$flash" "$log" --password "$WEB_PASSWORD" --http "$http" "$@"
    has_lines "$log" "web page on http://127.0.0.1:$http/" || { cat "$log" >&2; fail "no web page"; }
    web_url=http://127.0.0.1:$http
}

# web CMD...: web_client.py against $web_url with the password; its JSON
# answer in $tmp/out, exit code as the client's.
web() { python3 "$web_client" "$web_url" --password "$WEB_PASSWORD" "$@" >"$tmp/out" 2>"$tmp/err"; }

# web_refused CODE TEXT CMD...: the API refuses CMD with error CODE and says
# TEXT, and the firmware (otadata, both slots) of $flash is still $fw (set
# fw=$(firmware_state "$flash") when the device starts or is updated).
web_refused() {
    local code=$1 text=$2
    shift 2
    if web "$@"; then cat "$tmp/out" >&2; fail "web $* was accepted"; fi
    tail -1 "$tmp/out" >"$tmp/out.json"
    [ "$(json_get "$tmp/out.json" 'o["code"]')" = "$code" ] || { cat "$tmp/out" "$tmp/err" >&2; fail "web $*: not code $code"; }
    contains "$tmp/out" "$text"
    [ "$(firmware_state "$flash")" = "$fw" ] || fail "web $*: the firmware changed"
}

# running_is LOG "app0 demo 1.0.0 VALID": the last boot banner says so.
running_is() { [ "$(running "$1")" = "$2" ]; }

# page_served URL: GET URL/ answers the gzip of web/index.html, with the
# headers the page needs (Content-Encoding, the Content-Security-Policy).
page_served() {
    python3 - "$1" "${ALOFT_SOURCE_DIR:?set ALOFT_SOURCE_DIR to the source tree}/web/index.html" <<'PY' || fail "the page at $1"
import gzip, sys, urllib.request
r = urllib.request.urlopen(sys.argv[1] + "/")
assert r.status == 200, r.status
assert r.headers["Content-Encoding"] == "gzip", r.headers
assert r.headers["Content-Type"].startswith("text/html"), r.headers
assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], r.headers
assert gzip.decompress(r.read()) == open(sys.argv[2], "rb").read(), "not web/index.html"
PY
}
