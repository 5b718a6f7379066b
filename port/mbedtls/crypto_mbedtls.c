/*
 * port/mbedtls/crypto_mbedtls.c — SHA-256, MD5, PBKDF2 and ECDSA P-256
 * verification for the core over whichever mbedTLS the platform ships:
 *   2  mbedTLS 2.28 (Debian 12): the *_ret functions;
 *   3  mbedTLS 3.x (ESP-IDF 5.x): the same calls without _ret, the
 *      context fields behind MBEDTLS_PRIVATE, PBKDF2 by md type;
 *   4  mbedTLS 4 / TF-PSA-Crypto (ESP-IDF 6.x): only the PSA API is public
 *      (psa_hash_*, PBKDF2 as a PSA key derivation, psa_verify_hash with
 *      the DER signature converted to raw r || s).
 * The running hash's context lives inside the core's aloft_hash_ctx_t; a
 * static assertion checks it fits (ESP-IDF's hardware SHA contexts are
 * about 120 bytes, psa_hash_operation_t is the largest).
 */
#include "aloft_mbedtls.h"

#include <stdbool.h>
#include <string.h>

#include "aloft/error.h"

#if defined(__has_include)
#if __has_include(<tf-psa-crypto/build_info.h>)
#include <tf-psa-crypto/build_info.h>
#elif __has_include(<mbedtls/build_info.h>)
#include <mbedtls/build_info.h>
#endif
#endif
#if !defined(MBEDTLS_VERSION_MAJOR) && !defined(TF_PSA_CRYPTO_VERSION_MAJOR)
#include <mbedtls/version.h>
#endif

#if defined(TF_PSA_CRYPTO_VERSION_MAJOR) || MBEDTLS_VERSION_MAJOR >= 4
#define API 4
#elif MBEDTLS_VERSION_MAJOR == 3
#define API 3
#elif MBEDTLS_VERSION_MAJOR == 2 && MBEDTLS_VERSION_MINOR >= 28
#define API 2
#else
#error "aloft needs mbedTLS 2.28, 3.x or 4.x (TF-PSA-Crypto)"
#endif

int aloft_mbedtls_api(void)
{
    return API;
}

#if API == 4
/* ---- PSA (mbedTLS 4 / TF-PSA-Crypto) ---------------------------------- */
#include <psa/crypto.h>
#include <mbedtls/psa_util.h>

_Static_assert(sizeof(psa_hash_operation_t) <= ALOFT_HASH_CTX_SIZE, "psa hash operation");

/* psa_crypto_init may be called any number of times; after the first
 * success it succeeds at once. */
static bool psa_ready(void)
{
    return psa_crypto_init() == PSA_SUCCESS;
}

static void psa_init_alg(aloft_hash_ctx_t *c, psa_algorithm_t alg)
{
    psa_hash_operation_t *op = (psa_hash_operation_t *)c->bytes;
    *op = psa_hash_operation_init();
    if (psa_ready())
        (void)psa_hash_setup(op, alg); /* a failed setup fails every later step */
}

static void psa_update(aloft_hash_ctx_t *c, const void *data, size_t len)
{
    (void)psa_hash_update((psa_hash_operation_t *)c->bytes, data, len);
}

/* A failed hash yields zeros: no digest aloft checks against matches them
 * by accident, so the failure shows as a mismatch. */
static void psa_finish(aloft_hash_ctx_t *c, uint8_t *digest, size_t n)
{
    psa_hash_operation_t *op = (psa_hash_operation_t *)c->bytes;
    size_t got = 0;
    if (psa_hash_finish(op, digest, n, &got) != PSA_SUCCESS || got != n)
        memset(digest, 0, n);
    psa_hash_abort(op);
}

static void sha256_init(aloft_hash_ctx_t *c) { psa_init_alg(c, PSA_ALG_SHA_256); }
static void sha256_finish(aloft_hash_ctx_t *c, uint8_t *d) { psa_finish(c, d, 32); }
static void md5_init(aloft_hash_ctx_t *c) { psa_init_alg(c, PSA_ALG_MD5); }
static void md5_finish(aloft_hash_ctx_t *c, uint8_t *d) { psa_finish(c, d, 16); }
#define sha256_update psa_update
#define md5_update psa_update
#define HASH_CTX_SIZE(kind) sizeof(psa_hash_operation_t)

