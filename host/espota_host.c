/*
 * host/espota_host.c — the espota uploader's handshake: invitation,
 * authentication (both schemes, with espota 3.3.1's MD5-secret retry) and
 * the connect-back. The data phase is in espota_transfer.c, the sockets in
 * espota_net.c.
 *
 * Every failure leaves a message and a hint in r->error that name what was
 * tried (address, port, seconds) and what the user can change.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "aloft/util.h"
#include "crypto_mbedtls.h"
#include "espota_host_priv.h"

static const aloft_crypto_t *const crypto = &aloft_mbedtls_crypto;

void espota_emit(espota_session_t *s, espota_event_t ev, const char *detail)
{
    if (s->u->on_event)
        s->u->on_event(s->u->ctx, ev, detail ? detail : "");
}

/* ---- answers from the device ---------------------------------------- */

typedef enum { REPLY_OK, REPLY_AUTH, REPLY_AUTH_FAILED, REPLY_OTHER } reply_kind_t;

/* What a datagram says; for AUTH the nonce goes to nonce (n bytes). */
static reply_kind_t classify(const char *buf, char *nonce, size_t n)
{
    if (strncmp(buf, "OK", 2) == 0)
        return REPLY_OK;
    if (strncmp(buf, "Authentication Failed", 21) == 0)
        return REPLY_AUTH_FAILED;
    if (strncmp(buf, "AUTH ", 5) != 0)
        return REPLY_OTHER;
    const char *p = buf + 5;
    size_t k = 0;
    while (*p == ' ')
        p++;
    while (*p && *p != ' ' && *p != '\r' && *p != '\n' && k + 1 < n)
        nonce[k++] = *p++;
    nonce[k] = '\0';
    return REPLY_AUTH;
}

/* A text that is neither OK nor AUTH: a refusal ("ERR: ...") or something
 * that is not ArduinoOTA at all. */
static int answer_error(espota_session_t *s, const char *buf, size_t len)
{
    host_printable(buf, len, s->r->device_text, sizeof s->r->device_text);
    espota_emit(s, ESPOTA_EV_DEVICE_SAID, s->r->device_text);
    if (strncmp(buf, "ERR", 3) == 0)
        return espota_explain_refusal(&s->r->error, buf, len, &s->ctx);
    return host_error_set(&s->r->error, ALOFT_ERR_PROTO, "unexpected answer from the device",
                          "it said \"%s\", which is not ArduinoOTA's; is another program "
                          "using UDP port %u on %s?", s->r->device_text, (unsigned)s->port,
                          s->host);
}

/* ---- invitation ------------------------------------------------------ */

static int no_answer(espota_session_t *s)
{
    if (s->port_refused)
        return host_error_set(&s->r->error, ALOFT_ERR_TIMEOUT, "device did not answer",
                              "%s is reachable but nothing listens on UDP port %u; check the "
                              "port (ESP32 uses 3232, ESP8266 8266, unless the firmware calls "
                              "ArduinoOTA.setPort) and that the firmware calls "
                              "ArduinoOTA.begin() once Wi-Fi is up", s->host, (unsigned)s->port);
    if (s->send_errno)
        return host_error_set(&s->r->error, ALOFT_ERR_TIMEOUT, "device did not answer",
                              "invitations to %s (UDP) could not be sent: %s; check the "
                              "address and this computer's network connection",
                              s->r->device_addr, strerror(s->send_errno));
    return host_error_set(&s->r->error, ALOFT_ERR_TIMEOUT, "device did not answer",
                          "sent %u invitation%s to %s (UDP) and got no reply within %u s each; "
                          "check that the device is powered and on this network, that its "
                          "firmware calls ArduinoOTA.handle() often (a loop() that blocks "
                          "never answers), and the port (ESP32 3232, ESP8266 8266)",
                          s->tries, s->tries == 1 ? "" : "s", s->r->device_addr,
                          (unsigned)((s->invite_ms + 999) / 1000));
}

/* Send the invitation until the device answers. Returns the answer's
 * length (in buf) or an error code. */
