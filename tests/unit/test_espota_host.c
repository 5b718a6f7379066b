/*
 * tests/unit/test_espota_host.c — the host uploader's pure parts: reading
 * the device's ack stream (the engine's, lib/espota_acks.c), translating
 * device texts into causes, device address parsing and the progress line.
 * The engine is driven against the device engine in
 * test_espota_host_engine.c; the socket loop is covered by
 * tests/integration/test_espota_host_*.sh against a fake device.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "aloft/error.h"
#include "aloft/internal/espota_acks.h"
#include "aloft/util.h"
#include "espota_host.h"
#include "espota_reply.h"
#include "progress.h"

static void feed(aloft_espota_acks_t *a, const char *s, uint32_t sent)
{
    aloft_espota_acks_feed(a, s, strlen(s), sent);
}

/* ---- ack stream ------------------------------------------------------- */

static void test_acks_single_counts(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    aloft_espota_acks_init(&a);
    feed(&a, "1460", 1460);
    aloft_espota_acks_flush(&a, 1460);
    assert_int_equal(a.acked, 1460);
    feed(&a, "1024", 2484);
    aloft_espota_acks_flush(&a, 2484);
    assert_int_equal(a.acked, 2484);
    assert_int_equal(a.counts, 2);
    assert_false(a.ok);
    assert_false(a.error);
}

static void test_acks_coalesced_counts_fit_what_was_sent(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    aloft_espota_acks_init(&a);
    /* "14601460" cannot be 14601 + 460: only 2920 bytes were sent. */
    feed(&a, "14601460", 2920);
    aloft_espota_acks_flush(&a, 2920);
    assert_int_equal(a.acked, 2920);
    /* Three counts of a short last read. */
    aloft_espota_acks_init(&a);
    feed(&a, "14601460100 ", 3020);
    assert_int_equal(a.acked, 3020);
    /* Much more in flight: still read as segment-sized counts. */
    aloft_espota_acks_init(&a);
    feed(&a, "14601460 ", 100000);
    assert_int_equal(a.acked, 2920);
    /* A device that reads more than a segment at once. */
    aloft_espota_acks_init(&a);
    feed(&a, "4096 ", 8192);
    assert_int_equal(a.acked, 4096);
    feed(&a, "2920 ", 8192);
    assert_int_equal(a.acked, 7016);
}

static void test_acks_never_exceed_sent(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    aloft_espota_acks_init(&a);
    feed(&a, "1460", 1460);
    aloft_espota_acks_flush(&a, 1460);
    /* ArduinoOTA re-sends its last count when the data stalls. */
    feed(&a, "1460", 1460);
    aloft_espota_acks_flush(&a, 1460);
    assert_int_equal(a.acked, 1460);
}

static void test_acks_count_split_across_reads(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    aloft_espota_acks_init(&a);
    feed(&a, "14", 1460);   /* kept pending: more digits may follow */
    assert_int_equal(a.acked, 0);
    feed(&a, "60", 1460);
    aloft_espota_acks_flush(&a, 1460);
    assert_int_equal(a.acked, 1460);
    assert_int_equal(a.counts, 1);
}

/* Counts that keep coming with nothing between them outgrow the digit
 * buffer; it must be cut between two counts, not inside one. */
static void test_acks_long_run_keeps_count_boundaries(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    aloft_espota_acks_init(&a);
    /* 8192 bytes in 1460-byte reads, then 8760 more; 30000 are out */
    feed(&a, "14601460146014601460892", 30000);
    feed(&a, "146014601460146014601460", 30000);
    assert_int_equal(a.acked + aloft_espota_acks_pending(&a, 30000), 16952);
    feed(&a, "1", 30000);   /* the start of a count of 100 */
    feed(&a, "00", 30000);
    aloft_espota_acks_flush(&a, 30000);
    assert_int_equal(a.acked, 17052);
}

static void test_acks_ok_after_counts_and_split(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    aloft_espota_acks_init(&a);
    feed(&a, "1024OK", 1024);
    assert_true(a.ok);
    assert_int_equal(a.acked, 1024);

    aloft_espota_acks_init(&a);
    feed(&a, "512O", 512);
    assert_false(a.ok);
    assert_false(a.error);
    feed(&a, "K", 512);
    assert_true(a.ok);
    assert_false(a.error);
}

