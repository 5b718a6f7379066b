/*
 * port/esp-idf/src/esp_keys.h — the secrets a firmware is configured with,
 * from text (Kconfig strings, the application's config):
 *
 *   signing keys  one or more public keys, separated by spaces, commas or
 *                 semicolons; each is either the public key `aloft keygen`
 *                 writes to NAME.pub (PEM "PUBLIC KEY": the whole file, or
 *                 its two base64 lines joined into one) or the 130 hex
 *                 digits of the uncompressed P-256 point (04 | X | Y)
 *   verifier      the native login verifier: ITERATIONS:SALT:STORED_KEY:SERVER_KEY
 *                 (decimal, then 16, 32 and 32 bytes in hex), what
 *                 aloft_native_derive gives for the password
 *
 * Internal to the component.
 */
#ifndef ALOFT_ESP_KEYS_H
#define ALOFT_ESP_KEYS_H

#include <stddef.h>

#include "aloft/port/crypto.h"
#include "aloft/wire/native.h"
#include "aloft/wire/signature.h"

/* Parse text into out[0..max) (key ids computed with sha256). Returns how
 * many keys (0 for an empty text) or ALOFT_ERR_ARG with the reason in why
 * ("signing key 2 is not a P-256 public key ..."). */
int esp_keys_parse(const char *text, const aloft_hash_alg_t *sha256, aloft_pubkey_t *out,
                   size_t max, char *why, size_t n);

/* Parse a verifier. Returns 0 or ALOFT_ERR_ARG with the reason in why. */
int esp_verifier_parse(const char *text, aloft_native_verifier_t *v, char *why, size_t n);

#endif /* ALOFT_ESP_KEYS_H */