static int invite(espota_session_t *s, char *buf, size_t n)
{
    aloft_espota_invite_t inv;
    char line[96];
    memset(&inv, 0, sizeof inv);
    inv.cmd = s->u->fs ? ALOFT_ESPOTA_CMD_FS : ALOFT_ESPOTA_CMD_FLASH;
    inv.port = s->listen_port;
    inv.size = (uint32_t)s->u->size;
    memcpy(inv.md5, s->md5hex, sizeof inv.md5);
    int len = aloft_espota_format_invite(&inv, line, sizeof line);
    if (len < 0)
        return host_error_set(&s->r->error, len, "internal error", "invitation did not fit");
    for (unsigned t = 0; t < s->tries; t++) {
        espota_net_drain(s);   /* late answers to an earlier try would confuse the login */
        if (espota_net_send(s, line, (size_t)len) == ALOFT_OK) {
            ssize_t got = espota_net_reply(s, buf, n, s->invite_ms);
            if (got != 0)
                return (int)got;
        }
        espota_emit(s, ESPOTA_EV_NO_ANSWER, NULL);
    }
    return no_answer(s);
}

/* ---- authentication -------------------------------------------------- */

static const char *scheme_name(aloft_espota_auth_t scheme, bool md5_secret)
{
    if (scheme == ALOFT_ESPOTA_AUTH_MD5)
        return "MD5";
    return md5_secret ? "PBKDF2-HMAC-SHA256, MD5 secret" : "PBKDF2-HMAC-SHA256";
}

enum { LOGIN_OK = 0, LOGIN_REFUSED = 1 };

/* Answer the challenge nonce with the password; returns LOGIN_OK,
 * LOGIN_REFUSED or an error code. */
static int login(espota_session_t *s, aloft_espota_auth_t scheme, bool md5_secret,
                 const char *nonce)
{
    char secret[ALOFT_ESPOTA_HEX_MAX], cnonce[ALOFT_ESPOTA_HEX_MAX], resp[ALOFT_ESPOTA_HEX_MAX];
    char msg[8 + 2 * ALOFT_ESPOTA_HEX_MAX], buf[256], ignored[8];
    const char *name = scheme_name(scheme, md5_secret);
    int err = aloft_espota_secret(crypto, md5_secret ? ALOFT_ESPOTA_AUTH_MD5 : scheme,
                                  s->u->password, secret);
    if (!err)
        err = aloft_espota_cnonce(crypto, scheme, s->u->filename, (uint32_t)s->u->size,
                                  s->md5hex, s->host, cnonce);
    if (!err)
        err = aloft_espota_response(crypto, scheme, secret, nonce, cnonce, resp);
    if (err)
        return host_error_set(&s->r->error, err, "crypto failure",
                              "computing the %s response failed", name);
    espota_emit(s, ESPOTA_EV_AUTH, name);
    int len = snprintf(msg, sizeof msg, "%d %s %s\n", ALOFT_ESPOTA_CMD_AUTH, cnonce, resp);
    ssize_t got = 0;
    reply_kind_t kind = REPLY_AUTH;
    uint64_t deadline = host_now_ms() + s->timeout_ms;
    if (espota_net_send(s, msg, (size_t)len) != ALOFT_OK)
        deadline = 0;
    /* A late challenge for an earlier invitation is not the answer. */
    for (uint64_t now = host_now_ms(); kind == REPLY_AUTH && now < deadline;
         now = host_now_ms()) {
        got = espota_net_reply(s, buf, sizeof buf, (uint32_t)(deadline - now));
        if (got <= 0)
            break;
        kind = classify(buf, ignored, sizeof ignored);
    }
    if (got < 0)
        return (int)got;
    if (got == 0 || kind == REPLY_AUTH)
        return host_error_set(&s->r->error, ALOFT_ERR_TIMEOUT, "no answer to our authentication",
                              "the device sent its challenge but did not answer our response "
                              "within %u s; it may have restarted, or another upload "
                              "interrupted it; try again", (unsigned)(s->timeout_ms / 1000));
    if (kind == REPLY_AUTH_FAILED) {
        espota_emit(s, ESPOTA_EV_AUTH_FAILED, name);
        return LOGIN_REFUSED;
    }
    /* A refusal ("ERR: ...") also means the password was right: devices
     * only try to begin the update after a good login. */
    bool refusal = strncmp(buf, "ERR", 3) == 0;
    if (kind == REPLY_OK || refusal) {
        s->r->auth = scheme;
        s->r->md5_secret = md5_secret;
        espota_emit(s, ESPOTA_EV_AUTH_OK, name);
    }
    return kind == REPLY_OK ? LOGIN_OK : answer_error(s, buf, (size_t)got);
}

