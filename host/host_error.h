/*
 * host/host_error.h — a failure as the host tools show it: a
 * message, a hint that says what to do, and the aloft_err_t code behind
 * them. Shared by the espota and native uploaders and the CLI's output
 * (human lines and --json).
 */
#ifndef ALOFT_HOST_ERROR_H
#define ALOFT_HOST_ERROR_H

#include <stddef.h>
#include <stdint.h>

#include "aloft/error.h"

/* A failure as shown to the user: "message" and what to do about it. */
typedef struct host_error {
    int code;              /* aloft_err_t, 0 when nothing failed */
    char message[128];     /* "MD5 mismatch" */
    char hint[512];        /* "the transfer was corrupted, try again" */
} host_error_t;

/* Set e to code, message and a printf-formatted hint; returns code. */
int host_error_set(host_error_t *e, int code, const char *message, const char *hint_fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Set e from a diag, splitting aloft_diag_format's "message: hint";
 * returns d->err. */
int host_error_from_diag(host_error_t *e, const aloft_diag_t *d);

/* v with a space between groups of three digits ("1 412 096"), the way
 * aloft's messages write byte counts. Returns buf. */
const char *host_grouped(uint64_t v, char buf[32]);

#endif /* ALOFT_HOST_ERROR_H */
