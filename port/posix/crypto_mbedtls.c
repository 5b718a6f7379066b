/* port/posix/crypto_mbedtls.c — SHA-256, MD5, PBKDF2, the RNG and ECDSA P-256
 * verification for the core via mbedTLS. */
#include "crypto_mbedtls.h"

#include <sys/random.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha256.h>

#include "aloft/error.h"

/* mbedTLS 2.28 (Debian 12) names; the contexts live inside aloft_hash_ctx_t. */
_Static_assert(sizeof(mbedtls_sha256_context) <= ALOFT_HASH_CTX_SIZE, "sha256 ctx");
_Static_assert(sizeof(mbedtls_md5_context) <= ALOFT_HASH_CTX_SIZE, "md5 ctx");

static void sha256_init(aloft_hash_ctx_t *c)
{
    mbedtls_sha256_context *s = (mbedtls_sha256_context *)c->bytes;
    mbedtls_sha256_init(s);
    mbedtls_sha256_starts_ret(s, 0);
}

static void sha256_update(aloft_hash_ctx_t *c, const void *data, size_t len)
{
    mbedtls_sha256_update_ret((mbedtls_sha256_context *)c->bytes, data, len);
}

static void sha256_finish(aloft_hash_ctx_t *c, uint8_t *digest)
{
    mbedtls_sha256_context *s = (mbedtls_sha256_context *)c->bytes;
    mbedtls_sha256_finish_ret(s, digest);
    mbedtls_sha256_free(s);
}

static void md5_init(aloft_hash_ctx_t *c)
{
    mbedtls_md5_context *m = (mbedtls_md5_context *)c->bytes;
    mbedtls_md5_init(m);
    mbedtls_md5_starts_ret(m);
}

static void md5_update(aloft_hash_ctx_t *c, const void *data, size_t len)
{
    mbedtls_md5_update_ret((mbedtls_md5_context *)c->bytes, data, len);
}

static void md5_finish(aloft_hash_ctx_t *c, uint8_t *digest)
{
    mbedtls_md5_context *m = (mbedtls_md5_context *)c->bytes;
    mbedtls_md5_finish_ret(m, digest);
    mbedtls_md5_free(m);
}

const aloft_hash_alg_t aloft_mbedtls_sha256 = {
    sizeof(mbedtls_sha256_context), 32, sha256_init, sha256_update, sha256_finish,
};

const aloft_hash_alg_t aloft_mbedtls_md5 = {
    sizeof(mbedtls_md5_context), 16, md5_init, md5_update, md5_finish,
};

static int pbkdf2_sha256(void *ctx, const void *pw, size_t pw_len, const void *salt, size_t salt_len,
                         uint32_t iterations, uint8_t *out, size_t out_len)
{
    mbedtls_md_context_t md;
    int rc;
    (void)ctx;
    mbedtls_md_init(&md);
    rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pw_len, salt, salt_len, iterations,
                                       (uint32_t)out_len, out);
    mbedtls_md_free(&md);
    return rc ? ALOFT_ERR_CRYPTO : ALOFT_OK;
}

/* getrandom(2): the kernel CSPRNG, as esp_fill_random is on the chip. */
static int random_bytes(void *ctx, void *out, size_t n)
{
    uint8_t *p = out;
    (void)ctx;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got <= 0)
            return ALOFT_ERR_CRYPTO;
        p += got;
        n -= (size_t)got;
    }
    return ALOFT_OK;
}

/* ECDSA P-256 over a SHA-256 digest, signature in ASN.1 DER, as mbedTLS
 * on the chip would do it. The key is checked to be a point on the curve;
 * mbedtls_ecdsa_read_signature refuses bytes after the DER signature
 * (MBEDTLS_ERR_ECP_SIG_LEN_MISMATCH). Timing and allocation (bignums on the
 * heap) are mbedTLS's. */
static int ecdsa_p256_verify(void *ctx, const uint8_t pubkey[65], const uint8_t digest[32],
                             const uint8_t *sig, size_t sig_len)
{
    mbedtls_ecdsa_context ec;
    int err;
    (void)ctx;
    mbedtls_ecdsa_init(&ec);
    if (mbedtls_ecp_group_load(&ec.grp, MBEDTLS_ECP_DP_SECP256R1) != 0)
        err = ALOFT_ERR_CRYPTO;
    else if (pubkey == NULL || pubkey[0] != 0x04 ||
             mbedtls_ecp_point_read_binary(&ec.grp, &ec.Q, pubkey, 65) != 0 ||
             mbedtls_ecp_check_pubkey(&ec.grp, &ec.Q) != 0)
        err = ALOFT_ERR_ARG;
    else if (digest == NULL || sig == NULL)
        err = ALOFT_ERR_ARG;
    else if ((err = mbedtls_ecdsa_read_signature(&ec, digest, 32, sig, sig_len)) == 0)
        err = ALOFT_OK;
    else if (err == MBEDTLS_ERR_MPI_ALLOC_FAILED || err == MBEDTLS_ERR_ECP_ALLOC_FAILED)
        err = ALOFT_ERR_CRYPTO;
    else
        err = ALOFT_ERR_SIGNATURE;
    mbedtls_ecdsa_free(&ec);
    return err;
}

const aloft_crypto_t aloft_mbedtls_crypto = {
    .sha256 = &aloft_mbedtls_sha256,
    .md5 = &aloft_mbedtls_md5,
    .pbkdf2_sha256 = pbkdf2_sha256,
    .random = random_bytes,
    .ecdsa_p256_verify = ecdsa_p256_verify,
    .ctx = NULL,
};