static int scheme_of(espota_session_t *s, const char *nonce, aloft_espota_auth_t *scheme)
{
    size_t len = strlen(nonce);
    if (len == 32 || len == 64) {
        *scheme = len == 32 ? ALOFT_ESPOTA_AUTH_MD5 : ALOFT_ESPOTA_AUTH_PBKDF2;
        return ALOFT_OK;
    }
    return host_error_set(&s->r->error, ALOFT_ERR_PROTO, "unexpected answer from the device",
                          "its challenge has %zu characters, expected 32 (MD5 login) or 64 "
                          "(PBKDF2 login, ESP32 core 3.3.1 and later)", len);
}

static int auth_failed(espota_session_t *s, bool tried_both)
{
    return host_error_set(&s->r->error, ALOFT_ERR_AUTH, "authentication failed",
                          "the device rejected the password%s; use the one its firmware sets "
                          "with ArduinoOTA.setPassword()", tried_both
                          ? " (tried as SHA-256 and as MD5 secret)" : "");
}

/* The device asked for a password with nonce. Returns 0 once it said OK. */
static int authenticate(espota_session_t *s, const char *nonce)
{
    aloft_espota_auth_t scheme = ALOFT_ESPOTA_AUTH_NONE;
    char buf[256], again[128];
    if (s->u->password == NULL || s->u->password[0] == '\0')
        return host_error_set(&s->r->error, ALOFT_ERR_AUTH, "the device asks for a password",
                              "pass the OTA password (the one its firmware sets with "
                              "ArduinoOTA.setPassword) with --auth PASSWORD");
    int rc = scheme_of(s, nonce, &scheme);
    if (rc == ALOFT_OK)
        rc = login(s, scheme, scheme == ALOFT_ESPOTA_AUTH_MD5 || s->u->md5_target, nonce);
    if (rc != LOGIN_REFUSED)
        return rc;
    if (scheme == ALOFT_ESPOTA_AUTH_MD5 || s->u->md5_target)
        return auth_failed(s, false);
    /* ESP32 3.3.1+ built with setPasswordHash(md5): the secret is the MD5
     * hash. The device went back to idle; invite again for a new nonce. */
    espota_emit(s, ESPOTA_EV_AUTH_RETRY_MD5, NULL);
    int got = invite(s, buf, sizeof buf);
    if (got < 0)
        return got;
    switch (classify(buf, again, sizeof again)) {
    case REPLY_OK:
        return ALOFT_OK;   /* the password was dropped meanwhile */
    case REPLY_AUTH:
        rc = scheme_of(s, again, &scheme);
        if (rc == ALOFT_OK)
            rc = login(s, scheme, true, again);
        return rc == LOGIN_REFUSED ? auth_failed(s, true) : rc;
    default:
        return answer_error(s, buf, (size_t)got);
    }
}

/* ---- the whole upload ------------------------------------------------ */

static int handshake(espota_session_t *s)
{
    char buf[256], nonce[128];
    espota_emit(s, ESPOTA_EV_INVITE, s->r->device_addr);
    int got = invite(s, buf, sizeof buf);
    if (got < 0)
        return got;
    switch (classify(buf, nonce, sizeof nonce)) {
    case REPLY_OK:
        return ALOFT_OK;
    case REPLY_AUTH:
        return authenticate(s, nonce);
    default:
        return answer_error(s, buf, (size_t)got);
    }
}

