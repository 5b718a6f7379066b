/*
 * lib/web.c — the device web API (see aloft/web.h, docs/PROTOCOL.md §4).
 *
 * Why this shape: the browser gets what a native host gets and nothing
 * more. The login is the native SCRAM exchange over a device challenge (the
 * password never travels, the device proves it knows it too); the session
 * cookie cannot be read by script and is not sent cross-site, and the CSRF
 * token in a header is what a forged form cannot add. Uploads go in chunks
 * at the device's offset, so a lost request is resent from what the device
 * counted, never guessed by the browser.
 */
#include <string.h>

#include "aloft/native_device.h"
#include "aloft/util.h"
#include "aloft/web.h"
#include "json.h"
#include "sbuf.h"

enum route {
    R_NONE, R_PAGE, R_INFO, R_CHALLENGE, R_LOGIN, R_LOGOUT, R_BEGIN, R_DATA, R_ABORT,
    R_ROLLBACK, R_CONFIRM, R_METHOD,
};

/* The login's challenge as the native auth_message's first part. */
static const char challenge_tag[] = "aloft web login";
#define TAG_LEN (sizeof challenge_tag - 1)

static const aloft_hash_alg_t *sha(const aloft_web_t *w)
{
    return w->cfg.dev->crypto->sha256;
}

int aloft_web_init(aloft_web_t *w, const aloft_web_config_t *cfg)
{
    if (w == NULL || cfg == NULL || cfg->dev == NULL || cfg->update == NULL ||
        cfg->dev->crypto == NULL || cfg->dev->crypto->random == NULL ||
        cfg->dev->crypto->sha256 == NULL)
        return ALOFT_ERR_ARG;
    memset(w, 0, sizeof *w);
    w->cfg = *cfg;
    w->owner = -1;
    return ALOFT_OK;
}

void aloft_web_reset(aloft_web_t *w)
{
    aloft_web_config_t cfg = w->cfg;
    aloft_web_init(w, &cfg);
}

/* ------------------------------------------------------------------ */
/* Requests in. The core has mem* and strlen, no other libc. */

static bool streq(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && memcmp(a, b, n) == 0;
}

/* The value of name in a query ("a=1&b=2"), cut to n - 1 bytes; false if
 * absent. Values are hex and digits: no percent-decoding needed. */
static bool param(const char *q, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    while (q && *q) {
        size_t len = 0;
        while (q[len] && q[len] != '&')
            len++;
        const char *end = q[len] ? q + len : NULL;
        if (len > nl && q[nl] == '=' && memcmp(q, name, nl) == 0) {
            size_t vl = len - nl - 1;
            if (vl >= n)
                vl = n - 1;
            memcpy(out, q + nl + 1, vl);
            out[vl] = '\0';
            return true;
        }
        q = end ? end + 1 : NULL;
    }
    return false;
}

/* A decimal below 2^32, nothing else. */
static bool param_u32(const char *q, const char *name, uint32_t *v)
{
    char s[12];
    uint64_t x = 0;
    if (!param(q, name, s, sizeof s) || s[0] == '\0' || strlen(s) > 10)
        return false;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        x = x * 10u + (uint64_t)(*p - '0');
    }
    if (x > 0xFFFFFFFFu)
        return false;
    *v = (uint32_t)x;
    return true;
}

static bool param_hex(const char *q, const char *name, uint8_t *out, size_t n)
{
    char s[2 * 32 + 2];
    return 2 * n < sizeof s - 1 && param(q, name, s, sizeof s) && aloft_unhex(s, strlen(s), out, n);
}

