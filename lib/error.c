/*
 * lib/error.c — messages and hints for aloft_err_t.
 *
 * Each code has a plain-words message and a hint template. Templates name
 * the numbers of an aloft_diag_t with placeholders, expanded here without
 * any libc formatting (the core has no printf):
 *   %h / %w   have / want as a decimal with thin groups ("1 310 720")
 *   %x / %y   have / want as 0x-hex
 *   %H / %W   have / want as chip names
 *   %s        the where label
 */
#include <string.h>

#include "aloft/error.h"
#include "aloft/wire/image.h"
#include "aloft/wire/ptable.h"
#include "sbuf.h"

typedef struct {
    int err;
    const char *msg;
    const char *hint;
} err_text_t;

static const err_text_t texts[] = {
    {ALOFT_OK, "no error", ""},
    {ALOFT_ERR_ARG, "invalid argument", "this is a bug in the caller"},
    {ALOFT_ERR_STATE, "operation not valid now", "this is a bug in the caller"},
    {ALOFT_ERR_FAILED, "session already failed", "start a new update"},
    {ALOFT_ERR_BUFFER, "buffer too small", "need %w bytes, got %h"},
    {ALOFT_ERR_IO, "flash operation failed", "at flash offset %x; the flash chip may be worn or the wiring faulty"},
    {ALOFT_ERR_NOT_ERASED, "flash programmed without erasing first",
     "at flash offset %x; this is a bug in the writer, the running firmware is untouched"},
    {ALOFT_ERR_ALIGN, "flash operation misaligned or out of range", "at flash offset %x; this is a bug in the caller"},
    {ALOFT_ERR_ABORTED, "update aborted", "the running firmware is untouched; start the upload again"},
    {ALOFT_ERR_BUSY, "another update is in progress", "wait for it to finish, then try again"},
    {ALOFT_ERR_TIMEOUT, "peer went silent", "nothing arrived for too long after %h of %w bytes; check the network and try again"},

    {ALOFT_ERR_IMG_MAGIC, "not an app image",
     "first byte is %x, an ESP32 app image starts with 0xe9; upload the app .bin (not the merged/factory or ELF file)"},
    {ALOFT_ERR_IMG_ESP8266, "this is an ESP8266 image",
     "the device is an ESP32-class chip; build the firmware for the right board"},
    {ALOFT_ERR_IMG_SEGMENTS, "bad segment count in the image header",
     "header says %h segments, at most %w are allowed; the file is damaged or not an app image"},
    {ALOFT_ERR_IMG_SEG_LEN, "bad segment length",
     "%s (header at image offset %y) declares %h bytes (must be a multiple of 4 and below 16 MiB); the file is damaged"},
    {ALOFT_ERR_IMG_MAPPING, "flash-mapped segment breaks the 64 KiB mapping rule",
     "segment data at image offset %x is not congruent to its load address %y modulo 64 KiB; rebuild with esptool"},
    {ALOFT_ERR_IMG_CHECKSUM, "image checksum mismatch",
     "stored checksum %x, computed %y; the file is damaged or was edited after the build"},
    {ALOFT_ERR_IMG_HASH, "image SHA-256 mismatch",
     "the SHA-256 appended at image offset %x does not match the contents; the file is damaged"},
    {ALOFT_ERR_IMG_TRUNCATED, "image is truncated",
     "it ends after %h bytes but its segments need at least %w; copy the complete .bin again"},
    {ALOFT_ERR_IMG_TRAILING, "extra bytes after the image",
     "the image ends at %w bytes but %h were given; upload the app .bin itself"},
    {ALOFT_ERR_IMG_HEADER, "image header field out of range", "field %s has value %x; the file is damaged"},
    {ALOFT_ERR_IMG_CHIP, "image is for another chip",
     "image is built for %H but the device is %W; build for the device's board"},
    {ALOFT_ERR_IMG_DESC, "app description malformed", "field %s is not NUL-terminated; the file is damaged"},

    {ALOFT_ERR_PT_ENTRY, "partition table entry is corrupt",
     "entry %h has a bad magic; reflash the partition table over serial"},
    {ALOFT_ERR_PT_MD5, "partition table checksum mismatch", "the table's MD5 entry does not match; reflash it over serial"},
    {ALOFT_ERR_PT_LAYOUT, "partition layout is invalid",
     "partition %s at %x does not fit (overlap, alignment or beyond the %y-byte flash)"},
    {ALOFT_ERR_PT_TOO_MANY, "partition table has too many entries", "at most %w entries are supported"},
    {ALOFT_ERR_NO_SLOT, "no partition to write to",
     "the partition table has no %s partition; OTA needs a scheme with two app slots (default or min_spiffs)"},
    {ALOFT_ERR_NO_OTADATA, "no otadata partition", "OTA needs a data/ota partition; choose a scheme with OTA"},
    {ALOFT_ERR_NO_BOOTABLE, "no bootable image", "slot %s holds no verified image for this chip, so there is nothing to boot or roll back to there (a device that does not start needs a serial reflash)"},

    {ALOFT_ERR_SIZE, "bad image size", "declared size %h bytes is not a possible image size"},
    {ALOFT_ERR_TOO_LARGE, "image is larger than the slot", NULL /* built in too_large_hint */},
    {ALOFT_ERR_OVERFLOW, "more data than announced", "%h bytes arrived but the upload declared %w"},
    {ALOFT_ERR_SHORT, "upload ended early", "got %h of %w bytes; the running firmware is untouched, try again"},
    {ALOFT_ERR_SHA256, "SHA-256 mismatch", "the received data does not hash to the announced SHA-256; the transfer was corrupted, try again"},
    {ALOFT_ERR_MD5, "MD5 mismatch", "the received data does not hash to the announced MD5; the transfer was corrupted, try again"},
    {ALOFT_ERR_READBACK, "flash read-back mismatch",
     "slot %s differs from what was written at offset %x; the flash may be failing"},
    {ALOFT_ERR_PENDING, "running image is not confirmed yet",
     "the firmware in %s is still PENDING_VERIFY; let it confirm itself (or reboot to roll back) before updating"},
    {ALOFT_ERR_SAME_SLOT, "target slot is the running one", "slot %s is running; the update must go to the other slot"},
    {ALOFT_ERR_UNSIGNED, "image is not signed", "this device only accepts signed images; sign it with `aloft sign --key KEY.key -o signed.bin image.bin`"},
    {ALOFT_ERR_SIGNATURE, "signature does not verify", "the image or its signed metadata was changed after signing, or it was signed with another key; sign the exact file again"},
    {ALOFT_ERR_UNKNOWN_KEY, "signed with an unknown key", "the device holds no public key with this key id; sign with one of the device's keys (or provision the new key first)"},
    {ALOFT_ERR_DOWNGRADE, "downgrade refused", "the image's secure_version is %h but the running firmware's is %w; build with a secure_version of at least %w"},
    {ALOFT_ERR_PROJECT, "image is for another project", "the device runs project %s; check that you picked the right firmware"},
    {ALOFT_ERR_SIGNED_MISMATCH, "signed metadata does not match the image", "the signature block describes another image (%s); sign the exact file you upload"},
    {ALOFT_ERR_PATCH, "delta patch is malformed", "%s, at patch byte %h; the patch is damaged, from an older aloft or not an aloft patch: copy it again or make it again with this aloft (`aloft delta make`)"},
    {ALOFT_ERR_PATCH_BASE, "delta patch is for another base image", "the patch turns a %w-byte image into the new one, and the base here (%h bytes) differs in its %s; make the patch from the image the device runs (`aloft info` shows its SHA-256)"},
    {ALOFT_ERR_PATCH_WINDOW, "delta patch needs a larger zlib window", "the patch was made with --window-bits %h but the decoder keeps at most %w; make it again with `aloft delta make --window-bits %w`"},
    {ALOFT_ERR_UNCONFIRMED, "the new image never confirmed itself", "the device restarted before the image in %s confirmed itself, so the bootloader went back to the previous image; check the new firmware's health check (network, broker) and its log"},
    {ALOFT_ERR_NOT_NEWER, "release is not newer than the running firmware", "the device runs version %s; publish a higher version, or send \"allow_downgrade\": true with the command"},

    {ALOFT_ERR_PROTO, "unexpected message from the peer", "the peer speaks another protocol version or the data was corrupted; update both sides"},
    {ALOFT_ERR_AUTH, "authentication failed", "the password is wrong; use the one the firmware was built with"},
    {ALOFT_ERR_CONNECT, "could not connect", "the connection could not be opened; check the address, the port and any firewall in between"},
    {ALOFT_ERR_CLOSED, "connection closed early", "the peer closed the connection after %h of %w bytes; try again"},
    {ALOFT_ERR_RATE, "too many failed logins", "wait %h s before trying again"},
    {ALOFT_ERR_CRYPTO, "crypto failure", "the platform's hash or random generator failed"},
    {ALOFT_ERR_DECODE, "compressed data is corrupt", "the transfer was damaged or the host used a larger window than the device allows; try again, or upload uncompressed"},
    {ALOFT_ERR_CROWDED, "the device has no free connection", "every connection was taken and this unfinished login was the oldest, so a newer one got its place; try again (if it keeps happening, other hosts are holding connections open)"},
    {ALOFT_ERR_LOGIN_BUDGET, "too many failed logins on the device", "failed logins from many addresses used up the device's budget (hosts that logged in before are not held back); wait %h s before trying again"},
    {ALOFT_ERR_SESSION, "not logged in", "the request has no valid %s; log in again (a session ends when the device restarts, after 30 minutes unused, or when two other browsers log in)"},
    {ALOFT_ERR_IN_PLACE, "filesystem image cannot be staged", NULL /* built in in_place_hint */},
    {ALOFT_ERR_INTEGRITY, "a frame failed its integrity check", "a frame was corrupted on the way (or forged, or replayed) and was not acted upon; the connection was closed: try again (an interrupted upload resumes)"},
    {ALOFT_ERR_HTTP, "the server refused the download", "it answered HTTP status %h for the release's url; check that the url is right and the file is on the server (404), that the device may read it (401, 403), or try later (5xx)"},
    {ALOFT_ERR_HTTP_MISMATCH, "the server's file is not the release's", "the response's %s is %h where the release needs %w; publish the release object of the exact file on the server (or the server or a proxy changed it)"},
    {ALOFT_ERR_COMMAND, "malformed command", "member %s is missing or invalid; see docs/FLEET.md sections 3 and 6"},
};