int aloft_mbedtls_pbkdf2_sha256(void *ctx, const void *pw, size_t pw_len, const void *salt,
                                size_t salt_len, uint32_t iterations, uint8_t *out,
                                size_t out_len)
{
    psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
    psa_status_t st;
    (void)ctx;
    if (!psa_ready())
        return ALOFT_ERR_CRYPTO;
    st = psa_key_derivation_setup(&op, PSA_ALG_PBKDF2_HMAC(PSA_ALG_SHA_256));
    if (st == PSA_SUCCESS)
        st = psa_key_derivation_input_integer(&op, PSA_KEY_DERIVATION_INPUT_COST, iterations);
    if (st == PSA_SUCCESS)
        st = psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_SALT, salt, salt_len);
    if (st == PSA_SUCCESS)
        st = psa_key_derivation_input_bytes(&op, PSA_KEY_DERIVATION_INPUT_PASSWORD, pw, pw_len);
    if (st == PSA_SUCCESS)
        st = psa_key_derivation_output_bytes(&op, out, out_len);
    psa_key_derivation_abort(&op);
    return st == PSA_SUCCESS ? ALOFT_OK : ALOFT_ERR_CRYPTO;
}

int aloft_mbedtls_ecdsa_p256_verify(void *ctx, const uint8_t pubkey[65],
                                    const uint8_t digest[32], const uint8_t *sig,
                                    size_t sig_len)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    mbedtls_svc_key_id_t key = MBEDTLS_SVC_KEY_ID_INIT;
    uint8_t raw[64];
    size_t raw_len = 0;
    psa_status_t st;
    (void)ctx;
    if (pubkey == NULL || digest == NULL || sig == NULL || pubkey[0] != 0x04)
        return ALOFT_ERR_ARG;
    if (!psa_ready())
        return ALOFT_ERR_CRYPTO;
    psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1));
    psa_set_key_bits(&attr, 256);
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_VERIFY_HASH);
    psa_set_key_algorithm(&attr, PSA_ALG_ECDSA(PSA_ALG_SHA_256));
    /* Import checks that the point lies on the curve. */
    st = psa_import_key(&attr, pubkey, 65, &key);
    if (st == PSA_ERROR_INSUFFICIENT_MEMORY)
        return ALOFT_ERR_CRYPTO;
    if (st != PSA_SUCCESS)
        return ALOFT_ERR_ARG;
    if (mbedtls_ecdsa_der_to_raw(256, sig, sig_len, raw, sizeof raw, &raw_len) != 0)
        st = PSA_ERROR_INVALID_SIGNATURE;
    else
        st = psa_verify_hash(key, PSA_ALG_ECDSA(PSA_ALG_SHA_256), digest, 32, raw, raw_len);
    psa_destroy_key(key);
    if (st == PSA_SUCCESS)
        return ALOFT_OK;
    return st == PSA_ERROR_INSUFFICIENT_MEMORY ? ALOFT_ERR_CRYPTO : ALOFT_ERR_SIGNATURE;
}

#else
/* ---- mbedTLS 2.28 and 3.x: the legacy API ------------------------------ */
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/md5.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/sha256.h>

#if API == 2
#define sha256_starts mbedtls_sha256_starts_ret
#define sha256_update_ mbedtls_sha256_update_ret
#define sha256_finish_ mbedtls_sha256_finish_ret
#define md5_starts mbedtls_md5_starts_ret
#define md5_update_ mbedtls_md5_update_ret
#define md5_finish_ mbedtls_md5_finish_ret
#define MBEDTLS_PRIVATE(member) member
#else
#define sha256_starts mbedtls_sha256_starts
#define sha256_update_ mbedtls_sha256_update
#define sha256_finish_ mbedtls_sha256_finish
#define md5_starts mbedtls_md5_starts
#define md5_update_ mbedtls_md5_update
#define md5_finish_ mbedtls_md5_finish
#endif

