/*
 * aloft/aloft.h — everything an application or a port needs, in one
 * include. The headers fall into three groups:
 *
 *   aloft/            the application API: the update pipeline and its
 *                     errors, quiesce hooks, the device protocol engines
 *                     (espota, native), the login limiter they share and
 *                     the host engines
 *   aloft/port/       what a port implements: flash, crypto, inflate
 *                     (config structs of callbacks with a context pointer)
 *   aloft/wire/       wire and on-flash formats: the native protocol,
 *                     espota, app images, partition tables, otadata,
 *                     signature blocks
 *
 * aloft/internal/ holds types the public structs embed (so callers can own
 * their memory); they are not an API.
 */
#ifndef ALOFT_ALOFT_H
#define ALOFT_ALOFT_H

#include "aloft/error.h"
#include "aloft/espota_device.h"
#include "aloft/espota_host.h"
#include "aloft/login_limit.h"
#include "aloft/native_device.h"
#include "aloft/native_host.h"
#include "aloft/quiesce.h"
#include "aloft/update.h"
#include "aloft/util.h"
#include "aloft/version.h"

#endif /* ALOFT_ALOFT_H */