static void test_acks_error_text(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    aloft_espota_acks_init(&a);
    feed(&a, "1460MD5 Check", 1460);
    assert_true(a.error);
    assert_false(a.error_done);
    assert_int_equal(a.acked, 1460);
    feed(&a, " Failed\r\nOK", 1460);   /* nothing after the first error counts */
    assert_true(a.error_done);
    assert_false(a.ok);
    assert_string_equal(a.text, "MD5 Check Failed");
}

static void test_acks_error_starting_with_o_and_control_bytes(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    aloft_espota_acks_init(&a);
    feed(&a, "Out of\x01memory\n", 0);
    assert_false(a.ok);
    assert_true(a.error_done);
    assert_string_equal(a.text, "Out of?memory");

    aloft_espota_acks_init(&a);
    feed(&a, "ERROR[7]: MD5 verification failed\n", 100);
    assert_string_equal(a.text, "ERROR[7]: MD5 verification failed");
}

static void test_acks_long_text_is_cut(void **state)
{
    (void)state;
    aloft_espota_acks_t a;
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    aloft_espota_acks_init(&a);
    feed(&a, big, 0);
    assert_int_equal(strlen(a.text), ALOFT_ESPOTA_ACKS_TEXT_MAX);
}

/* ---- device texts ----------------------------------------------------- */

static const espota_context_t app_ctx = {1412096, 0xE9, false};

static void test_refusal_esp8266_not_enough_space(void **state)
{
    (void)state;
    host_error_t e;
    const char *t = "ERR: ERROR[4]: Not Enough Space\n";
    assert_int_equal(espota_explain_refusal(&e, t, strlen(t), &app_ctx), ALOFT_ERR_TOO_LARGE);
    assert_string_equal(e.message, "the device has no room for this image");
    assert_non_null(strstr(e.hint, "1 412 096 bytes"));
}

static void test_refusal_aloft_texts(void **state)
{
    (void)state;
    host_error_t e;
    const char *t = "ERR: too large 1412096>1310720";
    assert_int_equal(espota_explain_refusal(&e, t, strlen(t), &app_ctx), ALOFT_ERR_TOO_LARGE);
    assert_string_equal(e.message, aloft_strerror(ALOFT_ERR_TOO_LARGE));
    assert_non_null(strstr(e.hint, "1 412 096"));
    assert_non_null(strstr(e.hint, "1 310 720"));
    assert_non_null(strstr(e.hint, "min_spiffs"));

    t = "ERR: busy";
    assert_int_equal(espota_explain_refusal(&e, t, strlen(t), &app_ctx), ALOFT_ERR_BUSY);
    assert_string_equal(e.message, aloft_strerror(ALOFT_ERR_BUSY));
    assert_true(strlen(e.hint) > 0);
}

/* "ERR: code -<n>" with an n beyond 32 bits (found by fuzz_espota_reply):
 * no code, a quoted refusal. */
static void test_refusal_code_out_of_range(void **state)
{
    (void)state;
    host_error_t e;
    const char *t = "ERR: code -111111111111111111111111111111";
    assert_int_equal(espota_explain_refusal(&e, t, strlen(t), &app_ctx), ALOFT_ERR_PROTO);
    assert_string_equal(e.message, "the device refused the upload");
}

/* A refusal text for app_ctx: the code, with message and hint in e. */
static int refused(host_error_t *e, const char *text)
{
    return espota_explain_refusal(e, text, strlen(text), &app_ctx);
}

/* "ERR: code -<n>" carries the code alone (a device sends that where its
 * numbers do not fit 32 bytes): the message, and a hint that invents no
 * numbers ("image is 0 bytes, slot holds 0"); the host's own numbers (the
 * image size) may appear. */