static const err_text_t *lookup(int err)
{
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (texts[i].err == err)
            return &texts[i];
    return NULL;
}

const char *aloft_strerror(int err)
{
    const err_text_t *t = lookup(err);
    return t ? t->msg : "unknown error";
}

int aloft_error_from_message(const char *msg, size_t len)
{
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (strlen(texts[i].msg) == len && memcmp(texts[i].msg, msg, len) == 0)
            return texts[i].err;
    return ALOFT_OK;
}

int aloft_diag_set(aloft_diag_t *d, int err, uint32_t have, uint32_t want, const char *where)
{
    if (d == NULL)
        return err;
    d->err = err;
    d->have = have;
    d->want = want;
    d->where[0] = '\0';
    if (where != NULL) {
        size_t i = 0;
        for (; i < sizeof d->where - 1 && where[i]; i++)
            d->where[i] = where[i];
        d->where[i] = '\0';
    }
    return err;
}

static void expand(aloft_sbuf_t *b, const char *tpl, const aloft_diag_t *d)
{
    for (; *tpl; tpl++) {
        if (*tpl != '%' || tpl[1] == '\0') {
            aloft_sbuf_char(b, *tpl);
            continue;
        }
        switch (*++tpl) {
        case 'h': aloft_sbuf_grouped(b, d->have); break;
        case 'w': aloft_sbuf_grouped(b, d->want); break;
        case 'x': aloft_sbuf_hex(b, d->have); break;
        case 'y': aloft_sbuf_hex(b, d->want); break;
        case 'H': aloft_sbuf_str(b, aloft_chip_name((uint16_t)d->have)); break;
        case 'W': aloft_sbuf_str(b, aloft_chip_name((uint16_t)d->want)); break;
        case 's': aloft_sbuf_str(b, d->where[0] ? d->where : "?"); break;
        default: aloft_sbuf_char(b, '%'); aloft_sbuf_char(b, *tpl); break;
        }
    }
}

