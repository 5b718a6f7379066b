/*
 * lib/pull.c — the HTTP pull engine (see aloft/pull.h).
 */
#include <string.h>

#include "aloft/pull.h"
#include "native_delta.h"

static void policy_defaults(aloft_pull_policy_t *p, const aloft_pull_policy_t *in)
{
    *p = in ? *in : (aloft_pull_policy_t){0};
    if (p->tries == 0)
        p->tries = ALOFT_PULL_TRIES;
    if (p->backoff_ms == 0)
        p->backoff_ms = ALOFT_PULL_BACKOFF_MS;
    if (p->backoff_max_ms == 0)
        p->backoff_max_ms = ALOFT_PULL_BACKOFF_MAX_MS;
}

uint32_t aloft_pull_backoff(const aloft_pull_policy_t *policy, unsigned attempt)
{
    aloft_pull_policy_t p;
    policy_defaults(&p, policy);
    uint64_t wait = p.backoff_ms;
    for (unsigned i = 2; i < attempt && wait < p.backoff_max_ms; i++)
        wait *= 2;
    return wait < p.backoff_max_ms ? (uint32_t)wait : p.backoff_max_ms;
}

static uint32_t file_size(const aloft_pull_t *p)
{
    return p->patch ? p->patch->size : p->rel->size;
}

/* begin() for the file, or (patch) for the new image with the header's
 * signature block; both resume from the journal when it holds them. */
static int begin(aloft_pull_t *p)
{
    const aloft_pull_release_t *rel = p->rel;
    /* An unsigned file is the image alone, so a device with keys refuses
     * it here; a signed one carries its block at the end (checked by
     * finish). */
    aloft_update_req_t req = {.target = ALOFT_TARGET_APP, .size = rel->size,
                              .sha256 = rel->sha256, .image_only = !rel->is_signed,
                              .resume = true};
    const aloft_delta_header_t *h = p->patch ? aloft_delta_header(&p->stage->u.dec) : NULL;
    if (h) {
        req.size = h->new_size;
        req.sha256 = h->new_sha256;
        req.image_only = true;
        req.sig_block = h->sig_len ? h->sig : NULL;
        req.sig_block_len = h->sig_len;
    }
    int err = aloft_update_begin(p->update, p->dev, &req);
    if (err) {
        p->diag = *aloft_update_diag(p->update);
        if (p->diag.err == 0)
            aloft_diag_set(&p->diag, err, 0, 0, NULL);
        return err;
    }
    p->begun = true;
    return ALOFT_OK;
}

/* The patch whose base is the running image, if the device takes patches;
 * the reason either way. */
static const char *choose(aloft_pull_t *p, const aloft_pull_delta_t *dl)
{
    const aloft_pull_release_t *rel = p->rel;
    if (rel->npatches == 0 || rel->patches == NULL)   /* an agent passes on only that one */
        return "no patch from the running image";
    if (dl == NULL || dl->stage == NULL || dl->inflate == NULL)
        return "this device takes no patches";
    if (dl->stage->in_use)   /* a native patch upload runs: begin says BUSY */
        return "the patch decoder is busy";
    if (aloft_update_state(p->update) == ALOFT_UPDATE_RECEIVING)
        return "another update runs";   /* begin refuses BUSY before any request */
    aloft_nd_identify(dl->stage, p->dev);
    if (dl->stage->base_size == 0)
        return "the running image does not verify";
    for (size_t i = 0; i < rel->npatches; i++) {
        const aloft_pull_patch_t *pt = &rel->patches[i];
        if (pt->url && pt->url[0] && pt->size &&
            memcmp(pt->base_sha256, dl->stage->base_sha256, ALOFT_SHA256_LEN) == 0) {
            p->patch = pt;
            p->stage = dl->stage;
            p->inflate = dl->inflate;
            return "a patch from the running image";
        }
    }
    return "no patch from the running image";
}

/* The decoder (the stage held, as a native upload holds it) and the
 * patch's hash. */
