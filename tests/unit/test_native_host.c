/*
 * tests/unit/test_native_host.c — the native client's own parts (the
 * protocol is the host engine's, tests/unit/test_native_host_engine.c; the
 * socket loop is covered by tests/integration/test_native_*.sh against
 * aloft-sim):
 *  - the DATA stream restarted at any offset (a resume) decodes back to
 *    image[offset:], with zlib's own inflate at exactly the window the
 *    device announced and with the device's decoder (port inflate_zlib)
 *    fed in small pieces; raw streams are the image bytes themselves; the
 *    engine's source keeps the whole-image stream across connections;
 *  - the device's ERROR messages mapped to message + hint (diag text,
 *    login failures, unknown codes), the host engine's failures by phase,
 *    capability names;
 *  - the progress line of a resumed upload counts its rate from the
 *    resume point.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "aloft/error.h"
#include "image_make.h"
#include "inflate_zlib.h"
#include "native_host.h"
#include "native_host_priv.h"
#include "native_stream.h"
#include "progress.h"

/* ---- stream ----------------------------------------------------------- */

static uint8_t *test_image(size_t *len)
{
    image_spec_t spec = {.chip_id = 0, .project = "stream", .version = "1.0", .size = 300000,
                         .seed = 7};
    uint8_t *img = image_make(&spec, len);
    assert_non_null(img);
    return img;
}

/* zlib's inflate with exactly the window the device announced: a stream
 * made with a larger window fails here ("invalid window size"). */
static void inflate_with_zlib(const uint8_t *in, size_t in_len, unsigned bits, const uint8_t *want,
                              size_t want_len)
{
    z_stream z;
    uint8_t *out = malloc(want_len + 1);
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, (int)bits), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)in_len;
    z.next_out = out;
    z.avail_out = (uInt)want_len + 1;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, want_len);
    assert_int_equal(z.avail_in, 0);   /* one stream, nothing after it */
    assert_memory_equal(out, want, want_len);
    inflateEnd(&z);
    free(out);
}

/* The device's decoder, fed as DATA frames would be (small pieces), with
 * a small output buffer like the device engine's. */
static void inflate_like_device(const uint8_t *in, size_t in_len, unsigned bits,
                                const uint8_t *want, size_t want_len)
{
    aloft_inflate_t ops;
    inflate_zlib_t st;
    uint8_t out[1024];
    size_t got = 0, pos = 0;
    int rc = 0;
    inflate_zlib_init(&ops, &st, bits);
    assert_int_equal(ops.begin(ops.ctx, bits), ALOFT_OK);
    while (rc == 0 && pos < in_len) {
        size_t piece = in_len - pos < 700 ? in_len - pos : 700;
        size_t used = 0, n = 0;
        rc = ops.run(ops.ctx, in + pos, piece, &used, out, sizeof out, &n);
        assert_true(rc >= 0);
        assert_true(got + n <= want_len);
        assert_memory_equal(out, want + got, n);
        got += n;
        pos += used;
    }
    for (size_t used = 0, n = 1; rc == 0 && n > 0;) {   /* drain what is buffered */
        rc = ops.run(ops.ctx, in + pos, 0, &used, out, sizeof out, &n);
        assert_true(rc >= 0);
        assert_memory_equal(out, want + got, n);
        got += n;
    }
    assert_int_equal(rc, 1);
    assert_int_equal(got, want_len);
    ops.end(ops.ctx);
}

