/* host/espota_reply.c — see espota_reply.h. */
#include "espota_reply.h"

#include <stdio.h>
#include <string.h>

#include "aloft/espota_device.h"
#include "aloft/util.h"

/* ---- texts from aloft devices ------------------------------------------ */

/* "message: hint" as aloft_diag_format writes it (an aloft device's error
 * line): recover the code from the message. */
static bool explain_aloft_line(host_error_t *e, const char *text)
{
    size_t ml = strcspn(text, ":");
    int code = aloft_error_from_message(text, ml);
    if (code == ALOFT_OK)
        return false;
    const char *hint = text + ml;
    while (*hint == ':' || *hint == ' ')
        hint++;
    e->code = code;
    snprintf(e->message, sizeof e->message, "%s", aloft_strerror(code));
    snprintf(e->hint, sizeof e->hint, "%s", hint);
    return true;
}

/* ---- texts from the Arduino Update library (ESP32 and ESP8266) ------- */

typedef enum {
    SPECIAL_NONE,
    SPECIAL_MD5,        /* diag ALOFT_ERR_MD5 */
    SPECIAL_MAGIC,      /* diag ALOFT_ERR_IMG_MAGIC with the first byte */
    SPECIAL_DECRYPT,    /* magic problem unless the file starts with 0xE9 */
    SPECIAL_SPACE,      /* meaning depends on the phase */
    SPECIAL_SIZE,       /* names the image size */
} special_t;

typedef struct {
    const char *needle;   /* substring of the device text */
    int code;
    special_t special;
    const char *message;
    const char *hint;
} update_text_t;

static const update_text_t update_texts[] = {
    {"MD5 Check Failed", ALOFT_ERR_MD5, SPECIAL_MD5, NULL, NULL},
    {"MD5 verification failed", ALOFT_ERR_MD5, SPECIAL_MD5, NULL, NULL},
    {"Wrong Magic Byte", ALOFT_ERR_IMG_MAGIC, SPECIAL_MAGIC, NULL, NULL},
    {"Magic byte is not", ALOFT_ERR_IMG_MAGIC, SPECIAL_MAGIC, NULL, NULL},
    {"Decryption error", ALOFT_ERR_PROTO, SPECIAL_DECRYPT, "the device could not decrypt the image",
     "it expects an image encrypted with its OTA key (Update.setupCrypt in its firmware); "
     "upload the encrypted .bin, or build the firmware without OTA decryption"},
    {"Not Enough Space", ALOFT_ERR_TOO_LARGE, SPECIAL_SPACE, NULL, NULL},
    {"Bad Size Given", ALOFT_ERR_TOO_LARGE, SPECIAL_SIZE, NULL, NULL},
    {"Flash Write Failed", ALOFT_ERR_IO, SPECIAL_NONE, "the device could not write its flash",
     "the running firmware is untouched; try again, and if it keeps failing check the "
     "partition table and the flash chip"},
    {"Flash Erase Failed", ALOFT_ERR_IO, SPECIAL_NONE, "the device could not erase its flash",
     "the running firmware is untouched; try again, and if it keeps failing check the "
     "partition table and the flash chip"},
    {"Flash Read Failed", ALOFT_ERR_IO, SPECIAL_NONE, "the device could not read back its flash",
     "the running firmware is untouched; try again, and if it keeps failing the flash chip "
     "may be failing"},
    {"Stream Read Timeout", ALOFT_ERR_TIMEOUT, SPECIAL_NONE, "the device timed out reading the upload",
     "the data stalled; check the Wi-Fi signal and try again"},
    {"Could Not Activate The Firmware", ALOFT_ERR_IMG_HASH, SPECIAL_NONE,
     "the device could not activate the new firmware",
     "its check of the written image failed (built for another chip, damaged file, or a "
     "missing secure-boot signature); run 'aloft image info FILE' and check the board setting"},
    {"Partition Could Not be Found", ALOFT_ERR_NO_SLOT, SPECIAL_NONE,
     "the device has no partition to write to",
     "its partition table has no free OTA app slot (or no filesystem partition for a "
     "filesystem upload); flash a partition scheme with two app slots over serial"},
    {"ignature verification failed", ALOFT_ERR_IMG_HASH, SPECIAL_NONE, "image signature rejected",
     "the device only accepts images signed with its key; sign the .bin and upload that"},
    {"ignature Verification Failed", ALOFT_ERR_IMG_HASH, SPECIAL_NONE, "image signature rejected",
     "the device only accepts images signed with its key; sign the .bin and upload that"},
    {"Aborted", ALOFT_ERR_ABORTED, SPECIAL_NONE, "the device aborted the update",
     "the running firmware is untouched; try again"},
    {"Bad Argument", ALOFT_ERR_ARG, SPECIAL_NONE, "the device rejected the update request",
     "its firmware passed a bad argument to the Update library; this is a firmware bug"},
    {"Flash config wrong", ALOFT_ERR_IMG_HEADER, SPECIAL_NONE, "image built for another flash size",
     "the image's flash size does not match the device's flash chip; set the right flash "
     "size in the board settings and rebuild"},
    {"Invalid bootstrapping state", ALOFT_ERR_STATE, SPECIAL_NONE, "the ESP8266 needs a reset",
     "after flashing over serial it must be reset once by hand (button or power) before OTA "
     "works; do that, then try again"},
    {"Out of memory", ALOFT_ERR_IO, SPECIAL_NONE, "the device ran out of memory",
     "reboot the device (or free memory in its firmware) and try again"},
    {"Update already running", ALOFT_ERR_BUSY, SPECIAL_NONE, "another update is in progress",
     "wait for it to finish, then try again"},
    {"No data supplied", ALOFT_ERR_SIZE, SPECIAL_NONE, "the device got no data",
     "the upload was empty; check the file"},
    {"Unknown update command", ALOFT_ERR_PROTO, SPECIAL_NONE,
     "the device does not support this kind of upload",
     "it rejected the command (app image vs filesystem); check the filesystem flag"},
    {"No Error", ALOFT_ERR_IO, SPECIAL_NONE, "the device failed without naming a reason",
     "stock ArduinoOTA says \"No Error\" when it cannot allocate its 4 KiB flash buffer; "
     "reboot the device and try again"},
};

