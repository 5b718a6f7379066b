/* tests/esp/fakes/esp_system.c — esp_task_wdt_reset (counted) and
 * esp_restart (counted; longjmps to fake_restart_jmp when armed, else
 * ends the process as a reset ends the program). */
#include <stdio.h>
#include <stdlib.h>

#include "esp_system.h"
#include "esp_task_wdt.h"
#include "fake_esp.h"

unsigned fake_wdt_resets;
unsigned fake_restarts;
jmp_buf *fake_restart_jmp;

esp_err_t esp_task_wdt_reset(void)
{
    fake_wdt_resets++;
    return ESP_OK;
}

void esp_restart(void)
{
    fake_restarts++;
    if (fake_restart_jmp != NULL)
        longjmp(*fake_restart_jmp, 1);
    fprintf(stderr, "esp_restart()\n");
    exit(0);
}
