/*
 * host/native_explain.c — the native client's failures in words a user
 * can act on: the device's ERROR messages (the same aloft_diag_format
 * text an espota refusal gets), the host engine's failures by where they
 * happened, and capability names. See native_host.h, native_host_priv.h.
 */
#include <stdio.h>
#include <string.h>

#include "aloft/error.h"
#include "aloft/wire/otadata.h"
#include "native_host_priv.h"

int native_explain_error(host_error_t *e, const aloft_native_error_t *m, bool during_login)
{
    aloft_diag_t d;
    memset(e, 0, sizeof *e);
    if (m->code >= 0)
        return host_error_set(e, ALOFT_ERR_PROTO, "unexpected message from the device",
                              "it sent an ERROR with code %d, which is not an error; its firmware "
                              "does not follow the protocol%s%s", m->code,
                              m->text.len ? ": " : "", m->text.s);
    if (m->code == ALOFT_ERR_AUTH && during_login)
        return host_error_set(e, ALOFT_ERR_AUTH, "authentication failed",
                              "the device rejected the password; use the one it was provisioned "
                              "with (--auth PASS)");
    if (m->code == ALOFT_ERR_RATE)
        return host_error_set(e, ALOFT_ERR_RATE, "too many failed logins",
                              "after repeated wrong passwords the device refuses logins from this "
                              "computer for %u s more; wait, then try again with the right "
                              "password", (unsigned)m->have);
    if (strcmp(aloft_strerror(m->code), "unknown error") == 0)
        return host_error_set(e, m->code,
                              m->text.len ? m->text.s : "the device reported an error",
                              "this aloft does not know device error %d; update aloft, or check "
                              "the device's log", m->code);
    memset(&d, 0, sizeof d);
    aloft_diag_set(&d, m->code, m->have, m->want, m->where.len ? m->where.s : NULL);
    return host_error_from_diag(e, &d);
}

static const char *const not_protocol = "its firmware does not follow the protocol";

/* The link failed (SILENT, CLOSED, CORRUPT): what was waited for. */
static int explain_lost(host_error_t *e, const aloft_native_failure_t *f,
                        const native_context_t *x)
{
    const char *why = native_closed_why(x->conn);
    bool silent = f->why == ALOFT_NATIVE_WHY_SILENT, corrupt = f->why == ALOFT_NATIVE_WHY_CORRUPT;
    const char *mac = "a frame failed its MAC check (corrupted on the way?)";
    switch (f->phase) {
    case ALOFT_NATIVE_PH_HELLO:
        return host_error_set(e, f->code, "no complete HELLO from the device", "%s",
                              silent ? "its HELLO stopped halfway" : why);
    case ALOFT_NATIVE_PH_LOGIN:
        if (x->conn->send_failed)
            return host_error_set(e, f->code, "the login could not be sent", "%s", why);
        return host_error_set(e, f->code, "no answer to the login", "%s",
                              silent ? "no answer to the login" : why);
    case ALOFT_NATIVE_PH_OFFER:
        if (corrupt)
            break;
        if (x->conn->send_failed)
            return host_error_set(e, f->code, "the offer could not be sent", "%s", why);
        return host_error_set(e, f->code, "no answer to the offer", "%s",
                              silent ? "no answer to the offer" : why);
    case ALOFT_NATIVE_PH_ROLLBACK:
        if (x->conn->send_failed && !corrupt)
            return host_error_set(e, f->code, "the rollback could not be sent",
                                  "%s; nothing was changed", why);
        return host_error_set(e, f->code, "no answer to the rollback", "%s; the device may still "
                              "have switched: check with 'aloft info' before trying again",
                              silent    ? "no answer within 30 s"
                              : corrupt ? "a frame failed its MAC check"
                                        : why);
    default:   /* DATA, RESULT */
        if (corrupt)
            break;
        if (silent && f->want)
            return host_error_set(e, f->code, "the device stopped responding", "no ACK for %u s",
                                  (unsigned)(f->have / 1000));
        if (silent)
            return host_error_set(e, f->code, "no result from the device",
                                  "all data was sent but the device did not report the result "
                                  "within %u s; it may still apply the update: check with 'aloft "
                                  "info' before trying again", (unsigned)(f->have / 1000));
        return host_error_set(e, f->code, "connection to the device lost", "%s%s", why,
                              f->phase == ALOFT_NATIVE_PH_RESULT ? " before the result" : "");
    }
    return host_error_set(e, f->code, "a frame from the device failed its MAC check", "%s", mac);
}

