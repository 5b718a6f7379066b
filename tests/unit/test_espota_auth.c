/*
 * tests/unit/test_espota_auth.c — espota messages and both authentication
 * schemes against the test vectors of protocol.md §3.3 and §3.4 (computed
 * there with Python's hashlib, independently of this code).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/error.h"
#include "aloft/wire/espota.h"
#include "crypto_mbedtls.h"

static const aloft_crypto_t *C = &aloft_mbedtls_crypto;

static void test_md5_scheme_vectors(void **state)
{
    (void)state;
    char h[65], cnonce[65], resp[65];
    assert_int_equal(aloft_espota_secret(C, ALOFT_ESPOTA_AUTH_MD5, "admin", h), 0);
    assert_string_equal(h, "21232f297a57a5a743894a0e4a801fc3");
    assert_int_equal(aloft_espota_cnonce(C, ALOFT_ESPOTA_AUTH_MD5, "sketch.ino.bin", 1168784,
                                         "0123456789abcdef0123456789abcdef", "192.168.1.50",
                                         cnonce), 0);
    assert_string_equal(cnonce, "43cebe68834499088e32d7c0483f0fce");
    assert_int_equal(aloft_espota_response(C, ALOFT_ESPOTA_AUTH_MD5, h,
                                           "0123456789abcdef0123456789abcdef", cnonce, resp), 0);
    assert_string_equal(resp, "4b00f9a2b312b759216142e9e32c7349");
}

static void test_pbkdf2_scheme_vectors(void **state)
{
    (void)state;
    char h[65], cnonce[65], resp[65];
    const char *ab = "abababababababababababababababababababababababababababababababab";
    const char *cd = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
    assert_int_equal(aloft_espota_secret(C, ALOFT_ESPOTA_AUTH_PBKDF2, "a-real-password", h), 0);
    assert_string_equal(h, "980061b57e53c2de71a544b88d868652220a5f638b654459743bc497df202f9e");
    assert_int_equal(aloft_espota_response(C, ALOFT_ESPOTA_AUTH_PBKDF2, h, ab, cd, resp), 0);
    assert_string_equal(resp, "4d63ba8b1efa8949a0c5caefe7e8bc77db582e5531bdf2667c663394b4551b93");

    assert_int_equal(aloft_espota_secret(C, ALOFT_ESPOTA_AUTH_PBKDF2, "admin", h), 0);
    assert_int_equal(aloft_espota_cnonce(C, ALOFT_ESPOTA_AUTH_PBKDF2, "sketch.ino.bin", 1168784,
                                         "0123456789abcdef0123456789abcdef", "192.168.1.50",
                                         cnonce), 0);
    assert_string_equal(cnonce, "25eebeb3ebff58b53878fb1a63199813b2afd27336189015ea0772e822ffcf0c");
    assert_int_equal(aloft_espota_response(C, ALOFT_ESPOTA_AUTH_PBKDF2, h, ab, cnonce, resp), 0);
    assert_string_equal(resp, "e8a66862ceff63b11dc33ebc0da0ee2494a49e659391dd71632116b342a35a96");
    /* A device built with an MD5 setPasswordHash: PBKDF2 over the MD5 secret. */
    assert_int_equal(aloft_espota_response(C, ALOFT_ESPOTA_AUTH_PBKDF2,
                                           "21232f297a57a5a743894a0e4a801fc3", ab, cnonce, resp), 0);
    assert_string_equal(resp, "90964e1dd0a659f18fcd1666b4a79022455e3bf7f521631e285fb456096a3ae6");
}

static void test_invite_round_trip_and_forgiving_parse(void **state)
{
    (void)state;
    aloft_espota_invite_t inv = {0, 51234, 1168784, "0123456789abcdef0123456789abcdef"}, got;
    char line[96];
    int n = aloft_espota_format_invite(&inv, line, sizeof line);
    assert_string_equal(line, "0 51234 1168784 0123456789abcdef0123456789abcdef\n");
    assert_int_equal(aloft_espota_parse_invite(line, (size_t)n, &got), 0);
    assert_int_equal(got.port, 51234);
    assert_int_equal(got.size, 1168784);
    assert_string_equal(got.md5, inv.md5);
    /* Upper-case MD5 is accepted and lowered, as old cores compare lowercase. */
    const char *upper = "100 4000 77 0123456789ABCDEF0123456789ABCDEF\r\n";
    assert_int_equal(aloft_espota_parse_invite(upper, strlen(upper), &got), 0);
    assert_int_equal(got.cmd, 100);
    assert_string_equal(got.md5, "0123456789abcdef0123456789abcdef");
    /* Refusals: bad md5 length, port 0, size 0, unknown command, overflow. */
    const char *bad[] = {"0 4000 77 0123\n", "0 0 77 0123456789abcdef0123456789abcdef\n",
                         "0 4000 0 0123456789abcdef0123456789abcdef\n",
                         "7 4000 77 0123456789abcdef0123456789abcdef\n",
                         "0 4000 99999999999 0123456789abcdef0123456789abcdef\n",
                         "0 70000 77 0123456789abcdef0123456789abcdef\n", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(aloft_espota_parse_invite(bad[i], strlen(bad[i]), &got), ALOFT_ERR_PROTO);
}

static void test_auth_datagram_parse(void **state)
{
    (void)state;
    char cn[65], rs[65];
    const char *ok = "200 43cebe68834499088e32d7c0483f0fce 4b00f9a2b312b759216142e9e32c7349\n";
    assert_int_equal(aloft_espota_parse_auth(ok, strlen(ok), 32, cn, rs), 0);
    assert_string_equal(cn, "43cebe68834499088e32d7c0483f0fce");
    assert_string_equal(rs, "4b00f9a2b312b759216142e9e32c7349");
    /* A second invitation where the auth leg is expected ("200 was expected"). */
    const char *inv = "0 4000 77 0123456789abcdef0123456789abcdef\n";
    assert_int_equal(aloft_espota_parse_auth(inv, strlen(inv), 32, cn, rs), ALOFT_ERR_PROTO);
    assert_int_equal(aloft_espota_parse_auth(ok, strlen(ok), 64, cn, rs), ALOFT_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_md5_scheme_vectors),
        cmocka_unit_test(test_pbkdf2_scheme_vectors),
        cmocka_unit_test(test_invite_round_trip_and_forgiving_parse),
        cmocka_unit_test(test_auth_datagram_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
