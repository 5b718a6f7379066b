/*
 * host/delta_apply.c — patches applied on the host through the core's
 * decoder (the one devices run).
 */
#include "delta_host.h"

#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "inflate_zlib.h"

typedef struct {
    const uint8_t *old;
    size_t old_len;
    uint8_t *out;
    size_t len, cap;
} apply_t;

static int read_old(void *ctx, uint32_t off, uint8_t *buf, size_t len)
{
    apply_t *a = ctx;
    if (off > a->old_len || len > a->old_len - off)
        return ALOFT_ERR_ALIGN;
    memcpy(buf, a->old + off, len);
    return ALOFT_OK;
}

static int write_new(void *ctx, const uint8_t *data, size_t len)
{
    apply_t *a = ctx;
    if (a->len + len > a->cap)
        return ALOFT_ERR_OVERFLOW;   /* the decoder keeps within new_size */
    memcpy(a->out + a->len, data, len);
    a->len += len;
    return ALOFT_OK;
}

int delta_apply(const uint8_t *old, size_t old_len, const uint8_t *patch, size_t patch_len,
                uint8_t **out, size_t *out_len, aloft_diag_t *d)
{
    static aloft_delta_t dec;   /* about 1 KiB: kept off the stack */
    inflate_zlib_t zst;
    aloft_inflate_t inf;
    uint8_t sha[32];
    apply_t a = {old, old_len, NULL, 0, 0};
    memset(d, 0, sizeof *d);
    if (old_len > 0xFFFFFFFFu || patch_len > 0xFFFFFFFFu)
        return aloft_diag_set(d, ALOFT_ERR_SIZE, 0, 0, NULL);
    delta_sha256(old, old_len, sha);
    inflate_zlib_init(&inf, &zst, ALOFT_DELTA_MAX_WBITS);
    aloft_delta_cfg_t cfg = {(uint32_t)old_len, sha, read_old, write_new, &inf, &a};
    aloft_delta_header_t h0;
    /* Parsed once here too: it says how much room the new image needs. */
    int r = aloft_delta_parse_header(patch, patch_len, &h0, d);
    if (r < 0)
        return r;
    a.cap = h0.new_size;
    a.out = xmalloc(a.cap + h0.sig_len);
    r = aloft_delta_init(&dec, &cfg);
    if (r == 0)
        r = aloft_delta_feed(&dec, patch, patch_len);
    if (r == 0)
        r = aloft_delta_finish(&dec);
    aloft_delta_abort(&dec);
    const aloft_delta_header_t *h = &h0;
    if (r == 0) {
        delta_sha256(a.out, a.len, sha);
        if (memcmp(sha, h->new_sha256, 32) != 0)
            r = aloft_diag_set(d, ALOFT_ERR_SHA256, 0, 0, NULL);
    } else {
        *d = *aloft_delta_diag(&dec);
        if (d->err == 0)
            aloft_diag_set(d, r, 0, 0, NULL);
    }
    if (r != 0) {
        free(a.out);
        return r;
    }
    if (h->sig_len > 0)
        memcpy(a.out + a.len, h->sig, h->sig_len);
    *out = a.out;
    *out_len = a.len + h->sig_len;
    return ALOFT_OK;
}
