/*
 * lib/espota_device.c — the ArduinoOTA device engine (see
 * aloft/espota_device.h for the contract and the fixes it makes).
 *
 * States and what moves them:
 *   IDLE        invitation -> (no auth) begin update, "OK", CONNECTING
 *                          -> (auth, the limiter allows) "AUTH <nonce>",
 *                             WAIT_AUTH
 *   WAIT_AUTH   "200 ..." from the inviting host -> (the limiter allows)
 *               verify -> begin, "OK", CONNECTING | "Authentication
 *               Failed", IDLE; other datagrams from it are ignored
 *               a new invitation from the same host restarts the login
 *               (espota re-invites after a failed or unanswered auth);
 *               one from another host takes over once the hold is over;
 *               no answer within the auth timeout -> IDLE
 *   CONNECTING  connect-back done -> RECEIVING | failed -> IDLE
 *   RECEIVING   bytes -> feed, ack each read; all bytes -> finish -> "OK"
 *               or an error line, CLOSING; silence or close -> IDLE
 *   CLOSING     the close action is taken -> IDLE (and REBOOT on success)
 * Invitations the engine does not take get "ERR: busy" and change
 * nothing. Lapsed logins (timed out, or taken over) count as failed logins
 * for their host.
 */
#include <string.h>

#include "aloft/espota_device.h"
#include "aloft/util.h"
#include "sbuf.h"

/* ------------------------------------------------------------------ */
/* Short refusal texts (UDP, at most 32 bytes for old espota). */

typedef struct {
    int err;              /* 0: any other code, sent as the code itself */
    const char *text;     /* after "ERR: "; %h and %w stand for have and want */
} refusal_t;

static const refusal_t refusals[] = {
    {ALOFT_ERR_TOO_LARGE, "too large %h>%w"},
    {ALOFT_ERR_SIZE, "bad size %h"},
    {ALOFT_ERR_BUSY, "busy"},
    {ALOFT_ERR_PENDING, "unconfirmed, retry later"},
    {ALOFT_ERR_NO_SLOT, "no target partition"},
    {ALOFT_ERR_SAME_SLOT, "no other OTA slot"},
    {ALOFT_ERR_NO_OTADATA, "no otadata partition"},
    {ALOFT_ERR_PROTO, "bad md5 in invitation"},
    {ALOFT_ERR_RATE, "locked out, wait %h s"},
    {ALOFT_ERR_LOGIN_BUDGET, "too many logins, wait %h s"},
    {0, "code -%h"},
};

/* A number is written in bytes, or, where that would not fit, as an exact
 * multiple of K (1024) or M (1048576): "1280K" is 1 310 720, never rounded. */
static const uint32_t units[] = {1u, 1024u, 1024u * 1024u};
static const char unit_suffix[] = {'\0', 'K', 'M'};

static const refusal_t *refusal_for(int err)
{
    size_t i = 0;
    while (refusals[i].err != err && refusals[i].err != 0)
        i++;
    return &refusals[i];
}

/* "ERR: " and r's text with have in unit uh and want in unit uw; false if a
 * number is not a whole multiple of its unit. */
static bool render(aloft_sbuf_t *b, const refusal_t *r, uint32_t have, uint32_t want,
                   unsigned uh, unsigned uw)
{
    aloft_sbuf_str(b, "ERR: ");
    for (const char *t = r->text; *t; t++) {
        if (t[0] != '%' || (t[1] != 'h' && t[1] != 'w')) {
            aloft_sbuf_char(b, *t);
            continue;
        }
        uint32_t v = *++t == 'h' ? have : want;
        unsigned u = *t == 'h' ? uh : uw;
        if (v % units[u] != 0)
            return false;
        aloft_sbuf_u32(b, v / units[u]);
        if (u)
            aloft_sbuf_char(b, unit_suffix[u]);
    }
    return true;
}