static enum route route_of(const aloft_web_request_t *r)
{
    static const struct {
        const char *path;
        uint8_t get, post;
    } routes[] = {
        {"/", R_PAGE, R_NONE},
        {"/index.html", R_PAGE, R_NONE},
        {"/api/info", R_INFO, R_NONE},
        {"/api/login", R_CHALLENGE, R_LOGIN},
        {"/api/logout", R_NONE, R_LOGOUT},
        {"/api/update/begin", R_NONE, R_BEGIN},
        {"/api/update/data", R_NONE, R_DATA},
        {"/api/update/abort", R_NONE, R_ABORT},
        {"/api/rollback", R_NONE, R_ROLLBACK},
        {"/api/confirm", R_NONE, R_CONFIRM},
    };
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!streq(r->path, routes[i].path))
            continue;
        uint8_t k = r->method == ALOFT_WEB_GET ? routes[i].get
                    : r->method == ALOFT_WEB_POST ? routes[i].post : R_NONE;
        return k != R_NONE ? (enum route)k : R_METHOD;
    }
    return R_NONE;
}

static int set_err(aloft_web_exchange_t *x, int err, uint32_t have, uint32_t want,
                   const char *where)
{
    if (x->err == 0) {
        x->err = err;
        aloft_diag_set(&x->diag, err, have, want, where);
    }
    return err;
}

/* Hex tokens equal in constant time. */
static bool token_is(const char *hex, const uint8_t token[ALOFT_WEB_TOKEN_LEN])
{
    uint8_t t[ALOFT_WEB_TOKEN_LEN];
    return hex && strlen(hex) == 2 * ALOFT_WEB_TOKEN_LEN &&
           aloft_unhex(hex, 2 * ALOFT_WEB_TOKEN_LEN, t, sizeof t) &&
           aloft_ct_equal(t, token, sizeof t);
}

/* The live session of the request's cookie whose CSRF token it echoes,
 * else -1 with the refusal in x (ALOFT_ERR_SESSION). */
static int find_session(aloft_web_t *w, aloft_web_exchange_t *x, const aloft_web_request_t *r,
                        uint32_t now_ms)
{
    for (unsigned i = 0; i < ALOFT_WEB_SESSIONS; i++) {
        if (!w->session[i].live)
            continue;
        if (now_ms - w->session[i].used_ms > ALOFT_WEB_SESSION_MS) {
            w->session[i].live = false;
            continue;
        }
        if (!token_is(r->session, w->session[i].token))
            continue;
        if (!token_is(r->csrf, w->session[i].csrf)) {
            set_err(x, ALOFT_ERR_SESSION, 0, 0, "CSRF token");
            return -1;
        }
        w->session[i].used_ms = now_ms;
        return (int)i;
    }
    set_err(x, ALOFT_ERR_SESSION, 0, 0, "session");
    return -1;
}

static bool needs_session(enum route k)
{
    return k == R_LOGOUT || k == R_BEGIN || k == R_DATA || k == R_ABORT || k == R_ROLLBACK ||
           k == R_CONFIRM;
}

/* Does the web's upload still hold the pipeline? */
static bool owns_update(const aloft_web_t *w)
{
    return w->owner >= 0 && aloft_update_state(w->cfg.update) == ALOFT_UPDATE_RECEIVING;
}

static void update_failed(aloft_web_t *w, aloft_web_exchange_t *x, int err)
{
    const aloft_diag_t *d = aloft_update_diag(w->cfg.update);
    x->err = err;
    x->diag = d->err ? *d : (aloft_diag_t){.err = err};
    w->last = x->diag;
    w->owner = -1;
}

/* A data request may stream only at the device's offset, one at a time. */
static void start_data(aloft_web_t *w, aloft_web_exchange_t *x)
{
    uint32_t offset = 0, received = w->cfg.update->received;   /* 0: no offset given */
    if (!owns_update(w) || w->owner != x->session) {
        set_err(x, ALOFT_ERR_STATE, 0, 0, "no upload");
        return;
    }
    if (w->feeding) {
        set_err(x, ALOFT_ERR_BUSY, 0, 0, NULL);
        return;
    }
    if (!param_u32(x->query, "offset", &offset) || offset != received) {
        set_err(x, ALOFT_ERR_PROTO, offset, received, "offset");
        return;
    }
    x->feeding = w->feeding = true;
}

