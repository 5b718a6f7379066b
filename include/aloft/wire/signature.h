/*
 * aloft/wire/signature.h — signed images: the signature block appended to an
 * ESP-IDF app image (target 0) or a filesystem image (target 1), and its
 * checks. docs/FORMATS.md has the byte layout (filesystem images: 1.5).
 *
 * A signed file is the unchanged image followed by a signature block:
 *
 *   "ALSG" | version u8 (1) | 0 u8 | meta_len u16 | meta[meta_len] |
 *   sig_len u8 | sig[sig_len] | block_len u32 | "ALSG"
 *
 *   meta = image_size u32 | image_sha256[32] | chip_id u16 | target u8 |
 *          0 u8 | secure_version u32 | key_id[8] | project str | version str
 *   (str = length byte 0..32 + bytes), sig = ECDSA P-256 over
 *   SHA-256(meta), ASN.1 DER; key_id = first 8 bytes of SHA-256 of the
 *   public key (65-byte uncompressed point); block_len = whole block.
 *
 * Why this shape: the signed metadata is small and self-contained, so the
 * native protocol sends it ahead of the data and the device refuses a bad
 * signature, another chip, another project or a lower secure_version before
 * erasing anything; and because the block trails the image, the same file
 * uploaded with espota still boots on devices that ignore it (the block is
 * never written to flash) and is checked at the end on devices that don't.
 */
#ifndef ALOFT_WIRE_SIGNATURE_H
#define ALOFT_WIRE_SIGNATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aloft/port/crypto.h"

#define ALOFT_SIG_MAGIC "ALSG"
#define ALOFT_SIG_VERSION 1u
#define ALOFT_SIG_KEY_ID_LEN 8u
#define ALOFT_SIG_MAX_DER 72u         /* ECDSA P-256 DER signature */
#define ALOFT_SIG_STR_MAX 32u
#define ALOFT_PUBKEY_LEN 65u          /* 0x04 | X | Y */
/* Largest block: header 8 + meta (52 + 2 x 33) + 1 + 72 + 8 = 207. */
#define ALOFT_SIG_BLOCK_MAX 224u
/* Smallest block: header 8 + meta (52 + 2 x 1) + 1 + 8 (shortest DER) + 8. */
#define ALOFT_SIG_BLOCK_MIN 79u

typedef struct aloft_signed_meta {
    uint32_t image_size;
    uint8_t image_sha256[32];
    uint16_t chip_id;
    uint8_t target;                    /* aloft_target_t */
    uint32_t secure_version;
    uint8_t key_id[ALOFT_SIG_KEY_ID_LEN];
    char project[ALOFT_SIG_STR_MAX + 1];
    char version[ALOFT_SIG_STR_MAX + 1];
} aloft_signed_meta_t;

/* A parsed block: the metadata, plus where its signed bytes and the
 * signature are inside the caller's buffer. */
typedef struct aloft_sig_block {
    aloft_signed_meta_t meta;
    const uint8_t *meta_bytes;
    size_t meta_len;
    const uint8_t *sig;
    size_t sig_len;
    size_t block_len;
} aloft_sig_block_t;

/* A provisioned public key (uncompressed P-256 point) and its id. */
typedef struct aloft_pubkey {
    uint8_t point[ALOFT_PUBKEY_LEN];
    uint8_t key_id[ALOFT_SIG_KEY_ID_LEN];
} aloft_pubkey_t;

/* Parse a whole block (exactly len bytes). Strict: every length must agree,
 * reserved bytes are 0, strings hold no NUL, sig_len is 8..72. out points
 * into block. Returns 0 or ALOFT_ERR_PROTO (ALOFT_ERR_ARG for NULLs). */
int aloft_sig_parse(const uint8_t *block, size_t len, aloft_sig_block_t *out);

/* If data[0..len) ends with a signature block, return its length (> 0);
 * 0 if it does not (an unsigned file). Used by hosts to split a file. */
size_t aloft_sig_trailer_len(const uint8_t *data, size_t len);

/* Encode meta (with meta->key_id) and a DER signature into out (cap bytes).
 * Returns the block length or ALOFT_ERR_BUFFER / ALOFT_ERR_ARG. To sign,
 * encode once with sig_len 0 to get the metadata bytes (aloft_sig_meta_bytes),
 * sign SHA-256 of them, then encode with the signature. */
int aloft_sig_encode(const aloft_signed_meta_t *meta, const uint8_t *sig, size_t sig_len,
                     uint8_t *out, size_t cap);

/* The signed metadata bytes of meta into out; returns their length. */
int aloft_sig_meta_bytes(const aloft_signed_meta_t *meta, uint8_t *out, size_t cap);

/* key_id of a public key. */
int aloft_sig_key_id(const aloft_hash_alg_t *sha256, const uint8_t point[ALOFT_PUBKEY_LEN],
                     uint8_t key_id[ALOFT_SIG_KEY_ID_LEN]);

/* Check the block's signature with the key among keys[0..nkeys) whose id
 * matches. Only the signature is checked: that the metadata describes the
 * image and the device is the caller's part (aloft_sig_check_image, chip,
 * project, secure_version). Returns 0, ALOFT_ERR_UNKNOWN_KEY (no key with
 * that id), ALOFT_ERR_SIGNATURE, or the port's error (ALOFT_ERR_ARG for a
 * malformed provisioned key, ALOFT_ERR_ARG too if c has no
 * ecdsa_p256_verify). */
int aloft_sig_verify(const aloft_crypto_t *c, const aloft_sig_block_t *b,
                     const aloft_pubkey_t *keys, size_t nkeys);

/* Does meta describe these image bytes: image_len and their SHA-256 (the
 * caller hashes what it has, a file or the bytes a device received)?
 * Returns 0 or ALOFT_ERR_SIGNED_MISMATCH. */
int aloft_sig_check_image(const aloft_signed_meta_t *meta, uint32_t image_len,
                          const uint8_t sha256[ALOFT_SHA256_LEN]);

#endif /* ALOFT_WIRE_SIGNATURE_H */