static void test_deflate_restart_round_trips(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = test_image(&len);
    const size_t offsets[] = {0, 1, 4096, 65536, 123457, 262144, len - 1, len};
    const unsigned bits[] = {9, 12, 15};
    for (size_t b = 0; b < sizeof bits / sizeof bits[0]; b++) {
        for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
            native_stream_t s;
            size_t off = offsets[i];
            assert_int_equal(native_stream_open(&s, img, len, (uint32_t)off, bits[b],
                                                NATIVE_DEFLATE_LEVEL), ALOFT_OK);
            assert_true(s.deflate);
            inflate_with_zlib(native_stream_bytes(&s), native_stream_len(&s), bits[b],
                              img + off, len - off);
            inflate_like_device(native_stream_bytes(&s), native_stream_len(&s), bits[b],
                                img + off, len - off);
            /* Progress: from the resume point to the whole image, never back. */
            assert_int_equal(native_stream_image_pos(&s, 0), off);
            assert_int_equal(native_stream_image_pos(&s, native_stream_len(&s)), len);
            uint64_t prev = 0;
            for (size_t p = 0; p <= native_stream_len(&s); p += 997) {
                uint64_t at = native_stream_image_pos(&s, p);
                assert_true(at >= prev && at >= off && at <= len);
                prev = at;
            }
            native_stream_close(&s);
        }
    }
    image_free(img);
}

/* A window larger than the device's must not decode there. */
static void test_deflate_window_is_respected(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = test_image(&len);
    native_stream_t s;
    z_stream z;
    uint8_t out[4096];
    assert_int_equal(native_stream_open(&s, img, len, 0, 15, NATIVE_DEFLATE_LEVEL), ALOFT_OK);
    memset(&z, 0, sizeof z);
    assert_int_equal(inflateInit2(&z, 12), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)native_stream_bytes(&s);
    z.avail_in = (uInt)native_stream_len(&s);
    z.next_out = out;
    z.avail_out = sizeof out;
    assert_int_equal(inflate(&z, Z_NO_FLUSH), Z_DATA_ERROR);
    inflateEnd(&z);
    native_stream_close(&s);
    /* And the compression is real: synthetic firmware is half repetitive. */
    assert_int_equal(native_stream_open(&s, img, len, 0, 12, NATIVE_DEFLATE_LEVEL), ALOFT_OK);
    assert_true(native_stream_len(&s) < len * 3 / 4);
    native_stream_close(&s);
    image_free(img);
}