uint32_t aloft_web_start(aloft_web_t *w, aloft_web_exchange_t *x, const aloft_web_request_t *r,
                         uint32_t now_ms)
{
    memset(x, 0, sizeof *x);
    x->session = -1;
    x->route = (uint8_t)route_of(r);
    x->peer = r->peer;
    size_t ql = r->query ? strlen(r->query) : 0;
    if (ql >= sizeof x->query) {
        set_err(x, ALOFT_ERR_PROTO, (uint32_t)ql, sizeof x->query - 1, "query");
        return 0;
    }
    memcpy(x->query, r->query ? r->query : "", ql + 1);
    if (needs_session(x->route)) {
        x->session = (int8_t)find_session(w, x, r, now_ms);
        if (x->session < 0)
            return 0;
    }
    switch (x->route) {
    case R_BEGIN: return ALOFT_SIG_BLOCK_MAX;
    case R_DATA:
        start_data(w, x);
        return ALOFT_WEB_CHUNK_MAX;
    default: return 0;
    }
}

void aloft_web_body(aloft_web_t *w, aloft_web_exchange_t *x, const void *data, size_t n,
                    uint32_t now_ms)
{
    if (x->err || n == 0)
        return;
    if (x->route == R_DATA && x->feeding) {
        if (x->body_len + n > ALOFT_WEB_CHUNK_MAX) {
            set_err(x, ALOFT_ERR_PROTO, x->body_len + (uint32_t)n, ALOFT_WEB_CHUNK_MAX, "chunk");
            return;
        }
        x->body_len += (uint32_t)n;
        w->last_data_ms = now_ms;
        int err = aloft_update_feed(w->cfg.update, data, n);
        if (err)
            update_failed(w, x, err);
        return;
    }
    if (x->route == R_BEGIN && x->body_len + n <= sizeof x->body) {
        memcpy(x->body + x->body_len, data, n);
        x->body_len += (uint32_t)n;
        return;
    }
    set_err(x, x->route == R_BEGIN ? ALOFT_ERR_SIGNATURE : ALOFT_ERR_PROTO,
            x->body_len + (uint32_t)n, x->route == R_BEGIN ? ALOFT_SIG_BLOCK_MAX : 0, "body");
}

void aloft_web_cancel(aloft_web_t *w, aloft_web_exchange_t *x)
{
    if (x->feeding)
        w->feeding = false;
    x->feeding = false;
}

void aloft_web_tick(aloft_web_t *w, uint32_t now_ms)
{
    if (owns_update(w) && !w->feeding && now_ms - w->last_data_ms > ALOFT_WEB_IDLE_MS) {
        aloft_update_t *u = w->cfg.update;
        aloft_update_abort(u, ALOFT_ERR_TIMEOUT);
        aloft_diag_set(&w->last, ALOFT_ERR_TIMEOUT, u->received, u->size, NULL);
        w->owner = -1;
    } else if (w->owner >= 0 && !owns_update(w)) {
        w->owner = -1;   /* a reboot or abort elsewhere ended it */
    }
}

/* ------------------------------------------------------------------ */
/* JSON out. */

static void json_key(aloft_sbuf_t *b, const char *k)
{
    if (b->len > 0 && b->p[aloft_sbuf_stored(b) - 1] != '{' && b->p[aloft_sbuf_stored(b) - 1] != '[')
        aloft_sbuf_char(b, ',');
    aloft_json_put_str(b, k);
    aloft_sbuf_char(b, ':');
}

static void json_kstr(aloft_sbuf_t *b, const char *k, const char *v)
{
    json_key(b, k);
    aloft_json_put_str(b, v);
}

static void json_ku32(aloft_sbuf_t *b, const char *k, uint32_t v)
{
    json_key(b, k);
    aloft_sbuf_u32(b, v);
}

