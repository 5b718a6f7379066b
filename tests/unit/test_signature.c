/*
 * tests/unit/test_signature.c — signed images: the block codec
 * (lib/signature.c), the ECDSA check of the POSIX port and the host signer
 * (host/sign_keys.c).
 *
 * Independent answers: one key, metadata and signature were made with the
 * openssl command-line tool (the metadata bytes are written out by hand
 * below from the layout in docs/FORMATS.md), so the byte layout, the key id
 * rule and the verifier are checked against code that is not ours. The
 * rest are properties: encode/parse round-trips; any changed metadata or
 * signature byte fails (parse, unknown key or bad signature, never ok); any
 * changed image byte is caught by aloft_sig_check_image; every malformed
 * framing is ALOFT_ERR_PROTO; unsigned files have no trailer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/error.h"
#include "aloft/wire/signature.h"
#include "crypto_mbedtls.h"
#include "image_make.h"
#include "sig_vector.h"
#include "sign_keys.h"

#define CRYPTO (&aloft_mbedtls_crypto)
#define SHA (&aloft_mbedtls_sha256)


static aloft_signed_meta_t vec_meta_struct(void)
{
    aloft_signed_meta_t m;
    memset(&m, 0, sizeof m);
    m.image_size = 0x12345;
    for (unsigned i = 0; i < 32; i++)
        m.image_sha256[i] = (uint8_t)i;
    m.chip_id = 9;
    m.target = 0;
    m.secure_version = 3;
    memcpy(m.key_id, vec_key_id, 8);
    strcpy(m.project, "demo");
    strcpy(m.version, "1.2.0");
    return m;
}

static aloft_pubkey_t vec_pubkey(void)
{
    aloft_pubkey_t k;
    memcpy(k.point, vec_point, 65);
    memcpy(k.key_id, vec_key_id, 8);
    return k;
}

/* ---- helpers ---------------------------------------------------------------- */

static sign_key_t *keys[2];   /* generated once: [0] "old", [1] "new" */

static int setup(void **state)
{
    (void)state;
    keys[0] = sign_key_generate();
    keys[1] = sign_key_generate();
    return keys[0] && keys[1] ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    sign_key_free(keys[0]);
    sign_key_free(keys[1]);
    return 0;
}

typedef struct {
    uint8_t *buf;
    size_t len;
} file_t;

static file_t make_image(const char *project, uint32_t secure_version, bool no_desc)
{
    image_spec_t spec = {.chip_id = 0x0009, .project = project, .version = "2.0.1",
                         .secure_version = secure_version, .size = 20000, .no_desc = no_desc};
    file_t f;
    f.buf = image_make(&spec, &f.len);
    assert_non_null(f.buf);
    return f;
}

static file_t sign_with(const sign_key_t *k, file_t img)
{
    file_t out;
    char why[512];
    int rc = sign_file(k, img.buf, img.len, NULL, &out.buf, &out.len, NULL, NULL, why,
                       sizeof why);
    if (rc != 0)
        fail_msg("sign_file: %d %s", rc, why);
    return out;
}

/* A valid block with a fixed metadata; returns its length. */
static size_t sample_block(uint8_t *out, size_t cap)
{
    aloft_signed_meta_t m = vec_meta_struct();
    int n = aloft_sig_encode(&m, vec_sig, sizeof vec_sig, out, cap);
    assert_true(n > 0);
    return (size_t)n;
}

/* ---- codec ------------------------------------------------------------------ */

static void test_layout_matches_hand_bytes(void **state)
{
    aloft_signed_meta_t m = vec_meta_struct();
    uint8_t mb[ALOFT_SIG_BLOCK_MAX], block[ALOFT_SIG_BLOCK_MAX];
    (void)state;
    assert_int_equal(aloft_sig_meta_bytes(&m, mb, sizeof mb), sizeof vec_meta);
    assert_memory_equal(mb, vec_meta, sizeof vec_meta);

    size_t n = sample_block(block, sizeof block);
    assert_int_equal(n, 8 + 63 + 1 + 70 + 8);
    static const uint8_t head[8] = {'A', 'L', 'S', 'G', 1, 0, 63, 0};
    assert_memory_equal(block, head, 8);
    assert_memory_equal(block + 8, vec_meta, 63);
    assert_int_equal(block[8 + 63], 70);
    assert_memory_equal(block + 72, vec_sig, 70);
    static const uint8_t tail[8] = {150, 0, 0, 0, 'A', 'L', 'S', 'G'};
    assert_memory_equal(block + 142, tail, 8);
}