size_t aloft_espota_refusal(const aloft_diag_t *d, char *out, size_t n)
{
    size_t cap = n < ALOFT_ESPOTA_UDP_REPLY_MAX + 1 ? n : ALOFT_ESPOTA_UDP_REPLY_MAX + 1;
    const refusal_t *r = refusal_for(d->err);
    uint32_t have = r->err ? d->have : 0u - (uint32_t)d->err;
    aloft_sbuf_t b;
    /* Bytes first; then K and M, the slot (want) before the image. */
    for (unsigned uw = 0; uw < 3; uw++) {
        for (unsigned uh = 0; uh <= uw; uh++) {
            aloft_sbuf_init(&b, out, cap);
            if (render(&b, r, have, d->want, uh, uw) && aloft_sbuf_fits(&b))
                return b.len;
        }
    }
    /* Nothing fits exactly (only a slot size that is no multiple of 1 KiB
     * can get here): the bare code, which carries no number at all. */
    r = refusal_for(0);
    aloft_sbuf_init(&b, out, cap);
    render(&b, r, 0u - (uint32_t)d->err, 0, 0, 0);
    return aloft_sbuf_stored(&b);
}

/* A number as render writes it: digits and an optional K or M. Returns
 * false if there are no digits or the value does not fit 32 bits. */
static bool parse_number(const char **p, const char *end, uint32_t *v)
{
    uint64_t x = 0;
    const char *start = *p;
    while (*p < end && **p >= '0' && **p <= '9' && x <= 0xFFFFFFFFu)
        x = x * 10 + (uint64_t)(*(*p)++ - '0');
    if (*p == start)
        return false;
    for (unsigned u = 1; u < 3 && *p < end; u++) {
        if (**p == unit_suffix[u]) {
            x *= units[u];
            (*p)++;
            break;
        }
    }
    *v = (uint32_t)x;
    return x <= 0xFFFFFFFFu;
}

/* text (after "ERR: ") matches r, numbers included; trailing bytes are
 * ignored. */
static bool parse_as(const refusal_t *r, const char *text, const char *end, aloft_diag_t *d)
{
    const char *p = text;
    for (const char *t = r->text; *t; t++) {
        if (t[0] == '%' && (t[1] == 'h' || t[1] == 'w')) {
            if (!parse_number(&p, end, *++t == 'h' ? &d->have : &d->want))
                return false;
        } else if (p == end || *p++ != *t) {
            return false;
        }
    }
    return true;
}

bool aloft_espota_parse_refusal(const char *text, size_t len, aloft_diag_t *d)
{
    const char *end = text + len;
    if (len < 5 || memcmp(text, "ERR: ", 5) != 0)
        return false;
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        memset(d, 0, sizeof *d);
        if (!parse_as(&refusals[i], text + 5, end, d))
            continue;
        if (refusals[i].err) {
            d->err = refusals[i].err;
        } else {   /* the code itself; only a negative int is one */
            if (d->have == 0 || d->have > 0x7FFFFFFFu)
                return false;
            d->err = -(int)d->have;
            d->have = 0;
        }
        return true;
    }
    memset(d, 0, sizeof *d);
    return false;
}

/* ------------------------------------------------------------------ */
/* Output queues. */

static void udp_reply(aloft_espota_t *e, uint32_t ip, uint16_t port, const char *text, size_t n)
{
    if (n > sizeof e->udp_out)
        n = sizeof e->udp_out;
    memcpy(e->udp_out, text, n);
    e->udp_len = n;
    e->udp_ip = ip;
    e->udp_port = port;
}

static void udp_text(aloft_espota_t *e, uint32_t ip, uint16_t port, const char *text)
{
    udp_reply(e, ip, port, text, strlen(text));
}

/* Append to the TCP output; acks are advisory, so a full queue drops. */
static void tcp_queue(aloft_espota_t *e, const char *s, size_t n)
{
    if (n > sizeof e->tcp_out - e->tcp_len)
        n = sizeof e->tcp_out - e->tcp_len;
    memcpy(e->tcp_out + e->tcp_len, s, n);
    e->tcp_len += n;
}

/* ------------------------------------------------------------------ */

