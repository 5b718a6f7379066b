/*
 * host/native_explain.c — the device's ERROR messages in words a
 * user can act on (the same aloft_diag_format text an espota refusal gets),
 * and capability names. See native_host.h.
 */
#include <stdio.h>
#include <string.h>

#include "aloft/error.h"
#include "native_host.h"

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

void native_caps_text(uint8_t caps, char *out, size_t n)
{
    static const struct { uint8_t bit; const char *name; } names[] = {
        {ALOFT_CAP_AUTH, "auth"}, {ALOFT_CAP_DEFLATE, "deflate"},
        {ALOFT_CAP_SIGNED, "signed"}, {ALOFT_CAP_RESUME, "resume"}};
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
