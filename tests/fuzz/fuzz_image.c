/*
 * tests/fuzz/fuzz_image.c — libFuzzer target for the app-image parser.
 *
 * For every input: the one-shot check, the same bytes fed in ragged pieces
 * (1 to 512 bytes, a third of them 1 to 8, so that field boundaries fall
 * inside pieces and between them; the sizes follow the input's last
 * bytes) and the flash verifier over a RAM flash must all agree, and none
 * may crash or read out of bounds. tools/fuzz.sh runs it with -max_len
 * 1024: a header, segments and an app description fit, and each further
 * byte only costs SHA-256 time. Build (from the repository root):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilib \
 *       -Iport/posix lib/[a-z]*.c port/posix/crypto_mbedtls.c \
 *       tests/fuzz/fuzz_image.c -lmbedcrypto -o fuzz_image
 *   ./fuzz_image -max_len=1024 -max_total_time=60 CORPUS_DIR
 *
 * Good seeds: small images from `aloft image make --size 600 ...` and the
 * firmware fixtures (cut to max_len).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/wire/image.h"
#include "crypto_mbedtls.h"

#define SHA (&aloft_mbedtls_sha256)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    int rc;
    aloft_image_info_t info;
    aloft_diag_t diag;
} result_t;

static void check(int ok)
{
    if (!ok)
        abort();
}

static void same(const result_t *a, const result_t *b)
{
    check(a->rc == b->rc);
    check(a->diag.err == b->diag.err && a->diag.have == b->diag.have &&
          a->diag.want == b->diag.want && strcmp(a->diag.where, b->diag.where) == 0);
    check(a->info.have_header == b->info.have_header);
    check(a->info.have_desc == b->info.have_desc && a->info.has_desc == b->info.has_desc);
    check(a->info.complete == b->info.complete && a->info.image_len == b->info.image_len);
    check(a->info.chip_id == b->info.chip_id);
    check(memcmp(a->info.segments, b->info.segments, sizeof a->info.segments) == 0);
    check(!a->info.complete || memcmp(a->info.sha256, b->info.sha256, 32) == 0);
    check(!a->info.has_desc || strcmp(a->info.desc.version, b->info.desc.version) == 0);
}

/* Piece sizes follow a xorshift32 seeded by the input's size and last four
 * bytes: a mutation there reshuffles the pieces, not the header. */
static uint32_t piece_seed(const uint8_t *data, size_t size)
{
    uint32_t x = (uint32_t)size;
    for (size_t i = size > 4 ? size - 4 : 0; i < size; i++)
        x = x * 31u + data[i];
    return x * 0x9E3779B1u | 1u;   /* xorshift32 must not start at 0 */
}

static uint32_t next_piece(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x % 3 == 0 ? 1 + (*x >> 8) % 8 : 1 + (*x >> 8) % 512;
}

static result_t split(const uint8_t *data, size_t size)
{
    static aloft_image_t im;
    result_t r = {0};
    size_t off = 0;
    uint32_t x = piece_seed(data, size);
    aloft_image_init(&im, SHA);
    while (off < size && r.rc == 0) {
        size_t chunk = next_piece(&x);
        size_t n = size - off < chunk ? size - off : chunk;
        int got = aloft_image_feed(&im, data + off, n);
        if (got < 0)
            r.rc = got;
        else if ((size_t)got < n)   /* as aloft_image_check reports it */
            r.rc = aloft_diag_set(&im.diag, ALOFT_ERR_IMG_TRAILING, (uint32_t)size,
                                  (uint32_t)(off + (size_t)got), NULL);
        off += n;
    }
    if (r.rc == 0)
        r.rc = aloft_image_finish(&im);
    r.info = *aloft_image_info(&im);
    r.diag = *aloft_image_diag(&im);
    return r;
}

typedef struct {
    const uint8_t *data;
} ram_t;

static int ram_read(const aloft_flash_t *f, uint32_t addr, void *buf, size_t len)
{
    const ram_t *r = f->ctx;
    if (addr > f->size || len > f->size - addr)
        abort();   /* the verifier must stay inside its slot */
    memcpy(buf, r->data + addr, len);
    return ALOFT_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static aloft_image_t im;
    result_t one;
    char text[512];

    if (size > (1u << 24))
        return 0;
    one.rc = aloft_image_check(data, size, SHA, &one.info, &one.diag);
    check(one.rc <= 0 && one.rc == one.diag.err);
    check(aloft_diag_format(&one.diag, text, sizeof text) < sizeof text);

    result_t r = split(data, size);
    same(&one, &r);

    /* The flash verifier reads the same bytes from a slot of exactly
     * their size; it does not look past the image, so trailing bytes are
     * not its concern. */
    ram_t ram = {data};
    aloft_flash_t f = {.read = ram_read, .ctx = &ram, .size = (uint32_t)size,
                       .sector_size = 4096, .page_size = 256};
    int v = aloft_image_verify_flash(&f, 0, (uint32_t)size, SHA, &im);
    check(v == (one.rc == ALOFT_ERR_IMG_TRAILING ? 0 : one.rc));
    return 0;
}