static void test_roundtrip(void **state)
{
    uint8_t block[ALOFT_SIG_BLOCK_MAX], again[ALOFT_SIG_BLOCK_MAX];
    aloft_sig_block_t b;
    (void)state;
    size_t n = sample_block(block, sizeof block);
    assert_int_equal(aloft_sig_parse(block, n, &b), 0);
    aloft_signed_meta_t m = vec_meta_struct();
    assert_memory_equal(&b.meta.image_sha256, m.image_sha256, 32);
    assert_int_equal(b.meta.image_size, m.image_size);
    assert_int_equal(b.meta.chip_id, 9);
    assert_int_equal(b.meta.target, 0);
    assert_int_equal(b.meta.secure_version, 3);
    assert_memory_equal(b.meta.key_id, vec_key_id, 8);
    assert_string_equal(b.meta.project, "demo");
    assert_string_equal(b.meta.version, "1.2.0");
    assert_ptr_equal(b.meta_bytes, block + 8);
    assert_int_equal(b.meta_len, 63);
    assert_ptr_equal(b.sig, block + 72);
    assert_int_equal(b.sig_len, 70);
    assert_int_equal(b.block_len, n);
    assert_int_equal(aloft_sig_encode(&b.meta, b.sig, b.sig_len, again, sizeof again), (int)n);
    assert_memory_equal(again, block, n);
}

static void test_largest_block(void **state)
{
    aloft_signed_meta_t m = vec_meta_struct();
    uint8_t sig[ALOFT_SIG_MAX_DER], block[ALOFT_SIG_BLOCK_MAX];
    aloft_sig_block_t b;
    (void)state;
    memset(sig, 0x5A, sizeof sig);
    memset(m.project, 'p', 32);
    m.project[32] = '\0';
    memset(m.version, 'v', 32);
    m.version[32] = '\0';
    int n = aloft_sig_encode(&m, sig, sizeof sig, block, sizeof block);
    assert_int_equal(n, 207);
    assert_int_equal(aloft_sig_encode(&m, sig, sizeof sig, block, 206), ALOFT_ERR_BUFFER);
    assert_int_equal(aloft_sig_parse(block, (size_t)n, &b), 0);
    assert_int_equal(strlen(b.meta.project), 32);
    assert_int_equal(strlen(b.meta.version), 32);
    assert_int_equal(aloft_sig_trailer_len(block, (size_t)n), (size_t)n);

    /* Too long for the format: a caller bug. */
    m.project[32] = 'p';
    assert_int_equal(aloft_sig_encode(&m, sig, sizeof sig, block, sizeof block), ALOFT_ERR_ARG);
    m.project[32] = '\0';
    assert_int_equal(aloft_sig_encode(&m, sig, ALOFT_SIG_MAX_DER + 1, block, sizeof block),
                     ALOFT_ERR_ARG);
    assert_int_equal(aloft_sig_encode(&m, NULL, 8, block, sizeof block), ALOFT_ERR_ARG);
    assert_int_equal(aloft_sig_meta_bytes(&m, block, 52 + 33 + 32), ALOFT_ERR_BUFFER);
}

/* Parse a block after edit(); expect ALOFT_ERR_PROTO. */
static void expect_proto(const uint8_t *block, size_t n, const char *what)
{
    aloft_sig_block_t b;
    int rc = aloft_sig_parse(block, n, &b);
    if (rc != ALOFT_ERR_PROTO)
        fail_msg("%s: parse gave %d", what, rc);
    assert_ptr_equal(b.meta_bytes, NULL);
}

