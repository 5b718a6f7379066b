#!/usr/bin/env bash
# tests/integration/test_pull_delta.sh — delta patches over the HTTP pull
# (docs/FLEET.md §8) against a real lighttpd: of a release's patches the
# one from the running image is pulled and booted, lighttpd's access log
# showing the patch's bytes, not the image's (a device running another
# base pulls the image and says why: test_fleet_agent.sh); a patch whose
# header names another base is refused before anything is erased and the
# full image comes instead (and with no full image to fall back to, the
# flash is byte-identical); on a device with keys a signed release's patch
# (its block in the header) is pulled and an unsigned one gives way to the
# signed file; a tampered patch fails before activation with the running
# firmware untouched; a connection cut mid-patch resumes with a Range
# request from the exact patch byte; after a power cut mid-patch the pull
# fetches the patch again and resumes at the journal's durable prefix,
# without programming the flash below it again.
set -euo pipefail
source "$(dirname "$0")/pull_lib.sh"
start=$SECONDS

# Same filler seed: a patch of a few hundred bytes. Seed 8 (v3): a patch
# of ~120 KB, long enough to be cut in the middle (lighttpd's first burst
# is larger than its rate). 22.patch turns v2
# into itself: a patch for another base than v1.
demo_image v1 1.0.0 --seed 7
demo_image v2 2.0.0 --seed 7
demo_image v3 3.0.0 --seed 8
size=$(stat -c %s "$tmp/v2.bin")
"$aloft" delta make "$tmp/v1.bin" "$tmp/v2.bin" -o "$tmp/www/12.patch" >/dev/null || fail "delta make 1-2"
"$aloft" delta make --fast "$tmp/v1.bin" "$tmp/v3.bin" -o "$tmp/www/13.patch" >/dev/null || fail "delta make 1-3"
"$aloft" delta make --fast "$tmp/v2.bin" "$tmp/v2.bin" -o "$tmp/www/22.patch" >/dev/null || fail "delta make 2-2"
cp "$tmp/v2.bin" "$tmp/v3.bin" "$tmp/www/"
new_device "$tmp/fresh.flash" "$tmp/v1.bin"
sha() { sha256sum <"$1" | cut -c1-64; }
psize() { stat -c %s "$tmp/www/$1"; }

# patch PATCH BASE: a patches[] entry for $tmp/www/PATCH, its base_sha256
# that of $tmp/BASE.bin (which need not be the base it was made from)
patch() {
    printf '{"base_sha256": "%s", "url": "%s/%s", "size": %s, "sha256": "%s"}' \
        "$(sha "$tmp/$2.bin")" "$base_url" "$1" "$(psize "$1")" "$(sha "$tmp/www/$1")"
}

start_lighttpd

# --- the patch from the running image, among others
release rel v2.bin "patches=[$(patch 22.patch v2), $(patch 12.patch v1)]"
cp "$tmp/fresh.flash" "$tmp/dev.flash"
pull "$tmp/dev.flash" "$tmp/patch.log" rel
[ "$pull_rc" = 0 ] || { cat "$tmp/patch.log" >&2; fail "the patch pull exited $pull_rc"; }
contains "$tmp/patch.log" "pull: a patch from the running image: $(psize 12.patch) bytes instead of $size"
contains "$tmp/patch.log" "GET $base_url/12.patch"
contains "$tmp/patch.log" "pull complete: a $(psize 12.patch)-byte patch for the $size-byte file"
contains "$tmp/patch.log" "running app1 @0x150000: demo 2.0.0"

# --- a patch for another base, listed as from v1: refused from its
# header, the full image instead
release rel v2.bin "patches=[$(patch 22.patch v1)]"
cp "$tmp/fresh.flash" "$tmp/dev.flash"
pull "$tmp/dev.flash" "$tmp/base.log" rel
[ "$pull_rc" = 0 ] || { cat "$tmp/base.log" >&2; fail "the fallback pull exited $pull_rc"; }
contains "$tmp/base.log" "pull: the patch was refused (delta patch is for another base image: "
contains "$tmp/base.log" "the full image instead"
contains "$tmp/base.log" "GET $base_url/v2.bin"
contains "$tmp/base.log" "pull complete: $size bytes in 1 attempt"
contains "$tmp/base.log" "running app1 @0x150000: demo 2.0.0"