static int explain_space(host_error_t *e, const espota_context_t *ctx, bool before_data)
{
    char n[32];
    if (before_data)   /* ESP8266: Update.begin found no room to stage the image */
        return host_error_set(e, ALOFT_ERR_TOO_LARGE, "the device has no room for this image",
                              "the image is %s bytes and the device cannot store it next to the "
                              "running firmware; choose a flash layout with a smaller filesystem "
                              "(or larger app slots), or shrink the image",
                              host_grouped(ctx->size, n));
    /* ESP32: Update.write got more bytes than the invitation announced. */
    return host_error_set(e, ALOFT_ERR_OVERFLOW, "the device received more data than announced",
                          "during the transfer \"Not Enough Space\" means the data overran the "
                          "%s bytes announced, not that the partition is small; the stream got "
                          "out of step (another upload at the same time?); try again",
                          host_grouped(ctx->size, n));
}

static int explain_update_text(host_error_t *e, const update_text_t *t,
                               const espota_context_t *ctx, bool before_data)
{
    aloft_diag_t d;
    char n[32];
    memset(&d, 0, sizeof d);
    switch (t->special) {
    case SPECIAL_MD5:
        d.err = ALOFT_ERR_MD5;
        return host_error_from_diag(e, &d);
    case SPECIAL_DECRYPT:
        if (ctx->first_byte == 0xE9)   /* a plain image: the device wants an encrypted one */
            break;
        aloft_diag_set(&d, ALOFT_ERR_IMG_MAGIC, (uint32_t)(ctx->first_byte & 0xFF), 0, NULL);
        return host_error_from_diag(e, &d);
    case SPECIAL_MAGIC:
        aloft_diag_set(&d, ALOFT_ERR_IMG_MAGIC, (uint32_t)(ctx->first_byte & 0xFF), 0, NULL);
        return host_error_from_diag(e, &d);
    case SPECIAL_SPACE:
        return explain_space(e, ctx, before_data);
    case SPECIAL_SIZE:
        return host_error_set(e, ALOFT_ERR_TOO_LARGE, "the device rejected the image size",
                              "the image is %s bytes, more than its OTA partition holds; choose "
                              "a partition scheme with larger app slots (e.g. min_spiffs) or "
                              "shrink the image", host_grouped(ctx->size, n));
    case SPECIAL_NONE:
        break;
    }
    return host_error_set(e, t->code, t->message, "%s", t->hint);
}