_Static_assert(sizeof(mbedtls_sha256_context) <= ALOFT_HASH_CTX_SIZE, "sha256 ctx");
_Static_assert(sizeof(mbedtls_md5_context) <= ALOFT_HASH_CTX_SIZE, "md5 ctx");
#define HASH_CTX_SIZE(kind) sizeof(mbedtls_##kind##_context)

static void sha256_init(aloft_hash_ctx_t *c)
{
    mbedtls_sha256_context *s = (mbedtls_sha256_context *)c->bytes;
    mbedtls_sha256_init(s);
    (void)sha256_starts(s, 0);
}

static void sha256_update(aloft_hash_ctx_t *c, const void *data, size_t len)
{
    (void)sha256_update_((mbedtls_sha256_context *)c->bytes, data, len);
}

static void sha256_finish(aloft_hash_ctx_t *c, uint8_t *digest)
{
    mbedtls_sha256_context *s = (mbedtls_sha256_context *)c->bytes;
    if (sha256_finish_(s, digest) != 0)
        memset(digest, 0, 32); /* shows as a mismatch, never as a match */
    mbedtls_sha256_free(s);
}

static void md5_init(aloft_hash_ctx_t *c)
{
    mbedtls_md5_context *m = (mbedtls_md5_context *)c->bytes;
    mbedtls_md5_init(m);
    (void)md5_starts(m);
}

static void md5_update(aloft_hash_ctx_t *c, const void *data, size_t len)
{
    (void)md5_update_((mbedtls_md5_context *)c->bytes, data, len);
}

static void md5_finish(aloft_hash_ctx_t *c, uint8_t *digest)
{
    mbedtls_md5_context *m = (mbedtls_md5_context *)c->bytes;
    if (md5_finish_(m, digest) != 0)
        memset(digest, 0, 16);
    mbedtls_md5_free(m);
}

int aloft_mbedtls_pbkdf2_sha256(void *ctx, const void *pw, size_t pw_len, const void *salt,
                                size_t salt_len, uint32_t iterations, uint8_t *out,
                                size_t out_len)
{
    int rc;
    (void)ctx;
#if API == 3 && MBEDTLS_VERSION_NUMBER >= 0x03030000
    rc = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, pw, pw_len, salt, salt_len,
                                       iterations, (uint32_t)out_len, out);
#else
    mbedtls_md_context_t md;
    mbedtls_md_init(&md);
    rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
    if (rc == 0)
        rc = mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pw_len, salt, salt_len, iterations,
                                       (uint32_t)out_len, out);
    mbedtls_md_free(&md);
#endif
    return rc ? ALOFT_ERR_CRYPTO : ALOFT_OK;
}

/* The key is checked to be a point on the curve; mbedtls_ecdsa_read_signature
 * refuses bytes after the DER signature (MBEDTLS_ERR_ECP_SIG_LEN_MISMATCH).
 * Timing and allocation (bignums on the heap) are mbedTLS's. */
int aloft_mbedtls_ecdsa_p256_verify(void *ctx, const uint8_t pubkey[65],
                                    const uint8_t digest[32], const uint8_t *sig,
                                    size_t sig_len)
{
    mbedtls_ecdsa_context ec;
    mbedtls_ecp_group *grp = &ec.MBEDTLS_PRIVATE(grp);
    mbedtls_ecp_point *q = &ec.MBEDTLS_PRIVATE(Q);
    int err;
    (void)ctx;
    mbedtls_ecdsa_init(&ec);
    if (mbedtls_ecp_group_load(grp, MBEDTLS_ECP_DP_SECP256R1) != 0)
        err = ALOFT_ERR_CRYPTO;
    else if (pubkey == NULL || pubkey[0] != 0x04 ||
             mbedtls_ecp_point_read_binary(grp, q, pubkey, 65) != 0 ||
             mbedtls_ecp_check_pubkey(grp, q) != 0)
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
#endif

const aloft_hash_alg_t aloft_mbedtls_sha256 = {
    HASH_CTX_SIZE(sha256), 32, sha256_init, sha256_update, sha256_finish,
};

const aloft_hash_alg_t aloft_mbedtls_md5 = {
    HASH_CTX_SIZE(md5), 16, md5_init, md5_update, md5_finish,
};