static void test_malformed(void **state)
{
    uint8_t good[ALOFT_SIG_BLOCK_MAX + 8], t[ALOFT_SIG_BLOCK_MAX + 8];
    (void)state;
    size_t n = sample_block(good, sizeof good);
    const size_t sig_at = 8 + 63;   /* the sig_len byte */

#define EDIT(what, stmt, len)              \
    do {                                   \
        memcpy(t, good, sizeof t);         \
        stmt;                              \
        expect_proto(t, (len), what);      \
    } while (0)

    EDIT("magic", t[0] = 'X', n);
    EDIT("version 0", t[4] = 0, n);
    EDIT("version 2", t[4] = 2, n);
    EDIT("reserved header byte", t[5] = 1, n);
    EDIT("meta_len + 1", t[6] = 64, n);
    EDIT("meta_len - 1", t[6] = 62, n);
    EDIT("meta_len huge", t[7] = 1, n);
    EDIT("meta reserved byte", t[8 + 39] = 1, n);
    EDIT("project length 33", t[8 + 52] = 33, n);
    EDIT("project length + 1", t[8 + 52] = 5, n);
    EDIT("version length - 1", t[8 + 57] = 4, n);
    EDIT("NUL in project", t[8 + 54] = 0, n);
    EDIT("NUL in version", t[8 + 58] = 0, n);
    EDIT("sig_len + 1", t[sig_at] = 71, n);
    EDIT("sig_len - 1", t[sig_at] = 69, n);
    EDIT("sig_len 0", t[sig_at] = 0, n);
    EDIT("sig_len 73", t[sig_at] = 73, n);
    EDIT("block_len + 1", t[n - 8] = (uint8_t)(n + 1), n);
    EDIT("block_len - 1", t[n - 8] = (uint8_t)(n - 1), n);
    EDIT("block_len high byte", t[n - 5] = 1, n);
    EDIT("trailing magic", t[n - 1] = 'g', n);
    EDIT("one byte more", t[n] = 0, n + 1);
    for (size_t cut = 0; cut < n; cut++)
        EDIT("truncated", (void)0, cut);
#undef EDIT

    /* A short block: strings of length 0 and the shortest DER sig. */
    aloft_signed_meta_t m = vec_meta_struct();
    m.project[0] = m.version[0] = '\0';
    static const uint8_t der8[8] = {0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01};
    int sn = aloft_sig_encode(&m, der8, 8, t, sizeof t);
    assert_int_equal(sn, ALOFT_SIG_BLOCK_MIN);
    aloft_sig_block_t b;
    assert_int_equal(aloft_sig_parse(t, (size_t)sn, &b), 0);
    t[6] = 118;   /* the largest meta_len, pointing past the end (found by fuzzing) */
    expect_proto(t, (size_t)sn, "meta_len past the end");
    sn = aloft_sig_encode(&m, der8, 7, t, sizeof t);   /* encodes, but no signature is that short */
    assert_int_equal(sn, ALOFT_SIG_BLOCK_MIN - 1);
    expect_proto(t, (size_t)sn, "sig_len 7");
    assert_int_equal(aloft_sig_parse(NULL, 100, &b), ALOFT_ERR_ARG);
}

static void test_trailer_len(void **state)
{
    uint8_t block[ALOFT_SIG_BLOCK_MAX];
    (void)state;
    size_t n = sample_block(block, sizeof block);

    /* Unsigned images, of several sizes and with/without description. */
    for (int i = 0; i < 4; i++) {
        file_t img = make_image("trailer", 0, i & 1);
        assert_int_equal(aloft_sig_trailer_len(img.buf, img.len), 0);
        image_free(img.buf);
    }
    assert_int_equal(aloft_sig_trailer_len(NULL, 0), 0);
    assert_int_equal(aloft_sig_trailer_len((const uint8_t *)"ALSG", 4), 0);

    /* The block alone, behind other bytes, and damaged at the end. */
    uint8_t file[1000];
    memset(file, 0xA5, sizeof file);
    memcpy(file + sizeof file - n, block, n);
    assert_int_equal(aloft_sig_trailer_len(file, sizeof file), n);
    assert_int_equal(aloft_sig_trailer_len(block, n), n);
    assert_int_equal(aloft_sig_trailer_len(file, sizeof file - 1), 0);
    file[sizeof file - 8] = 0xFF;   /* block_len far too large */
    assert_int_equal(aloft_sig_trailer_len(file, sizeof file), 0);
    file[sizeof file - 8] = (uint8_t)(n + 1);   /* one byte too far back */
    assert_int_equal(aloft_sig_trailer_len(file, sizeof file), 0);
    /* Ends with "ALSG" and a plausible length over garbage. */
    memset(file, 0, sizeof file);
    memcpy(file + sizeof file - 4, "ALSG", 4);
    file[sizeof file - 8] = 150;
    assert_int_equal(aloft_sig_trailer_len(file, sizeof file), 0);
}

