/*
 * lib/espota_host.c — the espota host engine's handshake: invitation,
 * login (both schemes, espota 3.3.1's MD5-secret retry), the wait for the
 * connect-back, and the action queue and timers. The data phase is in
 * espota_host_data.c. The contract is in aloft/espota_host.h.
 *
 * States and what moves them:
 *   INVITING        "OK" -> CONNECTING | "AUTH <nonce>" -> AUTHENTICATING
 *                   | "ERR..." refused | other text: not ArduinoOTA
 *                   | invite_timeout_ms -> again, `tries` in all
 *   AUTHENTICATING  "OK" -> CONNECTING | "Authentication Failed" -> done,
 *                   or (SHA-256 secret) INVITING again for the MD5 one
 *                   | "ERR..." refused after a good login
 *                   | auth_resend_ms -> the datagram again, until timeout_ms
 *   CONNECTING      on_connected -> SENDING | timeout_ms -> done
 * A connect-back in INVITING or AUTHENTICATING is the device's "OK" that
 * did not arrive.
 */
#include <string.h>

#include "aloft/error.h"
#include "aloft/espota_device.h"
#include "aloft/util.h"
#include "espota_host_data.h"

enum { UDP_INVITE = 1, UDP_AUTH = 2 };   /* udp_pending */

uint32_t aloft_espota_host_left(uint32_t since, uint32_t span, uint32_t now)
{
    uint32_t gone = now - since;
    return gone >= span ? 0 : span - gone;
}

void aloft_espota_host_end(aloft_espota_host_t *e, int err, aloft_espota_host_why_t why)
{
    if (e->state == ALOFT_ESPOTA_HOST_DONE)
        return;
    e->res.err = err;
    e->res.why = why;
    e->state = ALOFT_ESPOTA_HOST_DONE;
    e->udp_pending = 0;
}

void aloft_espota_host_event(aloft_espota_host_t *e, aloft_espota_host_event_t ev)
{
    const unsigned max = sizeof e->evq / sizeof e->evq[0];
    if (e->ev_len == max)
        return;   /* the port takes them after every call; a call makes at most two */
    unsigned i = (e->ev_head + e->ev_len++) % max;
    e->evq[i].event = (uint8_t)ev;
    e->evq[i].auth = e->login_auth;
    e->evq[i].md5_secret = e->login_md5_secret;
}

int aloft_espota_host_text_code(const char *text)
{
    aloft_diag_t d;
    /* aloft's codes are -1..-99; "ERR: code -<n>" may carry any n */
    bool known = aloft_espota_parse_refusal(text, strlen(text), &d) && d.err < 0 && d.err > -100;
    return known ? d.err : ALOFT_ERR_PROTO;
}

/* ---- set-up ------------------------------------------------------------ */

static int hash_image(aloft_espota_host_t *e)
{
    const aloft_hash_alg_t *md5 = e->cfg.crypto->md5;
    aloft_hash_ctx_t h;
    uint8_t digest[ALOFT_MD5_LEN];
    int err = aloft_hash_init(md5, &h);
    for (uint32_t off = 0; err == ALOFT_OK && off < e->cfg.size; off += e->buf_len) {
        uint32_t n = e->cfg.size - off < sizeof e->buf ? e->cfg.size - off : sizeof e->buf;
        const void *p = e->cfg.data ? e->cfg.data + off : e->buf;
        if (e->cfg.data == NULL) {
            int got = e->cfg.read(e->cfg.read_ctx, off, e->buf, n);
            if (got != (int)n)
                err = got < 0 ? got : ALOFT_ERR_IO;
        }
        e->buf_len = n;
        if (err == ALOFT_OK)
            md5->update(&h, p, n);
    }
    e->buf_len = 0;
    if (err)
        return err;
    md5->finish(&h, digest);
    aloft_hex(digest, sizeof digest, e->md5hex);   /* lowercase: old cores compare so */
    return ALOFT_OK;
}

int aloft_espota_host_init(aloft_espota_host_t *e, const aloft_espota_host_config_t *cfg)
{
    if (e == NULL || cfg == NULL || cfg->crypto == NULL || cfg->crypto->md5 == NULL ||
        cfg->address == NULL || cfg->filename == NULL ||
        (cfg->data == NULL && cfg->read == NULL))
        return ALOFT_ERR_ARG;
    if (cfg->size == 0 || cfg->size > ALOFT_ESPOTA_HOST_SIZE_MAX)
        return ALOFT_ERR_SIZE;
    memset(e, 0, sizeof *e);
    e->cfg = *cfg;
    if (e->cfg.tries == 0)
        e->cfg.tries = ALOFT_ESPOTA_HOST_TRIES;
    if (e->cfg.invite_timeout_ms == 0)
        e->cfg.invite_timeout_ms = ALOFT_ESPOTA_HOST_TIMEOUT_MS;
    if (e->cfg.auth_resend_ms == 0)
        e->cfg.auth_resend_ms = ALOFT_ESPOTA_HOST_AUTH_RESEND_MS;
    if (e->cfg.timeout_ms == 0)
        e->cfg.timeout_ms = ALOFT_ESPOTA_HOST_TIMEOUT_MS;
    if (e->cfg.window == 0)
        e->cfg.window = ALOFT_ESPOTA_HOST_WINDOW;
    return hash_image(e);
}

