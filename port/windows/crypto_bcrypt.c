/* port/windows/crypto_bcrypt.c — see crypto_bcrypt.h. */
#include "crypto_bcrypt.h"

#include <string.h>
#include <windows.h>
#include <bcrypt.h>

#include "aloft/error.h"

#ifndef NT_SUCCESS
#define NT_SUCCESS(s) ((NTSTATUS)(s) >= 0)
#endif

enum { ALG_SHA256, ALG_MD5, ALG_HMAC_SHA256, ALG_ECDSA_P256, ALG_COUNT };

/* One provider per algorithm, opened once (CNG handles are thread-safe and
 * the process is short-lived: they are never closed). NULL when the
 * system lacks it. */
static BCRYPT_ALG_HANDLE provider(int which)
{
    static BCRYPT_ALG_HANDLE h[ALG_COUNT];
    static const struct {
        LPCWSTR id;
        ULONG flags;
    } algs[ALG_COUNT] = {
        {BCRYPT_SHA256_ALGORITHM, 0},
        {BCRYPT_MD5_ALGORITHM, 0},
        {BCRYPT_SHA256_ALGORITHM, BCRYPT_ALG_HANDLE_HMAC_FLAG},
        {BCRYPT_ECDSA_P256_ALGORITHM, 0},
    };
    if (h[which] == NULL && !NT_SUCCESS(BCryptOpenAlgorithmProvider(&h[which], algs[which].id,
                                                                     NULL, algs[which].flags)))
        h[which] = NULL;
    return h[which];
}

/* ---- hashes -------------------------------------------------------------- */

/* The context holds the CNG hash handle only (CNG allocates the hash
 * object itself when none is given); a handle that could not be made hashes
 * to zeros, which aloft_crypto_selftest reports. */
typedef struct {
    BCRYPT_HASH_HANDLE h;
} hash_ctx_t;

static void hash_init(aloft_hash_ctx_t *c, int which)
{
    hash_ctx_t *x = (hash_ctx_t *)c->bytes;
    BCRYPT_ALG_HANDLE alg = provider(which);
    x->h = NULL;
    if (alg == NULL || !NT_SUCCESS(BCryptCreateHash(alg, &x->h, NULL, 0, NULL, 0, 0)))
        x->h = NULL;
}

static void hash_update(aloft_hash_ctx_t *c, const void *data, size_t len)
{
    hash_ctx_t *x = (hash_ctx_t *)c->bytes;
    const uint8_t *p = data;
    while (x->h != NULL && len > 0) {   /* ULONG lengths: feed large inputs in pieces */
        ULONG n = len > 0x40000000u ? 0x40000000u : (ULONG)len;
        if (!NT_SUCCESS(BCryptHashData(x->h, (PUCHAR)p, n, 0))) {
            BCryptDestroyHash(x->h);
            x->h = NULL;
        }
        p += n;
        len -= n;
    }
}

static void hash_finish(aloft_hash_ctx_t *c, uint8_t *digest, ULONG n)
{
    hash_ctx_t *x = (hash_ctx_t *)c->bytes;
    if (x->h == NULL || !NT_SUCCESS(BCryptFinishHash(x->h, digest, n, 0)))
        memset(digest, 0, n);
    if (x->h != NULL)
        BCryptDestroyHash(x->h);
    x->h = NULL;
}

static void sha256_init(aloft_hash_ctx_t *c) { hash_init(c, ALG_SHA256); }
static void sha256_finish(aloft_hash_ctx_t *c, uint8_t *d) { hash_finish(c, d, 32); }
static void md5_init(aloft_hash_ctx_t *c) { hash_init(c, ALG_MD5); }
static void md5_finish(aloft_hash_ctx_t *c, uint8_t *d) { hash_finish(c, d, 16); }

const aloft_hash_alg_t aloft_bcrypt_sha256 = {
    sizeof(hash_ctx_t), 32, sha256_init, hash_update, sha256_finish,
};

const aloft_hash_alg_t aloft_bcrypt_md5 = {
    sizeof(hash_ctx_t), 16, md5_init, hash_update, md5_finish,
};

/* ---- PBKDF2, RNG ----------------------------------------------------------- */

static int pbkdf2_sha256(void *ctx, const void *pw, size_t pw_len, const void *salt,
                         size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len)
{
    BCRYPT_ALG_HANDLE prf = provider(ALG_HMAC_SHA256);
    (void)ctx;
    if (prf == NULL || pw_len > 0xffffffffu || salt_len > 0xffffffffu || out_len > 0xffffffffu)
        return ALOFT_ERR_CRYPTO;
    return NT_SUCCESS(BCryptDeriveKeyPBKDF2(prf, (PUCHAR)pw, (ULONG)pw_len, (PUCHAR)salt,
                                            (ULONG)salt_len, iterations, out, (ULONG)out_len, 0))
               ? ALOFT_OK
               : ALOFT_ERR_CRYPTO;
}

