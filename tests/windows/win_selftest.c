/*
 * tests/windows/win_selftest.c — the Windows port's own checks, run under
 * wine by tests/integration/test_windows.sh (cmocka has no mingw build in
 * Debian): CNG hashes (the core's known answers), PBKDF2-HMAC-SHA256
 * against RFC 7914's vector, the RNG, ECDSA sign and verify through
 * sign_keys.h (a changed digest or signature is refused), DER <-> r || s,
 * key PEM written and read back, socket error words, and the suffix sort
 * against a naive one. Prints one line per failed check and a summary;
 * exit 0 only if all passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host_os.h"   /* winsock2.h before windows.h */

#include <errno.h>

#include "aloft/error.h"
#include "crypto_bcrypt.h"
#include "divsufsort.h"
#include "sign_keys.h"

static int checks, failed;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        checks++;                                                                          \
        if (!(cond)) {                                                                     \
            failed++;                                                                      \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                         \
        }                                                                                  \
    } while (0)

static void test_hashes(void)
{
    const char *where = NULL;
    CHECK(aloft_crypto_selftest(host_crypto, true, &where) == 0);
    CHECK(host_crypto == &aloft_bcrypt_crypto);
}

static void test_pbkdf2(void)
{
    /* RFC 7914 section 11: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64). */
    static const uint8_t want[16] = {0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f,
                                     0xec, 0x16, 0x91, 0xc2, 0x25, 0x44, 0xb6, 0x05};
    uint8_t out[64];
    CHECK(host_crypto->pbkdf2_sha256(NULL, "passwd", 6, "salt", 4, 1, out, sizeof out) == 0);
    CHECK(memcmp(out, want, sizeof want) == 0);
}

static void test_random(void)
{
    uint8_t a[32], b[32], zero[32] = {0};
    CHECK(host_crypto->random(NULL, a, sizeof a) == 0);
    CHECK(host_crypto->random(NULL, b, sizeof b) == 0);
    CHECK(memcmp(a, b, sizeof a) != 0 && memcmp(a, zero, sizeof a) != 0);
}

static void test_der(void)
{
    uint8_t raw[64], back[64], der[72];
    /* High bits set (a 0x00 sign byte each) and leading zeros (shorter). */
    memset(raw, 0x80, 32);
    memset(raw + 32, 0, 31);
    raw[63] = 0x05;
    size_t n = aloft_bcrypt_raw_to_der(raw, der);
    CHECK(n == 2 + 35 + 3);
    CHECK(der[0] == 0x30 && der[2] == 0x02 && der[3] == 33 && der[4] == 0);
    CHECK(aloft_bcrypt_der_to_raw(der, n, back) == 0 && memcmp(raw, back, 64) == 0);
    CHECK(aloft_bcrypt_der_to_raw(der, n - 1, back) != 0);   /* cut */
    der[n] = 0;
    CHECK(aloft_bcrypt_der_to_raw(der, n + 1, back) != 0);   /* a byte after it */
}

static void test_sign_verify(void)
{
    sign_key_t *k = sign_key_generate();
    uint8_t digest[32], sig[ALOFT_SIG_MAX_DER];
    size_t len = 0;
    char pem[1024], why[200];
    aloft_pubkey_t pub;
    CHECK(k != NULL);
    if (k == NULL)
        return;
    memset(digest, 0x5a, sizeof digest);
    CHECK(sign_digest(k, digest, sig, &len) == 0);
    const uint8_t *point = sign_key_public(k)->point;
    CHECK(host_crypto->ecdsa_p256_verify(NULL, point, digest, sig, len) == 0);
    digest[0] ^= 1;
    CHECK(host_crypto->ecdsa_p256_verify(NULL, point, digest, sig, len) == ALOFT_ERR_SIGNATURE);
    digest[0] ^= 1;
    sig[len - 1] ^= 1;
    CHECK(host_crypto->ecdsa_p256_verify(NULL, point, digest, sig, len) == ALOFT_ERR_SIGNATURE);
    uint8_t bad[65];
    memcpy(bad, point, 65);
    bad[64] ^= 1;   /* off the curve: Windows refuses the key (ALOFT_ERR_ARG); wine 8
                     * imports it unchecked and the signature fails instead */
    int rc = host_crypto->ecdsa_p256_verify(NULL, bad, digest, sig, len);
    CHECK(rc == ALOFT_ERR_ARG || rc == ALOFT_ERR_SIGNATURE);

    /* PEM out and back in: the same key id. */
    int pl = sign_key_pem(k, true, pem, sizeof pem);
    CHECK(pl > 0 && strstr(pem, "-----BEGIN EC PRIVATE KEY-----\n") == pem);
    sign_key_t *k2 = pl > 0 ? sign_key_parse(pem, (size_t)pl, why, sizeof why) : NULL;
    CHECK(k2 != NULL && memcmp(sign_key_public(k2), sign_key_public(k), sizeof pub) == 0);
    sign_key_free(k2);
    pl = sign_key_pem(k, false, pem, sizeof pem);
    CHECK(pl > 0 && pubkey_parse(pem, (size_t)pl, &pub, why, sizeof why) == 0 &&
          memcmp(&pub, sign_key_public(k), sizeof pub) == 0);
    CHECK(sign_key_parse(pem, (size_t)pl, why, sizeof why) == NULL &&
          strstr(why, "public key") != NULL);
    sign_key_free(k);
}

static void test_sock_words(void)
{
    CHECK(strcmp(host_sock_strerror(ECONNREFUSED), "Connection refused") == 0);
    CHECK(strcmp(host_sock_strerror(EADDRINUSE), "Address already in use") == 0);
    WSASetLastError(WSAECONNREFUSED);
    CHECK(host_sock_errno() == ECONNREFUSED);
    WSASetLastError(WSAEWOULDBLOCK);
    CHECK(host_sock_errno() == EWOULDBLOCK);
}

static const uint8_t *cmp_text;
static int32_t cmp_n;

static int naive_cmp(const void *a, const void *b)
{
    int32_t i = *(const int32_t *)a, j = *(const int32_t *)b;
    int32_t li = cmp_n - i, lj = cmp_n - j, l = li < lj ? li : lj;
    int c = memcmp(cmp_text + i, cmp_text + j, (size_t)l);
    return c ? c : (li < lj ? -1 : 1);
}

static void test_suffix_sort(void)
{
    uint8_t t[3000];
    int32_t sa[3000], want[3000];
    uint32_t x = 12345;
    for (int round = 0; round < 6; round++) {
        int32_t n = round == 0 ? 1 : 500 * round;
        for (int32_t i = 0; i < n; i++) {
            x = x * 1103515245u + 12345u;
            t[i] = (uint8_t)((x >> 16) % (round % 2 ? 2u : 256u));   /* runs and noise */
        }
        for (int32_t i = 0; i < n; i++)
            want[i] = i;
        cmp_text = t;
        cmp_n = n;
        qsort(want, (size_t)n, sizeof want[0], naive_cmp);
        CHECK(divsufsort(t, sa, n) == 0 && memcmp(sa, want, (size_t)n * sizeof sa[0]) == 0);
    }
}

int main(void)
{
    if (host_os_init() != 0)
        return 1;
    test_hashes();
    test_pbkdf2();
    test_random();
    test_der();
    test_sign_verify();
    test_sock_words();
    test_suffix_sort();
    printf("%s: %d of %d checks passed\n", failed ? "FAILED" : "ok", checks - failed, checks);
    return failed ? 1 : 0;
}