/* ---- invitation -------------------------------------------------------- */

static void send_invite(aloft_espota_host_t *e, uint32_t now)
{
    e->udp_pending = UDP_INVITE;
    e->tries_left--;
    e->state = ALOFT_ESPOTA_HOST_INVITING;
    e->since_ms = e->sent_ms = now;
}

static void invite_round(aloft_espota_host_t *e, uint32_t now)
{
    e->tries_left = e->cfg.tries;
    send_invite(e, now);
}

void aloft_espota_host_start(aloft_espota_host_t *e, uint32_t now_ms, uint16_t listen_port)
{
    if (e->state != ALOFT_ESPOTA_HOST_IDLE)
        return;
    if (listen_port == 0) {
        aloft_espota_host_end(e, ALOFT_ERR_ARG, ALOFT_ESPOTA_HOST_WHY_LOCAL);
        return;
    }
    aloft_espota_invite_t inv;
    memset(&inv, 0, sizeof inv);
    inv.cmd = e->cfg.fs ? ALOFT_ESPOTA_CMD_FS : ALOFT_ESPOTA_CMD_FLASH;
    inv.port = listen_port;
    inv.size = e->cfg.size;
    memcpy(inv.md5, e->md5hex, sizeof inv.md5);
    /* at most 3 + 6 + 11 + 33 characters: always fits */
    e->invite_len = (uint8_t)aloft_espota_format_invite(&inv, (char *)e->invite,
                                                         sizeof e->invite);
    aloft_espota_host_event(e, ALOFT_ESPOTA_HOST_EV_INVITE);
    invite_round(e, now_ms);
}

/* The try in flight is over without an answer. */
static void unanswered(aloft_espota_host_t *e, uint32_t now)
{
    aloft_espota_host_event(e, ALOFT_ESPOTA_HOST_EV_NO_ANSWER);
    if (e->tries_left > 0)
        send_invite(e, now);
    else
        aloft_espota_host_end(e, ALOFT_ERR_TIMEOUT, ALOFT_ESPOTA_HOST_WHY_NO_ANSWER);
}

/* ---- answers ----------------------------------------------------------- */

static bool starts(const void *data, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && memcmp(data, word, n) == 0;
}

static void logged_in(aloft_espota_host_t *e)
{
    e->res.auth = (aloft_espota_auth_t)e->login_auth;
    e->res.md5_secret = e->login_md5_secret;
    aloft_espota_host_event(e, ALOFT_ESPOTA_HOST_EV_AUTH_OK);
}

/* The device agreed (its "OK", or its connect-back standing for it). */
static void accepted(aloft_espota_host_t *e, uint32_t now)
{
    if (e->state == ALOFT_ESPOTA_HOST_AUTHENTICATING)
        logged_in(e);
    e->udp_pending = 0;
    e->state = ALOFT_ESPOTA_HOST_CONNECTING;
    e->since_ms = now;
    aloft_espota_host_event(e, ALOFT_ESPOTA_HOST_EV_ACCEPTED);
}

/* Neither "OK" nor a challenge: a refusal ("ERR: ...", aloft's short texts
 * carry their code) or something that is not ArduinoOTA at all. */
static void other_answer(aloft_espota_host_t *e, const void *data, size_t len)
{
    aloft_printable(data, len, e->res.text, sizeof e->res.text);
    if (!starts(data, len, "ERR")) {
        aloft_espota_host_end(e, ALOFT_ERR_PROTO, ALOFT_ESPOTA_HOST_WHY_BAD_ANSWER);
        return;
    }
    /* A refusal after our login means the password was right: devices
     * begin the update only after a good one. */
    if (e->state == ALOFT_ESPOTA_HOST_AUTHENTICATING)
        logged_in(e);
    aloft_espota_host_end(e, aloft_espota_host_text_code(e->res.text),
                          ALOFT_ESPOTA_HOST_WHY_REFUSED);
}