static int open_patch(aloft_pull_t *p)
{
    int err = aloft_hash_init(p->dev->crypto->sha256, &p->patch_hash);
    if (err)
        return aloft_diag_set(&p->diag, err, 0, 0, "patch hash");
    if ((err = aloft_nd_init(p->stage, p->dev->flash, p->update, p->inflate, &p->diag)) != 0) {
        aloft_hash_drop(p->dev->crypto->sha256, &p->patch_hash);
        return err;
    }
    p->stage->in_use = p->held = p->hashing = true;
    return ALOFT_OK;
}

/* The decoder and the patch's hash go back (the pipeline's session is the
 * caller's business). */
static void close_patch(aloft_pull_t *p)
{
    if (p->hashing)
        aloft_hash_drop(p->dev->crypto->sha256, &p->patch_hash);
    p->hashing = false;
    if (p->held) {
        aloft_delta_abort(&p->stage->u.dec);
        p->stage->in_use = p->held = false;
    }
}

int aloft_pull_start(aloft_pull_t *p, const aloft_device_t *dev, aloft_update_t *u,
                     const aloft_pull_release_t *rel, const aloft_pull_policy_t *policy,
                     const aloft_pull_delta_t *delta)
{
    memset(p, 0, sizeof *p);
    p->rel = rel;
    p->update = u;
    p->dev = dev;
    policy_defaults(&p->policy, policy);
    p->phase = ALOFT_PULL_REFUSED;
    if (rel == NULL || rel->url == NULL || rel->url[0] == '\0')
        return aloft_diag_set(&p->diag, ALOFT_ERR_ARG, 0, 0, "url");
    p->why = choose(p, delta);
    int err = p->patch ? open_patch(p) : begin(p);
    if (err)
        return err;
    /* Resume: the journal holds this file's prefix after a power cut (a
     * patch's: found by begin once its header is in). */
    p->done = p->resumed_from = p->begun ? aloft_update_offset(u) : 0;
    p->attempt = 1;
    p->phase = ALOFT_PULL_REQUEST;
    return ALOFT_OK;
}

aloft_pull_phase_t aloft_pull_poll(aloft_pull_t *p, uint64_t now_ms, aloft_pull_next_t *next)
{
    aloft_pull_next_t n = {0};
    if (p->phase == ALOFT_PULL_WAIT && now_ms >= p->wake_ms)
        p->phase = ALOFT_PULL_REQUEST;
    n.phase = (aloft_pull_phase_t)p->phase;
    if (p->phase == ALOFT_PULL_REQUEST) {
        n.url = p->patch ? p->patch->url : p->rel->url;
        n.from = p->from = p->done;
        p->skip = 0;
        p->retry_err = 0;
        p->decided = false;
        p->http_status = 0;
        p->phase = ALOFT_PULL_RECEIVING;
    } else if (p->phase == ALOFT_PULL_WAIT) {
        n.wait_ms = (uint32_t)(p->wake_ms - now_ms);
    }
    if (next)
        *next = n;
    return n.phase;
}

/* A patch that cannot be used, refused or failed: the file instead, once,
 * from its start. The patch's session, if begun, is closed first (nothing
 * of it was activated). Returns why->err, for the port to stop this
 * transfer; end() then leads to REQUEST for the file. */
static int fall_back(aloft_pull_t *p, const aloft_diag_t *why)
{
    int err = why->err ? why->err : ALOFT_ERR_PATCH;
    p->patch_diag = *why;
    if (p->begun)
        aloft_update_abort_diag(p->update, why);
    p->begun = false;
    close_patch(p);
    p->patch = NULL;
    p->why = p->fed_any ? "the patch failed" : "the patch was refused";
    p->decided = true;
    memset(&p->diag, 0, sizeof p->diag);
    if (begin(p) != 0) {
        p->phase = p->fed_any ? ALOFT_PULL_FAILED : ALOFT_PULL_REFUSED;
        return err;
    }
    p->done = p->resumed_from = aloft_update_offset(p->update);
    p->attempt = 1;
    p->phase = ALOFT_PULL_REQUEST;
    return err;
}

/* The pull is over (a patch: gives way to the file): keep why, end the
 * pipeline's session (abort is a no-op once it failed or finished). */
