/*
 * lib/pull.c — the HTTP pull engine (see aloft/pull.h).
 */
#include <string.h>

#include "aloft/pull.h"

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

int aloft_pull_start(aloft_pull_t *p, const aloft_device_t *dev, aloft_update_t *u,
                     const aloft_pull_release_t *rel, const aloft_pull_policy_t *policy)
{
    memset(p, 0, sizeof *p);
    p->rel = rel;
    p->update = u;
    policy_defaults(&p->policy, policy);
    p->phase = ALOFT_PULL_REFUSED;
    if (rel == NULL || rel->url == NULL || rel->url[0] == '\0')
        return aloft_diag_set(&p->diag, ALOFT_ERR_ARG, 0, 0, "url");
    /* An unsigned file is the image alone, so a device with keys refuses
     * it here; a signed one carries its block at the end (checked by
     * finish). Resume: the journal holds this file's prefix after a power
     * cut. */
    aloft_update_req_t req = {.target = ALOFT_TARGET_APP, .size = rel->size,
                              .sha256 = rel->sha256, .image_only = !rel->is_signed,
                              .resume = true};
    int err = aloft_update_begin(u, dev, &req);
    if (err) {
        p->diag = *aloft_update_diag(u);
        if (p->diag.err == 0)
            aloft_diag_set(&p->diag, err, 0, 0, NULL);
        return err;
    }
    p->done = p->resumed_from = aloft_update_offset(u);
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
        n.url = p->rel->url;
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

/* The pull is over: keep the first cause, end the pipeline's session
 * (abort is a no-op once it failed or finished). */
static int give_up(aloft_pull_t *p, int err, uint32_t have, uint32_t want, const char *where)
{
    const aloft_diag_t *ud = aloft_update_diag(p->update);
    if (ud->err)
        p->diag = *ud;
    else
        aloft_diag_set(&p->diag, err, have, want, where);
    aloft_update_abort_diag(p->update, &p->diag);
    p->phase = p->fed_any ? ALOFT_PULL_FAILED : ALOFT_PULL_REFUSED;
    p->decided = true;
    return err;
}

/* A failure worth another attempt, if any are left; the session stays
 * open so the next request continues at p->done. */
static int retry_or_give_up(aloft_pull_t *p, int err, uint32_t have, uint32_t want,
                            const char *where, uint64_t now_ms)
{
    aloft_diag_set(&p->diag, err, have, want, where);
    p->decided = true;
    if (p->attempt >= p->policy.tries) {
        aloft_update_abort_diag(p->update, &p->diag);
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
    uint32_t size = p->rel->size, want = size - p->from;
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

int aloft_pull_body(aloft_pull_t *p, const void *data, size_t n)
{
    const uint8_t *b = data;
    if (p->phase != ALOFT_PULL_RECEIVING || p->decided || p->http_status == 0)
        return ALOFT_ERR_STATE;
    if (p->retry_err)
        return p->retry_err;   /* a retryable status: its body is not the file */
    size_t drop = n < p->skip ? n : p->skip;
    p->skip -= (uint32_t)drop;
    b += drop;
    n -= drop;
    if (n == 0)
        return ALOFT_OK;
    if (n > p->rel->size - p->done)
        return give_up(p, ALOFT_ERR_OVERFLOW, p->done + (uint32_t)n, p->rel->size, NULL);
    int err = aloft_update_feed(p->update, b, n);
    if (err)
        return give_up(p, err, 0, 0, NULL);
    p->fed_any = true;
    p->done += (uint32_t)n;
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
            retry_or_give_up(p, err, p->done, p->rel->size, NULL, now_ms);
        else if (p->done < p->rel->size)
            retry_or_give_up(p, ALOFT_ERR_CLOSED, p->done, p->rel->size, NULL, now_ms);
        else if ((err = aloft_update_finish(p->update)) != 0)
            give_up(p, err, 0, 0, NULL);
        else {
            p->diag.err = 0;
            p->phase = ALOFT_PULL_DONE;
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
    st->total = p->rel ? p->rel->size : 0;
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