# ... and with no full image to fall back to: refused, nothing erased
release rel none.bin size=$size "sha256=\"$(sha "$tmp/v2.bin")\"" "patches=[$(patch 22.patch v1)]"
cp "$tmp/fresh.flash" "$tmp/dev.flash"
pull "$tmp/dev.flash" "$tmp/base404.log" rel
[ "$pull_rc" != 0 ] || { cat "$tmp/base404.log" >&2; fail "a pull of nothing worked"; }
contains "$tmp/base404.log" "pull: the patch was refused (delta patch is for another base image: "
contains "$tmp/base404.log" "pull refused: the server refused the download: it answered HTTP status 404"
same_file "$tmp/fresh.flash" "$tmp/dev.flash"

# --- a device with keys: a signed release's patch carries the block in its
# header (checked before any erase, then against the rebuilt image); an
# unsigned patch of it is refused from its header, the signed file instead
keys k1
sign_image v2 k1 v2s
cp "$tmp/v2s.bin" "$tmp/www/"
"$aloft" delta make "$tmp/v1.bin" "$tmp/v2s.bin" -o "$tmp/www/12s.patch" >/dev/null || fail "delta make 1-2s"
ssize=$(stat -c %s "$tmp/v2s.bin")
release rel v2s.bin signed=true "patches=[$(patch 12s.patch v1)]"
cp "$tmp/fresh.flash" "$tmp/dev.flash"
pull "$tmp/dev.flash" "$tmp/signed.log" rel --public-key "$tmp/k1.pub"
[ "$pull_rc" = 0 ] || { cat "$tmp/signed.log" >&2; fail "the signed patch pull exited $pull_rc"; }
contains "$tmp/signed.log" "pull complete: a $(psize 12s.patch)-byte patch for the $ssize-byte file"
contains "$tmp/signed.log" "running app1 @0x150000: demo 2.0.0"
release rel v2s.bin signed=true "patches=[$(patch 12.patch v1)]"
cp "$tmp/fresh.flash" "$tmp/dev.flash"
pull "$tmp/dev.flash" "$tmp/unsignedpatch.log" rel --public-key "$tmp/k1.pub"
[ "$pull_rc" = 0 ] || { cat "$tmp/unsignedpatch.log" >&2; fail "the fallback to the signed file exited $pull_rc"; }
contains "$tmp/unsignedpatch.log" "pull: the patch was refused (the server's file is not the release's: the response's patch's image is 200 000 where the release needs "
contains "$tmp/unsignedpatch.log" "pull complete: $ssize bytes in 1 attempt"

# --- a tampered patch (a byte of its second segment): fails before
# activation; the full image is missing too, so the pull fails with the
# running firmware untouched
cp "$tmp/www/12.patch" "$tmp/www/bad.patch"
flip "$tmp/www/bad.patch" $(( $(psize 12.patch) * 2 / 3 ))
release rel none.bin size=$size "sha256=\"$(sha "$tmp/v2.bin")\"" "patches=[$(patch bad.patch v1)]"
cp "$tmp/fresh.flash" "$tmp/dev.flash"
pull "$tmp/dev.flash" "$tmp/bad.log" rel
[ "$pull_rc" != 0 ] || { cat "$tmp/bad.log" >&2; fail "a tampered patch was installed"; }
contains "$tmp/bad.log" "pull: the patch failed (delta patch is malformed"
contains "$tmp/bad.log" "the full image instead"
lacks "$tmp/bad.log" "pull complete"
[ "$(firmware_state "$tmp/dev.flash" | grep -v app1)" = "$(firmware_state "$tmp/fresh.flash" | grep -v app1)" ] ||
    fail "a tampered patch changed otadata or the running slot"
stop_lighttpd
wire=$(awk '$2 == "/12.patch" && $4 == 200 { print $5 }' "$access_log" | head -1)
full=$(awk '$2 == "/v2.bin" && $4 == 200 { print $5 }' "$access_log" | head -1)
[ "$wire" = "$(psize 12.patch)" ] && [ "$full" = "$size" ] ||
    { cat "$access_log" >&2; fail "lighttpd sent $wire bytes of the patch, $full of the image"; }
echo "patch pulled: $wire bytes on the wire for a $size-byte image ($full in full)"