/* A short refusal has no room for the partition label its hint names;
 * say which partition in words. */
static const char *refusal_where(int err, const espota_context_t *ctx)
{
    switch (err) {
    case ALOFT_ERR_TOO_LARGE: return ctx->fs ? "filesystem" : "app";
    case ALOFT_ERR_NO_SLOT: return ctx->fs ? "filesystem" : "OTA app";
    case ALOFT_ERR_PENDING: return "the running slot";
    default: return NULL;
    }
}

/* "ERR: code -<n>" (a device sends that where its numbers do not fit the
 * 32 bytes): the code's hint when it names no numbers (the same text
 * whatever they are), else one that invents none. */
static int explain_bare_code(host_error_t *e, aloft_diag_t *d, const espota_context_t *ctx)
{
    host_error_t probe;
    char n[32];
    if (d->err == ALOFT_ERR_TOO_LARGE)   /* the image size is the host's own number */
        return host_error_set(e, d->err, aloft_strerror(d->err),
                              "the image is %s bytes, more than the device's %s partition holds "
                              "(it sent the error code alone, not the partition's size); choose "
                              "a partition scheme with a larger %s partition, or shrink the image",
                              host_grouped(ctx->size, n), d->where, d->where);
    host_error_from_diag(e, d);
    d->have = d->want = 1;
    host_error_from_diag(&probe, d);
    if (strcmp(e->hint, probe.hint) == 0)
        return e->code;
    return host_error_set(e, d->err, aloft_strerror(d->err),
                          "the device sent the error code (%d) alone, without the numbers that "
                          "explain it; its serial log tells more", d->err);
}

/* ---- the common path -------------------------------------------------- */

static int explain(host_error_t *e, const char *raw, size_t len, const espota_context_t *ctx,
                   bool before_data)
{
    char text[256];
    const char *p = aloft_printable(raw, len, text, sizeof text);
    aloft_diag_t d;
    memset(e, 0, sizeof *e);
    /* aloft's codes are -1..-99; "ERR: code -<n>" may carry any n */
    if (aloft_espota_parse_refusal(text, strlen(text), &d) && d.err < 0 && d.err > -100) {
        if (d.where[0] == '\0')
            aloft_diag_set(&d, d.err, d.have, d.want, refusal_where(d.err, ctx));
        if (strncmp(text, "ERR: code ", 10) == 0)
            return explain_bare_code(e, &d, ctx);
        return host_error_from_diag(e, &d);
    }
    if (strncmp(p, "ERR: ", 5) == 0)
        p += 5;
    if (strncmp(p, "ERROR[", 6) == 0 && strstr(p, "]: ") != NULL)   /* ESP8266 printError */
        p = strstr(p, "]: ") + 3;
    if (explain_aloft_line(e, p))
        return e->code;
    for (size_t i = 0; i < sizeof update_texts / sizeof update_texts[0]; i++)
        if (strstr(p, update_texts[i].needle) != NULL)
            return explain_update_text(e, &update_texts[i], ctx, before_data);
    return host_error_set(e, ALOFT_ERR_PROTO,
                          before_data ? "the device refused the upload"
                                      : "the device reported an error",
                          "it said \"%s\"; its serial log may tell more", text);
}

int espota_explain_refusal(host_error_t *e, const char *text, size_t len,
                           const espota_context_t *ctx)
{
    return explain(e, text, len, ctx, true);
}

int espota_explain_result(host_error_t *e, const char *text, const espota_context_t *ctx)
{
    return explain(e, text, strlen(text), ctx, false);
}
