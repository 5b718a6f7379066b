/* host/host_error.c — see host_error.h. */
#include "host_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int host_error_set(host_error_t *e, int code, const char *message, const char *hint_fmt, ...)
{
    va_list ap;
    e->code = code;
    snprintf(e->message, sizeof e->message, "%s", message);
    va_start(ap, hint_fmt);
    vsnprintf(e->hint, sizeof e->hint, hint_fmt, ap);
    va_end(ap);
    return code;
}

int host_error_from_diag(host_error_t *e, const aloft_diag_t *d)
{
    char text[sizeof e->message + sizeof e->hint];
    const char *msg = aloft_strerror(d->err);
    size_t ml = strlen(msg);
    aloft_diag_format(d, text, sizeof text);
    e->code = d->err;
    snprintf(e->message, sizeof e->message, "%s", msg);
    /* aloft_diag_format writes the message, then ": " and the hint. */
    snprintf(e->hint, sizeof e->hint, "%s",
             strncmp(text, msg, ml) == 0 && text[ml] == ':' ? text + ml + 2 : "");
    return d->err;
}

const char *host_grouped(uint64_t v, char buf[32])
{
    char tmp[32];
    int n = 0, digits = 0, k = 0;
    do {
        if (digits && digits % 3 == 0)
            tmp[n++] = ' ';
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
        digits++;
    } while (v);
    while (n)
        buf[k++] = tmp[--n];
    buf[k] = '\0';
    return buf;
}