int aloft_espota_init(aloft_espota_t *e, const aloft_espota_config_t *cfg)
{
    if (e == NULL || cfg == NULL || cfg->dev == NULL || cfg->update == NULL)
        return ALOFT_ERR_ARG;
    const aloft_crypto_t *c = cfg->dev->crypto;
    size_t want = cfg->auth == ALOFT_ESPOTA_AUTH_MD5 ? 32 : 64;
    /* Every invitation carries an MD5 the pipeline checks. */
    if (c == NULL || c->md5 == NULL || c->sha256 == NULL || cfg->auth > ALOFT_ESPOTA_AUTH_PBKDF2)
        return ALOFT_ERR_ARG;
    /* PBKDF2 devices accept a 64-hex SHA-256 or a 32-hex MD5 secret. */
    if (cfg->auth != ALOFT_ESPOTA_AUTH_NONE &&
        (cfg->secret == NULL || c->random == NULL ||
         (cfg->auth == ALOFT_ESPOTA_AUTH_PBKDF2 && c->pbkdf2_sha256 == NULL) ||
         (strlen(cfg->secret) != want &&
          !(cfg->auth == ALOFT_ESPOTA_AUTH_PBKDF2 && strlen(cfg->secret) == 32))))
        return ALOFT_ERR_ARG;
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    if (e->cfg.idle_timeout_ms == 0)
        e->cfg.idle_timeout_ms = ALOFT_ESPOTA_IDLE_TIMEOUT_MS;
    if (e->cfg.auth_timeout_ms == 0)
        e->cfg.auth_timeout_ms = ALOFT_ESPOTA_AUTH_TIMEOUT_MS;
    return ALOFT_OK;
}

static void enter(aloft_espota_t *e, uint8_t state, uint32_t now)
{
    e->state = state;
    e->since_ms = now;
}

/* The short refusal text for d, to ip:port. */
static void refuse(aloft_espota_t *e, uint32_t ip, uint16_t port, const aloft_diag_t *d)
{
    char text[ALOFT_ESPOTA_UDP_REPLY_MAX + 1];
    udp_reply(e, ip, port, text, aloft_espota_refusal(d, text, sizeof text));
}

/* Begin the update the invitation announces; on success reply "OK" to
 * reply_ip:reply_port and ask for the connect-back, else send the refusal. */
static void begin_update(aloft_espota_t *e, uint32_t now, uint32_t reply_ip, uint16_t reply_port)
{
    uint8_t md5[16];
    aloft_update_req_t req = {
        .target = e->inv.cmd == ALOFT_ESPOTA_CMD_FLASH ? ALOFT_TARGET_APP : ALOFT_TARGET_FS,
        .size = e->inv.size, .md5 = md5, .fs_label = e->cfg.fs_label};
    int err = aloft_unhex(e->inv.md5, 32, md5, sizeof md5) ? ALOFT_OK : ALOFT_ERR_PROTO;
    if (err == ALOFT_OK)
        err = aloft_update_begin(e->cfg.update, e->cfg.dev, &req);
    e->last_err = err;
    if (err) {
        aloft_diag_t d = *aloft_update_diag(e->cfg.update);
        if (d.err != err)   /* BUSY and PROTO leave the session's diag alone */
            aloft_diag_set(&d, err, 0, 0, NULL);
        refuse(e, reply_ip, reply_port, &d);
        enter(e, ALOFT_ESPOTA_IDLE, now);
        return;
    }
    udp_text(e, reply_ip, reply_port, "OK");
    e->want_connect = true;
    e->received = 0;
    enter(e, ALOFT_ESPOTA_CONNECTING, now);
}

/* The limiter lets ip try a login now; else it gets the refusal (with the
 * seconds to wait) and nothing else happens: no nonce, no derivation. */
static bool may_log_in(aloft_espota_t *e, uint32_t now, uint32_t ip, uint16_t port, bool retry)
{
    uint32_t wait;
    aloft_diag_t d;
    int err = aloft_login_check(e->cfg.limiter, ip, now, retry, &wait);
    if (err) {
        e->last_err = aloft_diag_set(&d, err, (wait + 999u) / 1000u, 0, NULL);
        refuse(e, ip, port, &d);
    }
    return err == 0;
}

