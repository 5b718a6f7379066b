/*
 * tests/fuzz/fuzz_image.c — libFuzzer target for the app-image parser.
 *
 * For every input: the one-shot check, the same bytes fed in pieces (sizes
 * derived from the input, plus byte by byte for short inputs) and the
 * flash verifier over a RAM flash must all agree, and none may crash or
 * read out of bounds. Build (from the repository root):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Ilib \
 *       -Iport/posix lib/[a-z]*.c port/posix/crypto_mbedtls.c \
 *       tests/fuzz/fuzz_image.c -lmbedcrypto -o fuzz_image
 *   ./fuzz_image -max_total_time=60 CORPUS_DIR
 *
 * Good seeds: small images from `aloft image make --size 400 ...` and the
 * firmware fixtures.
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

static result_t split(const uint8_t *data, size_t size, size_t chunk)
{
    static aloft_image_t im;
    result_t r = {0};
    size_t off = 0;
    aloft_image_init(&im, SHA);
    while (off < size && r.rc == 0) {
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

    /* Piece sizes from the input itself, so the fuzzer explores them. */
    size_t a = 1 + (size ? data[size - 1] : 0);
    size_t b = 1 + (size > 1 ? data[size / 2] % 31 : 0);
    result_t r = split(data, size, a);
    same(&one, &r);
    r = split(data, size, b);
    same(&one, &r);
    if (size <= 4096) {
        r = split(data, size, 1);
        same(&one, &r);
    }

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