/* ---- signatures ------------------------------------------------------------- */

static void test_openssl_vector(void **state)
{
    aloft_pubkey_t k = vec_pubkey(), parsed;
    uint8_t id[8], block[ALOFT_SIG_BLOCK_MAX], digest[32];
    aloft_sig_block_t b;
    char why[200];
    (void)state;
    assert_int_equal(aloft_sig_key_id(SHA, vec_point, id), 0);
    assert_memory_equal(id, vec_key_id, 8);
    assert_int_equal(pubkey_parse(vec_pub_pem, strlen(vec_pub_pem), &parsed, why, sizeof why), 0);
    assert_memory_equal(parsed.point, vec_point, 65);
    assert_memory_equal(parsed.key_id, vec_key_id, 8);

    size_t n = sample_block(block, sizeof block);
    assert_int_equal(aloft_sig_parse(block, n, &b), 0);
    assert_int_equal(aloft_sig_verify(CRYPTO, &b, &k, 1), 0);

    /* The port alone, and the port refusing what it must. */
    assert_int_equal(aloft_hash_oneshot(SHA, vec_meta, sizeof vec_meta, digest), 0);
    assert_int_equal(CRYPTO->ecdsa_p256_verify(CRYPTO->ctx, vec_point, digest, vec_sig, sizeof vec_sig), 0);
    digest[31] ^= 1;
    assert_int_equal(CRYPTO->ecdsa_p256_verify(CRYPTO->ctx, vec_point, digest, vec_sig, sizeof vec_sig),
                     ALOFT_ERR_SIGNATURE);
    digest[31] ^= 1;
    uint8_t longer[71];
    memcpy(longer, vec_sig, 70);
    longer[70] = 0;   /* a valid signature followed by a byte */
    assert_int_equal(CRYPTO->ecdsa_p256_verify(CRYPTO->ctx, vec_point, digest, longer, 71),
                     ALOFT_ERR_SIGNATURE);
    uint8_t bad_point[65];
    memcpy(bad_point, vec_point, 65);
    bad_point[64] ^= 1;   /* off the curve */
    assert_int_equal(CRYPTO->ecdsa_p256_verify(CRYPTO->ctx, bad_point, digest, vec_sig, sizeof vec_sig),
                     ALOFT_ERR_ARG);
    bad_point[64] ^= 1;
    bad_point[0] = 0x02;   /* compressed form: not what the format stores */
    assert_int_equal(CRYPTO->ecdsa_p256_verify(CRYPTO->ctx, bad_point, digest, vec_sig, sizeof vec_sig),
                     ALOFT_ERR_ARG);
}