static int no_connect_back(espota_session_t *s)
{
    char ip[64], size[32];
    const char *colon;
    snprintf(ip, sizeof ip, "%s", s->r->connect_back);
    if ((colon = strrchr(ip, ':')) != NULL)
        ip[colon - ip] = '\0';
    host_grouped(s->u->size, size);
    return host_error_set(
        &s->r->error, ALOFT_ERR_CONNECT, "device did not connect back",
        "it accepted the upload but did not open a TCP connection to %s within %u s; usually a "
        "firewall on this computer blocks incoming connections (or the device is on another "
        "subnet or VPN and cannot reach %s): pick a port with %s N and allow incoming TCP on "
        "it. A stock ESP32 also stays silent here when the image (%s bytes) does not fit its "
        "OTA partition", s->r->connect_back, (unsigned)(s->timeout_ms / 1000), ip,
        s->u->host_port_flag ? s->u->host_port_flag : "--host-port", size);
}

static int check_upload(espota_session_t *s)
{
    const espota_upload_t *u = s->u;
    if (u->size == 0 || u->data == NULL)
        return host_error_set(&s->r->error, ALOFT_ERR_SIZE, "the file is empty",
                              "there is nothing to upload");
    if (u->size > 0x7FFFFFFFu)
        return host_error_set(&s->r->error, ALOFT_ERR_SIZE, "the file is too large",
                              "espota sizes are 31-bit; no ESP flash holds %zu bytes", u->size);
    if (u->device == NULL ||
        host_parse_device(u->device, u->default_port ? u->default_port : ALOFT_ESPOTA_PORT,
                          s->host, sizeof s->host, &s->port) != 0)
        return host_error_set(&s->r->error, ALOFT_ERR_ARG, "bad device address",
                              "'%s' is not HOST or HOST:PORT (IPv4 address or name, port "
                              "1-65535)", u->device ? u->device : "");
    return ALOFT_OK;
}

static void session_init(espota_session_t *s, const espota_upload_t *u, espota_result_t *r)
{
    uint8_t digest[ALOFT_MD5_LEN];
    memset(s, 0, sizeof *s);
    s->u = u;
    s->r = r;
    s->udp = s->listener = s->tcp = -1;
    s->tries = u->tries ? u->tries : ESPOTA_HOST_TRIES;
    s->invite_ms = u->invite_timeout_ms ? u->invite_timeout_ms : ESPOTA_HOST_TIMEOUT_MS;
    s->timeout_ms = u->timeout_ms ? u->timeout_ms : ESPOTA_HOST_TIMEOUT_MS;
    s->window = u->window ? u->window : ESPOTA_HOST_WINDOW;
    s->ctx.size = (uint32_t)u->size;
    s->ctx.first_byte = u->size && u->data ? u->data[0] : -1;
    s->ctx.fs = u->fs;
    if (u->data && u->size)
        aloft_hash_oneshot(crypto->md5, u->data, u->size, digest);
    else
        memset(digest, 0, sizeof digest);
    aloft_hex(digest, sizeof digest, s->md5hex);   /* lowercase: old cores compare so */
}

int espota_upload(const espota_upload_t *u, espota_result_t *r)
{
    espota_session_t s;
    memset(r, 0, sizeof *r);
    session_init(&s, u, r);
    int rc = check_upload(&s);
    if (rc == ALOFT_OK)
        rc = espota_net_resolve(&s);
    if (rc == ALOFT_OK)
        rc = espota_net_open(&s);   /* the listener exists before any invitation */
    if (rc == ALOFT_OK)
        rc = handshake(&s);
    if (rc == ALOFT_OK) {
        espota_emit(&s, ESPOTA_EV_ACCEPTED, r->connect_back);
        rc = espota_net_accept(&s, s.timeout_ms);
        if (rc == ALOFT_OK && s.tcp < 0)
            rc = no_connect_back(&s);
    }
    if (rc == ALOFT_OK) {
        close(s.listener);   /* one device, one connection */
        s.listener = -1;
        rc = espota_transfer(&s);
    }
    espota_net_close(&s);
    r->ok = rc == ALOFT_OK;
    if (r->ok)
        memset(&r->error, 0, sizeof r->error);
    else if (r->error.code == 0)
        r->error.code = rc;
    return rc;
}