/* A message with no place where it came. */
static int explain_unexpected(host_error_t *e, const aloft_native_failure_t *f)
{
    switch (f->phase) {
    case ALOFT_NATIVE_PH_LOGIN:
        return host_error_set(e, ALOFT_ERR_PROTO, "unexpected answer to the login",
                              "the device answered AUTH with something other than AUTH_OK or "
                              "ERROR; %s", not_protocol);
    case ALOFT_NATIVE_PH_OFFER:
        return host_error_set(e, ALOFT_ERR_PROTO, "unexpected answer to the offer",
                              "the device answered with neither a valid ACCEPT nor an ERROR; %s",
                              not_protocol);
    case ALOFT_NATIVE_PH_ROLLBACK:
        return host_error_set(e, ALOFT_ERR_PROTO, "unexpected answer to the rollback",
                              "the device answered with neither a RESULT naming one of its app "
                              "slots nor an ERROR; %s", not_protocol);
    default:
        if (f->why == ALOFT_NATIVE_WHY_MALFORMED)
            return host_error_set(e, ALOFT_ERR_PROTO, "malformed frame from the device", "%s",
                                  not_protocol);
        return host_error_set(e, ALOFT_ERR_PROTO, "unexpected message from the device",
                              "it sent message type 0x%02x during the upload; %s",
                              (unsigned)f->have, not_protocol);
    }
}

/* Rollback to an image that never confirmed itself or was rejected. */
static int explain_not_good(host_error_t *e, const aloft_native_failure_t *f,
                            const aloft_native_hello_t *h)
{
    const aloft_native_slot_t *s = &h->slots[f->have], *run = &h->slots[h->running_slot];
    return host_error_set(e, ALOFT_ERR_NO_BOOTABLE, "nothing to roll back to",
                          "%s holds %s %s, which %s: it is not a known-good image to go back "
                          "to; the device keeps running %s %s in %s. Upload a fixed image "
                          "instead; nothing was changed", s->label.s, s->project.s,
                          s->version.s, s->state == ALOFT_OTA_ABORTED
                              ? "never confirmed itself and was rolled back (ABORTED)"
                              : "its firmware rejected (INVALID)",
                          run->has_image ? run->project.s : "its image",
                          run->has_image ? run->version.s : "", run->label.s);
}