static void json_kint(aloft_sbuf_t *b, const char *k, int v)
{
    json_key(b, k);
    if (v < 0)
        aloft_sbuf_char(b, '-');
    aloft_sbuf_u32(b, (uint32_t)(v < 0 ? -v : v));
}

static void json_kbool(aloft_sbuf_t *b, const char *k, bool v)
{
    json_key(b, k);
    aloft_sbuf_str(b, v ? "true" : "false");
}

static void json_khex(aloft_sbuf_t *b, const char *k, const uint8_t *v, size_t n)
{
    char hex[2 * 32 + 1];
    aloft_hex(v, n, hex);
    json_kstr(b, k, hex);
}

/* "code", "message" and "text" (message: hint with the numbers) of d. */
static void json_diag(aloft_sbuf_t *b, const aloft_diag_t *d)
{
    char text[320];
    aloft_diag_format(d, text, sizeof text);
    json_kint(b, "code", d->err);
    json_kstr(b, "message", aloft_strerror(d->err));
    json_kstr(b, "text", text);
    json_ku32(b, "have", d->have);
    json_ku32(b, "want", d->want);
    json_kstr(b, "where", d->where);
}

static const char *state_name(aloft_update_state_t s)
{
    switch (s) {
    case ALOFT_UPDATE_RECEIVING: return "receiving";
    case ALOFT_UPDATE_DONE: return "done";
    case ALOFT_UPDATE_FAILED: return "failed";
    default: return "idle";
    }
}

static void info(aloft_web_t *w, aloft_sbuf_t *b)
{
    const aloft_device_t *dev = w->cfg.dev;
    const aloft_update_t *u = w->cfg.update;
    aloft_native_hello_t h;
    memset(&h, 0, sizeof h);
    aloft_native_describe_slots(dev, &h);
    json_kstr(b, "name", w->cfg.name ? w->cfg.name : "aloft");
    json_kstr(b, "chip", aloft_chip_name(dev->chip_id));
    json_ku32(b, "chip_id", dev->chip_id);
    json_ku32(b, "flash_size", dev->flash->size);
    json_kbool(b, "auth", w->cfg.verifier != NULL);
    json_kbool(b, "signed", dev->nkeys > 0);
    json_kint(b, "running", h.running_slot == 0xFF ? -1 : h.running_slot);
    json_key(b, "slots");
    aloft_sbuf_char(b, '[');
    for (unsigned i = 0; i < h.nslots; i++) {
        const aloft_native_slot_t *s = &h.slots[i];
        aloft_sbuf_char(b, i ? ',' : ' ');
        aloft_sbuf_char(b, '{');
        json_kstr(b, "label", s->label.s);
        json_ku32(b, "size", s->size);
        json_kstr(b, "state", aloft_ota_state_name(s->state));
        json_kbool(b, "has_image", s->has_image);
        json_kstr(b, "project", s->project.s);
        json_kstr(b, "version", s->version.s);
        aloft_sbuf_char(b, '}');
    }
    aloft_sbuf_char(b, ']');
    const aloft_part_t *fs = aloft_ptable_find_fs(dev->ptable, NULL);
    json_key(b, "fs");
    if (fs) {
        aloft_sbuf_char(b, '{');
        json_kstr(b, "label", fs->label);
        json_ku32(b, "size", fs->size);
        aloft_sbuf_char(b, '}');
    } else {
        aloft_sbuf_str(b, "null");
    }
    json_key(b, "update");
    aloft_sbuf_char(b, '{');
    json_kstr(b, "state", state_name(aloft_update_state(u)));
    json_kbool(b, "web", owns_update(w));
    json_kstr(b, "target", u->target == ALOFT_TARGET_FS ? "fs" : "app");
    json_ku32(b, "received", u->received);
    json_ku32(b, "size", u->size);
    aloft_sbuf_char(b, '}');
    json_key(b, "last");
    aloft_sbuf_char(b, '{');
    json_diag(b, &w->last);
    aloft_sbuf_char(b, '}');
}

