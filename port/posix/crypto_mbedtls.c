/* port/posix/crypto_mbedtls.c — SHA-256 and MD5 for the core via mbedTLS. */
#include "crypto_mbedtls.h"

#include <sys/random.h>

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

static int pbkdf2_sha256(const void *pw, size_t pw_len, const void *salt, size_t salt_len,
                         uint32_t iterations, uint8_t *out, size_t out_len)
{
    mbedtls_md_context_t md;
    int rc;
    mbedtls_md_init(&md);
    rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pw_len, salt, salt_len, iterations,
                                       (uint32_t)out_len, out);
    mbedtls_md_free(&md);
    return rc ? ALOFT_ERR_CRYPTO : ALOFT_OK;
}

/* getrandom(2): the kernel CSPRNG, as esp_fill_random is on the chip. */
static int random_bytes(void *out, size_t n)
{
    uint8_t *p = out;
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got <= 0)
            return ALOFT_ERR_CRYPTO;
        p += got;
        n -= (size_t)got;
    }
    return ALOFT_OK;
}

const aloft_crypto_t aloft_mbedtls_crypto = {
    &aloft_mbedtls_sha256, &aloft_mbedtls_md5, pbkdf2_sha256, random_bytes, NULL,
};
