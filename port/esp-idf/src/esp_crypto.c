/*
 * port/esp-idf/src/esp_crypto.c — the device's crypto: hashes, PBKDF2 and
 * ECDSA from the mbedTLS IDF ships, through the module the POSIX port uses
 * too (port/mbedtls: mbedTLS 3.x on IDF 5.x, the PSA API of mbedTLS 4 /
 * TF-PSA-Crypto on IDF 6.x; IDF's hardware SHA sits behind either), and
 * esp_fill_random() as the RNG.
 *
 * esp_fill_random is a true RNG only while its entropy source runs: Wi-Fi
 * or Bluetooth enabled, or the bootloader's entropy source
 * (bootloader_random_enable) still on. aloft draws its login nonces and
 * salts when a client connects over the network, so Wi-Fi is up then.
 */
#include "esp_random.h"

#include "aloft/error.h"
#include "aloft_mbedtls.h"
#include "esp_port.h"

static int fill_random(void *ctx, void *out, size_t n)
{
    (void)ctx;
    esp_fill_random(out, n);
    return ALOFT_OK;
}

void aesp_crypto_init(aloft_crypto_t *c)
{
    c->sha256 = &aloft_mbedtls_sha256;
    c->md5 = &aloft_mbedtls_md5;
    c->pbkdf2_sha256 = aloft_mbedtls_pbkdf2_sha256;
    c->random = fill_random;
    c->ecdsa_p256_verify = aloft_mbedtls_ecdsa_p256_verify;
    c->ctx = NULL;
}