static int fail_with(aloft_pull_t *p, const aloft_diag_t *why)
{
    p->decided = true;
    if (p->held && why->err != ALOFT_ERR_ABORTED)
        return fall_back(p, why);
    p->diag = *why;
    if (p->begun)
        aloft_update_abort_diag(p->update, &p->diag);
    close_patch(p);
    p->phase = p->fed_any ? ALOFT_PULL_FAILED : ALOFT_PULL_REFUSED;
    return why->err;
}

/* fail_with the pipeline's own diag when it failed, else this one. */
static int give_up(aloft_pull_t *p, int err, uint32_t have, uint32_t want, const char *where)
{
    aloft_diag_t d = {0};
    const aloft_diag_t *ud = aloft_update_diag(p->update);
    if (p->begun && ud->err)
        d = *ud;
    else
        aloft_diag_set(&d, err, have, want, where);
    return fail_with(p, &d);
}

/* A failure worth another attempt, if any are left; the session stays
 * open so the next request continues at p->done. */
static int retry_or_give_up(aloft_pull_t *p, int err, uint32_t have, uint32_t want,
                            const char *where, uint64_t now_ms)
{
    aloft_diag_set(&p->diag, err, have, want, where);
    p->decided = true;
    if (p->attempt >= p->policy.tries) {
        if (p->begun)
            aloft_update_abort_diag(p->update, &p->diag);
        close_patch(p);
        p->phase = p->fed_any ? ALOFT_PULL_FAILED : ALOFT_PULL_REFUSED;
        return err;
    }
    p->attempt++;
    p->wake_ms = now_ms + aloft_pull_backoff(&p->policy, p->attempt);
    p->phase = ALOFT_PULL_WAIT;
    return err;
}

