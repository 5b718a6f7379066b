/* lib/discovery.c — the TXT records a device announces (aloft/discovery.h). */
#include "aloft/discovery.h"

#include "aloft/error.h"
#include "aloft/wire/image.h"
#include "aloft/wire/native.h"

static void add(aloft_txt_t *t, const char *key, const char *value)
{
    t->items[t->count].key = key;
    t->items[t->count].value = value;
    t->count++;
}

/* "ESP32-S3" -> "esp32s3": the IDF target and ARDUINO_VARIANT spelling. */
static void chip_token(uint16_t chip_id, char out[16])
{
    const char *s = aloft_chip_name(chip_id);
    size_t n = 0;
    for (; *s && n < 15; s++) {
        if (*s == '-')
            continue;
        out[n++] = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
    }
    out[n] = '\0';
}

/* Decimal text of v (the core has no snprintf). */
static void u8_text(uint8_t v, char out[4])
{
    char *p = out;
    if (v >= 100)
        *p++ = (char)('0' + v / 100);
    if (v >= 10)
        *p++ = (char)('0' + v / 10 % 10);
    *p++ = (char)('0' + v % 10);
    *p = '\0';
}

static const char *yes_no(bool v)
{
    return v ? "yes" : "no";
}

static int start(const aloft_discovery_state_t *st, aloft_txt_t *out)
{
    if (st == NULL || st->dev == NULL || out == NULL)
        return ALOFT_ERR_ARG;
    out->count = 0;
    chip_token(st->dev->chip_id, out->chip);
    return ALOFT_OK;
}

int aloft_discovery_txt(const aloft_discovery_state_t *st, aloft_txt_t *out)
{
    int err = start(st, out);
    if (err)
        return err;
    const aloft_app_desc_t *d = st->dev->running_desc;
    u8_text(ALOFT_NATIVE_VERSION, out->proto);
    add(out, ALOFT_TXT_TXTVERS, ALOFT_TXTVERS);
    add(out, ALOFT_TXT_PROTO, out->proto);
    add(out, ALOFT_TXT_CHIP, out->chip);
    add(out, ALOFT_TXT_PROJECT, d ? d->project_name : "");
    add(out, ALOFT_TXT_VERSION, d ? d->version : "");
    add(out, ALOFT_TXT_AUTH, yes_no(st->native_password));
    add(out, ALOFT_TXT_SIGNED, yes_no(st->dev->nkeys > 0));
    return ALOFT_OK;
}

int aloft_discovery_txt_arduino(const aloft_discovery_state_t *st, aloft_txt_t *out)
{
    int err = start(st, out);
    if (err)
        return err;
    /* ESPmDNS enableArduino's four keys, in its order; the IDE's
     * mdns-discovery copies every key=value into the port's properties. */
    add(out, ALOFT_TXT_BOARD, out->chip);
    add(out, "tcp_check", "no");
    add(out, "ssh_upload", "no");
    add(out, ALOFT_TXT_AUTH_UPLOAD, yes_no(st->espota_password));
    return ALOFT_OK;
}
