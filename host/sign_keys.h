/*
 * host/sign_keys.h — host side of signed images: ECDSA P-256 key
 * pairs (generate, PEM load and save), signing an app image into a signed
 * file, and checking a signed file the way a device would. The keys are
 * mbedTLS's (pk, ecp, ecdsa, ctr_drbg: sign_keys_mbedtls.c), on Windows
 * CNG's (win/sign_keys_bcrypt.c); files and signed files are sign_keys.c's.
 * The block format itself is the core's (aloft/signature.h), so host and
 * device share one encoder and parser.
 *
 * Keys on disk are PEM, readable by openssl:
 *   NAME.key  "EC PRIVATE KEY" (SEC1), mode 0600; PKCS#8 "PRIVATE KEY"
 *             files (openssl genpkey) load too
 *   NAME.pub  "PUBLIC KEY" (SubjectPublicKeyInfo)
 *
 * Signatures are deterministic (RFC 6979, mbedTLS's ECDSA_DETERMINISTIC):
 * the same key and file always give the same signed bytes; the DRBG only
 * blinds the computation. On Windows CNG signs with a random nonce: as
 * valid, not repeatable.
 *
 * Functions that can fail print "aloft: ..." naming the file or the
 * reason to stderr, or fill a caller's `why` buffer, as documented.
 */
#ifndef ALOFT_SIGN_KEYS_H
#define ALOFT_SIGN_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/wire/image.h"
#include "aloft/wire/signature.h"

/* A P-256 key pair; opaque. */
typedef struct sign_key sign_key_t;

/* A fresh key pair from a ctr_drbg seeded by the OS entropy source. Returns
 * NULL after printing why. */
sign_key_t *sign_key_generate(void);

/* Load a private key (PEM, SEC1 or unencrypted PKCS#8, P-256 only) from
 * path. Returns NULL after printing why (unreadable, not a key, another
 * curve, encrypted). */
sign_key_t *sign_key_load(const char *path);

/* Parse a private key from PEM text (len bytes, NUL not required). On
 * failure returns NULL and writes the reason into why (n bytes). */
sign_key_t *sign_key_parse(const char *pem, size_t len, char *why, size_t n);

void sign_key_free(sign_key_t *k);

/* The public half: point and key id. Never NULL. */
const aloft_pubkey_t *sign_key_public(const sign_key_t *k);

/* PEM text of the private key (priv true) or the public key into out (n
 * bytes, NUL-terminated). Returns the text length or -1 if out is small. */
int sign_key_pem(const sign_key_t *k, bool priv, char *out, size_t n);

/* Write key_path (private, mode 0600) and pub_path (public, 0644 minus the
 * umask). Without force, an existing file is not touched and nothing is
 * written. Returns 0, or -1 after printing why. */
int sign_key_save(const sign_key_t *k, const char *key_path, const char *pub_path, bool force);

/* A public key from PEM text: "PUBLIC KEY", or a private key file (its
 * public half). Returns 0, or -1 with the reason in why. */
int pubkey_parse(const char *pem, size_t len, aloft_pubkey_t *out, char *why, size_t n);

/* pubkey_parse of a file. Returns 0, or -1 after printing why. */
int pubkey_load(const char *path, aloft_pubkey_t *out);

/* ECDSA P-256 signature (DER, at most ALOFT_SIG_MAX_DER bytes) of a
 * SHA-256 digest. Returns 0 or -1 after printing why. */
int sign_digest(const sign_key_t *k, const uint8_t digest[32], uint8_t sig[ALOFT_SIG_MAX_DER],
                size_t *sig_len);

/* Set meta->key_id to k's, sign the metadata and encode the whole block
 * into out. Returns the block length, or a negative aloft code
 * (ALOFT_ERR_ARG: strings too long; ALOFT_ERR_CRYPTO: signing failed). */
int sign_meta(const sign_key_t *k, aloft_signed_meta_t *meta, uint8_t *out, size_t cap);

/* ---- signed files ----------------------------------------------------- */

typedef struct sign_opts {
    bool have_secure_version;   /* --secure-version given */
    uint32_t secure_version;
    /* A filesystem image (target 1): the file's bytes are not checked;
     * chip, project and version (may be NULL) are the signer's. */
    bool fs;
    uint16_t chip_id;
    const char *project, *version;
} sign_opts_t;

/* Sign an app image file (or with opts->fs a filesystem image, FORMATS.md
 * 1.2): file[0..len) is an app image, possibly already
 * signed (the old block is dropped). The image must pass aloft_image_check;
 * chip, project, version and secure_version come from it (an image without
 * an app description signs empty project/version and opts->secure_version
 * or 0; with one, opts->secure_version must equal the description's).
 * On success *out (free() it) holds image + block, *out_len its length and
 * meta (may be NULL) what was signed; *replaced tells whether an old block
 * was dropped (may be NULL). Returns 0; ALOFT_ERR_ARG when opts conflict
 * with the image (a usage error); another negative aloft code when the
 * file is not a valid image. In both cases why (n bytes) says what is wrong
 * and what to do. */
int sign_file(const sign_key_t *k, const uint8_t *file, size_t len, const sign_opts_t *opts,
              uint8_t **out, size_t *out_len, aloft_signed_meta_t *meta, bool *replaced,
              char *why, size_t n);

/* What checking a signed file found. */
typedef struct sig_report {
    int err;                  /* 0 valid, else the first problem (aloft_err_t) */
    char why[512];            /* when err: "message: hint" in plain words */
    bool has_block;           /* a well-formed block trails the file */
    aloft_sig_block_t block;  /* when has_block; points into the caller's data */
    size_t image_len;         /* bytes before the block (the whole file if none) */
    uint8_t image_sha256[32]; /* of those bytes */
    int key_index;            /* keys[] entry that verified, -1 if none */
    aloft_image_info_t info;  /* the image check (when has_block) */
} sig_report_t;

/* Check file[0..len) as a device would before activating it: a block
 * trails it, it is signed by one of keys[0..nkeys), and the signed
 * metadata describes the image (size, SHA-256, chip, and the app
 * description's project, version and secure_version), which is a valid
 * app image; or, for a block with target 1, a filesystem image (its bytes
 * are not checked: size and SHA-256 only). Returns r->err: 0, ALOFT_ERR_UNSIGNED, ALOFT_ERR_PROTO (block
 * damaged), ALOFT_ERR_UNKNOWN_KEY, ALOFT_ERR_SIGNATURE,
 * ALOFT_ERR_SIGNED_MISMATCH, or the image's own defect. */
int sign_check_file(const uint8_t *file, size_t len, const aloft_pubkey_t *keys, size_t nkeys,
                    sig_report_t *r);

/* "0123456789abcdef" for a key id (out: at least 17 bytes). */
void sign_key_id_hex(const uint8_t id[ALOFT_SIG_KEY_ID_LEN], char out[17]);

#endif /* ALOFT_SIGN_KEYS_H */
