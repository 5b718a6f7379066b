/*
 * lib/espota.c — espota message formats and authentication (see
 * aloft/espota.h), shared by the device engine and the host uploader.
 */
#include <string.h>

#include "aloft/util.h"
#include "aloft/error.h"
#include "aloft/wire/espota.h"
#include "sbuf.h"

/* ------------------------------------------------------------------ */
/* Parsing, the ArduinoOTA way: positional and forgiving. */

typedef struct {
    const char *p, *end;
} cursor_t;

/* ArduinoOTA's parseInt: skip spaces, read up to 15 digits, stop at the
 * first non-digit without consuming it; no digits read as 0. */
static uint32_t read_int(cursor_t *c, bool *overflow)
{
    uint32_t v = 0;
    int digits = 0;
    while (c->p < c->end && *c->p == ' ')
        c->p++;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && digits < 15) {
        uint32_t d = (uint32_t)(*c->p++ - '0');
        if (v > (0xFFFFFFFFu - d) / 10)
            *overflow = true;
        v = v * 10 + d;
        digits++;
    }
    return v;
}

/* Copy the next token (up to stop, LF or NUL; stop '\0' = none) into out
 * (max-1 chars); returns its length, or max if it did not fit. */
static size_t read_token(cursor_t *c, char stop, char *out, size_t max)
{
    size_t n = 0;
    while (c->p < c->end && *c->p != '\n' && *c->p != '\0' && (stop == '\0' || *c->p != stop)) {
        if (n + 1 >= max)
            return max;
        out[n++] = *c->p++;
    }
    /* ArduinoOTA trims the MD5; trailing CR or spaces are not part of it. */
    while (n > 0 && (out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    out[n] = '\0';
    return n;
}

int aloft_espota_parse_invite(const void *data, size_t len, aloft_espota_invite_t *inv)
{
    cursor_t c = {data, (const char *)data + len};
    bool overflow = false;
    memset(inv, 0, sizeof *inv);
    inv->cmd = (int32_t)read_int(&c, &overflow);
    inv->port = read_int(&c, &overflow);
    inv->size = read_int(&c, &overflow);
    if (c.p < c.end)
        c.p++;   /* exactly one separator, as ArduinoOTA consumes */
    char md5[ALOFT_ESPOTA_HEX_MAX];   /* room for a CR or spaces before trimming */
    size_t md5_len = read_token(&c, '\0', md5, sizeof md5);
    bool fs = inv->cmd >= ALOFT_ESPOTA_CMD_FS && inv->cmd <= ALOFT_ESPOTA_CMD_FS + 3;
    if (overflow || (inv->cmd != ALOFT_ESPOTA_CMD_FLASH && !fs) || inv->port == 0 ||
        inv->port > 65535 || inv->size == 0 || md5_len != 32)
        return ALOFT_ERR_PROTO;
    for (size_t i = 0; i <= 32; i++)   /* old cores compare lowercase */
        inv->md5[i] = md5[i] >= 'A' && md5[i] <= 'F' ? (char)(md5[i] - 'A' + 'a') : md5[i];
    return ALOFT_OK;
}

int aloft_espota_format_invite(const aloft_espota_invite_t *inv, char *out, size_t n)
{
    aloft_sbuf_t b;
    if (inv->cmd < 0)
        return ALOFT_ERR_ARG;
    aloft_sbuf_init(&b, out, n);
    aloft_sbuf_u32(&b, (uint32_t)inv->cmd);
    aloft_sbuf_char(&b, ' ');
    aloft_sbuf_u32(&b, inv->port);
    aloft_sbuf_char(&b, ' ');
    aloft_sbuf_u32(&b, inv->size);
    aloft_sbuf_char(&b, ' ');
    aloft_sbuf_str(&b, inv->md5);
    aloft_sbuf_char(&b, '\n');
    return aloft_sbuf_fits(&b) ? (int)b.len : ALOFT_ERR_BUFFER;
}

int aloft_espota_parse_auth(const void *data, size_t len, size_t hex_len,
                            char cnonce[ALOFT_ESPOTA_HEX_MAX],
                            char response[ALOFT_ESPOTA_HEX_MAX])
{
    cursor_t c = {data, (const char *)data + len};
    bool overflow = false;
    if (read_int(&c, &overflow) != ALOFT_ESPOTA_CMD_AUTH || overflow)
        return ALOFT_ERR_PROTO;
    if (c.p < c.end)
        c.p++;
    if (read_token(&c, ' ', cnonce, ALOFT_ESPOTA_HEX_MAX) != hex_len)
        return ALOFT_ERR_PROTO;
    if (c.p < c.end)
        c.p++;
    if (read_token(&c, '\0', response, ALOFT_ESPOTA_HEX_MAX) != hex_len)
        return ALOFT_ERR_PROTO;
    return ALOFT_OK;
}

/* ------------------------------------------------------------------ */
/* Authentication. */

static const aloft_hash_alg_t *scheme_hash(const aloft_crypto_t *c, aloft_espota_auth_t auth)
{
    if (c == NULL)
        return NULL;
    return auth == ALOFT_ESPOTA_AUTH_MD5 ? c->md5
         : auth == ALOFT_ESPOTA_AUTH_PBKDF2 ? c->sha256 : NULL;
}

/* hashhex of the concatenation of up to five strings (NULL ends early). */
static int hash_hex(const aloft_hash_alg_t *alg, const char *const parts[5],
                    char out[ALOFT_ESPOTA_HEX_MAX])
{
    aloft_hash_ctx_t h;
    uint8_t digest[ALOFT_SHA256_LEN];
    int err = aloft_hash_init(alg, &h);
    if (err)
        return err;
    for (int i = 0; i < 5 && parts[i] != NULL; i++)
        alg->update(&h, parts[i], strlen(parts[i]));
    alg->finish(&h, digest);
    aloft_hex(digest, alg->digest_len, out);
    return ALOFT_OK;
}

int aloft_espota_secret(const aloft_crypto_t *c, aloft_espota_auth_t auth,
                        const char *password, char out[ALOFT_ESPOTA_HEX_MAX])
{
    const aloft_hash_alg_t *alg = scheme_hash(c, auth);
    const char *parts[5] = {password, NULL};
    return alg ? hash_hex(alg, parts, out) : ALOFT_ERR_ARG;
}

int aloft_espota_cnonce(const aloft_crypto_t *c, aloft_espota_auth_t auth,
                        const char *filename, uint32_t size, const char *md5hex,
                        const char *address, char out[ALOFT_ESPOTA_HEX_MAX])
{
    const aloft_hash_alg_t *alg = scheme_hash(c, auth);
    char size_str[12];
    aloft_sbuf_t b;
    aloft_sbuf_init(&b, size_str, sizeof size_str);
    aloft_sbuf_u32(&b, size);
    const char *parts[5] = {filename, size_str, md5hex, address, NULL};
    return alg ? hash_hex(alg, parts, out) : ALOFT_ERR_ARG;
}

int aloft_espota_response(const aloft_crypto_t *c, aloft_espota_auth_t auth,
                          const char *secret, const char *nonce, const char *cnonce,
                          char out[ALOFT_ESPOTA_HEX_MAX])
{
    const aloft_hash_alg_t *alg = scheme_hash(c, auth);
    if (alg == NULL)
        return ALOFT_ERR_ARG;
    if (auth == ALOFT_ESPOTA_AUTH_MD5) {
        const char *parts[5] = {secret, ":", nonce, ":", cnonce};
        return hash_hex(alg, parts, out);
    }
    /* PBKDF2: the password is the secret's ASCII hex, salted by the nonces. */
    char salt[2 * ALOFT_ESPOTA_HEX_MAX + 2];
    char dk_hex[ALOFT_ESPOTA_HEX_MAX];
    uint8_t dk[32];
    size_t nl = strlen(nonce), cl = strlen(cnonce);
    if (c->pbkdf2_sha256 == NULL || nl >= ALOFT_ESPOTA_HEX_MAX || cl >= ALOFT_ESPOTA_HEX_MAX)
        return ALOFT_ERR_ARG;
    memcpy(salt, nonce, nl);
    salt[nl] = ':';
    memcpy(salt + nl + 1, cnonce, cl);
    int err = c->pbkdf2_sha256(c->ctx, secret, strlen(secret), salt, nl + 1 + cl,
                               ALOFT_ESPOTA_PBKDF2_ITERATIONS, dk, sizeof dk);
    if (err)
        return err;
    aloft_hex(dk, sizeof dk, dk_hex);
    const char *parts[5] = {dk_hex, ":", nonce, ":", cnonce};
    return hash_hex(alg, parts, out);
}
