/* tests/esp/fakes/esp_system.c — esp_restart (counted; longjmps to
 * fake_restart_jmp when armed, else ends the process as a reset ends the
 * program). The task watchdog is esp_task_wdt.c. */
#include <stdio.h>
#include <stdlib.h>

#include "esp_system.h"
#include "fake_esp.h"

unsigned fake_restarts;
jmp_buf *fake_restart_jmp;

void esp_restart(void)
{
    fake_restarts++;
    if (fake_restart_jmp != NULL)
        longjmp(*fake_restart_jmp, 1);
    fprintf(stderr, "esp_restart()\n");
    exit(0);
}
