/*
 * tests/esp/task/test_esp_keys.c — the component's secrets from text
 * (esp_keys.h): signing keys as `aloft keygen` writes them (the PEM, its
 * base64 lines joined, the point in hex), several keys, and what is
 * refused with a reason; the verifier's ITERATIONS:SALT:STORED:SERVER.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/util.h"
#include "aloft_mbedtls.h"
#include "esp_keys.h"
#include "sign_keys.h"

static char why[200];

/* A fresh key pair: its PEM (pem), base64 lines joined (b64), point hex. */
typedef struct key_text {
    aloft_pubkey_t pub;
    char pem[400], b64[200], hex[2 * ALOFT_PUBKEY_LEN + 1];
} key_text_t;

static void new_key(key_text_t *t)
{
    sign_key_t *k = sign_key_generate();
    assert_non_null(k);
    t->pub = *sign_key_public(k);
    assert_true(sign_key_pem(k, false, t->pem, sizeof t->pem) > 0);
    sign_key_free(k);
    size_t n = 0;
    for (const char *line = strchr(t->pem, '\n') + 1; strncmp(line, "-----", 5) != 0;
         line = strchr(line, '\n') + 1) {
        size_t len = (size_t)(strchr(line, '\n') - line);
        memcpy(t->b64 + n, line, len);
        n += len;
    }
    t->b64[n] = '\0';
    aloft_hex(t->pub.point, ALOFT_PUBKEY_LEN, t->hex);
}

static void expect_key(const aloft_pubkey_t *got, const aloft_pubkey_t *want)
{
    assert_memory_equal(got->point, want->point, ALOFT_PUBKEY_LEN);
    assert_memory_equal(got->key_id, want->key_id, ALOFT_SIG_KEY_ID_LEN);
}

static void test_forms(void **state)
{
    key_text_t a;
    aloft_pubkey_t out[4];
    (void)state;
    new_key(&a);
    assert_int_equal(esp_keys_parse(a.pem, &aloft_mbedtls_sha256, out, 4, why, sizeof why), 1);
    expect_key(&out[0], &a.pub);
    assert_int_equal(esp_keys_parse(a.b64, &aloft_mbedtls_sha256, out, 4, why, sizeof why), 1);
    expect_key(&out[0], &a.pub);
    assert_int_equal(esp_keys_parse(a.hex, &aloft_mbedtls_sha256, out, 4, why, sizeof why), 1);
    expect_key(&out[0], &a.pub);
    assert_int_equal(esp_keys_parse("", &aloft_mbedtls_sha256, out, 4, why, sizeof why), 0);
    assert_int_equal(esp_keys_parse(NULL, &aloft_mbedtls_sha256, out, 4, why, sizeof why), 0);
}

static void test_several(void **state)
{
    key_text_t a, b, c;
    aloft_pubkey_t out[4];
    char text[1200];
    (void)state;
    new_key(&a);
    new_key(&b);
    new_key(&c);
    snprintf(text, sizeof text, " %s, %s\n%s ; ", a.b64, b.pem, c.hex);
    assert_int_equal(esp_keys_parse(text, &aloft_mbedtls_sha256, out, 4, why, sizeof why), 3);
    expect_key(&out[0], &a.pub);
    expect_key(&out[1], &b.pub);
    expect_key(&out[2], &c.pub);
    assert_int_equal(esp_keys_parse(text, &aloft_mbedtls_sha256, out, 2, why, sizeof why),
                     ALOFT_ERR_ARG);
    assert_string_equal(why, "more than 2 signing keys");
}

static void expect_bad(const char *text, const char *reason)
{
    aloft_pubkey_t out[4];
    assert_int_equal(esp_keys_parse(text, &aloft_mbedtls_sha256, out, 4, why, sizeof why),
                     ALOFT_ERR_ARG);
    if (strstr(why, reason) == NULL)
        fail_msg("'%s': reason '%s' lacks '%s'", text, why, reason);
}

static void test_refused(void **state)
{
    key_text_t a;
    char text[600];
    (void)state;
    new_key(&a);
    expect_bad("MFkwEwYHKoZIzj0C", "signing key 1 is not a P-256 public key");
    snprintf(text, sizeof text, "%s %.64s", a.b64, a.b64);   /* the PEM's first line alone */
    expect_bad(text, "signing key 2 is not");
    snprintf(text, sizeof text, "%s", a.hex);
    text[0] = '0', text[1] = '2';                            /* a compressed point */
    expect_bad(text, "signing key 1 is not");
    snprintf(text, sizeof text, "%s", a.b64);
    text[40] = '*';
    expect_bad(text, "signing key 1 is not");
    snprintf(text, sizeof text, "%.*s", (int)(strstr(a.pem, "-----END") - a.pem), a.pem);
    expect_bad(text, "PEM block without its BEGIN/END lines complete");
    /* an RSA key's SPKI has another prefix */
    expect_bad("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmwIDAQAB",
               "signing key 1 is not");
}

static void test_verifier(void **state)
{
    aloft_native_verifier_t v, want;
    char text[300], salt[33], stored[65], server[65];
    uint8_t s[ALOFT_NATIVE_SALT_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    extern const aloft_crypto_t aloft_mbedtls_crypto;
    (void)state;
    assert_int_equal(aloft_native_derive(&aloft_mbedtls_crypto, "pw", s, 1000, &want, NULL), 0);
    aloft_hex(want.salt, sizeof want.salt, salt);
    aloft_hex(want.stored_key, 32, stored);
    aloft_hex(want.server_key, 32, server);
    snprintf(text, sizeof text, "1000:%s:%s:%s", salt, stored, server);
    assert_int_equal(esp_verifier_parse(text, &v, why, sizeof why), 0);
    assert_memory_equal(&v, &want, sizeof v);

    static const char *bad[] = {"", "1000", "0:00:00:00", "x:00:00:00", "1000::::"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(esp_verifier_parse(bad[i], &v, why, sizeof why), ALOFT_ERR_ARG);
    snprintf(text, sizeof text, "1000:%s:%s:%s:", salt, stored, server);   /* a fifth field */
    assert_int_equal(esp_verifier_parse(text, &v, why, sizeof why), ALOFT_ERR_ARG);
    snprintf(text, sizeof text, "1000:%s:%.62s:%s", salt, stored, server);  /* short key */
    assert_int_equal(esp_verifier_parse(text, &v, why, sizeof why), ALOFT_ERR_ARG);
    assert_non_null(strstr(why, "ITERATIONS:SALT:STORED_KEY:SERVER_KEY"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_several),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_verifier),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