/* ------------------------------------------------------------------ */
/* Login. */

static void challenge(aloft_web_t *w, aloft_web_exchange_t *x, aloft_sbuf_t *b, uint32_t now_ms)
{
    const aloft_native_verifier_t *v = w->cfg.verifier;
    unsigned pick = 0;
    json_kbool(b, "open", v == NULL);
    if (v == NULL)
        return;
    for (unsigned i = 0; i < ALOFT_WEB_CHALLENGES; i++) {   /* free, else the oldest */
        if (!w->challenge[i].live) {
            pick = i;
            break;
        }
        if (now_ms - w->challenge[i].issued_ms > now_ms - w->challenge[pick].issued_ms)
            pick = i;
    }
    if (w->cfg.dev->crypto->random(w->cfg.dev->crypto->ctx, w->challenge[pick].nonce,
                                   ALOFT_NATIVE_NONCE_LEN) != 0) {
        set_err(x, ALOFT_ERR_CRYPTO, 0, 0, "random");
        return;
    }
    w->challenge[pick].live = true;
    w->challenge[pick].issued_ms = now_ms;
    json_ku32(b, "iterations", v->iterations);
    json_khex(b, "salt", v->salt, sizeof v->salt);
    json_khex(b, "nonce", w->challenge[pick].nonce, ALOFT_NATIVE_NONCE_LEN);
}

/* A new session in the free (else least recently used) place; its cookie
 * goes in the response, its CSRF token in the answer. */
static int new_session(aloft_web_t *w, aloft_web_exchange_t *x, aloft_sbuf_t *b, uint32_t now_ms)
{
    const aloft_crypto_t *c = w->cfg.dev->crypto;
    unsigned pick = 0;
    char hex[2 * ALOFT_WEB_TOKEN_LEN + 1];
    for (unsigned i = 0; i < ALOFT_WEB_SESSIONS; i++) {
        if (!w->session[i].live) {
            pick = i;
            break;
        }
        if (now_ms - w->session[i].used_ms > now_ms - w->session[pick].used_ms)
            pick = i;
    }
    if ((int)pick == w->owner)   /* its upload ends with it */
        aloft_update_abort(w->cfg.update, ALOFT_ERR_ABORTED);
    if (c->random(c->ctx, w->session[pick].token, ALOFT_WEB_TOKEN_LEN) != 0 ||
        c->random(c->ctx, w->session[pick].csrf, ALOFT_WEB_TOKEN_LEN) != 0)
        return set_err(x, ALOFT_ERR_CRYPTO, 0, 0, "random");
    w->session[pick].live = true;
    w->session[pick].used_ms = now_ms;
    aloft_hex(w->session[pick].token, ALOFT_WEB_TOKEN_LEN, hex);
    aloft_sbuf_t ck;
    aloft_sbuf_init(&ck, x->resp.set_cookie, sizeof x->resp.set_cookie);
    aloft_sbuf_str(&ck, "aloft_session=");
    aloft_sbuf_str(&ck, hex);
    aloft_sbuf_str(&ck, "; Path=/; HttpOnly; SameSite=Strict");
    json_khex(b, "csrf", w->session[pick].csrf, ALOFT_WEB_TOKEN_LEN);
    return ALOFT_OK;
}

/* POST /api/login?nonce=N&cnonce=C&proof=P: the native AUTH over the
 * device's challenge N (auth_message = SHA-256(tag || N || C)). */