/* "AUTH <nonce>": answer it with the password. */
static void challenge(aloft_espota_host_t *e, uint32_t now, const uint8_t *p, size_t len)
{
    char secret[ALOFT_ESPOTA_HEX_MAX], nonce[ALOFT_ESPOTA_HEX_MAX], cnonce[ALOFT_ESPOTA_HEX_MAX],
        resp[ALOFT_ESPOTA_HEX_MAX];
    size_t i = 5, n = 0;
    if (e->cfg.password == NULL || e->cfg.password[0] == '\0') {
        aloft_espota_host_end(e, ALOFT_ERR_AUTH, ALOFT_ESPOTA_HOST_WHY_NO_PASSWORD);
        return;
    }
    while (i < len && p[i] == ' ')
        i++;
    while (i + n < len && p[i + n] != ' ' && p[i + n] != '\r' && p[i + n] != '\n' &&
           p[i + n] != '\0')
        n++;
    if (n != 32 && n != 64) {
        e->res.nonce_len = (uint32_t)n;
        aloft_espota_host_end(e, ALOFT_ERR_PROTO, ALOFT_ESPOTA_HOST_WHY_BAD_NONCE);
        return;
    }
    memcpy(nonce, p + i, n);
    nonce[n] = '\0';
    aloft_espota_auth_t scheme = n == 32 ? ALOFT_ESPOTA_AUTH_MD5 : ALOFT_ESPOTA_AUTH_PBKDF2;
    bool md5_secret = scheme == ALOFT_ESPOTA_AUTH_MD5 || e->cfg.md5_target || e->res.retried_md5;
    const aloft_crypto_t *c = e->cfg.crypto;
    int err = aloft_espota_secret(c, md5_secret ? ALOFT_ESPOTA_AUTH_MD5 : scheme,
                                  e->cfg.password, secret);
    if (!err)
        err = aloft_espota_cnonce(c, scheme, e->cfg.filename, e->cfg.size, e->md5hex,
                                  e->cfg.address, cnonce);
    if (!err)
        err = aloft_espota_response(c, scheme, secret, nonce, cnonce, resp);
    if (err) {
        aloft_espota_host_end(e, err, ALOFT_ESPOTA_HOST_WHY_LOCAL);
        return;
    }
    e->login_auth = (uint8_t)scheme;
    e->login_md5_secret = md5_secret;
    aloft_espota_host_event(e, ALOFT_ESPOTA_HOST_EV_AUTH);
    /* "200 <cnonce> <response>\n": at most 3 + 1 + 64 + 1 + 64 + 1 bytes */
    size_t k = 4, cl = strlen(cnonce), rl = strlen(resp);
    memcpy(e->auth, "200 ", 4);
    memcpy(e->auth + k, cnonce, cl);
    k += cl;
    e->auth[k++] = ' ';
    memcpy(e->auth + k, resp, rl);
    k += rl;
    e->auth[k++] = '\n';
    e->auth_len = (uint8_t)k;
    e->udp_pending = UDP_AUTH;
    e->state = ALOFT_ESPOTA_HOST_AUTHENTICATING;
    e->since_ms = e->sent_ms = now;
}

static void auth_refused(aloft_espota_host_t *e, uint32_t now)
{
    aloft_espota_host_event(e, ALOFT_ESPOTA_HOST_EV_AUTH_FAILED);
    if (e->login_auth == ALOFT_ESPOTA_AUTH_MD5 || e->login_md5_secret) {
        aloft_espota_host_end(e, ALOFT_ERR_AUTH, ALOFT_ESPOTA_HOST_WHY_AUTH_FAILED);
        return;
    }
    /* ESP32 3.3.1+ built with setPasswordHash(md5): the secret is the MD5
     * hash. The device went back to idle; invite again for a new nonce. */
    e->res.retried_md5 = true;
    aloft_espota_host_event(e, ALOFT_ESPOTA_HOST_EV_RETRY_MD5);
    invite_round(e, now);
}

void aloft_espota_host_on_datagram(aloft_espota_host_t *e, uint32_t now_ms, const void *data,
                                   size_t len)
{
    bool authenticating = e->state == ALOFT_ESPOTA_HOST_AUTHENTICATING;
    if (e->state != ALOFT_ESPOTA_HOST_INVITING && !authenticating)
        return;   /* late or repeated answers */
    if (starts(data, len, "OK"))
        accepted(e, now_ms);
    else if (starts(data, len, "AUTH ")) {
        if (!authenticating)   /* a late challenge for an earlier invitation is no answer */
            challenge(e, now_ms, data, len);
    } else if (authenticating && starts(data, len, "Authentication Failed"))
        auth_refused(e, now_ms);
    else
        other_answer(e, data, len);
}

void aloft_espota_host_on_send_failed(aloft_espota_host_t *e, uint32_t now_ms)
{
    if (e->state == ALOFT_ESPOTA_HOST_INVITING)
        unanswered(e, now_ms);
}