static void test_refusal_code_only_invents_no_numbers(void **state)
{
    (void)state;
    host_error_t e;
    assert_int_equal(refused(&e, "ERR: code -61"), ALOFT_ERR_TOO_LARGE);
    assert_string_equal(e.message, aloft_strerror(ALOFT_ERR_TOO_LARGE));
    assert_null(strstr(e.hint, " 0 "));
    assert_non_null(strstr(e.hint, "1 412 096"));   /* the image, which the host knows */
    assert_non_null(strstr(e.hint, "app"));
    /* A code whose hint has numbers: said without them. */
    assert_int_equal(refused(&e, "ERR: code -72"), ALOFT_ERR_DOWNGRADE);
    assert_string_equal(e.message, aloft_strerror(ALOFT_ERR_DOWNGRADE));
    assert_null(strstr(e.hint, " 0"));
    assert_non_null(strstr(e.hint, "-72"));
    /* One whose hint has none: the usual hint. */
    assert_int_equal(refused(&e, "ERR: code -69"), ALOFT_ERR_UNSIGNED);
    assert_non_null(strstr(e.hint, "aloft sign"));
}

static void test_refusal_unknown_text_is_quoted(void **state)
{
    (void)state;
    host_error_t e;
    const char *t = "ERR: gremlins\r\n";
    assert_int_equal(espota_explain_refusal(&e, t, strlen(t), &app_ctx), ALOFT_ERR_PROTO);
    assert_string_equal(e.message, "the device refused the upload");
    assert_non_null(strstr(e.hint, "\"ERR: gremlins\""));
}

static void test_result_update_library_texts(void **state)
{
    (void)state;
    host_error_t e;
    espota_context_t not_app = {11, 0x68, false};
    assert_int_equal(espota_explain_result(&e, "MD5 Check Failed", &app_ctx), ALOFT_ERR_MD5);
    assert_non_null(strstr(e.hint, "corrupted"));
    assert_int_equal(espota_explain_result(&e, "ERROR[7]: MD5 verification failed: expected: a, "
                                               "calculated: b", &app_ctx), ALOFT_ERR_MD5);
    assert_int_equal(espota_explain_result(&e, "Wrong Magic Byte", &not_app), ALOFT_ERR_IMG_MAGIC);
    assert_non_null(strstr(e.hint, "0x68"));
    /* AES-capable cores say "Decryption error" for a non-0xE9 first byte. */
    assert_int_equal(espota_explain_result(&e, "Decryption error", &not_app), ALOFT_ERR_IMG_MAGIC);
    assert_int_equal(espota_explain_result(&e, "Decryption error", &app_ctx), ALOFT_ERR_PROTO);
    assert_non_null(strstr(e.message, "decrypt"));
    /* On the data connection "Not Enough Space" means too many bytes. */
    assert_int_equal(espota_explain_result(&e, "Not Enough Space", &app_ctx), ALOFT_ERR_OVERFLOW);
    assert_int_equal(espota_explain_result(&e, "Could Not Activate The Firmware", &app_ctx),
                     ALOFT_ERR_IMG_HASH);
    assert_int_equal(espota_explain_result(&e, "Flash Write Failed", &app_ctx), ALOFT_ERR_IO);
}

static void test_result_aloft_error_line(void **state)
{
    (void)state;
    host_error_t e;
    assert_int_equal(espota_explain_result(&e, "ERR: image is for another chip: image is built for "
                                               "ESP32-S3 but the device is ESP32", &app_ctx),
                     ALOFT_ERR_IMG_CHIP);
    assert_string_equal(e.message, "image is for another chip");
    assert_string_equal(e.hint, "image is built for ESP32-S3 but the device is ESP32");
}

static void test_error_from_diag_splits_message_and_hint(void **state)
{
    (void)state;
    host_error_t e;
    aloft_diag_t d;
    memset(&d, 0, sizeof d);
    aloft_diag_set(&d, ALOFT_ERR_IMG_TRUNCATED, 1000, 37600, NULL);
    assert_int_equal(host_error_from_diag(&e, &d), ALOFT_ERR_IMG_TRUNCATED);
    assert_string_equal(e.message, "image is truncated");
    assert_non_null(strstr(e.hint, "1 000"));
    assert_non_null(strstr(e.hint, "37 600"));
    assert_true(e.hint[0] != ':' && e.hint[0] != ' ');
}

