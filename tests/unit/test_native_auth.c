/*
 * tests/unit/test_native_auth.c — HMAC and the native protocol's login
 * against values computed independently with Python's hashlib/hmac:
 *   salted = pbkdf2_hmac('sha256', b'secret', bytes(range(16)), 1000, 32)
 *   client_key = HMAC(salted, 'Client Key'), stored = SHA256(client_key),
 *   server_key = HMAC(salted, 'Server Key'),
 *   auth_message = SHA256(b'hello payload' + b'\x11' * 32), ...
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/util.h"
#include "aloft/error.h"
#include "aloft/wire/espota.h"
#include "hmac.h"
#include "aloft/wire/native.h"
#include "crypto_mbedtls.h"

static const aloft_crypto_t *C = &aloft_mbedtls_crypto;

static void assert_hex(const uint8_t *bytes, size_t n, const char *hex)
{
    char got[129];
    aloft_hex(bytes, n, got);
    assert_string_equal(got, hex);
}

static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t out[32], key[131];
    /* RFC 4231 test case 2 */
    assert_int_equal(aloft_hmac(C->sha256, "Jefe", 4, "what do ya want for nothing?", 28, out), 0);
    assert_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 6: a key longer than the block is hashed first */
    memset(key, 0xaa, sizeof key);
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    assert_int_equal(aloft_hmac(C->sha256, key, sizeof key, msg, strlen(msg), out), 0);
    assert_hex(out, 32, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* streaming in pieces equals one shot */
    aloft_hmac_t h;
    aloft_hmac_init(&h, C->sha256, "Jefe", 4);
    aloft_hmac_update(&h, "what do ya ", 11);
    aloft_hmac_update(&h, "want for nothing?", 17);
    aloft_hmac_final(&h, out);
    assert_hex(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_login_vectors_and_mutual_auth(void **state)
{
    (void)state;
    uint8_t salt[16], nonce[32], am[32], ck[32], proof[32], sess_dev[32], sig[32], sess_host[32];
    aloft_native_verifier_t v;
    for (int i = 0; i < 16; i++)
        salt[i] = (uint8_t)i;
    memset(nonce, 0x11, sizeof nonce);
    assert_int_equal(aloft_native_derive(C, "secret", salt, 1000, &v, ck), 0);
    assert_hex(v.stored_key, 32, "78f267546eefe9b77d82206f023c8ef46faa6bf8ffe75af3f80862e25602cb1d");
    assert_hex(v.server_key, 32, "17ef6754a60d33584d7d1a6df334d251d6701871cd68f6bbd5620eb69382a755");
    assert_int_equal(aloft_native_auth_message(C->sha256, (const uint8_t *)"hello payload", 13,
                                               nonce, am), 0);
    assert_hex(am, 32, "6e2ab018a58cc174ed595b9936843328e9cae063c3b606eaecbdb6bc26ebe68b");
    aloft_native_client_proof(C->sha256, ck, am, proof);
    assert_hex(proof, 32, "741af33367eb060a3fbfcc5bdcc25a94ee774d1257e6d919e76728f19f7985d4");
    assert_int_equal(aloft_native_verify_proof(C->sha256, &v, am, proof, sess_dev, sig), 0);
    assert_hex(sess_dev, 32, "c9b38d9a31424fd00751ca0b99d45affd506bf7bfcacc5ffab2b519664007cd3");
    assert_hex(sig, 32, "d43f0bcb4dbc0f0349fd85b99b626711aa1f9885c6935a4deef7bf36dafd022d");
    assert_int_equal(aloft_native_host_keys(C->sha256, v.server_key, ck, am, sig, sess_host), 0);
    assert_memory_equal(sess_dev, sess_host, 32);
}

static void test_wrong_password_and_tampering_fail(void **state)
{
    (void)state;
    uint8_t salt[16] = {0}, nonce[32] = {0}, am[32], ck_bad[32], proof[32], sess[32], sig[32];
    aloft_native_verifier_t v, bad;
    assert_int_equal(aloft_native_derive(C, "right", salt, 100, &v, NULL), 0);
    assert_int_equal(aloft_native_derive(C, "wrong", salt, 100, &bad, ck_bad), 0);
    aloft_native_auth_message(C->sha256, (const uint8_t *)"h", 1, nonce, am);
    aloft_native_client_proof(C->sha256, ck_bad, am, proof);
    assert_int_equal(aloft_native_verify_proof(C->sha256, &v, am, proof, sess, sig), ALOFT_ERR_AUTH);
    /* A device that does not know the password cannot forge the signature. */
    memset(sig, 0, sizeof sig);
    assert_int_equal(aloft_native_host_keys(C->sha256, v.server_key, ck_bad, am, sig, sess),
                     ALOFT_ERR_AUTH);
}

/* The verifier's text form (Kconfig, AloftOTA): a round trip, and every
 * malformed variant refused. */
static void test_verifier_text(void **state)
{
    (void)state;
    aloft_native_verifier_t v, back;
    uint8_t salt[ALOFT_NATIVE_SALT_LEN];
    char text[ALOFT_NATIVE_VERIFIER_TEXT_MAX], bad[ALOFT_NATIVE_VERIFIER_TEXT_MAX + 8];
    for (size_t i = 0; i < sizeof salt; i++)
        salt[i] = (uint8_t)i;
    assert_int_equal(aloft_native_derive(C, "secret", salt, 1000, &v, NULL), 0);
    aloft_native_verifier_format(&v, text);
    assert_int_equal(strlen(text), 4 + 1 + 32 + 1 + 64 + 1 + 64);
    assert_memory_equal(text, "1000:000102030405060708090a0b0c0d0e0f:", 38);
    memset(&back, 0, sizeof back);
    assert_int_equal(aloft_native_verifier_parse(text, strlen(text), &back), 0);
    assert_memory_equal(&back, &v, sizeof v);
    v.iterations = 10000000;   /* the largest accepted, 8 digits */
    aloft_native_verifier_format(&v, text);
    assert_int_equal(aloft_native_verifier_parse(text, strlen(text), &back), 0);
    assert_int_equal(back.iterations, 10000000);

    aloft_native_verifier_format(&v, text);
    size_t len = strlen(text);
    const char *cases[] = {"", "1000", "0:", "x", "10000:00:11:22"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_int_equal(aloft_native_verifier_parse(cases[i], strlen(cases[i]), &back),
                         ALOFT_ERR_ARG);
    assert_int_equal(aloft_native_verifier_parse(NULL, 0, &back), ALOFT_ERR_ARG);
    for (size_t at = 0; at < len; at++) {   /* any byte changed to one that breaks the form */
        memcpy(bad, text, len + 1);
        bad[at] = bad[at] == ':' ? '0' : 'g';
        assert_int_equal(aloft_native_verifier_parse(bad, len, &back), ALOFT_ERR_ARG);
    }
    assert_int_equal(aloft_native_verifier_parse(text, len - 1, &back), ALOFT_ERR_ARG);
    memcpy(bad, "0", 1);   /* iterations 0 */
    memcpy(bad + 1, text + 8, len - 8 + 1);
    assert_int_equal(aloft_native_verifier_parse(bad, strlen(bad), &back), ALOFT_ERR_ARG);
    memcpy(bad, "99999999", 8);   /* above 10,000,000 */
    memcpy(bad + 8, text + 8, len - 8 + 1);
    assert_int_equal(aloft_native_verifier_parse(bad, strlen(bad), &back), ALOFT_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_login_vectors_and_mutual_auth),
        cmocka_unit_test(test_wrong_password_and_tampering_fail),
        cmocka_unit_test(test_verifier_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
