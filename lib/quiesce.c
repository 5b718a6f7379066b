/* lib/quiesce.c — the pause/resume registry (see aloft/quiesce.h). */
#include <stddef.h>

#include "aloft/error.h"
#include "aloft/quiesce.h"

int aloft_quiesce_add(aloft_quiesce_t *q, const char *name,
                      void (*pause)(void *), void (*resume)(void *), void *ctx)
{
    if (q == NULL || pause == NULL || resume == NULL)
        return ALOFT_ERR_ARG;
    if (q->count >= ALOFT_QUIESCE_MAX)
        return ALOFT_ERR_BUFFER;
    aloft_quiesce_hook_t *h = &q->hooks[q->count++];
    h->name = name;
    h->pause = pause;
    h->resume = resume;
    h->ctx = ctx;
    if (q->paused)
        pause(ctx);
    return ALOFT_OK;
}

void aloft_quiesce_pause(aloft_quiesce_t *q)
{
    if (q == NULL || q->paused)
        return;
    q->paused = true;
    for (uint8_t i = 0; i < q->count; i++)
        q->hooks[i].pause(q->hooks[i].ctx);
}

void aloft_quiesce_resume(aloft_quiesce_t *q)
{
    if (q == NULL || !q->paused)
        return;
    q->paused = false;
    for (uint8_t i = q->count; i > 0; i--)
        q->hooks[i - 1].resume(q->hooks[i - 1].ctx);
}

bool aloft_quiesce_paused(const aloft_quiesce_t *q)
{
    return q != NULL && q->paused;
}