static void test_sign_and_verify(void **state)
{
    file_t img = make_image("signed", 7, false);
    sig_report_t *r = malloc(sizeof *r);
    aloft_sig_block_t b;
    uint8_t sha[32];
    (void)state;
    assert_non_null(r);
    file_t sf = sign_with(keys[0], img);
    assert_memory_equal(sf.buf, img.buf, img.len);   /* the image is unchanged */

    size_t tl = aloft_sig_trailer_len(sf.buf, sf.len);
    assert_int_equal(tl, sf.len - img.len);
    assert_int_equal(aloft_sig_parse(sf.buf + img.len, tl, &b), 0);
    assert_int_equal(aloft_sig_verify(CRYPTO, &b, sign_key_public(keys[0]), 1), 0);
    assert_int_equal(aloft_hash_oneshot(SHA, img.buf, img.len, sha), 0);
    assert_int_equal(aloft_sig_check_image(&b.meta, (uint32_t)img.len, sha), 0);
    assert_int_equal(b.meta.image_size, img.len);
    assert_int_equal(b.meta.chip_id, 0x0009);
    assert_int_equal(b.meta.secure_version, 7);
    assert_string_equal(b.meta.project, "signed");
    assert_string_equal(b.meta.version, "2.0.1");
    assert_memory_equal(b.meta.key_id, sign_key_public(keys[0])->key_id, 8);

    assert_int_equal(sign_check_file(sf.buf, sf.len, sign_key_public(keys[0]), 1, r), 0);
    assert_int_equal(r->key_index, 0);

    /* Deterministic: the same key and image give the same bytes; signing
     * the signed file replaces its block. */
    file_t again = sign_with(keys[0], img), resigned = sign_with(keys[0], sf);
    assert_int_equal(again.len, sf.len);
    assert_memory_equal(again.buf, sf.buf, sf.len);
    assert_int_equal(resigned.len, sf.len);
    assert_memory_equal(resigned.buf, sf.buf, sf.len);
    file_t other = sign_with(keys[1], sf);   /* re-signed with the other key */
    assert_int_equal(sign_check_file(other.buf, other.len, sign_key_public(keys[1]), 1, r), 0);
    assert_int_equal(sign_check_file(other.buf, other.len, sign_key_public(keys[0]), 1, r),
                     ALOFT_ERR_UNKNOWN_KEY);

    free(again.buf);
    free(resigned.buf);
    free(other.buf);
    free(sf.buf);
    image_free(img.buf);
    free(r);
}

static void test_tampered_image(void **state)
{
    file_t img = make_image("tamper", 1, false);
    file_t sf = sign_with(keys[0], img);
    sig_report_t *r = malloc(sizeof *r);
    aloft_sig_block_t b;
    uint8_t sha[32];
    (void)state;
    assert_non_null(r);
    size_t tl = sf.len - img.len;
    /* Flip bytes all over the image: the signature still verifies (the
     * metadata is intact) but the metadata no longer describes the bytes. */
    for (size_t at = 0; at < img.len; at += img.len / 37 + 1) {
        sf.buf[at] ^= 0x10;
        assert_int_equal(aloft_sig_parse(sf.buf + img.len, tl, &b), 0);
        assert_int_equal(aloft_sig_verify(CRYPTO, &b, sign_key_public(keys[0]), 1), 0);
        assert_int_equal(aloft_hash_oneshot(SHA, sf.buf, img.len, sha), 0);
        assert_int_equal(aloft_sig_check_image(&b.meta, (uint32_t)img.len, sha),
                         ALOFT_ERR_SIGNED_MISMATCH);
        assert_int_equal(sign_check_file(sf.buf, sf.len, sign_key_public(keys[0]), 1, r),
                         ALOFT_ERR_SIGNED_MISMATCH);
        assert_non_null(strstr(r->why, "changed after signing"));
        sf.buf[at] ^= 0x10;
    }
    /* A size that differs. */
    assert_int_equal(aloft_hash_oneshot(SHA, sf.buf, img.len, sha), 0);
    assert_int_equal(aloft_sig_parse(sf.buf + img.len, tl, &b), 0);
    assert_int_equal(aloft_sig_check_image(&b.meta, (uint32_t)img.len - 1, sha),
                     ALOFT_ERR_SIGNED_MISMATCH);
    assert_int_equal(aloft_sig_check_image(&b.meta, (uint32_t)img.len, sha), 0);
    free(sf.buf);
    image_free(img.buf);
    free(r);
}

