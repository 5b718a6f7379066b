/* tests/esp/fakes/log.c — ESP_LOGx to stderr ("E (aloft) ..."). */
#include <stdarg.h>
#include <stdio.h>

#include "esp_log.h"

void fake_esp_log(char level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%c (%s) ", level, tag);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