static void start_auth(aloft_espota_t *e, uint32_t now, uint32_t ip, uint16_t port)
{
    uint8_t raw[32];
    size_t n = e->cfg.auth == ALOFT_ESPOTA_AUTH_MD5 ? 16 : 32;
    char msg[5 + ALOFT_ESPOTA_HEX_MAX];
    if (e->cfg.dev->crypto->random(e->cfg.dev->crypto->ctx, raw, n) != 0) {
        enter(e, ALOFT_ESPOTA_IDLE, now);   /* no nonce, no login: stay silent */
        return;
    }
    aloft_hex(raw, n, e->nonce);
    memcpy(msg, "AUTH ", 5);
    memcpy(msg + 5, e->nonce, 2 * n);
    udp_reply(e, ip, port, msg, 5 + 2 * n);
    enter(e, ALOFT_ESPOTA_WAIT_AUTH, now);
}

/* inv from ip is the second try of the PBKDF2 login that just failed
 * (same invitation, within ALOFT_ESPOTA_RETRY_MS); asking uses it up. */
static bool second_try(aloft_espota_t *e, uint32_t now, uint32_t ip,
                       const aloft_espota_invite_t *inv)
{
    if (!e->may_retry || ip != e->failed_ip)
        return false;
    e->may_retry = false;
    return now - e->failed_ms < ALOFT_ESPOTA_RETRY_MS && inv->cmd == e->failed_inv.cmd &&
           inv->size == e->failed_inv.size && memcmp(inv->md5, e->failed_inv.md5, 32) == 0;
}

/* An invitation the engine takes: from IDLE, again from the host whose
 * login is pending (a fresh nonce; its hold does not start again), or one
 * that takes over a pending login. */
static void on_invite(aloft_espota_t *e, uint32_t now, uint32_t ip, uint16_t port,
                      const aloft_espota_invite_t *inv)
{
    bool again = e->state == ALOFT_ESPOTA_WAIT_AUTH && ip == e->peer_ip;
    bool retry = again ? e->retry : second_try(e, now, ip, inv);
    if (e->cfg.auth != ALOFT_ESPOTA_AUTH_NONE && !may_log_in(e, now, ip, port, retry))
        return;
    if (e->state == ALOFT_ESPOTA_WAIT_AUTH && !again)   /* the displaced login was never answered */
        aloft_login_failed(e->cfg.limiter, e->peer_ip, now, e->retry);
    if (!again)
        e->pending_ms = now;
    e->retry = retry;
    e->peer_ip = ip;
    e->peer_port = port;
    e->inv = *inv;
    if (e->cfg.auth == ALOFT_ESPOTA_AUTH_NONE)
        begin_update(e, now, ip, port);
    else
        start_auth(e, now, ip, port);
}

static void on_auth(aloft_espota_t *e, uint32_t now, uint16_t port, const void *data, size_t len)
{
    size_t hex_len = e->cfg.auth == ALOFT_ESPOTA_AUTH_MD5 ? 32 : 64;
    char cnonce[ALOFT_ESPOTA_HEX_MAX], response[ALOFT_ESPOTA_HEX_MAX], want[ALOFT_ESPOTA_HEX_MAX];
    /* Not an answer: ignored (ArduinoOTA resets, which would let a host
     * restart its hold on the device at will). */
    if (aloft_espota_parse_auth(data, len, hex_len, cnonce, response) != 0)
        return;
    if (!may_log_in(e, now, e->peer_ip, port, e->retry)) {   /* e.g. the budget went meanwhile */
        e->nonce[0] = '\0';
        enter(e, ALOFT_ESPOTA_IDLE, now);
        return;
    }
    int err = aloft_espota_response(e->cfg.dev->crypto, e->cfg.auth, e->cfg.secret, e->nonce,
                                    cnonce, want);
    e->nonce[0] = '\0';   /* one try per nonce */
    if (err || !aloft_ct_equal(want, response, hex_len)) {
        e->last_err = err ? err : ALOFT_ERR_AUTH;
        aloft_login_failed(e->cfg.limiter, e->peer_ip, now, e->retry);
        /* espota tries a PBKDF2 password twice (as SHA-256, then MD5 secret) */
        e->may_retry = !e->retry && e->cfg.auth == ALOFT_ESPOTA_AUTH_PBKDF2;
        e->failed_ip = e->peer_ip;
        e->failed_ms = now;
        e->failed_inv = e->inv;
        udp_text(e, e->peer_ip, port, "Authentication Failed");
        enter(e, ALOFT_ESPOTA_IDLE, now);
        return;
    }
    aloft_login_succeeded(e->cfg.limiter, e->peer_ip);
    begin_update(e, now, e->peer_ip, port);
}