static void test_tampered_block(void **state)
{
    file_t img = make_image("block", 2, false);
    file_t sf = sign_with(keys[0], img);
    const aloft_pubkey_t *pk = sign_key_public(keys[0]);
    aloft_sig_block_t b;
    (void)state;
    size_t tl = sf.len - img.len;
    uint8_t *blk = sf.buf + img.len;
    size_t meta_len = (size_t)blk[6] | (size_t)blk[7] << 8;
    int sig_fail = 0, key_fail = 0;
    /* Every bit of the metadata and of the signature, one at a time: the
     * block then fails to parse, names another key, or fails to verify. */
    for (size_t at = 8; at < 8 + meta_len + 1 + blk[8 + meta_len]; at++) {
        if (at == 8 + meta_len)
            continue;   /* sig_len itself: framing, covered by test_malformed */
        for (int bit = 0; bit < 8; bit++) {
            blk[at] ^= (uint8_t)(1u << bit);
            int rc = aloft_sig_parse(blk, tl, &b);
            if (rc == 0)
                rc = aloft_sig_verify(CRYPTO, &b, pk, 1);
            if (rc != ALOFT_ERR_PROTO && rc != ALOFT_ERR_SIGNATURE && rc != ALOFT_ERR_UNKNOWN_KEY)
                fail_msg("byte %zu bit %d: got %d", at, bit, rc);
            sig_fail += rc == ALOFT_ERR_SIGNATURE;
            key_fail += rc == ALOFT_ERR_UNKNOWN_KEY;
            blk[at] ^= (uint8_t)(1u << bit);
        }
    }
    assert_int_equal(key_fail, 64);   /* the key id bytes */
    assert_true(sig_fail > 8 * (int)(meta_len - 12));

    /* One metadata byte (the secure_version) through the host check. */
    sig_report_t *r = malloc(sizeof *r);
    assert_non_null(r);
    blk[8 + 40] ^= 0x01;
    assert_int_equal(sign_check_file(sf.buf, sf.len, pk, 1, r), ALOFT_ERR_SIGNATURE);
    assert_true(r->has_block);
    blk[8 + 40] ^= 0x01;
    assert_int_equal(sign_check_file(sf.buf, sf.len, pk, 1, r), 0);

    /* A forged key id: another key relabelled with the signer's id. */
    aloft_pubkey_t forged = *sign_key_public(keys[1]);
    memcpy(forged.key_id, pk->key_id, 8);
    assert_int_equal(aloft_sig_parse(blk, tl, &b), 0);
    assert_int_equal(aloft_sig_verify(CRYPTO, &b, &forged, 1), ALOFT_ERR_SIGNATURE);
    free(r);
    free(sf.buf);
    image_free(img.buf);
}

static void test_wrong_and_rotated_keys(void **state)
{
    file_t img = make_image("rotate", 4, false);
    file_t by_old = sign_with(keys[0], img), by_new = sign_with(keys[1], img);
    aloft_pubkey_t both[2] = {*sign_key_public(keys[0]), *sign_key_public(keys[1])};
    aloft_pubkey_t vec = vec_pubkey();
    aloft_sig_block_t b;
    sig_report_t *r = malloc(sizeof *r);
    (void)state;
    assert_non_null(r);

    assert_int_equal(aloft_sig_parse(by_new.buf + img.len, by_new.len - img.len, &b), 0);
    assert_int_equal(aloft_sig_verify(CRYPTO, &b, &both[0], 1), ALOFT_ERR_UNKNOWN_KEY);
    assert_int_equal(aloft_sig_verify(CRYPTO, &b, &vec, 1), ALOFT_ERR_UNKNOWN_KEY);
    assert_int_equal(aloft_sig_verify(CRYPTO, &b, NULL, 0), ALOFT_ERR_UNKNOWN_KEY);
    assert_int_equal(aloft_sig_verify(CRYPTO, &b, both, 2), 0);        /* rotation */
    assert_int_equal(aloft_sig_verify(CRYPTO, &b, &both[1], 1), 0);
    aloft_crypto_t no_ecdsa = *CRYPTO;
    no_ecdsa.ecdsa_p256_verify = NULL;
    assert_int_equal(aloft_sig_verify(&no_ecdsa, &b, both, 2), ALOFT_ERR_ARG);

    assert_int_equal(sign_check_file(by_new.buf, by_new.len, both, 2, r), 0);
    assert_int_equal(r->key_index, 1);
    assert_int_equal(sign_check_file(by_old.buf, by_old.len, both, 2, r), 0);
    assert_int_equal(r->key_index, 0);
    assert_int_equal(sign_check_file(by_new.buf, by_new.len, &both[0], 1, r),
                     ALOFT_ERR_UNKNOWN_KEY);
    assert_non_null(strstr(r->why, "key id"));
    assert_int_equal(r->key_index, -1);
    free(by_old.buf);
    free(by_new.buf);
    image_free(img.buf);
    free(r);
}

