/* port/posix/crypto_mbedtls.c — the POSIX port's aloft_crypto_t: the shared
 * mbedTLS module, and the kernel's CSPRNG through getentropy(), which Linux
 * (glibc 2.25) and macOS (10.12) both have. */
#include "crypto_mbedtls.h"

#include <sys/random.h>

#include "aloft/error.h"

/* The kernel CSPRNG, as esp_fill_random is on the chip; getentropy gives
 * at most 256 bytes a call. */
static int random_bytes(void *ctx, void *out, size_t n)
{
    uint8_t *p = out;
    (void)ctx;
    while (n > 0) {
        size_t k = n < 256 ? n : 256;
        if (getentropy(p, k) != 0)
            return ALOFT_ERR_CRYPTO;
        p += k;
        n -= k;
    }
    return ALOFT_OK;
}

const aloft_crypto_t aloft_mbedtls_crypto = {
    .sha256 = &aloft_mbedtls_sha256,
    .md5 = &aloft_mbedtls_md5,
    .pbkdf2_sha256 = aloft_mbedtls_pbkdf2_sha256,
    .random = random_bytes,
    .ecdsa_p256_verify = aloft_mbedtls_ecdsa_p256_verify,
    .ctx = NULL,
};
