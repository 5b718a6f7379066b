/*
 * tests/fuzz/fuzz_signature.c — libFuzzer target: the signature block codec
 * (aloft_sig_parse, aloft_sig_trailer_len) on arbitrary bytes, and the
 * port's DER/ECDSA check on whatever parses.
 *
 * Rules checked: parse answers 0 or ALOFT_ERR_PROTO and, when it accepts,
 * every pointer and length stays inside the input and re-encoding the
 * parsed block gives the input back (one encoding per block); trailer_len
 * is 0 or the length of a block that parses at the end of the input;
 * aloft_sig_verify hands the port exactly the claimed key, the SHA-256 of
 * the signed metadata and the DER bytes in place, and tries no key of
 * another id; a parsed block never verifies against a fixed key (no
 * forgery from noise).
 *
 * The port's ECDSA check costs about a millisecond of mbedTLS bignum work
 * (on the heap, none of it instrumented, so it teaches the fuzzer nothing):
 * lib's side is checked on every block through a stub port, the real one
 * on one block in 64, picked by the block's bytes so that a crash replays.
 *
 * Input: the bytes are both a whole block and a file that may end with one.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aloft/error.h"
#include "aloft/wire/signature.h"
#include "crypto_mbedtls.h"
#include "sig_vector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        __builtin_trap();
}


/* What the stub port expects to be handed, and how often it was called. */
typedef struct {
    const aloft_sig_block_t *b;
    int calls;
} expect_t;

static int stub_verify(void *ctx, const uint8_t pubkey[65], const uint8_t digest[32],
                       const uint8_t *sig, size_t sig_len)
{
    expect_t *x = ctx;
    uint8_t want[ALOFT_SHA256_LEN];
    x->calls++;
    check(aloft_hash_oneshot(&aloft_mbedtls_sha256, x->b->meta_bytes, x->b->meta_len, want) == 0);
    check(memcmp(pubkey, vec_point, sizeof vec_point) == 0 &&
          memcmp(digest, want, sizeof want) == 0);
    check(sig == x->b->sig && sig_len == x->b->sig_len);
    return ALOFT_ERR_SIGNATURE;
}

/* One block in 64 (FNV-1a of its bytes). */
static int sampled(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return (h & 63u) == 0;
}

static void check_parsed(const aloft_sig_block_t *b, const uint8_t *block, size_t len)
{
    uint8_t again[ALOFT_SIG_BLOCK_MAX];
    const uint8_t *end = block + len;
    check(b->block_len == len && len >= ALOFT_SIG_BLOCK_MIN && len <= ALOFT_SIG_BLOCK_MAX);
    check(b->meta_bytes == block + 8 && b->meta_bytes + b->meta_len < end);
    check(b->sig > b->meta_bytes && b->sig + b->sig_len + 8 == end);
    check(b->sig_len >= 8 && b->sig_len <= ALOFT_SIG_MAX_DER);
    check(strlen(b->meta.project) <= ALOFT_SIG_STR_MAX);
    check(strlen(b->meta.version) <= ALOFT_SIG_STR_MAX);
    int n = aloft_sig_encode(&b->meta, b->sig, b->sig_len, again, sizeof again);
    check(n == (int)len && memcmp(again, block, len) == 0);
    check(aloft_sig_trailer_len(block, len) == len);

    aloft_pubkey_t key;
    expect_t x = {b, 0};
    aloft_crypto_t stub = aloft_mbedtls_crypto;
    stub.ecdsa_p256_verify = stub_verify;
    stub.ctx = &x;
    memcpy(key.point, vec_point, sizeof vec_point);
    memcpy(key.key_id, b->meta.key_id, sizeof key.key_id);
    check(aloft_sig_verify(&stub, b, &key, 1) == ALOFT_ERR_SIGNATURE && x.calls == 1);
    key.key_id[0] ^= 1;   /* another key's id: not tried */
    check(aloft_sig_verify(&stub, b, &key, 1) == ALOFT_ERR_UNKNOWN_KEY && x.calls == 1);
    key.key_id[0] ^= 1;
    if (sampled(block, len))
        check(aloft_sig_verify(&aloft_mbedtls_crypto, b, &key, 1) == ALOFT_ERR_SIGNATURE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aloft_sig_block_t b;
    int rc = aloft_sig_parse(data, size, &b);
    check(rc == 0 || rc == ALOFT_ERR_PROTO);
    if (rc == 0)
        check_parsed(&b, data, size);

    size_t tl = aloft_sig_trailer_len(data, size);
    check(tl == 0 || (tl >= ALOFT_SIG_BLOCK_MIN && tl <= ALOFT_SIG_BLOCK_MAX && tl <= size));
    if (tl > 0) {
        check(aloft_sig_parse(data + size - tl, tl, &b) == 0);
        check_parsed(&b, data + size - tl, tl);
    }
    return 0;
}