int native_explain_failure(host_error_t *e, const aloft_native_failure_t *f,
                           const native_context_t *x)
{
    const aloft_native_host_config_t *c = x->cfg;
    if (f->lost && f->why != ALOFT_NATIVE_WHY_NO_HELLO)
        return explain_lost(e, f, x);
    switch (f->why) {
    case ALOFT_NATIVE_WHY_NO_HELLO:
        if (f->code == ALOFT_ERR_CLOSED)
            return host_error_set(e, f->code, "the device closed the connection without a HELLO",
                                  "%s accepts TCP connections but closes them: it is not an aloft "
                                  "native server (try --protocol espota), or it is serving other "
                                  "hosts; try again", x->addr);
        return host_error_set(e, f->code, "no HELLO from the device",
                              "%s accepted the connection but said nothing within %u s: it is not "
                              "an aloft device (try --protocol espota) or the port is wrong",
                              x->addr, (unsigned)((c->hello_timeout_ms + 999) / 1000));
    case ALOFT_NATIVE_WHY_NOT_ALOFT:
        return host_error_set(e, f->code, "the device does not speak the aloft native protocol",
                              "%s answered with something other than an aloft HELLO: another "
                              "service listens on TCP port %u (try --protocol espota, or the "
                              "right port)", x->addr, x->port);
    case ALOFT_NATIVE_WHY_VERSION:
        return host_error_set(e, f->code, "protocol version mismatch",
                              "the device speaks aloft native protocol version %u, this aloft "
                              "speaks version %u: update aloft (or the device's firmware) so "
                              "that both speak the same version, or use --protocol espota",
                              (unsigned)f->have, (unsigned)f->want);
    case ALOFT_NATIVE_WHY_BAD_HELLO:
        return host_error_set(e, f->code, "unusable HELLO from the device",
                              "it announces frames of at most %u bytes and a window of %u bytes "
                              "(need %u..%u and at least 1); %s", (unsigned)f->have,
                              (unsigned)f->want, ALOFT_NATIVE_HOST_MIN_PAYLOAD,
                              ALOFT_NATIVE_MAX_PAYLOAD, not_protocol);
    case ALOFT_NATIVE_WHY_ITERATIONS:
        return host_error_set(e, f->code, "unusable HELLO from the device",
                              "it asks for %u PBKDF2 iterations (this aloft does 1 to %u); %s",
                              (unsigned)f->have, (unsigned)f->want, not_protocol);
    case ALOFT_NATIVE_WHY_NEED_PASSWORD:
    case ALOFT_NATIVE_WHY_STALE_KEYS:
        return host_error_set(e, f->code, "the device requires a password",
                              "pass its OTA password (the one it was provisioned with) with "
                              "--auth PASS");
    case ALOFT_NATIVE_WHY_IMPOSTOR:
        return host_error_set(e, f->code, "the device could not prove it knows the password",
                              "its login signature does not match: this is not the device the "
                              "password belongs to (another device at %s, or someone in "
                              "between), or it was provisioned with another password; nothing "
                              "was sent to it", x->addr);
    case ALOFT_NATIVE_WHY_DEVICE:
        return native_explain_error(e, &f->device, f->phase == ALOFT_NATIVE_PH_LOGIN);
    case ALOFT_NATIVE_WHY_UNEXPECTED:
    case ALOFT_NATIVE_WHY_MALFORMED:
    case ALOFT_NATIVE_WHY_BAD_ACCEPT:
    case ALOFT_NATIVE_WHY_BAD_SLOT:
        return explain_unexpected(e, f);
    case ALOFT_NATIVE_WHY_BAD_ACK:
        return host_error_set(e, f->code, "unexpected ACK from the device",
                              "it confirmed %u stream bytes (%u image bytes) but %u were sent; %s",
                              (unsigned)f->have, (unsigned)f->aux, (unsigned)f->want,
                              not_protocol);
    case ALOFT_NATIVE_WHY_EARLY_RESULT:
        return host_error_set(e, f->code, "the device answered too early",
                              "it sent its RESULT before the upload ended; %s", not_protocol);
    case ALOFT_NATIVE_WHY_SIG_TOO_LONG:
        return host_error_set(e, f->code, "the signature block is too long",
                              "it has %u bytes, a block has at most %u; sign the image again "
                              "with 'aloft sign'", (unsigned)f->have, (unsigned)f->want);
    case ALOFT_NATIVE_WHY_OFFER_TOO_BIG:
        return host_error_set(e, f->code, "the offer does not fit the device's frames",
                              "with its signature block the OFFER has %u bytes but the device "
                              "takes frames of at most %u; upload the unsigned image if the "
                              "device does not require signatures, or use --protocol espota",
                              (unsigned)f->have, (unsigned)f->want);
    case ALOFT_NATIVE_WHY_NOT_GOOD:
        return explain_not_good(e, f, x->hello);
    case ALOFT_NATIVE_WHY_CRYPTO:
        return host_error_set(e, f->code, "crypto failure", "%s", f->want
                                  ? "deriving the keys from the password failed"
                                  : "this computer's random generator failed");
    case ALOFT_NATIVE_WHY_SOURCE:
        return host_error_set(e, f->code, "cannot compress the image",
                              "zlib failed; try again with --no-compress");
    default:
        return host_error_set(e, f->code ? f->code : ALOFT_ERR_STATE, "internal error",
                              "the native session failed (%d)", (int)f->why);
    }
}

void native_caps_text(uint8_t caps, char *out, size_t n)
{
    static const struct { uint8_t bit; const char *name; } names[] = {
        {ALOFT_CAP_AUTH, "auth"}, {ALOFT_CAP_DEFLATE, "deflate"},
        {ALOFT_CAP_SIGNED, "signed"}, {ALOFT_CAP_RESUME, "resume"},
        {ALOFT_CAP_DELTA, "delta"}};
    size_t len = 0;
    if (n == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (caps & names[i].bit) {
            int w = snprintf(out + len, n - len, "%s%s", len ? ", " : "", names[i].name);
            if (w < 0 || (size_t)w >= n - len) {
                out[len] = '\0';   /* whole names only */
                return;
            }
            len += (size_t)w;
        }
    }
    if (len == 0)
        snprintf(out, n, "none");
}