/* "image is N bytes, slot S holds M; <what would fit>": the numbers a user
 * needs to pick a partition scheme. */
static void too_large_hint(aloft_sbuf_t *b, const aloft_diag_t *d)
{
    uint32_t big = aloft_scheme_app_size(ALOFT_SCHEME_MIN_SPIFFS);
    expand(b, "image is %h bytes, slot %s holds %w; ", d);
    /* Only an app slot of the default scheme has a roomier standard scheme. */
    if (d->want == aloft_scheme_app_size(ALOFT_SCHEME_DEFAULT) && d->have <= big) {
        aloft_sbuf_str(b, "choose the min_spiffs partition scheme (");
        aloft_sbuf_grouped(b, big);
        aloft_sbuf_str(b, " bytes per slot) or shrink the image");
    } else {
        aloft_sbuf_str(b, "shrink the image (by ");
        aloft_sbuf_grouped(b, d->have - d->want);
        expand(b, " bytes) or choose a partition scheme with a larger %s partition", d);
    }
}

/* Two cases: the inactive slot could take the image but holds the
 * previous firmware (where = its label), or nothing but the filesystem
 * itself can (where = "in place"). */
static void in_place_hint(aloft_sbuf_t *b, const aloft_diag_t *d)
{
    expand(b, "it needs %h bytes; no fs_stage partition ", d);
    if (!aloft_str_eq(d->where, "in place"))
        expand(b, "has them and slot %s holds the previous firmware. Stage it there (no rollback "
                  "until the next app update) or write", d);
    else
        aloft_sbuf_str(b, "or free app slot has them. Write");
    aloft_sbuf_str(b, " in place (if the upload breaks off, the filesystem is left half-written), "
                      "or add a fs_stage partition");
}

size_t aloft_diag_format(const aloft_diag_t *d, char *out, size_t n)
{
    aloft_sbuf_t b;
    aloft_sbuf_init(&b, out, n);
    const err_text_t *t = lookup(d->err);
    aloft_sbuf_str(&b, aloft_strerror(d->err));
    if (d->err == ALOFT_ERR_TOO_LARGE) {
        aloft_sbuf_str(&b, ": ");
        too_large_hint(&b, d);
    } else if (d->err == ALOFT_ERR_IN_PLACE) {
        aloft_sbuf_str(&b, ": ");
        in_place_hint(&b, d);
    } else if (t && t->hint[0]) {
        aloft_sbuf_str(&b, ": ");
        expand(&b, t->hint, d);
    }
    return aloft_sbuf_stored(&b);
}