static void login(aloft_web_t *w, aloft_web_exchange_t *x, aloft_sbuf_t *b, uint32_t now_ms)
{
    const aloft_native_verifier_t *v = w->cfg.verifier;
    uint8_t nonce[32], cnonce[32], proof[32], am[32], key[32], sig[32];
    uint8_t msg[TAG_LEN + ALOFT_NATIVE_NONCE_LEN];
    uint32_t wait_ms = 0;
    int found = -1;
    if (v == NULL) {   /* open device: a session (and its CSRF token) for the asking */
        new_session(w, x, b, now_ms);
        return;
    }
    if (!param_hex(x->query, "nonce", nonce, sizeof nonce) ||
        !param_hex(x->query, "cnonce", cnonce, sizeof cnonce) ||
        !param_hex(x->query, "proof", proof, sizeof proof)) {
        set_err(x, ALOFT_ERR_PROTO, 0, 0, "login");
        return;
    }
    for (unsigned i = 0; i < ALOFT_WEB_CHALLENGES; i++)
        if (w->challenge[i].live && aloft_ct_equal(w->challenge[i].nonce, nonce, sizeof nonce))
            found = (int)i;
    if (found < 0 || now_ms - w->challenge[found].issued_ms > ALOFT_WEB_CHALLENGE_MS) {
        if (found >= 0)
            w->challenge[found].live = false;
        set_err(x, ALOFT_ERR_TIMEOUT, 0, 0, "login");
        return;
    }
    w->challenge[found].live = false;   /* one answer per challenge */
    int err = aloft_login_check(w->cfg.limiter, x->peer, now_ms, false, &wait_ms);
    if (err) {
        set_err(x, err, (wait_ms + 999u) / 1000u, 0, NULL);
        return;
    }
    memcpy(msg, challenge_tag, TAG_LEN);
    memcpy(msg + TAG_LEN, nonce, sizeof nonce);
    if (aloft_native_auth_message(sha(w), msg, sizeof msg, cnonce, am) != 0) {
        set_err(x, ALOFT_ERR_CRYPTO, 0, 0, NULL);
        return;
    }
    if (aloft_native_verify_proof(sha(w), v, am, proof, key, sig) != 0) {
        aloft_login_failed(w->cfg.limiter, x->peer, now_ms, false);
        set_err(x, ALOFT_ERR_AUTH, 0, 0, NULL);
        return;
    }
    aloft_login_succeeded(w->cfg.limiter, x->peer);
    memset(key, 0, sizeof key);   /* the web session is keyed by its tokens */
    json_khex(b, "signature", sig, sizeof sig);
    new_session(w, x, b, now_ms);
}

/* ------------------------------------------------------------------ */
/* Updates. */

/* Where a filesystem image may go: nothing but safe staging unless the
 * user confirmed the slot or in place (docs/PROTOCOL.md 4.5). */
static bool fs_stage_param(const char *q, aloft_fs_stage_t *stage)
{
    char v[16];
    *stage = ALOFT_FS_STAGE_ASK;
    if (!param(q, "stage", v, sizeof v))
        return true;
    if (streq(v, "slot"))
        *stage = ALOFT_FS_STAGE_SLOT;
    else if (streq(v, "inplace"))
        *stage = ALOFT_FS_STAGE_AUTO;
    else
        return false;
    return true;
}

