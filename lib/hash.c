/* lib/hash.c — helpers over the port's hash algorithms (see aloft/hash.h). */
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
