/*
 * lib/signature.c — the signature block of a signed image (see
 * aloft/signature.h; docs/FORMATS.md §1 has the byte layout).
 *
 * Implementation notes. The block is framed at both ends ("ALSG" ... block_len
 * "ALSG") so it can be found from the end of a file and parsed from its
 * start; every length in it must agree with every other, so a block parses
 * only one way. The parser is strict on purpose: reserved bytes must be 0,
 * strings may not hold NUL (a "foo\0bar" project would compare equal to
 * "foo" once it is a C string) and nothing may follow the last field. It
 * checks framing only; whether the signature is right is aloft_sig_verify's
 * job, and whether the metadata fits this image and this device is the
 * caller's (aloft_sig_check_image, lib/update.c).
 *
 * All offsets below are frozen: they are on the wire and in signed files.
 */
#include <stdbool.h>
#include <string.h>

#include "aloft/error.h"
#include "aloft/wire/signature.h"
#include "bytes.h"

/* Block: "ALSG" | version u8 | 0 u8 | meta_len u16 | meta | sig_len u8 |
 * sig | block_len u32 | "ALSG". */
#define HDR_LEN 8u
#define TAIL_LEN 8u
#define OFF_VERSION 4u
#define OFF_RESERVED 5u
#define OFF_META_LEN 6u

/* Metadata: fixed part, then two length-prefixed strings. */
#define M_IMAGE_SIZE 0u
#define M_SHA256 4u
#define M_CHIP 36u
#define M_TARGET 38u
#define M_RESERVED 39u
#define M_SECURE_VERSION 40u
#define M_KEY_ID 44u
#define M_FIXED_LEN 52u
#define META_MIN (M_FIXED_LEN + 2u)
#define META_MAX (M_FIXED_LEN + 2u * (1u + ALOFT_SIG_STR_MAX))

/* The shortest DER ECDSA signature: SEQUENCE { INTEGER 1 byte, INTEGER 1 byte }. */
#define SIG_MIN 8u

_Static_assert(HDR_LEN + META_MAX + 1u + ALOFT_SIG_MAX_DER + TAIL_LEN <= ALOFT_SIG_BLOCK_MAX,
               "ALOFT_SIG_BLOCK_MAX too small");
_Static_assert(HDR_LEN + META_MIN + 1u + SIG_MIN + TAIL_LEN == ALOFT_SIG_BLOCK_MIN,
               "ALOFT_SIG_BLOCK_MIN");

/* ---- parsing ---------------------------------------------------------- */

/* A length-prefixed string at p (avail bytes) into out (33 bytes). Returns
 * the bytes it takes (1 + length), or 0 if it is malformed. */
static size_t parse_str(const uint8_t *p, size_t avail, char out[ALOFT_SIG_STR_MAX + 1])
{
    size_t n;
    if (avail < 1u)
        return 0;
    n = p[0];
    if (n > ALOFT_SIG_STR_MAX || n > avail - 1u)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (p[1 + i] == 0)
            return 0;
    memcpy(out, p + 1, n);
    out[n] = '\0';
    return 1u + n;
}

static int parse_meta(const uint8_t *p, size_t len, aloft_signed_meta_t *m)
{
    size_t used, s;
    if (len < META_MIN || len > META_MAX || p[M_RESERVED] != 0)
        return ALOFT_ERR_PROTO;
    m->image_size = aloft_ld32(p + M_IMAGE_SIZE);
    memcpy(m->image_sha256, p + M_SHA256, sizeof m->image_sha256);
    m->chip_id = aloft_ld16(p + M_CHIP);
    m->target = p[M_TARGET];
    m->secure_version = aloft_ld32(p + M_SECURE_VERSION);
    memcpy(m->key_id, p + M_KEY_ID, ALOFT_SIG_KEY_ID_LEN);
    used = M_FIXED_LEN;
    if ((s = parse_str(p + used, len - used, m->project)) == 0)
        return ALOFT_ERR_PROTO;
    used += s;
    if ((s = parse_str(p + used, len - used, m->version)) == 0)
        return ALOFT_ERR_PROTO;
    used += s;
    return used == len ? ALOFT_OK : ALOFT_ERR_PROTO;
}