/* A signed file's block comes as the body; the page sends the image alone. */
static void begin(aloft_web_t *w, aloft_web_exchange_t *x, aloft_sbuf_t *b, uint32_t now_ms)
{
    char target[8];
    uint8_t sha256[32];
    aloft_update_req_t req = {.image_only = true};
    if (!param(x->query, "target", target, sizeof target) ||
        (!streq(target, "app") && !streq(target, "fs"))) {
        set_err(x, ALOFT_ERR_PROTO, 0, 0, "target");
        return;
    }
    if (!param_u32(x->query, "size", &req.size)) {
        set_err(x, ALOFT_ERR_PROTO, 0, 0, "size");
        return;
    }
    if (!param_hex(x->query, "sha256", sha256, sizeof sha256)) {
        set_err(x, ALOFT_ERR_PROTO, 0, 0, "sha256");
        return;
    }
    req.target = target[0] == 'f' ? ALOFT_TARGET_FS : ALOFT_TARGET_APP;
    req.sha256 = sha256;
    if (!fs_stage_param(x->query, &req.fs_stage)) {
        set_err(x, ALOFT_ERR_PROTO, 0, 0, "stage");
        return;
    }
    if (x->body_len) {
        req.sig_block = x->body;
        req.sig_block_len = x->body_len;
    }
    int err = aloft_update_begin(w->cfg.update, w->cfg.dev, &req);
    if (err) {
        if (err == ALOFT_ERR_BUSY) {   /* the pipeline's diag is another session's */
            set_err(x, err, 0, 0, NULL);
            return;
        }
        update_failed(w, x, err);
        return;
    }
    w->owner = x->session;
    w->last_data_ms = now_ms;
    memset(&w->last, 0, sizeof w->last);
    json_kstr(b, "slot", aloft_update_partition(w->cfg.update)->label);
    if (req.target == ALOFT_TARGET_FS) {
        json_kstr(b, "fs", aloft_update_partition(w->cfg.update)->label);
        json_kstr(b, "staging", aloft_update_staging(w->cfg.update)->label);
    }
    json_ku32(b, "received", 0);
    json_ku32(b, "size", req.size);
}

/* The image's slot and version, after finish or a rollback verified it. */
static void outcome(aloft_web_t *w, aloft_web_exchange_t *x, aloft_sbuf_t *b)
{
    const aloft_update_t *u = w->cfg.update;
    const aloft_image_info_t *info = aloft_update_image_info(u);
    bool app = u->target == ALOFT_TARGET_APP;
    json_kstr(b, "slot", aloft_update_partition(u)->label);
    json_kstr(b, "version", app && info->has_desc ? info->desc.version : "");
    json_kbool(b, "reboot", app);
    if (!app)   /* the staging area, or the filesystem itself when in place */
        json_kstr(b, "staging", aloft_update_staging(u)->label);
    x->resp.reboot = app;
}

static void data(aloft_web_t *w, aloft_web_exchange_t *x, aloft_sbuf_t *b)
{
    aloft_update_t *u = w->cfg.update;
    if (u->received == u->size) {
        int err = aloft_update_finish(u);
        w->owner = -1;
        if (err) {
            update_failed(w, x, err);
            return;
        }
        json_kbool(b, "done", true);
        outcome(w, x, b);
    } else {
        json_kbool(b, "done", false);
    }
    json_ku32(b, "received", u->received);
    json_ku32(b, "size", u->size);
}

/* Abandon the upload x's session holds, if it holds one. */
static void abort_own(aloft_web_t *w, const aloft_web_exchange_t *x)
{
    if (owns_update(w) && w->owner == x->session) {
        aloft_update_abort(w->cfg.update, ALOFT_ERR_ABORTED);
        aloft_diag_set(&w->last, ALOFT_ERR_ABORTED, 0, 0, NULL);
        w->owner = -1;
    }
}

static void rollback(aloft_web_t *w, aloft_web_exchange_t *x, aloft_sbuf_t *b)
{
    int err = aloft_update_rollback(w->cfg.update, w->cfg.dev);
    if (err) {
        if (err == ALOFT_ERR_BUSY)
            set_err(x, err, 0, 0, NULL);
        else
            update_failed(w, x, err);
        return;
    }
    outcome(w, x, b);
}

static void confirm(aloft_web_t *w, aloft_web_exchange_t *x, aloft_sbuf_t *b)
{
    int err = w->cfg.confirm ? w->cfg.confirm(w->cfg.ctx) : ALOFT_ERR_ARG;
    if (err) {
        set_err(x, err, 0, 0, w->cfg.confirm ? NULL : "confirm");
        return;
    }
    aloft_native_hello_t h;
    memset(&h, 0, sizeof h);
    aloft_native_describe_slots(w->cfg.dev, &h);
    if (h.running_slot < h.nslots)
        json_kstr(b, "slot", h.slots[h.running_slot].label.s);
}