/* --fs: any bytes, the signer's chip and strings, target 1; verify checks
 * size and SHA-256 only, and sees the target. */
static void test_sign_fs(void **state)
{
    uint8_t fs[3000];
    sign_opts_t opts = {.fs = true, .chip_id = 9, .project = "demo", .version = "fs-2"};
    aloft_signed_meta_t m;
    file_t out, again;
    char why[512];
    bool replaced = true;
    sig_report_t *r = malloc(sizeof *r);
    (void)state;
    assert_non_null(r);
    memset(fs, 0xFF, sizeof fs);
    memcpy(fs, "not an app image", 16);
    assert_int_equal(sign_file(keys[0], fs, sizeof fs, &opts, &out.buf, &out.len, &m, &replaced,
                               why, sizeof why), 0);
    assert_false(replaced);
    assert_int_equal(m.target, 1);
    assert_int_equal(m.chip_id, 9);
    assert_int_equal(m.image_size, sizeof fs);
    assert_string_equal(m.project, "demo");
    assert_string_equal(m.version, "fs-2");
    assert_int_equal(sign_check_file(out.buf, out.len, sign_key_public(keys[0]), 1, r), 0);
    assert_int_equal(r->block.meta.target, 1);
    assert_int_equal(r->image_len, sizeof fs);
    /* Signing again replaces the block. */
    assert_int_equal(sign_file(keys[0], out.buf, out.len, &opts, &again.buf, &again.len, &m,
                               &replaced, why, sizeof why), 0);
    assert_true(replaced);
    assert_int_equal(again.len, out.len);
    free(again.buf);
    out.buf[100] ^= 1;
    assert_int_equal(sign_check_file(out.buf, out.len, sign_key_public(keys[0]), 1, r),
                     ALOFT_ERR_SIGNED_MISMATCH);
    free(out.buf);
    opts.have_secure_version = true;   /* an app image's: a usage error */
    assert_int_equal(sign_file(keys[0], fs, sizeof fs, &opts, &out.buf, &out.len, &m, NULL, why,
                               sizeof why), ALOFT_ERR_ARG);
    assert_non_null(strstr(why, "--secure-version"));
    free(r);
}