void aloft_espota_host_on_connected(aloft_espota_host_t *e, uint32_t now_ms)
{
    if (e->state == ALOFT_ESPOTA_HOST_INVITING || e->state == ALOFT_ESPOTA_HOST_AUTHENTICATING)
        accepted(e, now_ms);
    if (e->state == ALOFT_ESPOTA_HOST_CONNECTING)
        aloft_espota_host_data_begin(e, now_ms);
}

/* ---- time -------------------------------------------------------------- */

void aloft_espota_host_tick(aloft_espota_host_t *e, uint32_t now_ms)
{
    const aloft_espota_host_config_t *c = &e->cfg;
    switch (e->state) {
    case ALOFT_ESPOTA_HOST_INVITING:
        if (aloft_espota_host_left(e->since_ms, c->invite_timeout_ms, now_ms) == 0)
            unanswered(e, now_ms);
        break;
    case ALOFT_ESPOTA_HOST_AUTHENTICATING:
        if (aloft_espota_host_left(e->since_ms, c->timeout_ms, now_ms) == 0)
            aloft_espota_host_end(e, ALOFT_ERR_TIMEOUT, ALOFT_ESPOTA_HOST_WHY_AUTH_SILENT);
        else if (aloft_espota_host_left(e->sent_ms, c->auth_resend_ms, now_ms) == 0) {
            e->udp_pending = UDP_AUTH;   /* the same datagram: the nonce is still the device's */
            e->sent_ms = now_ms;
        }
        break;
    case ALOFT_ESPOTA_HOST_CONNECTING:
        if (aloft_espota_host_left(e->since_ms, c->timeout_ms, now_ms) == 0)
            aloft_espota_host_end(e, ALOFT_ERR_CONNECT, ALOFT_ESPOTA_HOST_WHY_NO_CONNECT);
        break;
    case ALOFT_ESPOTA_HOST_SENDING:
        aloft_espota_host_data_tick(e, now_ms);
        break;
    default:
        break;
    }
}

uint32_t aloft_espota_host_wait_ms(const aloft_espota_host_t *e, uint32_t now_ms)
{
    const aloft_espota_host_config_t *c = &e->cfg;
    uint32_t a, b;
    switch (e->state) {
    case ALOFT_ESPOTA_HOST_INVITING:
        return aloft_espota_host_left(e->since_ms, c->invite_timeout_ms, now_ms);
    case ALOFT_ESPOTA_HOST_AUTHENTICATING:
        a = aloft_espota_host_left(e->since_ms, c->timeout_ms, now_ms);
        b = aloft_espota_host_left(e->sent_ms, c->auth_resend_ms, now_ms);
        return a < b ? a : b;
    case ALOFT_ESPOTA_HOST_CONNECTING:
        return aloft_espota_host_left(e->since_ms, c->timeout_ms, now_ms);
    case ALOFT_ESPOTA_HOST_SENDING:
        return aloft_espota_host_data_wait(e, now_ms);
    default:
        return UINT32_MAX;
    }
}

/* ---- actions ----------------------------------------------------------- */

bool aloft_espota_host_next(aloft_espota_host_t *e, aloft_espota_host_action_t *a)
{
    memset(a, 0, sizeof *a);
    if (e->ev_len) {
        a->kind = ALOFT_ESPOTA_HOST_ACT_EVENT;
        a->event = (aloft_espota_host_event_t)e->evq[e->ev_head].event;
        a->auth = (aloft_espota_auth_t)e->evq[e->ev_head].auth;
        a->md5_secret = e->evq[e->ev_head].md5_secret;
        e->ev_head = (uint8_t)((e->ev_head + 1) % (sizeof e->evq / sizeof e->evq[0]));
        e->ev_len--;
    } else if (e->udp_pending) {
        a->kind = ALOFT_ESPOTA_HOST_ACT_UDP_SEND;
        a->data = e->udp_pending == UDP_AUTH ? e->auth : e->invite;
        a->len = e->udp_pending == UDP_AUTH ? e->auth_len : e->invite_len;
        e->udp_pending = 0;
    } else if ((a->len = aloft_espota_host_data_offer(e, &a->data)) > 0) {
        a->kind = ALOFT_ESPOTA_HOST_ACT_TCP_SEND;
    }
    return a->kind != ALOFT_ESPOTA_HOST_ACT_NONE;
}

aloft_espota_host_state_t aloft_espota_host_state(const aloft_espota_host_t *e)
{
    return (aloft_espota_host_state_t)e->state;
}

const aloft_espota_host_result_t *aloft_espota_host_result(const aloft_espota_host_t *e)
{
    return &e->res;
}