/* ------------------------------------------------------------------ */

static uint16_t http_status(int err)
{
    switch (err) {
    case ALOFT_ERR_AUTH: return 401;
    case ALOFT_ERR_SESSION: return 403;
    case ALOFT_ERR_RATE:
    case ALOFT_ERR_LOGIN_BUDGET: return 429;
    case ALOFT_ERR_PROTO: return 400;
    case ALOFT_ERR_BUSY:
    case ALOFT_ERR_STATE:
    case ALOFT_ERR_PENDING:
    case ALOFT_ERR_IN_PLACE:
    case ALOFT_ERR_TIMEOUT: return 409;   /* not 408: browsers resend on it */
    case ALOFT_ERR_IO:
    case ALOFT_ERR_CRYPTO:
    case ALOFT_ERR_READBACK: return 500;
    default: return 422;   /* the image or the device refuses it */
    }
}

const aloft_web_response_t *aloft_web_finish(aloft_web_t *w, aloft_web_exchange_t *x,
                                             uint32_t now_ms)
{
    aloft_web_response_t *resp = &x->resp;
    aloft_sbuf_t b;
    aloft_web_cancel(w, x);
    resp->status = 200;
    resp->content_type = "application/json";
    if (x->route == R_PAGE && !x->err && w->cfg.page_gz) {
        resp->content_type = "text/html; charset=utf-8";
        resp->gzip = true;
        resp->body = w->cfg.page_gz;
        resp->len = w->cfg.page_gz_len;
        return resp;
    }
    aloft_sbuf_init(&b, x->out, sizeof x->out);
    aloft_sbuf_char(&b, '{');
    if (!x->err) {
        switch (x->route) {
        case R_INFO: info(w, &b); break;
        case R_CHALLENGE: challenge(w, x, &b, now_ms); break;
        case R_LOGIN: login(w, x, &b, now_ms); break;
        case R_LOGOUT:   /* its upload ends with it */
            abort_own(w, x);
            w->session[x->session].live = false;
            break;
        case R_BEGIN: begin(w, x, &b, now_ms); break;
        case R_DATA: data(w, x, &b); break;
        case R_ABORT: abort_own(w, x); break;
        case R_ROLLBACK: rollback(w, x, &b); break;
        case R_CONFIRM: confirm(w, x, &b); break;
        case R_PAGE:   /* a build without the page serves the API alone */
            set_err(x, ALOFT_ERR_PROTO, 0, 0, "page");
            x->route = R_NONE;
            break;
        case R_METHOD: set_err(x, ALOFT_ERR_PROTO, 0, 0, "method"); break;
        default: set_err(x, ALOFT_ERR_PROTO, 0, 0, "path"); break;
        }
    }
    if (x->err) {   /* the answer so far is dropped: only the error */
        aloft_sbuf_init(&b, x->out, sizeof x->out);
        aloft_sbuf_char(&b, '{');
        json_kbool(&b, "ok", false);
        json_diag(&b, &x->diag);
        if (x->err == ALOFT_ERR_RATE || x->err == ALOFT_ERR_LOGIN_BUDGET)
            json_ku32(&b, "wait_s", x->diag.have);
        resp->status = x->route == R_NONE ? 404 : x->route == R_METHOD ? 405
                       : http_status(x->err);
        resp->set_cookie[0] = '\0';
        resp->reboot = false;
    } else {
        json_kbool(&b, "ok", true);
    }
    aloft_sbuf_char(&b, '}');
    if (!aloft_sbuf_fits(&b)) {   /* never with the sizes above; say so rather than cut JSON */
        aloft_sbuf_init(&b, x->out, sizeof x->out);
        aloft_sbuf_str(&b, "{\"ok\":false,\"code\":-4,\"message\":\"buffer too small\"}");
        resp->status = 500;
    }
    resp->body = (const uint8_t *)x->out;
    resp->len = aloft_sbuf_stored(&b);
    return resp;
}