/* A pending login holds other inviters off for ALOFT_ESPOTA_AUTH_HOLD_MS
 * from its host's first invitation, and not at all against a host that
 * logged in before when its own host has not. */
static bool may_take_over(const aloft_espota_t *e, uint32_t now, uint32_t ip)
{
    const aloft_login_limiter_t *l = e->cfg.limiter;
    return now - e->pending_ms >= ALOFT_ESPOTA_AUTH_HOLD_MS ||
           (aloft_login_known(l, ip) && !aloft_login_known(l, e->peer_ip));
}

void aloft_espota_on_datagram(aloft_espota_t *e, uint32_t now_ms, uint32_t ip, uint16_t port,
                              const void *data, size_t len)
{
    aloft_espota_invite_t inv;
    bool is_invite = aloft_espota_parse_invite(data, len, &inv) == 0;
    bool waiting = e->state == ALOFT_ESPOTA_WAIT_AUTH;
    if (e->state == ALOFT_ESPOTA_IDLE || (waiting && ip == e->peer_ip)) {
        if (is_invite)
            on_invite(e, now_ms, ip, port, &inv);
        else if (waiting)
            on_auth(e, now_ms, port, data, len);
    } else if (is_invite && waiting && may_take_over(e, now_ms, ip)) {
        on_invite(e, now_ms, ip, port, &inv);
    } else if (is_invite) {
        udp_text(e, ip, port, "ERR: busy");
    }
}

void aloft_espota_on_connect(aloft_espota_t *e, uint32_t now_ms, bool ok)
{
    if (e->state != ALOFT_ESPOTA_CONNECTING)
        return;
    if (ok) {
        enter(e, ALOFT_ESPOTA_RECEIVING, now_ms);
        return;
    }
    aloft_update_abort(e->cfg.update, ALOFT_ERR_CONNECT);
    e->last_err = ALOFT_ERR_CONNECT;
    enter(e, ALOFT_ESPOTA_IDLE, now_ms);
}

/* End the session with "OK" (err 0) or an error line, then close. "OK"
 * waits ALOFT_ESPOTA_RESULT_DELAY_MS (see tick) so it never arrives glued to
 * the last ack: ESP8266 espota reads the last ack, then waits for a
 * separate "OK", and spins forever if it was swallowed with the ack. */
static void conclude(aloft_espota_t *e, uint32_t now, int err)
{
    char line[sizeof e->tcp_out];
    aloft_diag_t d = *aloft_update_diag(e->cfg.update);
    size_t n;
    e->last_err = err;
    enter(e, ALOFT_ESPOTA_CLOSING, now);
    if (err == 0) {
        e->ok_pending = true;
        return;
    }
    if (d.err == 0)
        aloft_diag_set(&d, err, 0, 0, NULL);
    memcpy(line, "ERR: ", 5);
    n = 5 + aloft_diag_format(&d, line + 5, sizeof line - 7);
    line[n++] = '\r';
    line[n++] = '\n';
    tcp_queue(e, line, n);
    e->want_close = true;
}

void aloft_espota_on_tcp(aloft_espota_t *e, uint32_t now_ms, const void *data, size_t len)
{
    char ack[12];
    aloft_sbuf_t b;
    if (e->state != ALOFT_ESPOTA_RECEIVING || len == 0)
        return;
    e->since_ms = now_ms;
    int err = aloft_update_feed(e->cfg.update, data, len);
    if (err) {
        conclude(e, now_ms, err);
        return;
    }
    e->received += (uint32_t)len;
    aloft_sbuf_init(&b, ack, sizeof ack);
    aloft_sbuf_u32(&b, (uint32_t)len);   /* ArduinoOTA acks each read's count */
    tcp_queue(e, ack, b.len);
    if (e->received == e->inv.size)
        conclude(e, now_ms, aloft_update_finish(e->cfg.update));
}

