/*
 * aloft/discovery.h — what a device announces over mDNS / DNS-SD
 * (docs/PROTOCOL.md, "Discovery (mDNS)"): the TXT records of its two
 * services, built from the device's state by one function that every port
 * calls (aloft-sim over Avahi, the ESP-IDF component over its mdns
 * component), and the key names the host's browser reads back.
 *
 *   _arduino._tcp  what arduino-esp32's ArduinoOTA announces (ESPmDNS
 *                  enableArduino), so the Arduino IDE and PlatformIO list
 *                  the device: board, tcp_check, ssh_upload, auth_upload
 *   _aloft._tcp    aloft's own: txtvers, proto, chip, project, version,
 *                  auth, signed
 *
 * The core only fills key/value pairs; it never touches the network. The
 * pairs point into the caller's aloft_txt_t and the device's running app
 * description: announce (or copy) them before either changes.
 */
#ifndef ALOFT_DISCOVERY_H
#define ALOFT_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include "aloft/update.h"

/* Service types and the TXT keys. Frozen: peers browse and parse them. */
#define ALOFT_MDNS_SERVICE "_aloft._tcp"
#define ALOFT_MDNS_ARDUINO_SERVICE "_arduino._tcp"
#define ALOFT_TXT_TXTVERS "txtvers"   /* "1": this record layout */
#define ALOFT_TXT_PROTO "proto"       /* ALOFT_NATIVE_VERSION, decimal */
#define ALOFT_TXT_CHIP "chip"         /* "esp32s3": lower case, no dash */
#define ALOFT_TXT_PROJECT "project"   /* running app's project_name */
#define ALOFT_TXT_VERSION "version"   /* running app's version */
#define ALOFT_TXT_AUTH "auth"         /* "yes": native login needs a password */
#define ALOFT_TXT_SIGNED "signed"     /* "yes": only signed images are taken */
#define ALOFT_TXT_BOARD "board"               /* _arduino: the chip, as ARDUINO_VARIANT */
#define ALOFT_TXT_AUTH_UPLOAD "auth_upload"   /* _arduino: "yes": espota password */
#define ALOFT_TXTVERS "1"

#define ALOFT_TXT_MAX 8   /* pairs in one record (the larger, _aloft, has 7) */

typedef struct aloft_txt_item {
    const char *key;
    const char *value;
} aloft_txt_item_t;

/* One service's TXT record. items[0..count) are the pairs in announcing
 * order; the rest is storage they point into (do not rely on it). */
typedef struct aloft_txt {
    aloft_txt_item_t items[ALOFT_TXT_MAX];
    size_t count;
    char chip[16];
    char proto[4];
} aloft_txt_t;

/* What the device states about itself beyond aloft_device_t. */
typedef struct aloft_discovery_state {
    const aloft_device_t *dev;   /* chip_id, keys (signed), running_desc */
    bool native_password;        /* native logins need a password */
    bool espota_password;        /* espota logins need a password */
} aloft_discovery_state_t;

/* Fill out with the _aloft._tcp record of st (project and version empty
 * when the running image has no app description). Returns 0, or
 * ALOFT_ERR_ARG when st, st->dev or out is NULL. */
int aloft_discovery_txt(const aloft_discovery_state_t *st, aloft_txt_t *out);

/* Fill out with the _arduino._tcp record ArduinoOTA announces: board (the
 * chip, "esp32c3"), tcp_check=no, ssh_upload=no, auth_upload=yes|no
 * (espota_password). Returns 0, or ALOFT_ERR_ARG when st, st->dev or out
 * is NULL. */
int aloft_discovery_txt_arduino(const aloft_discovery_state_t *st, aloft_txt_t *out);

#endif /* ALOFT_DISCOVERY_H */