# --- a cut mid-patch: lighttpd sends 48 KB/s (a burst a second) and is
# killed after its first burst, then started again; the retry asks for the
# rest of the patch
lighttpd_extra="connection.kbytes-per-second = 48"
access_log=$tmp/access2.log
start_lighttpd
release rel v3.bin version='"3.0.0"' "patches=[$(patch 13.patch v1)]"
cp "$tmp/fresh.flash" "$tmp/dev.flash"
spawn "$sim_bin" --flash "$tmp/dev.flash" --pull-release "$tmp/rel.json" --pull-backoff 200 \
    --no-espota --port "$(random_port)" --run-for 0 >"$tmp/cut.log" 2>&1
sim_pid=$spawned
wait_until 30 grep -qE "updating app1  [1-2][0-9]%" "$tmp/cut.log" || { cat "$tmp/cut.log" >&2; fail "the patch pull did not get going"; }
kill_lighttpd
start_lighttpd
rc=0
wait "$sim_pid" || rc=$?
[ "$rc" = 0 ] || { cat "$tmp/cut.log" >&2; fail "the cut patch pull exited $rc"; }
contains "$tmp/cut.log" "pull attempt failed, retrying: connection closed early"
from=$(sed -n 's/.*GET .*13.patch from byte \([0-9]*\)-$/\1/p' "$tmp/cut.log" | tail -1)
[ -n "$from" ] && [ "$from" -gt 0 ] || { cat "$tmp/cut.log" >&2; fail "no Range request after the cut"; }
contains "$tmp/cut.log" "pull complete: a $(psize 13.patch)-byte patch"
contains "$tmp/cut.log" "running app1 @0x150000: demo 3.0.0"
stop_lighttpd
grep -q "^GET /13.patch HTTP/1.1 206 $(( $(psize 13.patch) - from )) bytes=$from-$" "$access_log" ||
    { cat "$access_log" >&2; fail "no 206 with the rest of the patch from byte $from"; }
echo "patch cut at byte $from of $(psize 13.patch): the 206 carried the rest"

# --- a power cut three quarters through the flash operations of a patch
# pull (counted on a dry run): started again, the pull fetches the patch
# from its start, resumes at the journal's durable prefix and does not
# program the flash below it again
lighttpd_extra=""
http_port=""
access_log=$tmp/access3.log
start_lighttpd
release rel v3.bin version='"3.0.0"' "patches=[$(patch 13.patch v1)]"
cp "$tmp/fresh.flash" "$tmp/dry.flash"
pull "$tmp/dry.flash" "$tmp/dry.log" rel
[ "$pull_rc" = 0 ] || { cat "$tmp/dry.log" >&2; fail "the dry run exited $pull_rc"; }
read -r erases programs <<<"$(flash_ops "$tmp/dry.log")"
cut_at=$(( (erases + programs) * 3 / 4 ))
cp "$tmp/fresh.flash" "$tmp/dev.flash"
pull "$tmp/dev.flash" "$tmp/pc1.log" rel --power-cut "$cut_at"
[ "$pull_rc" = 3 ] || { cat "$tmp/pc1.log" >&2; fail "no power cut (exit $pull_rc)"; }
pull "$tmp/dev.flash" "$tmp/pc2.log" rel
[ "$pull_rc" = 0 ] || { cat "$tmp/pc2.log" >&2; fail "the pull after the power cut exited $pull_rc"; }
held=$(sed -n 's/.*pull: resumed from the journal: \([0-9]*\) image bytes were in flash.*/\1/p' "$tmp/pc2.log")
[ -n "$held" ] && [ "$held" -gt 0 ] && [ $((held % 65536)) = 0 ] ||
    { cat "$tmp/pc2.log" >&2; fail "the patch did not resume from the journal"; }
lacks "$tmp/pc2.log" "the full image instead"
contains "$tmp/pc2.log" "running app1 @0x150000: demo 3.0.0"
read -r erases2 programs2 <<<"$(flash_ops "$tmp/pc2.log")"
# 256-byte programs: none of them below the durable prefix
[ $((programs2 + held / 256)) -le $((programs + 2)) ] ||
    fail "after the power cut $programs2 programs (the dry run $programs, $held bytes durable)"
stop_lighttpd
[ "$(tail -1 "$access_log")" = "GET /13.patch HTTP/1.1 200 $(psize 13.patch) -" ] ||
    { cat "$access_log" >&2; fail "the resumed pull did not fetch the patch once, whole"; }
echo "power cut at flash operation $cut_at of $((erases + programs)): resumed at $held of 200000 image bytes, $programs2 programs instead of $programs, the whole patch again on the wire"

echo "ok: delta patches pulled, refused, resumed ($((SECONDS - start)) s)"
