/*
 * tests/esp/device/test_esp_crypto.c — the device's crypto (esp_crypto.c
 * over the shared port/mbedtls module; here Debian's mbedTLS 2.28, on the
 * chip IDF's 3.x or 4.x): known-answer vectors, including the ECDSA P-256
 * signature of tests/unit/test_signature.c, and the RNG callback
 * (esp_fill_random). Self-contained (no host signer), so that the same
 * file can be built against another mbedTLS (see docs/PORTING.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#if __has_include(<tf-psa-crypto/build_info.h>)
#define WANT_API 4
#else
#include <mbedtls/version.h>
#define WANT_API MBEDTLS_VERSION_MAJOR
#endif

#include "aloft_mbedtls.h"
#include "esp_port.h"
#include "sig_vector.h"

static aloft_crypto_t C;

static void hex(const char *s, uint8_t *out)
{
    for (size_t i = 0; s[2 * i]; i++) {
        unsigned v;
        sscanf(s + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void test_sha256(void **state)
{
    uint8_t d[32], want[32];
    aloft_hash_ctx_t c;
    (void)state;
    hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", want);
    assert_int_equal(aloft_hash_oneshot(C.sha256, "abc", 3, d), 0);
    assert_memory_equal(d, want, 32);
    /* Streaming in uneven pieces (FIPS 180-2's two-block message). */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", want);
    assert_int_equal(aloft_hash_init(C.sha256, &c), 0);
    C.sha256->update(&c, m, 7);
    C.sha256->update(&c, m + 7, 0);
    C.sha256->update(&c, m + 7, strlen(m) - 7);
    C.sha256->finish(&c, d);
    assert_memory_equal(d, want, 32);
    assert_true(C.sha256->ctx_size <= ALOFT_HASH_CTX_SIZE);
}

static void test_md5(void **state)
{
    uint8_t d[16], want[16];
    (void)state;
    hex("900150983cd24fb0d6963f7d28e17f72", want);
    assert_int_equal(aloft_hash_oneshot(C.md5, "abc", 3, d), 0);
    assert_memory_equal(d, want, 16);
    hex("d41d8cd98f00b204e9800998ecf8427e", want);
    assert_int_equal(aloft_hash_oneshot(C.md5, "", 0, d), 0);
    assert_memory_equal(d, want, 16);
}

/* PBKDF2-HMAC-SHA256 vectors (RFC 7914 section 11 and the widely
 * published "password"/"salt" set). */
static void test_pbkdf2(void **state)
{
    uint8_t out[64], want[64];
    (void)state;
    hex("120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b", want);
    assert_int_equal(C.pbkdf2_sha256(C.ctx, "password", 8, "salt", 4, 1, out, 32), 0);
    assert_memory_equal(out, want, 32);
    hex("c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a", want);
    assert_int_equal(C.pbkdf2_sha256(C.ctx, "password", 8, "salt", 4, 4096, out, 32), 0);
    assert_memory_equal(out, want, 32);
    hex("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783", want);
    assert_int_equal(C.pbkdf2_sha256(C.ctx, "passwd", 6, "salt", 4, 1, out, 64), 0);
    assert_memory_equal(out, want, 64);
}


static void test_ecdsa(void **state)
{
    uint8_t digest[32], sig[71], bad[65];
    (void)state;
    aloft_hash_oneshot(C.sha256, vec_meta, sizeof vec_meta, digest);
    memcpy(sig, vec_sig, sizeof vec_sig);
    assert_int_equal(C.ecdsa_p256_verify(C.ctx, vec_point, digest, sig, 70), 0);
    /* Another digest, a trailing byte, a truncated or altered signature. */
    digest[31] ^= 1;
    assert_int_equal(C.ecdsa_p256_verify(C.ctx, vec_point, digest, sig, 70), ALOFT_ERR_SIGNATURE);
    digest[31] ^= 1;
    sig[70] = 0;
    assert_int_equal(C.ecdsa_p256_verify(C.ctx, vec_point, digest, sig, 71), ALOFT_ERR_SIGNATURE);
    assert_int_equal(C.ecdsa_p256_verify(C.ctx, vec_point, digest, sig, 69), ALOFT_ERR_SIGNATURE);
    sig[40] ^= 0x04;
    assert_int_equal(C.ecdsa_p256_verify(C.ctx, vec_point, digest, sig, 70), ALOFT_ERR_SIGNATURE);
    /* A point off the curve, or compressed, is a bad key. */
    memcpy(bad, vec_point, 65);
    bad[64] ^= 1;
    assert_int_equal(C.ecdsa_p256_verify(C.ctx, bad, digest, vec_sig, 70), ALOFT_ERR_ARG);
    bad[64] ^= 1;
    bad[0] = 0x02;
    assert_int_equal(C.ecdsa_p256_verify(C.ctx, bad, digest, vec_sig, 70), ALOFT_ERR_ARG);
}

static void test_random(void **state)
{
    uint8_t a[32], b[32], zero[32] = {0};
    (void)state;
    assert_int_equal(C.random(C.ctx, a, sizeof a), 0);
    assert_int_equal(C.random(C.ctx, b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
    assert_memory_not_equal(a, zero, sizeof a);
}

static void test_api_selected(void **state)
{
    (void)state;
    /* The branch of port/mbedtls this build took matches the headers
     * (Debian 12: 2.28, the _ret names). */
    assert_int_equal(aloft_mbedtls_api(), WANT_API);
}

int main(void)
{
    aesp_crypto_init(&C);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_pbkdf2),
        cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_random),
        cmocka_unit_test(test_api_selected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