static int random_bytes(void *ctx, void *out, size_t n)
{
    (void)ctx;
    if (n > 0xffffffffu)
        return ALOFT_ERR_CRYPTO;
    return NT_SUCCESS(BCryptGenRandom(NULL, out, (ULONG)n, BCRYPT_USE_SYSTEM_PREFERRED_RNG))
               ? ALOFT_OK
               : ALOFT_ERR_CRYPTO;
}

/* ---- ECDSA signatures: DER and r || s ----------------------------------------- */

/* One DER INTEGER at *p (end e) into a 32-byte big-endian field. Leading
 * zero bytes (the sign byte) are dropped; negative or longer values fail. */
static int der_int(const uint8_t **p, const uint8_t *e, uint8_t out[32])
{
    const uint8_t *q = *p;
    size_t len;
    if (e - q < 2 || q[0] != 0x02 || (len = q[1]) == 0 || len > (size_t)(e - q - 2) ||
        (q[2] & 0x80))
        return -1;
    q += 2;
    *p = q + len;
    while (len > 32 && *q == 0)
        q++, len--;
    if (len > 32)
        return -1;
    memset(out, 0, 32 - len);
    memcpy(out + 32 - len, q, len);
    return 0;
}

int aloft_bcrypt_der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
    /* A P-256 signature is at most 72 bytes: the short length form only. */
    const uint8_t *p = der + 2, *e = der + len;
    if (len < 2 || der[0] != 0x30 || der[1] >= 0x80 || der[1] != len - 2)
        return -1;
    if (der_int(&p, e, raw) != 0 || der_int(&p, e, raw + 32) != 0 || p != e)
        return -1;
    return 0;
}

/* A 32-byte field as a minimal DER INTEGER at out; returns its length. */
static size_t put_int(const uint8_t v[32], uint8_t *out)
{
    size_t skip = 0;
    while (skip < 31 && v[skip] == 0)
        skip++;
    size_t n = 32 - skip, pad = (v[skip] & 0x80) ? 1 : 0;
    out[0] = 0x02;
    out[1] = (uint8_t)(n + pad);
    out[2] = 0;
    memcpy(out + 2 + pad, v + skip, n);
    return 2 + pad + n;
}

size_t aloft_bcrypt_raw_to_der(const uint8_t raw[64], uint8_t der[72])
{
    size_t n = put_int(raw, der + 2);
    n += put_int(raw + 32, der + 2 + n);
    der[0] = 0x30;
    der[1] = (uint8_t)n;
    return n + 2;
}

/* ---- ECDSA verification --------------------------------------------------------- */

static int ecdsa_p256_verify(void *ctx, const uint8_t pubkey[65], const uint8_t digest[32],
                             const uint8_t *sig, size_t sig_len)
{
    struct {
        BCRYPT_ECCKEY_BLOB h;
        uint8_t xy[64];
    } blob;
    uint8_t rs[64];
    BCRYPT_ALG_HANDLE alg = provider(ALG_ECDSA_P256);
    BCRYPT_KEY_HANDLE key = NULL;
    NTSTATUS st;
    (void)ctx;
    if (alg == NULL)
        return ALOFT_ERR_CRYPTO;
    if (pubkey == NULL || pubkey[0] != 0x04 || digest == NULL || sig == NULL)
        return ALOFT_ERR_ARG;
    blob.h.dwMagic = BCRYPT_ECDSA_PUBLIC_P256_MAGIC;
    blob.h.cbKey = 32;
    memcpy(blob.xy, pubkey + 1, 64);
    /* CNG checks that the point is on the curve. */
    if (!NT_SUCCESS(BCryptImportKeyPair(alg, NULL, BCRYPT_ECCPUBLIC_BLOB, &key, (PUCHAR)&blob,
                                        sizeof blob, 0)))
        return ALOFT_ERR_ARG;
    if (aloft_bcrypt_der_to_raw(sig, sig_len, rs) != 0) {
        BCryptDestroyKey(key);
        return ALOFT_ERR_SIGNATURE;
    }
    st = BCryptVerifySignature(key, NULL, (PUCHAR)digest, 32, rs, sizeof rs, 0);
    BCryptDestroyKey(key);
    return NT_SUCCESS(st) ? ALOFT_OK : ALOFT_ERR_SIGNATURE;
}

const aloft_crypto_t aloft_bcrypt_crypto = {
    .sha256 = &aloft_bcrypt_sha256,
    .md5 = &aloft_bcrypt_md5,
    .pbkdf2_sha256 = pbkdf2_sha256,
    .random = random_bytes,
    .ecdsa_p256_verify = ecdsa_p256_verify,
    .ctx = NULL,
};
