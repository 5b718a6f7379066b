/*
 * host/sign_keys_mbedtls.c — the key half of sign_keys.h over mbedTLS (pk,
 * ecp, ecdsa, ctr_drbg): generating, parsing and writing P-256 keys, and
 * signing a digest. Windows has host/win/sign_keys_bcrypt.c instead.
 */
#include "sign_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "fileio.h"
#include "host_os.h"

struct sign_key {
    mbedtls_pk_context pk;
    aloft_pubkey_t pub;
};

/* ---- randomness --------------------------------------------------------- */

typedef struct {
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
} rng_t;

/* A ctr_drbg seeded from the OS (getrandom / /dev/urandom via
 * mbedtls_entropy). Returns 0 or -1 after printing why. */
static int rng_open(rng_t *r, const char *purpose)
{
    mbedtls_entropy_init(&r->entropy);
    mbedtls_ctr_drbg_init(&r->drbg);
    if (mbedtls_ctr_drbg_seed(&r->drbg, mbedtls_entropy_func, &r->entropy,
                              (const unsigned char *)purpose, strlen(purpose)) != 0) {
        fprintf(stderr, "aloft: cannot seed the random generator for %s\n", purpose);
        return -1;
    }
    return 0;
}

static void rng_close(rng_t *r)
{
    mbedtls_ctr_drbg_free(&r->drbg);
    mbedtls_entropy_free(&r->entropy);
}

/* ---- keys --------------------------------------------------------------- */

/* The public point and key id of pk, which must be an EC key on P-256.
 * Returns 0, or -1 with the reason in why. */
static int public_of(const mbedtls_pk_context *pk, aloft_pubkey_t *out, char *why, size_t n)
{
    const mbedtls_ecp_keypair *ec;
    size_t olen = 0;
    if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY)) {
        snprintf(why, n, "it holds a %s key, aloft signs with ECDSA P-256 (prime256v1)",
                 mbedtls_pk_get_name(pk));
        return -1;
    }
    ec = mbedtls_pk_ec(*pk);
    if (ec->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
        const mbedtls_ecp_curve_info *ci = mbedtls_ecp_curve_info_from_grp_id(ec->grp.id);
        snprintf(why, n, "it is a key on curve %s, aloft needs P-256 (prime256v1)",
                 ci ? ci->name : "unknown");
        return -1;
    }
    if (mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
                                       out->point, sizeof out->point) != 0 ||
        olen != ALOFT_PUBKEY_LEN ||
        aloft_sig_key_id(host_crypto->sha256, out->point, out->key_id) != 0) {
        snprintf(why, n, "its public point cannot be encoded");
        return -1;
    }
    return 0;
}

static sign_key_t *key_new(void)
{
    sign_key_t *k = xmalloc(sizeof *k);
    memset(k, 0, sizeof *k);
    mbedtls_pk_init(&k->pk);
    return k;
}

void sign_key_free(sign_key_t *k)
{
    if (k == NULL)
        return;
    mbedtls_pk_free(&k->pk);   /* zeroizes the private scalar */
    free(k);
}

sign_key_t *sign_key_generate(void)
{
    sign_key_t *k = key_new();
    char why[128];
    rng_t r;
    int ok = rng_open(&r, "aloft keygen") == 0 &&
             mbedtls_pk_setup(&k->pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) == 0 &&
             mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(k->pk),
                                 mbedtls_ctr_drbg_random, &r.drbg) == 0 &&
             public_of(&k->pk, &k->pub, why, sizeof why) == 0;
    rng_close(&r);
    if (!ok) {
        fprintf(stderr, "aloft: key generation failed (mbedTLS)\n");
        sign_key_free(k);
        return NULL;
    }
    return k;
}

static bool has_text(const char *s, size_t len, const char *what)
{
    size_t w = strlen(what);
    for (size_t i = 0; i + w <= len; i++)
        if (memcmp(s + i, what, w) == 0)
            return true;
    return false;
}

