/*
 * port/esp-idf/src/esp_keys.c — signing keys and the login verifier from
 * text (see esp_keys.h). No allocation; the PEM's DER is the fixed 91-byte
 * SubjectPublicKeyInfo of a P-256 key, so no ASN.1 parser is needed.
 */
#include "esp_keys.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/error.h"

/* SubjectPublicKeyInfo { id-ecPublicKey, prime256v1 }, BIT STRING of 66. */
static const uint8_t spki_p256[26] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                      0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
#define SPKI_LEN (sizeof spki_p256 + ALOFT_PUBKEY_LEN)
#define SPKI_B64_LEN 124   /* 91 bytes: 30 groups of 4, one of 3 + '=' */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 2n hex digits in s[0..len) into out. */
static bool unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
    if (len != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 (with padding) of s[0..len) into out; returns the byte
 * count or -1. */
static int unbase64(const char *s, size_t len, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (len % 4)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            v[j] = s[i + j] == '=' && i + 4 == len && j >= 2 ? (pad++, 0) : b64val(s[i + j]);
            if (v[j] < 0 || (pad && s[i + j] != '='))
                return -1;
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                     (uint32_t)v[3];
        for (int j = 0; j < 3 - pad; j++) {
            if (n == cap)
                return -1;
            out[n++] = (uint8_t)(w >> (16 - 8 * j));
        }
    }
    return (int)n;
}

static bool is_sep(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ';';
}

/* One token: the key's point, or false. */
static bool parse_key(const char *s, size_t len, uint8_t point[ALOFT_PUBKEY_LEN])
{
    uint8_t der[SPKI_LEN + 3];
    if (len == 2 * ALOFT_PUBKEY_LEN)
        return unhex(s, len, point, ALOFT_PUBKEY_LEN) && point[0] == 0x04;
    if (len != SPKI_B64_LEN || unbase64(s, len, der, sizeof der) != (int)SPKI_LEN ||
        memcmp(der, spki_p256, sizeof spki_p256) != 0)
        return false;
    memcpy(point, der + sizeof spki_p256, ALOFT_PUBKEY_LEN);
    return point[0] == 0x04;
}

int esp_keys_parse(const char *text, const aloft_hash_alg_t *sha256, aloft_pubkey_t *out,
                   size_t max, char *why, size_t n)
{
    size_t count = 0;
    const char *p = text ? text : "";
    for (;;) {
        char tok[2 * ALOFT_PUBKEY_LEN];   /* the longer form (hex; base64 is 124) */
        size_t len = 0;
        bool pem = false, long_tok = false;
        while (is_sep(*p))
            p++;
        if (*p == '\0')
            return (int)count;
        if (strncmp(p, "-----BEGIN", 10) == 0) {   /* its base64 may span lines */
            const char *dashes = strstr(p + 10, "-----");
            if (dashes == NULL)
                goto bad_pem;
            p = dashes + 5;
            pem = true;
        }
        for (; *p && !(pem ? strncmp(p, "-----END", 8) == 0 : is_sep(*p)); p++) {
            if (is_sep(*p))
                continue;
            if (len < sizeof tok)
                tok[len++] = *p;
            else
                long_tok = true;
        }
        if (pem) {
            const char *dashes = *p ? strstr(p + 8, "-----") : NULL;
            if (dashes == NULL)
                goto bad_pem;
            p = dashes + 5;
        }
        if (count == max) {
            snprintf(why, n, "more than %u signing keys", (unsigned)max);
            return ALOFT_ERR_ARG;
        }
        if (long_tok || !parse_key(tok, len, out[count].point)) {
            snprintf(why, n,
                     "signing key %u is not a P-256 public key (want an 'aloft keygen' "
                     "NAME.pub: its PEM, or its base64 lines joined, or 130 hex digits "
                     "starting 04)",
                     (unsigned)count + 1);
            return ALOFT_ERR_ARG;
        }
        if (aloft_sig_key_id(sha256, out[count].point, out[count].key_id) != 0) {
            snprintf(why, n, "cannot hash signing key %u", (unsigned)count + 1);
            return ALOFT_ERR_ARG;
        }
        count++;
    }
bad_pem:
    snprintf(why, n, "signing key %u: a PEM block without its BEGIN/END lines complete",
             (unsigned)count + 1);
    return ALOFT_ERR_ARG;
}

int esp_verifier_parse(const char *text, aloft_native_verifier_t *v, char *why, size_t n)
{
    const char *f[4];
    size_t len[4];
    const char *p = text ? text : "";
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        while (*p && *p != ':')
            p++;
        len[i] = (size_t)(p - f[i]);
        if (i < 3 && *p++ != ':')
            goto bad;
    }
    char *end;
    unsigned long it = strtoul(f[0], &end, 10);
    if (*p != '\0' || end != f[0] + len[0] || len[0] == 0 || it == 0 || it > 10000000ul ||
        !unhex(f[1], len[1], v->salt, sizeof v->salt) ||
        !unhex(f[2], len[2], v->stored_key, sizeof v->stored_key) ||
        !unhex(f[3], len[3], v->server_key, sizeof v->server_key))
        goto bad;
    v->iterations = (uint32_t)it;
    return 0;
bad:
    snprintf(why, n, "the native verifier is not ITERATIONS:SALT:STORED_KEY:SERVER_KEY "
                     "(decimal, then 32, 64 and 64 hex digits)");
    return ALOFT_ERR_ARG;
}
