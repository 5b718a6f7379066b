/* lib/hash.c — helpers over the port's hash algorithms (see aloft/hash.h). */
#include <string.h>

#include "aloft/error.h"
#include "aloft/port/crypto.h"

int aloft_hash_init(const aloft_hash_alg_t *alg, aloft_hash_ctx_t *c)
{
    if (alg == NULL || c == NULL || alg->ctx_size > sizeof *c)
        return ALOFT_ERR_ARG;
    alg->init(c);
    return ALOFT_OK;
}

void aloft_hash_drop(const aloft_hash_alg_t *alg, aloft_hash_ctx_t *c)
{
    uint8_t scratch[64];   /* >= any digest_len: SHA-512 at most */
    alg->finish(c, scratch);
}

int aloft_hash_oneshot(const aloft_hash_alg_t *alg, const void *data,
                       size_t len, uint8_t *digest)
{
    aloft_hash_ctx_t c;
    int err = aloft_hash_init(alg, &c);
    if (err)
        return err;
    alg->update(&c, data, len);
    alg->finish(&c, digest);
    return ALOFT_OK;
}

int aloft_crypto_selftest(const aloft_crypto_t *c, bool md5, const char **where)
{
    static const uint8_t sha256_abc[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    static const uint8_t md5_abc[16] = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                                        0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72};
    uint8_t d[32];
    *where = "sha256";
    if (c == NULL || aloft_hash_oneshot(c->sha256, "abc", 3, d) != ALOFT_OK ||
        memcmp(d, sha256_abc, sizeof sha256_abc) != 0)
        return ALOFT_ERR_CRYPTO;
    *where = "md5";
    if (md5 && (aloft_hash_oneshot(c->md5, "abc", 3, d) != ALOFT_OK ||
                memcmp(d, md5_abc, sizeof md5_abc) != 0))
        return ALOFT_ERR_CRYPTO;
    *where = NULL;
    return ALOFT_OK;
}