/* PEM parsing in mbedTLS wants the text NUL-terminated, length included. */
static unsigned char *pem_copy(const char *pem, size_t len)
{
    unsigned char *buf = xmalloc(len + 1);
    memcpy(buf, pem, len);
    buf[len] = '\0';
    return buf;
}

sign_key_t *sign_key_parse(const char *pem, size_t len, char *why, size_t n)
{
    sign_key_t *k = key_new();
    unsigned char *buf = pem_copy(pem, len);
    int rc = mbedtls_pk_parse_key(&k->pk, buf, len + 1, NULL, 0);
    mbedtls_platform_zeroize(buf, len + 1);
    free(buf);
    if (rc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED || rc == MBEDTLS_ERR_PK_PASSWORD_MISMATCH) {
        snprintf(why, n, "it is encrypted; aloft reads unencrypted keys only "
                 "(decrypt a copy with `openssl ec -in KEY -out KEY.plain`)");
    } else if (rc != 0 && has_text(pem, len, "PUBLIC KEY-----")) {
        snprintf(why, n, "it is a public key; signing needs the private key (the .key file)");
    } else if (rc != 0) {
        snprintf(why, n, "it is not a PEM private key (make one with `aloft keygen NAME`)");
    } else if (public_of(&k->pk, &k->pub, why, n) == 0) {
        return k;
    }
    sign_key_free(k);
    return NULL;
}

const aloft_pubkey_t *sign_key_public(const sign_key_t *k)
{
    return &k->pub;
}

int sign_key_pem(const sign_key_t *k, bool priv, char *out, size_t n)
{
    mbedtls_pk_context *pk = (mbedtls_pk_context *)&k->pk;   /* mbedTLS 2 is not const-clean */
    int rc = priv ? mbedtls_pk_write_key_pem(pk, (unsigned char *)out, n)
                  : mbedtls_pk_write_pubkey_pem(pk, (unsigned char *)out, n);
    return rc == 0 ? (int)strlen(out) : -1;
}

int pubkey_parse(const char *pem, size_t len, aloft_pubkey_t *out, char *why, size_t n)
{
    mbedtls_pk_context pk;
    unsigned char *buf = pem_copy(pem, len);
    int rc;
    mbedtls_pk_init(&pk);
    rc = mbedtls_pk_parse_public_key(&pk, buf, len + 1);
    if (rc != 0) {   /* a private key file holds the public key too */
        mbedtls_pk_free(&pk);
        mbedtls_pk_init(&pk);
        rc = mbedtls_pk_parse_key(&pk, buf, len + 1, NULL, 0);
    }
    mbedtls_platform_zeroize(buf, len + 1);
    free(buf);
    if (rc != 0)
        snprintf(why, n, "it is not a PEM public key (the .pub file `aloft keygen` writes)");
    else
        rc = public_of(&pk, out, why, n);
    mbedtls_pk_free(&pk);
    return rc == 0 ? 0 : -1;
}

int sign_digest(const sign_key_t *k, const uint8_t digest[32], uint8_t sig[ALOFT_SIG_MAX_DER],
                size_t *sig_len)
{
    unsigned char buf[MBEDTLS_ECDSA_MAX_LEN];
    size_t len = 0;
    rng_t r;
    /* Deterministic (RFC 6979) with MBEDTLS_ECDSA_DETERMINISTIC, which
     * Debian's mbedTLS has; the DRBG only blinds the scalar operations. */
    int rc = rng_open(&r, "aloft sign") == 0
                 ? mbedtls_ecdsa_write_signature(mbedtls_pk_ec(k->pk), MBEDTLS_MD_SHA256, digest,
                                                 32, buf, &len, mbedtls_ctr_drbg_random, &r.drbg)
                 : -1;
    rng_close(&r);
    if (rc != 0 || len > ALOFT_SIG_MAX_DER) {
        fprintf(stderr, "aloft: signing failed (mbedTLS)\n");
        return -1;
    }
    memcpy(sig, buf, len);
    *sig_len = len;
    return 0;
}