static void test_raw_stream_is_the_image(void **state)
{
    (void)state;
    static const uint8_t img[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    native_stream_t s;
    assert_int_equal(native_stream_open(&s, img, sizeof img, 4, 0, 0), ALOFT_OK);
    assert_false(s.deflate);
    assert_ptr_equal(native_stream_bytes(&s), img + 4);
    assert_int_equal(native_stream_len(&s), 6);
    assert_int_equal(native_stream_image_pos(&s, 0), 4);
    assert_int_equal(native_stream_image_pos(&s, 3), 7);
    assert_int_equal(native_stream_image_pos(&s, 6), 10);
    native_stream_close(&s);
    assert_int_equal(native_stream_open(&s, img, sizeof img, 11, 0, 0), ALOFT_ERR_ARG);
    assert_int_equal(native_stream_open(&s, img, sizeof img, 0, 8, 9), ALOFT_ERR_ARG);
    assert_int_equal(native_stream_open(&s, img, sizeof img, 0, 16, 9), ALOFT_ERR_ARG);
}

/* The engine's source: the whole-image stream is made once per window
 * and kept (it is also the probe that decides whether deflating pays); a
 * resume elsewhere gets its own; reads stay inside the current one. */
static void test_source_keeps_the_whole_stream(void **state)
{
    (void)state;
    size_t len;
    uint8_t *img = test_image(&len);
    native_source_t s;
    const aloft_native_source_t *src = &s.src;
    uint32_t n0, n1, n2;
    uint8_t buf[64];
    native_source_init(&s, img, len);
    assert_int_equal(src->read(src->ctx, 0, buf, 1), ALOFT_ERR_ARG);   /* nothing open */
    assert_int_equal(src->open(src->ctx, 0, 12, &n0), ALOFT_OK);
    const uint8_t *whole = native_stream_bytes(&s.whole);
    assert_true(n0 < len);
    assert_int_equal(src->open(src->ctx, 0, 12, &n1), ALOFT_OK);
    assert_int_equal(n1, n0);
    assert_ptr_equal(native_stream_bytes(&s.whole), whole);   /* not deflated again */
    assert_int_equal(src->read(src->ctx, n0 - 10, buf, 10), ALOFT_OK);
    assert_memory_equal(buf, whole + n0 - 10, 10);
    assert_int_equal(src->read(src->ctx, n0 - 10, buf, 11), ALOFT_ERR_ARG);
    assert_int_equal(native_source_image_pos(&s, n0), len);
    /* a resume at 64 KiB: its own stream, the whole one stays */
    assert_int_equal(src->open(src->ctx, 65536, 12, &n2), ALOFT_OK);
    assert_true(n2 < n0);
    assert_int_equal(native_source_image_pos(&s, 0), 65536);
    assert_ptr_equal(native_stream_bytes(&s.whole), whole);
    /* raw */
    assert_int_equal(src->open(src->ctx, 100, 0, &n2), ALOFT_OK);
    assert_int_equal(n2, len - 100);
    assert_int_equal(src->read(src->ctx, 0, buf, 8), ALOFT_OK);
    assert_memory_equal(buf, img + 100, 8);
    assert_int_equal(src->open(src->ctx, 0, 8, &n2), ALOFT_ERR_ARG);   /* zlib cannot */
    native_source_close(&s);
    image_free(img);
}

/* ---- errors ----------------------------------------------------------- */

static void error_msg(aloft_native_error_t *m, int code, uint32_t have, uint32_t want,
                      const char *where, const char *text)
{
    memset(m, 0, sizeof *m);
    m->code = (int16_t)code;
    m->have = have;
    m->want = want;
    m->where.len = (uint8_t)strlen(where);
    memcpy(m->where.s, where, m->where.len);
    m->text.len = (uint8_t)strlen(text);
    memcpy(m->text.s, text, m->text.len);
}

static void test_error_too_large_uses_diag(void **state)
{
    (void)state;
    aloft_native_error_t m;
    host_error_t e;
    error_msg(&m, ALOFT_ERR_TOO_LARGE, 1412096, 1310720, "app1", "image is larger than the slot");
    assert_int_equal(native_explain_error(&e, &m, false), ALOFT_ERR_TOO_LARGE);
    assert_string_equal(e.message, "image is larger than the slot");
    assert_non_null(strstr(e.hint, "1 412 096"));
    assert_non_null(strstr(e.hint, "app1"));
    assert_non_null(strstr(e.hint, "min_spiffs"));
}

static void test_error_busy_and_chip(void **state)
{
    (void)state;
    aloft_native_error_t m;
    host_error_t e;
    error_msg(&m, ALOFT_ERR_BUSY, 0, 0, "", "busy");
    assert_int_equal(native_explain_error(&e, &m, false), ALOFT_ERR_BUSY);
    assert_string_equal(e.message, "another update is in progress");
    assert_non_null(strstr(e.hint, "try again"));
    error_msg(&m, ALOFT_ERR_IMG_CHIP, 9, 0, "", "");
    assert_int_equal(native_explain_error(&e, &m, false), ALOFT_ERR_IMG_CHIP);
    assert_non_null(strstr(e.hint, "ESP32-S3"));
    assert_non_null(strstr(e.hint, "ESP32"));
}

static void test_error_login(void **state)
{
    (void)state;
    aloft_native_error_t m;
    host_error_t e;
    error_msg(&m, ALOFT_ERR_AUTH, 0, 0, "", "authentication failed");
    assert_int_equal(native_explain_error(&e, &m, true), ALOFT_ERR_AUTH);
    assert_string_equal(e.message, "authentication failed");
    assert_non_null(strstr(e.hint, "--auth"));
    error_msg(&m, ALOFT_ERR_RATE, 30, 0, "", "");
    assert_int_equal(native_explain_error(&e, &m, true), ALOFT_ERR_RATE);
    assert_string_equal(e.message, "too many failed logins");
    assert_non_null(strstr(e.hint, "30 s"));
}

static void test_error_unknown_code(void **state)
{
    (void)state;
    aloft_native_error_t m;
    host_error_t e;
    error_msg(&m, -99, 1, 2, "x", "battery too low for an update");
    assert_int_equal(native_explain_error(&e, &m, false), -99);
    assert_string_equal(e.message, "battery too low for an update");
    assert_non_null(strstr(e.hint, "-99"));
    error_msg(&m, -98, 0, 0, "", "");
    native_explain_error(&e, &m, false);
    assert_string_equal(e.message, "the device reported an error");
    error_msg(&m, 5, 0, 0, "", "");   /* not an error code at all */
    assert_int_equal(native_explain_error(&e, &m, false), ALOFT_ERR_PROTO);
}

/* The host engine's failures, in the words the CLI prints, by where they
 * happened. */
static const char *explained(const aloft_native_failure_t *f, const native_context_t *x,
                             host_error_t *e)
{
    assert_int_equal(native_explain_failure(e, f, x), f->code);
    return e->message;
}

static void test_failures_in_words(void **state)
{
    (void)state;
    aloft_native_host_config_t cfg = {.hello_timeout_ms = 3000, .timeout_ms = 10000,
                                      .accept_timeout_ms = 30000, .result_timeout_ms = 60000};
    native_conn_t conn = {.fd = -1};
    aloft_native_hello_t hello;
    native_context_t x = {"10.0.0.7:3232", 3232, &cfg, &conn, NULL};
    aloft_native_failure_t f;
    host_error_t e;

    f = (aloft_native_failure_t){.code = ALOFT_ERR_CLOSED, .why = ALOFT_NATIVE_WHY_CLOSED,
                                 .phase = ALOFT_NATIVE_PH_DATA, .lost = true};
    assert_string_equal(explained(&f, &x, &e), "connection to the device lost");
    assert_string_equal(e.hint, "the device closed the connection");
    f.phase = ALOFT_NATIVE_PH_RESULT;
    explained(&f, &x, &e);
    assert_string_equal(e.hint, "the device closed the connection before the result");

    f = (aloft_native_failure_t){.code = ALOFT_ERR_TIMEOUT, .why = ALOFT_NATIVE_WHY_SILENT,
                                 .phase = ALOFT_NATIVE_PH_RESULT, .have = 10000, .want = 1,
                                 .lost = true};
    assert_string_equal(explained(&f, &x, &e), "the device stopped responding");
    assert_string_equal(e.hint, "no ACK for 10 s");
    f.have = 60000;
    f.want = 0;   /* everything consumed: waiting for the RESULT */
    assert_string_equal(explained(&f, &x, &e), "no result from the device");
    assert_non_null(strstr(e.hint, "within 60 s"));
    assert_non_null(strstr(e.hint, "check with 'aloft info'"));

    f = (aloft_native_failure_t){.code = ALOFT_ERR_CLOSED, .why = ALOFT_NATIVE_WHY_NO_HELLO,
                                 .phase = ALOFT_NATIVE_PH_HELLO, .lost = true};
    assert_string_equal(explained(&f, &x, &e), "the device closed the connection without a HELLO");
    assert_non_null(strstr(e.hint, "10.0.0.7:3232 accepts TCP connections but closes them"));
    f.code = ALOFT_ERR_TIMEOUT;
    assert_string_equal(explained(&f, &x, &e), "no HELLO from the device");
    assert_non_null(strstr(e.hint, "said nothing within 3 s"));

    f = (aloft_native_failure_t){.code = ALOFT_ERR_INTEGRITY, .why = ALOFT_NATIVE_WHY_CORRUPT,
                                 .phase = ALOFT_NATIVE_PH_OFFER, .lost = true};
    assert_string_equal(explained(&f, &x, &e), "a frame from the device failed its MAC check");

    f = (aloft_native_failure_t){.code = ALOFT_ERR_AUTH, .why = ALOFT_NATIVE_WHY_DEVICE,
                                 .phase = ALOFT_NATIVE_PH_LOGIN};
    f.device.code = ALOFT_ERR_AUTH;
    assert_string_equal(explained(&f, &x, &e), "authentication failed");
    assert_non_null(strstr(e.hint, "--auth"));

    f = (aloft_native_failure_t){.code = ALOFT_ERR_CLOSED, .why = ALOFT_NATIVE_WHY_CLOSED,
                                 .phase = ALOFT_NATIVE_PH_ROLLBACK, .lost = true};
    assert_string_equal(explained(&f, &x, &e), "no answer to the rollback");
    assert_non_null(strstr(e.hint, "the device may still have switched"));
    conn.send_failed = true;   /* it never went out */
    assert_string_equal(explained(&f, &x, &e), "the rollback could not be sent");
    assert_non_null(strstr(e.hint, "nothing was changed"));

    memset(&hello, 0, sizeof hello);
    hello.nslots = 2;
    hello.running_slot = 0;
    aloft_native_str_set(&hello.slots[0].label, "app0");
    aloft_native_str_set(&hello.slots[1].label, "app1");
    hello.slots[1].state = ALOFT_OTA_ABORTED;
    x.hello = &hello;
    f = (aloft_native_failure_t){.code = ALOFT_ERR_NO_BOOTABLE, .why = ALOFT_NATIVE_WHY_NOT_GOOD,
                                 .phase = ALOFT_NATIVE_PH_ROLLBACK, .have = 1};
    assert_string_equal(explained(&f, &x, &e), "nothing to roll back to");
    assert_non_null(strstr(e.hint, "app1 holds"));
    assert_non_null(strstr(e.hint, "never confirmed itself"));

    f = (aloft_native_failure_t){.code = ALOFT_ERR_PROTO, .why = ALOFT_NATIVE_WHY_BAD_ACK,
                                 .phase = ALOFT_NATIVE_PH_DATA, .have = 9000, .want = 8184,
                                 .aux = 4096};
    assert_string_equal(explained(&f, &x, &e), "unexpected ACK from the device");
    assert_non_null(strstr(e.hint, "confirmed 9000 stream bytes (4096 image bytes) but 8184"));
}

static void test_caps_text(void **state)
{
    (void)state;
    char t[64];
    native_caps_text(ALOFT_CAP_AUTH | ALOFT_CAP_DEFLATE | ALOFT_CAP_RESUME, t, sizeof t);
    assert_string_equal(t, "auth, deflate, resume");
    native_caps_text(0, t, sizeof t);
    assert_string_equal(t, "none");
    native_caps_text(0x0F, t, 12);   /* cut, still terminated */
    assert_string_equal(t, "auth");
}

/* ---- progress of a resumed upload ------------------------------------- */

static void test_progress_from_resume_point(void **state)
{
    (void)state;
    char line[160];
    /* 512 KiB were there; 256 KiB more in 2 s is 128 KiB/s, not 384. */
    progress_line_from(line, sizeof line, 786432, 524288, 1048576, 2.0);
    assert_non_null(strstr(line, " 75%"));
    assert_non_null(strstr(line, "768.0/1024.0 KiB"));
    assert_non_null(strstr(line, "128.0 KiB/s"));
    assert_non_null(strstr(line, "ETA 0:02"));
    progress_mark_line_from(line, sizeof line, "upload", 75, 786432, 524288, 1048576, 2.0);
    assert_string_equal(line, "upload  75%  786432 of 1048576 bytes, 128.0 KiB/s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deflate_restart_round_trips),
        cmocka_unit_test(test_deflate_window_is_respected),
        cmocka_unit_test(test_raw_stream_is_the_image),
        cmocka_unit_test(test_source_keeps_the_whole_stream),
        cmocka_unit_test(test_error_too_large_uses_diag),
        cmocka_unit_test(test_error_busy_and_chip),
        cmocka_unit_test(test_error_login),
        cmocka_unit_test(test_error_unknown_code),
        cmocka_unit_test(test_failures_in_words),
        cmocka_unit_test(test_caps_text),
        cmocka_unit_test(test_progress_from_resume_point),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