void aloft_espota_on_tcp_closed(aloft_espota_t *e, uint32_t now_ms)
{
    if (e->state == ALOFT_ESPOTA_CLOSING && e->ok_pending) {
        /* The update is done; the host just did not wait for "OK". */
        e->ok_pending = false;
        e->want_reboot = e->inv.cmd == ALOFT_ESPOTA_CMD_FLASH;
        e->want_close = true;
    } else if (e->state == ALOFT_ESPOTA_RECEIVING || e->state == ALOFT_ESPOTA_CONNECTING) {
        aloft_update_abort(e->cfg.update, ALOFT_ERR_CLOSED);
        e->last_err = ALOFT_ERR_CLOSED;
        e->tcp_len = 0;
        enter(e, ALOFT_ESPOTA_IDLE, now_ms);
    }
}

void aloft_espota_tick(aloft_espota_t *e, uint32_t now_ms)
{
    uint32_t idle = now_ms - e->since_ms;   /* wrap-safe */
    switch (e->state) {
    case ALOFT_ESPOTA_WAIT_AUTH:
        if (idle >= e->cfg.auth_timeout_ms) {   /* never answered: counts as a failed login */
            aloft_login_failed(e->cfg.limiter, e->peer_ip, now_ms, e->retry);
            e->nonce[0] = '\0';
            enter(e, ALOFT_ESPOTA_IDLE, now_ms);
        }
        break;
    case ALOFT_ESPOTA_CONNECTING:
        if (idle >= ALOFT_ESPOTA_CONNECT_TIMEOUT_MS)
            aloft_espota_on_connect(e, now_ms, false);
        break;
    case ALOFT_ESPOTA_RECEIVING:
        if (idle >= e->cfg.idle_timeout_ms) {
            aloft_update_abort(e->cfg.update, ALOFT_ERR_TIMEOUT);
            conclude(e, now_ms, ALOFT_ERR_TIMEOUT);
        }
        break;
    case ALOFT_ESPOTA_CLOSING:
        if (e->ok_pending && idle >= ALOFT_ESPOTA_RESULT_DELAY_MS) {
            e->ok_pending = false;
            tcp_queue(e, "OK", 2);
            e->want_close = true;
            e->want_reboot = e->inv.cmd == ALOFT_ESPOTA_CMD_FLASH;
        }
        break;
    default:
        break;
    }
}

bool aloft_espota_next(aloft_espota_t *e, aloft_espota_action_t *a)
{
    memset(a, 0, sizeof *a);
    if (e->udp_len) {
        a->kind = ALOFT_ESPOTA_ACT_UDP_SEND;
        a->ip = e->udp_ip;
        a->port = e->udp_port;
        a->data = e->udp_out;
        a->len = e->udp_len;
        e->udp_len = 0;
    } else if (e->want_connect) {
        a->kind = ALOFT_ESPOTA_ACT_CONNECT;
        a->ip = e->peer_ip;
        a->port = (uint16_t)e->inv.port;
        e->want_connect = false;
    } else if (e->tcp_len) {
        /* The port sends all of it before it calls the engine again. */
        a->kind = ALOFT_ESPOTA_ACT_TCP_SEND;
        a->data = e->tcp_out;
        a->len = e->tcp_len;
        e->tcp_len = 0;
    } else if (e->want_close) {
        a->kind = ALOFT_ESPOTA_ACT_TCP_CLOSE;
        e->want_close = false;
        if (e->state == ALOFT_ESPOTA_CLOSING)
            e->state = ALOFT_ESPOTA_IDLE;
    } else if (e->want_reboot) {
        a->kind = ALOFT_ESPOTA_ACT_REBOOT;
        e->want_reboot = false;
    }
    return a->kind != ALOFT_ESPOTA_ACT_NONE;
}

aloft_espota_state_t aloft_espota_state(const aloft_espota_t *e)
{
    return (aloft_espota_state_t)e->state;
}

int aloft_espota_last_error(const aloft_espota_t *e)
{
    return e->last_err;
}