static bool retryable_status(int status)
{
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

int aloft_pull_response(aloft_pull_t *p, int status, int64_t content_length,
                        const char *content_range)
{
    uint32_t size = file_size(p), want = size - p->from;
    if (p->phase != ALOFT_PULL_RECEIVING || p->decided)
        return ALOFT_ERR_STATE;
    p->http_status = (uint16_t)(status > 0 && status < 1000 ? status : 0);
    if (retryable_status(status))
        /* The retry is scheduled at end(), which knows the time. */
        return p->retry_err = ALOFT_ERR_HTTP;
    if (status == 206 && p->from > 0) {
        uint32_t first, last, total;
        if (content_range == NULL || aloft_pull_parse_range(content_range, &first, &last, &total))
            return give_up(p, ALOFT_ERR_HTTP_MISMATCH, 0, p->from, "Content-Range");
        if (total != UINT32_MAX && total != size)
            return give_up(p, ALOFT_ERR_HTTP_MISMATCH, total, size, "file size");
        if (first != p->from)
            return give_up(p, ALOFT_ERR_HTTP_MISMATCH, first, p->from, "range start");
        if (last != size - 1)
            return give_up(p, ALOFT_ERR_HTTP_MISMATCH, last + 1, size, "range end");
    } else if (status == 200) {
        /* The whole file (a server without Range support): drop what the
         * pipeline already has. */
        p->skip = p->from;
        want = size;
    } else {
        return give_up(p, ALOFT_ERR_HTTP, (uint32_t)(status < 0 ? 0 : status), 0, NULL);
    }
    if (content_length >= 0 && (uint64_t)content_length != want)
        return give_up(p, ALOFT_ERR_HTTP_MISMATCH,
                       content_length > UINT32_MAX ? UINT32_MAX : (uint32_t)content_length,
                       want, "Content-Length");
    return ALOFT_OK;
}

/* The header's promises against the release (aloft/pull.h). */
static int check_header(const aloft_pull_t *p, const aloft_delta_header_t *h, aloft_diag_t *d)
{
    const aloft_pull_release_t *rel = p->rel;
    uint32_t file = h->new_size + h->sig_len;   /* the file the patch makes */
    if (file != rel->size)
        return aloft_diag_set(d, ALOFT_ERR_HTTP_MISMATCH, file, rel->size, "patch's image");
    if (rel->is_signed ? h->sig_len == 0 : memcmp(h->new_sha256, rel->sha256, 32) != 0)
        return aloft_diag_set(d, ALOFT_ERR_SHA256, 0, 0, "patch's image");
    if ((uint64_t)h->header_len + h->body_len != p->patch->size)
        return aloft_diag_set(d, ALOFT_ERR_HTTP_MISMATCH, h->header_len + h->body_len,
                              p->patch->size, "patch size");
    if (p->dev->nkeys > 0 && h->sig_len == 0)
        return aloft_diag_set(d, ALOFT_ERR_UNSIGNED, 0, 0, "patch");
    return ALOFT_OK;
}

/* Patch bytes: the header until it is whole, checked, then begin (and a
 * resume from the journal's durable prefix), then the decoder. */
static int patch_body(aloft_pull_t *p, const uint8_t *b, size_t n)
{
    aloft_native_delta_t *dl = p->stage;
    aloft_diag_t d = {0};
    size_t used = 0;
    int err;
    p->dev->crypto->sha256->update(&p->patch_hash, b, n);
    p->done += (uint32_t)n;
    if (!p->begun) {
        const aloft_delta_header_t *h;
        if ((err = aloft_nd_header(dl, b, n, &used, &d)) != 0)
            return fail_with(p, &d);
        if ((h = aloft_delta_header(&dl->u.dec)) == NULL)
            return ALOFT_OK;
        if ((err = check_header(p, h, &d)) != 0)
            return fail_with(p, &d);
        if ((err = begin(p)) != 0)
            return fail_with(p, &p->diag);
        /* After a power cut: the decoder skips the segments the journal
         * holds and the output below it. */
        p->resumed_from = aloft_update_offset(p->update);
        if (p->resumed_from &&
            (err = aloft_delta_resume(&dl->u.dec, p->resumed_from, h->header_len)) != 0)
            return give_up(p, err, p->resumed_from, h->new_size, "patch resume");
    }
    if (used == n)
        return ALOFT_OK;
    p->fed_any = true;
    size_t taken;
    if ((err = aloft_nd_feed(dl, b + used, n - used, SIZE_MAX, &taken)) == 0)
        return ALOFT_OK;
    if (dl->pipe_err)
        return give_up(p, err, 0, 0, NULL);
    d = *aloft_delta_diag(&dl->u.dec);
    d.err = err;
    return fail_with(p, &d);
}

int aloft_pull_body(aloft_pull_t *p, const void *data, size_t n)
{
    const uint8_t *b = data;
    if (p->phase != ALOFT_PULL_RECEIVING || p->decided || p->http_status == 0)
        return ALOFT_ERR_STATE;
    if (p->retry_err)
        return p->retry_err;   /* a retryable status: its body is not the file */
    p->wire += (uint32_t)n;
    size_t drop = n < p->skip ? n : p->skip;
    p->skip -= (uint32_t)drop;
    b += drop;
    n -= drop;
    if (n == 0)
        return ALOFT_OK;
    if (n > file_size(p) - p->done)
        return give_up(p, ALOFT_ERR_OVERFLOW, p->done + (uint32_t)n, file_size(p), NULL);
    if (p->patch)
        return patch_body(p, b, n);
    int err = aloft_update_feed(p->update, b, n);
    if (err)
        return give_up(p, err, 0, 0, NULL);
    p->fed_any = true;
    p->done += (uint32_t)n;
    return ALOFT_OK;
}

/* The whole patch is in: its SHA-256, the decoder's end, then finish. */
static int finish_patch(aloft_pull_t *p)
{
    uint8_t sha[ALOFT_SHA256_LEN];
    aloft_diag_t d = {0};
    p->dev->crypto->sha256->finish(&p->patch_hash, sha);
    p->hashing = false;
    if (memcmp(sha, p->patch->sha256, sizeof sha) != 0)
        return give_up(p, ALOFT_ERR_SHA256, 0, 0, "patch");
    int err = aloft_delta_finish(&p->stage->u.dec);
    if (err) {
        d = *aloft_delta_diag(&p->stage->u.dec);
        d.err = err;
        return fail_with(p, &d);
    }
    return ALOFT_OK;
}

aloft_pull_phase_t aloft_pull_end(aloft_pull_t *p, int err, uint64_t now_ms)
{
    if (p->phase != ALOFT_PULL_RECEIVING)
        return (aloft_pull_phase_t)p->phase;
    if (!p->decided) {
        if (p->retry_err)
            retry_or_give_up(p, p->retry_err, p->http_status, 0, NULL, now_ms);
        else if (err)
            retry_or_give_up(p, err, p->done, file_size(p), NULL, now_ms);
        else if (p->done < file_size(p))
            retry_or_give_up(p, ALOFT_ERR_CLOSED, p->done, file_size(p), NULL, now_ms);
        else if (p->patch && finish_patch(p) != 0)
            ;   /* the file next, or over */
        else if ((err = aloft_update_finish(p->update)) != 0)
            give_up(p, err, 0, 0, NULL);
        else {
            p->diag.err = 0;
            p->phase = ALOFT_PULL_DONE;
            close_patch(p);
        }
    }
    return (aloft_pull_phase_t)p->phase;
}

void aloft_pull_cancel(aloft_pull_t *p)
{
    if (p->phase == ALOFT_PULL_REQUEST || p->phase == ALOFT_PULL_RECEIVING ||
        p->phase == ALOFT_PULL_WAIT)
        give_up(p, ALOFT_ERR_ABORTED, 0, 0, NULL);
}

void aloft_pull_status(const aloft_pull_t *p, aloft_pull_status_t *st)
{
    memset(st, 0, sizeof *st);
    st->phase = (aloft_pull_phase_t)p->phase;
    st->done = p->done;
    st->total = p->rel ? file_size(p) : 0;
    st->patch = p->patch != NULL;
    st->why = p->why;
    st->patch_diag = p->patch_diag;
    st->wire = p->wire;
    st->resumed_from = p->resumed_from;
    st->attempt = p->attempt;
    st->tries = p->policy.tries;
    st->http_status = p->http_status;
    st->diag = p->diag;
}

const char *aloft_pull_phase_name(aloft_pull_phase_t phase)
{
    switch (phase) {
    case ALOFT_PULL_REQUEST:
    case ALOFT_PULL_RECEIVING:
    case ALOFT_PULL_WAIT: return "downloading";
    case ALOFT_PULL_DONE: return "rebooting";
    case ALOFT_PULL_REFUSED: return "refused";
    case ALOFT_PULL_FAILED: return "failed";
    default: return "idle";
    }
}

/* A decimal of at most 32 bits at *s; advances *s. */
static int parse_u32(const char **s, uint32_t *out)
{
    uint64_t v = 0;
    const char *c = *s;
    if (*c < '0' || *c > '9')
        return ALOFT_ERR_PROTO;
    for (; *c >= '0' && *c <= '9'; c++)
        if ((v = v * 10 + (uint64_t)(*c - '0')) > UINT32_MAX)
            return ALOFT_ERR_PROTO;
    *out = (uint32_t)v;
    *s = c;
    return ALOFT_OK;
}

int aloft_pull_parse_range(const char *v, uint32_t *first, uint32_t *last, uint32_t *total)
{
    static const char unit[] = "bytes ";
    const char *s = v;
    for (size_t i = 0; unit[i]; i++, s++)
        /* the unit is case-insensitive (' ' | 0x20 == ' ', and so is NUL's) */
        if (*s == '\0' || (*s | 0x20) != unit[i])
            return ALOFT_ERR_PROTO;
    while (*s == ' ')
        s++;
    if (parse_u32(&s, first) || *s++ != '-' || parse_u32(&s, last) || *s++ != '/' ||
        *last < *first)
        return ALOFT_ERR_PROTO;
    if (*s == '*') {
        *total = UINT32_MAX;
        s++;
    } else if (parse_u32(&s, total) || *last >= *total) {
        return ALOFT_ERR_PROTO;
    }
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return *s == '\0' ? ALOFT_OK : ALOFT_ERR_PROTO;
}
