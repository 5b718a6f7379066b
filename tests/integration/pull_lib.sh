# tests/integration/pull_lib.sh — shared by test_pull_*.sh (sourced, not
# run): the safe-update helpers (safe_lib.sh: images, keys, devices,
# expect_rc) plus a real lighttpd serving $tmp/www on 127.0.0.1 (HTTP, and
# HTTPS with a CA made here by openssl), its access log, and release
# objects (docs/FLEET.md §3) for `aloft-sim --pull-release`.

source "$(dirname "${BASH_SOURCE[0]}")/safe_lib.sh"

lighttpd_bin=$(command -v lighttpd || echo /usr/sbin/lighttpd)
[ -x "$lighttpd_bin" ] || skip_missing "lighttpd is not installed (Debian package lighttpd)"
mkdir -p "$tmp/www"
access_log=$tmp/access.log

# make_ca: a CA and a server certificate for 127.0.0.1 signed by it:
# $tmp/ca.pem (what the device trusts), $tmp/server.pem (lighttpd's cert
# and key).
make_ca() {
    command -v openssl >/dev/null || skip_missing "openssl is not installed"
    local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
    openssl req -x509 "${ec[@]}" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -days 2 \
        -subj "/CN=aloft test CA" 2>/dev/null || fail "openssl: CA"
    openssl req "${ec[@]}" -keyout "$tmp/srv.key" -out "$tmp/srv.csr" \
        -subj "/CN=127.0.0.1" 2>/dev/null || fail "openssl: server request"
    printf "subjectAltName=IP:127.0.0.1\n" >"$tmp/srv.ext"
    openssl x509 -req -in "$tmp/srv.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -days 2 -extfile "$tmp/srv.ext" -out "$tmp/srv.crt" 2>/dev/null ||
        fail "openssl: server certificate"
    cat "$tmp/srv.crt" "$tmp/srv.key" >"$tmp/server.pem"
}

# accepting PORT: something accepts TCP connections on 127.0.0.1:PORT
accepting() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# lighttpd_up PORT PID: it accepts connections, or it ended
lighttpd_up() { accepting "$1" || ! alive "$2"; }

# start_lighttpd [tls]: lighttpd serving $tmp/www (Range requests are on
# by default for static files) on a free port; with tls, HTTPS with
# $tmp/server.pem (make_ca first). Sets http_pid, http_port, base_url;
# the access log ($access_log, default $tmp/access.log) has "REQUEST
# STATUS BODY_BYTES RANGE" lines. Keeps a set $http_port (a restart after a kill), else takes one.
# $lighttpd_extra: more configuration lines (a send rate limit).
start_lighttpd() {
    local tls=${1:-} try scheme=http
    [ -n "$tls" ] && scheme=https
    for ((try = 1; try <= 20; try++)); do
        [ -n "${http_port:-}" ] && [ "$try" = 1 ] || http_port=$(free_tcp_port)
        {
            echo "server.document-root = \"$tmp/www\""
            echo "server.bind = \"127.0.0.1\""
            echo "server.port = $http_port"
            echo "server.errorlog = \"$tmp/lighttpd.err\""
            echo "server.modules = (\"mod_accesslog\"$([ -n "$tls" ] && echo ', "mod_openssl"'))"
            echo "accesslog.filename = \"$access_log\""
            echo "accesslog.format = \"%r %>s %b %{Range}i\""
            echo "mimetype.assign = (\".bin\" => \"application/octet-stream\")"
            echo "${lighttpd_extra:-}"
            if [ -n "$tls" ]; then
                echo "ssl.engine = \"enable\""
                echo "ssl.pemfile = \"$tmp/server.pem\""
            fi
        } >"$tmp/lighttpd.conf"
        spawn "$lighttpd_bin" -D -f "$tmp/lighttpd.conf"
        http_pid=$spawned
        wait_until 30 lighttpd_up "$http_port" "$http_pid" || fail "lighttpd did not start"
        if accepting "$http_port"; then
            base_url="$scheme://127.0.0.1:$http_port"
            return 0
        fi
        wait "$http_pid" 2>/dev/null || true
        grep -q "Address already in use" "$tmp/lighttpd.err" 2>/dev/null ||
            { cat "$tmp/lighttpd.err" >&2; fail "lighttpd did not start"; }
    done
    fail "no free port for lighttpd"
}

# kill_lighttpd: SIGKILL (a server that vanishes mid-response), reaped
kill_lighttpd() {
    kill -9 "$http_pid" 2>/dev/null || true
    wait "$http_pid" 2>/dev/null || true
}

# release OUT FILE [KEY=VALUE...]: a release object $tmp/OUT.json for
# $tmp/www/FILE (url, size, sha256 of the file served, signed false);
# KEY=VALUE pairs override members (values are JSON: size=5, signed=true,
# sha256='"00..."').
release() {
    local out=$1 file=$2
    shift 2
    python3 - "$tmp/$out.json" "$base_url/$file" "$tmp/www/$file" "$@" <<'PY' ||
import hashlib, json, os, sys
out, url, path = sys.argv[1:4]
o = {"project": "demo", "version": "2.0.0", "chip": "esp32", "url": url, "signed": False}
if os.path.exists(path):
    data = open(path, "rb").read()
    o["size"], o["sha256"] = len(data), hashlib.sha256(data).hexdigest()
for kv in sys.argv[4:]:
    k, v = kv.split("=", 1)
    o[k] = json.loads(v)
json.dump(o, open(out, "w"))
PY
        fail "release $out"
}

# pull FLASH LOG RELEASE ARGS...: aloft-sim pulls $tmp/RELEASE.json
# (fast retries: 100 ms doubling), then, if it worked, reboots and runs
# for ARGS' --run-for (default 0: exit); output in LOG, exit status in
# $pull_rc.
pull() {
    local flash=$1 log=$2 rel=$3
    shift 3
    pull_rc=0
    "$sim_bin" --flash "$flash" --pull-release "$tmp/$rel.json" --pull-backoff 100 \
        --no-espota --port "$(random_port)" --run-for 0 "$@" >"$log" 2>&1 || pull_rc=$?
}

# body_bytes STATUS: body bytes lighttpd logged for responses with STATUS
# (one number a line)
body_bytes() { awk -v s="$1" '$4 == s { print $5 }' "$access_log" 2>/dev/null; }

# stop_lighttpd: SIGTERM and reap; lighttpd buffers its access log for
# seconds and writes it out as it stops, so look at the log after this
stop_lighttpd() { stop_pid "$http_pid"; }