int aloft_sig_parse(const uint8_t *block, size_t len, aloft_sig_block_t *out)
{
    size_t meta_len, sig_len, pos;
    if (block == NULL || out == NULL)
        return ALOFT_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (len < ALOFT_SIG_BLOCK_MIN || len > ALOFT_SIG_BLOCK_MAX)
        return ALOFT_ERR_PROTO;
    if (memcmp(block, ALOFT_SIG_MAGIC, 4) != 0 || block[OFF_VERSION] != ALOFT_SIG_VERSION ||
        block[OFF_RESERVED] != 0)
        return ALOFT_ERR_PROTO;
    meta_len = aloft_ld16(block + OFF_META_LEN);
    if (meta_len < META_MIN || meta_len > META_MAX)
        return ALOFT_ERR_PROTO;
    pos = HDR_LEN + meta_len;   /* at sig_len, if the block is long enough */
    if (pos + 1u + SIG_MIN + TAIL_LEN > len)
        return ALOFT_ERR_PROTO;
    sig_len = block[pos];
    if (sig_len < SIG_MIN || sig_len > ALOFT_SIG_MAX_DER ||
        pos + 1u + sig_len + TAIL_LEN != len)
        return ALOFT_ERR_PROTO;
    if (aloft_ld32(block + len - TAIL_LEN) != len ||
        memcmp(block + len - 4u, ALOFT_SIG_MAGIC, 4) != 0)
        return ALOFT_ERR_PROTO;
    if (parse_meta(block + HDR_LEN, meta_len, &out->meta) != 0) {
        memset(out, 0, sizeof *out);
        return ALOFT_ERR_PROTO;
    }
    out->meta_bytes = block + HDR_LEN;
    out->meta_len = meta_len;
    out->sig = block + pos + 1u;
    out->sig_len = sig_len;
    out->block_len = len;
    return ALOFT_OK;
}

size_t aloft_sig_trailer_len(const uint8_t *data, size_t len)
{
    aloft_sig_block_t b;
    uint32_t block_len;
    if (data == NULL || len < ALOFT_SIG_BLOCK_MIN ||
        memcmp(data + len - 4u, ALOFT_SIG_MAGIC, 4) != 0)
        return 0;
    block_len = aloft_ld32(data + len - TAIL_LEN);
    if (block_len < ALOFT_SIG_BLOCK_MIN || block_len > ALOFT_SIG_BLOCK_MAX || block_len > len)
        return 0;
    if (aloft_sig_parse(data + len - block_len, block_len, &b) != 0)
        return 0;
    return block_len;
}

/* ---- encoding --------------------------------------------------------- */

/* Length of a string field's text, or a value > ALOFT_SIG_STR_MAX if it
 * does not fit (looks at most at the array's 33 bytes). */
static size_t str_len(const char s[ALOFT_SIG_STR_MAX + 1])
{
    size_t n = 0;
    while (n <= ALOFT_SIG_STR_MAX && s[n] != '\0')
        n++;
    return n;
}

static size_t put_str(uint8_t *p, const char *s, size_t n)
{
    p[0] = (uint8_t)n;
    memcpy(p + 1, s, n);
    return 1u + n;
}

int aloft_sig_meta_bytes(const aloft_signed_meta_t *m, uint8_t *out, size_t cap)
{
    size_t plen, vlen, len;
    if (m == NULL || out == NULL)
        return ALOFT_ERR_ARG;
    plen = str_len(m->project);
    vlen = str_len(m->version);
    if (plen > ALOFT_SIG_STR_MAX || vlen > ALOFT_SIG_STR_MAX)
        return ALOFT_ERR_ARG;
    len = M_FIXED_LEN + 1u + plen + 1u + vlen;
    if (cap < len)
        return ALOFT_ERR_BUFFER;
    aloft_st32(out + M_IMAGE_SIZE, m->image_size);
    memcpy(out + M_SHA256, m->image_sha256, sizeof m->image_sha256);
    aloft_st16(out + M_CHIP, m->chip_id);
    out[M_TARGET] = m->target;
    out[M_RESERVED] = 0;
    aloft_st32(out + M_SECURE_VERSION, m->secure_version);
    memcpy(out + M_KEY_ID, m->key_id, ALOFT_SIG_KEY_ID_LEN);
    len = M_FIXED_LEN;
    len += put_str(out + len, m->project, plen);
    len += put_str(out + len, m->version, vlen);
    return (int)len;
}

