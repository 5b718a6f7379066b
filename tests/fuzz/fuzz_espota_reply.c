/*
 * tests/fuzz/fuzz_espota_reply.c — libFuzzer target for the CLI's parsers
 * of what an espota device says: aloft_espota_parse_refusal (aloft's short
 * refusals) and host/espota_reply.c (every core's refusal and result texts
 * turned into a cause and a hint). The engine that collects these texts is
 * fuzz_espota_host.c.
 *
 * The input is the device's text, as an invitation answer (any bytes) and
 * as a result line (NUL-terminated); the upload's numbers come from its
 * length and last byte. Whatever it says, the answer is a negative code,
 * a message and a terminated hint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aloft/espota_device.h"
#include "espota_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The harness's own branches are not what is explored (see fuzz_espota_host.c). */
#define HARNESS __attribute__((no_sanitize("coverage")))

HARNESS static void check(int ok)
{
    if (!ok)
        abort();
}

HARNESS static void check_error(int rc, const host_error_t *e)
{
    check(rc < 0 && rc == e->code && e->message[0] != '\0');
    check(memchr(e->message, '\0', sizeof e->message) && memchr(e->hint, '\0', sizeof e->hint));
}

HARNESS int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aloft_diag_t d;
    host_error_t e;
    char text[300];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    espota_context_t ctx = {.size = 1310720u + (uint32_t)size * 4099u,
                            .first_byte = size ? data[size - 1] : -1, .fs = size & 1};
    /* parse_refusal's own code may be anything for "ERR: code -<huge>" (see
     * the explain functions, which take only negative ones); it must not
     * crash. */
    aloft_espota_parse_refusal((const char *)data, size, &d);
    check_error(espota_explain_refusal(&e, (const char *)data, size, &ctx), &e);
    memcpy(text, data, n);
    text[n] = '\0';
    check_error(espota_explain_result(&e, text, &ctx), &e);
    return 0;
}
