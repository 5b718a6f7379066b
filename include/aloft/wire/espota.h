/*
 * aloft/wire/espota.h — the ArduinoOTA / espota wire protocol: message formats
 * and authentication shared by the device engine (aloft/espota_device.h)
 * and the host uploader, so both sides are built from one implementation.
 *
 * Exchange (all ASCII; docs/PROTOCOL.md §espota has the full picture):
 *   host -> device UDP  "<cmd> <host_tcp_port> <size> <md5hex>\n"
 *   device -> host UDP  "OK" | "AUTH <nonce>" | "ERR: <reason>" (aloft)
 *   host -> device UDP  "200 <cnonce> <response>\n"
 *   device -> host UDP  "OK" | "Authentication Failed" | "ERR: <reason>"
 *   device -> host TCP  connects back to the host's port
 *   host -> device TCP  image bytes; device acks each read with its byte
 *                       count in decimal, no delimiter ("1460")
 *   device -> host TCP  "OK" or "<error text>\r\n", then close
 *
 * Authentication (nonce length tells the host which):
 *   MD5 (ESP8266, ESP32 core <= 3.3.0): H = md5hex(password), 32-hex nonce,
 *     response = md5hex(H ":" nonce ":" cnonce)
 *   PBKDF2 (ESP32 core >= 3.3.1): H = sha256hex(password) (or a 32-hex MD5
 *     secret), 64-hex nonce, DK = PBKDF2-HMAC-SHA256(H, nonce ":" cnonce,
 *     10000, 32), response = sha256hex(hex(DK) ":" nonce ":" cnonce)
 *   cnonce (host) = hashhex(filename + size + md5hex + device address),
 *     MD5 for the MD5 scheme, SHA-256 for PBKDF2.
 */
#ifndef ALOFT_WIRE_ESPOTA_H
#define ALOFT_WIRE_ESPOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/port/crypto.h"

#define ALOFT_ESPOTA_PORT 3232u          /* ESP32 ArduinoOTA default */
#define ALOFT_ESPOTA_PORT_ESP8266 8266u
#define ALOFT_ESPOTA_CMD_FLASH 0         /* app image */
#define ALOFT_ESPOTA_CMD_FS 100          /* filesystem image */
#define ALOFT_ESPOTA_CMD_AUTH 200        /* second leg of authentication */
#define ALOFT_ESPOTA_PBKDF2_ITERATIONS 10000u
#define ALOFT_ESPOTA_HEX_MAX 65          /* 64 hex digits + NUL */
/* Longest refusal text ("ERR: ...") the device sends over UDP: old espota
 * reads only 32 bytes of an answer. (AUTH with a 64-hex nonce is 69 bytes,
 * but only hosts that read 69 bytes ever get one.) */
#define ALOFT_ESPOTA_UDP_REPLY_MAX 32u

typedef enum aloft_espota_auth {
    ALOFT_ESPOTA_AUTH_NONE = 0,
    ALOFT_ESPOTA_AUTH_MD5 = 1,      /* 32-hex nonce */
    ALOFT_ESPOTA_AUTH_PBKDF2 = 2,   /* 64-hex nonce */
} aloft_espota_auth_t;

/* An invitation (or, with cmd 200, an auth datagram's leading int). */
typedef struct aloft_espota_invite {
    int32_t cmd;
    uint32_t port;       /* host TCP port */
    uint32_t size;       /* image bytes */
    char md5[33];        /* lowercase hex, NUL-terminated */
} aloft_espota_invite_t;

/* Parse an invitation the way ArduinoOTA does (positional, forgiving:
 * leading spaces skipped, a missing number reads as 0), then require a
 * command of 0 or 100 (101..103 also mean filesystem), a port of 1..65535,
 * a size above 0 and a 32-character MD5. Returns 0 or ALOFT_ERR_PROTO. */
int aloft_espota_parse_invite(const void *data, size_t len, aloft_espota_invite_t *inv);

/* Format an invitation into out (n bytes, NUL-terminated). Returns the
 * length, or ALOFT_ERR_BUFFER. */
int aloft_espota_format_invite(const aloft_espota_invite_t *inv, char *out, size_t n);

/* Parse "200 <cnonce> <response>\n". Both hex strings must be hex_len
 * characters (32 for MD5, 64 for PBKDF2). Returns 0 or ALOFT_ERR_PROTO. */
int aloft_espota_parse_auth(const void *data, size_t len, size_t hex_len,
                            char cnonce[ALOFT_ESPOTA_HEX_MAX],
                            char response[ALOFT_ESPOTA_HEX_MAX]);

/* The stored secret H for a password: md5hex (MD5 scheme) or sha256hex
 * (PBKDF2 scheme) of the UTF-8 password. Returns 0 or an error code. */
int aloft_espota_secret(const aloft_crypto_t *c, aloft_espota_auth_t auth,
                        const char *password, char out[ALOFT_ESPOTA_HEX_MAX]);

/* The host's cnonce: hashhex(filename size md5hex address). */
int aloft_espota_cnonce(const aloft_crypto_t *c, aloft_espota_auth_t auth,
                        const char *filename, uint32_t size, const char *md5hex,
                        const char *address, char out[ALOFT_ESPOTA_HEX_MAX]);

/* The response both sides compute from the secret H and the nonces.
 * Returns 0 or an error code. */
int aloft_espota_response(const aloft_crypto_t *c, aloft_espota_auth_t auth,
                          const char *secret, const char *nonce, const char *cnonce,
                          char out[ALOFT_ESPOTA_HEX_MAX]);

#endif /* ALOFT_WIRE_ESPOTA_H */