int aloft_sig_encode(const aloft_signed_meta_t *meta, const uint8_t *sig, size_t sig_len,
                     uint8_t *out, size_t cap)
{
    int meta_len;
    size_t pos;
    if (meta == NULL || out == NULL || sig_len > ALOFT_SIG_MAX_DER || (sig == NULL && sig_len))
        return ALOFT_ERR_ARG;
    if (cap < HDR_LEN)
        return ALOFT_ERR_BUFFER;
    meta_len = aloft_sig_meta_bytes(meta, out + HDR_LEN, cap - HDR_LEN);
    if (meta_len < 0)
        return meta_len;
    pos = HDR_LEN + (size_t)meta_len;
    if (cap - pos < 1u + sig_len + TAIL_LEN)
        return ALOFT_ERR_BUFFER;
    memcpy(out, ALOFT_SIG_MAGIC, 4);
    out[OFF_VERSION] = ALOFT_SIG_VERSION;
    out[OFF_RESERVED] = 0;
    aloft_st16(out + OFF_META_LEN, (uint16_t)meta_len);
    out[pos++] = (uint8_t)sig_len;
    if (sig_len)
        memcpy(out + pos, sig, sig_len);
    pos += sig_len;
    aloft_st32(out + pos, (uint32_t)(pos + TAIL_LEN));
    memcpy(out + pos + 4u, ALOFT_SIG_MAGIC, 4);
    return (int)(pos + TAIL_LEN);
}

/* ---- keys and checks -------------------------------------------------- */

int aloft_sig_key_id(const aloft_hash_alg_t *sha256, const uint8_t point[ALOFT_PUBKEY_LEN],
                     uint8_t key_id[ALOFT_SIG_KEY_ID_LEN])
{
    uint8_t digest[ALOFT_SHA256_LEN];
    int err;
    if (sha256 == NULL || point == NULL || key_id == NULL || point[0] != 0x04)
        return ALOFT_ERR_ARG;
    if ((err = aloft_hash_oneshot(sha256, point, ALOFT_PUBKEY_LEN, digest)) != 0)
        return err;
    memcpy(key_id, digest, ALOFT_SIG_KEY_ID_LEN);
    return ALOFT_OK;
}

int aloft_sig_verify(const aloft_crypto_t *c, const aloft_sig_block_t *b,
                     const aloft_pubkey_t *keys, size_t nkeys)
{
    uint8_t digest[ALOFT_SHA256_LEN];
    bool hashed = false;
    int err = ALOFT_ERR_UNKNOWN_KEY;
    if (c == NULL || c->sha256 == NULL || c->ecdsa_p256_verify == NULL || b == NULL ||
        b->meta_bytes == NULL || b->meta_len < META_MIN || b->sig == NULL ||
        (keys == NULL && nkeys))
        return ALOFT_ERR_ARG;
    /* The key id is read from the signed bytes themselves, so the key that
     * is tried is the one the signature claims, and changing the id breaks
     * the signature like any other metadata byte. */
    for (size_t i = 0; i < nkeys; i++) {
        if (memcmp(keys[i].key_id, b->meta_bytes + M_KEY_ID, ALOFT_SIG_KEY_ID_LEN) != 0)
            continue;
        if (!hashed) {
            int h = aloft_hash_oneshot(c->sha256, b->meta_bytes, b->meta_len, digest);
            if (h != 0)
                return h;
            hashed = true;
        }
        /* Two keys could share an id (8 bytes): any one that verifies wins. */
        err = c->ecdsa_p256_verify(c->ctx, keys[i].point, digest, b->sig, b->sig_len);
        if (err == ALOFT_OK)
            return ALOFT_OK;
        if (err > 0)   /* a port that strays from the contract */
            err = ALOFT_ERR_SIGNATURE;
    }
    return err;
}

int aloft_sig_check_image(const aloft_signed_meta_t *meta, uint32_t image_len,
                          const uint8_t sha256[ALOFT_SHA256_LEN])
{
    if (meta == NULL || sha256 == NULL)
        return ALOFT_ERR_ARG;
    if (meta->image_size != image_len ||
        memcmp(meta->image_sha256, sha256, ALOFT_SHA256_LEN) != 0)
        return ALOFT_ERR_SIGNED_MISMATCH;
    return ALOFT_OK;
}