static void test_sign_file_rules(void **state)
{
    file_t img = make_image("rules", 5, false), legacy = make_image("x", 0, true);
    aloft_signed_meta_t m;
    sign_opts_t opts = {.have_secure_version = true, .secure_version = 5};
    file_t out;
    char why[512];
    bool replaced = true;
    sig_report_t *r = malloc(sizeof *r);
    (void)state;
    assert_non_null(r);

    /* --secure-version must agree with the app description. */
    assert_int_equal(sign_file(keys[0], img.buf, img.len, &opts, &out.buf, &out.len, &m,
                               &replaced, why, sizeof why), 0);
    assert_false(replaced);
    assert_int_equal(m.secure_version, 5);
    free(out.buf);
    opts.secure_version = 6;
    assert_int_equal(sign_file(keys[0], img.buf, img.len, &opts, &out.buf, &out.len, &m, NULL,
                               why, sizeof why), ALOFT_ERR_ARG);
    assert_non_null(strstr(why, "secure_version"));

    /* Without a description it is the option (or 0), and strings are empty. */
    assert_int_equal(sign_file(keys[0], legacy.buf, legacy.len, &opts, &out.buf, &out.len, &m,
                               NULL, why, sizeof why), 0);
    assert_int_equal(m.secure_version, 6);
    assert_string_equal(m.project, "");
    assert_int_equal(sign_check_file(out.buf, out.len, sign_key_public(keys[0]), 1, r), 0);
    file_t again;
    assert_int_equal(sign_file(keys[0], out.buf, out.len, NULL, &again.buf, &again.len, &m,
                               &replaced, why, sizeof why), 0);
    assert_true(replaced);
    assert_int_equal(m.secure_version, 0);   /* no option: 0 */
    assert_int_equal(again.len - aloft_sig_trailer_len(again.buf, again.len), legacy.len);
    free(again.buf);
    free(out.buf);
    image_free(img.buf);

    /* Broken images are refused with the image check's words. */
    img = make_image("rules", 5, false);
    img.buf[img.len / 2] ^= 1;
    int rc = sign_file(keys[0], img.buf, img.len, NULL, &out.buf, &out.len, &m, NULL, why,
                       sizeof why);
    assert_true(rc == ALOFT_ERR_IMG_CHECKSUM || rc == ALOFT_ERR_IMG_HASH);
    assert_non_null(strstr(why, "not a valid app image"));
    /* A damaged block at the end. */
    img.buf[img.len / 2] ^= 1;
    file_t sf = sign_with(keys[0], img);
    sf.buf[sf.len - 8] ^= 1;   /* block_len */
    assert_int_equal(sign_file(keys[0], sf.buf, sf.len, NULL, &out.buf, &out.len, &m, NULL,
                               why, sizeof why), ALOFT_ERR_IMG_TRAILING);
    assert_non_null(strstr(why, "damaged signature block"));
    assert_int_equal(sign_check_file(sf.buf, sf.len, sign_key_public(keys[0]), 1, r),
                     ALOFT_ERR_PROTO);
    assert_int_equal(sign_check_file(img.buf, img.len, sign_key_public(keys[0]), 1, r),
                     ALOFT_ERR_UNSIGNED);
    free(sf.buf);
    image_free(img.buf);
    image_free(legacy.buf);
    free(r);
}

static void test_pem_roundtrip(void **state)
{
    char pem[1024], why[200];
    aloft_pubkey_t pub;
    (void)state;
    assert_true(sign_key_pem(keys[0], true, pem, sizeof pem) > 0);
    assert_non_null(strstr(pem, "BEGIN EC PRIVATE KEY"));
    sign_key_t *k = sign_key_parse(pem, strlen(pem), why, sizeof why);
    assert_non_null(k);
    assert_memory_equal(sign_key_public(k), sign_key_public(keys[0]), sizeof(aloft_pubkey_t));
    assert_int_equal(pubkey_parse(pem, strlen(pem), &pub, why, sizeof why), 0);   /* .key works */
    assert_memory_equal(&pub, sign_key_public(keys[0]), sizeof pub);
    sign_key_free(k);

    assert_true(sign_key_pem(keys[0], false, pem, sizeof pem) > 0);
    assert_non_null(strstr(pem, "BEGIN PUBLIC KEY"));
    assert_int_equal(pubkey_parse(pem, strlen(pem), &pub, why, sizeof why), 0);
    assert_memory_equal(&pub, sign_key_public(keys[0]), sizeof pub);
    assert_null(sign_key_parse(pem, strlen(pem), why, sizeof why));
    assert_non_null(strstr(why, "public key"));
    assert_int_equal(pubkey_parse("hello", 5, &pub, why, sizeof why), -1);
    assert_null(sign_key_parse("hello", 5, why, sizeof why));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_matches_hand_bytes),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_largest_block),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_trailer_len),
        cmocka_unit_test(test_openssl_vector),
        cmocka_unit_test(test_sign_and_verify),
        cmocka_unit_test(test_tampered_image),
        cmocka_unit_test(test_tampered_block),
        cmocka_unit_test(test_wrong_and_rotated_keys),
        cmocka_unit_test(test_sign_file_rules),
        cmocka_unit_test(test_sign_fs),
        cmocka_unit_test(test_pem_roundtrip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
