/* tests/esp/fakes/esp_hw_support.c — esp_random / esp_fill_random from the
 * kernel's CSPRNG. */
#include <stdlib.h>
#include <sys/random.h>

#include "esp_random.h"

void esp_fill_random(void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t got = getrandom(p, len, 0);
        if (got <= 0)
            abort(); /* the chip's RNG cannot fail */
        p += got;
        len -= (size_t)got;
    }
}

uint32_t esp_random(void)
{
    uint32_t r;
    esp_fill_random(&r, sizeof r);
    return r;
}