static void test_printable(void **state)
{
    (void)state;
    char out[16];
    assert_string_equal(aloft_printable("OK\r\n", 4, out, sizeof out), "OK");
    assert_string_equal(aloft_printable("a\tb\0", 4, out, sizeof out), "a?b");
    assert_string_equal(aloft_printable("0123456789abcdefXYZ", 19, out, sizeof out),
                        "0123456789abcde");
    char g[32];
    assert_string_equal(host_grouped(0, g), "0");
    assert_string_equal(host_grouped(999, g), "999");
    assert_string_equal(host_grouped(1310720, g), "1 310 720");
}

/* ---- device addresses ------------------------------------------------- */

static void test_parse_device(void **state)
{
    (void)state;
    char host[32];
    uint16_t port;
    assert_int_equal(host_parse_device("192.168.1.50", 3232, host, sizeof host, &port), 0);
    assert_string_equal(host, "192.168.1.50");
    assert_int_equal(port, 3232);
    assert_int_equal(host_parse_device("esp.local:8266", 3232, host, sizeof host, &port), 0);
    assert_string_equal(host, "esp.local");
    assert_int_equal(port, 8266);
    assert_int_equal(host_parse_device("h:65535", 3232, host, sizeof host, &port), 0);
    assert_int_equal(port, 65535);
    const char *bad[] = {"", ":3232", "h:", "h:0", "h:65536", "h:32x", "::1", "fe80::1:3232",
                         "a-host-name-that-is-far-too-long-for-the-buffer"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(host_parse_device(bad[i], 3232, host, sizeof host, &port), -1);
}

/* ---- progress --------------------------------------------------------- */

static void test_progress_line(void **state)
{
    (void)state;
    char line[160];
    progress_line(line, sizeof line, 524288, 1048576, 4.0);
    assert_string_equal(line, "[############------------]  50%    512.0/1024.0 KiB    128.0 KiB/s  ETA 0:04");
    progress_line(line, sizeof line, 1048576, 1048576, 75.0);
    assert_string_equal(line, "[########################] 100%   1024.0/1024.0 KiB     13.7 KiB/s  in 1:15");
    progress_line(line, sizeof line, 0, 1048576, 0.0);
    assert_string_equal(line, "[------------------------]   0%      0.0/1024.0 KiB      0.0 KiB/s  ETA --:--");
    progress_line(line, 20, 0, 1048576, 0.0);   /* cut, still terminated */
    assert_int_equal(strlen(line), 19);
}

static void test_progress_mark_line(void **state)
{
    (void)state;
    char line[160];
    progress_mark_line(line, sizeof line, "upload", 25, 262144, 1048576, 2.0);
    assert_string_equal(line, "upload  25%  262144 of 1048576 bytes, 128.0 KiB/s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acks_single_counts),
        cmocka_unit_test(test_acks_coalesced_counts_fit_what_was_sent),
        cmocka_unit_test(test_acks_never_exceed_sent),
        cmocka_unit_test(test_acks_count_split_across_reads),
        cmocka_unit_test(test_acks_long_run_keeps_count_boundaries),
        cmocka_unit_test(test_acks_ok_after_counts_and_split),
        cmocka_unit_test(test_acks_error_text),
        cmocka_unit_test(test_acks_error_starting_with_o_and_control_bytes),
        cmocka_unit_test(test_acks_long_text_is_cut),
        cmocka_unit_test(test_refusal_esp8266_not_enough_space),
        cmocka_unit_test(test_refusal_aloft_texts),
        cmocka_unit_test(test_refusal_code_out_of_range),
        cmocka_unit_test(test_refusal_code_only_invents_no_numbers),
        cmocka_unit_test(test_refusal_unknown_text_is_quoted),
        cmocka_unit_test(test_result_update_library_texts),
        cmocka_unit_test(test_result_aloft_error_line),
        cmocka_unit_test(test_error_from_diag_splits_message_and_hint),
        cmocka_unit_test(test_printable),
        cmocka_unit_test(test_parse_device),
        cmocka_unit_test(test_progress_line),
        cmocka_unit_test(test_progress_mark_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
