/* tests/unit/support/test_flash.c — temp flash files and power-cut runs. */
#include "test_flash.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aloft/error.h"

/* ---- leftover files ---------------------------------------------------- */

/* A failed cmocka assertion unwinds past test_flash_close, so open files
 * are also remembered here and removed at exit, by the process that made
 * them only (a forked child's exit() must not delete its parent's flash). */
#define LIVE_MAX 16

static struct {
    char path[TEST_FLASH_PATH_MAX];
    pid_t owner;
} live[LIVE_MAX];

static void remove_live(void)
{
    for (int i = 0; i < LIVE_MAX; i++)
        if (live[i].path[0] != '\0' && live[i].owner == getpid())
            unlink(live[i].path);
}

static void live_add(const char *path)
{
    static bool registered;

    if (!registered)
        registered = atexit(remove_live) == 0;
    for (int i = 0; i < LIVE_MAX; i++) {
        if (live[i].path[0] == '\0') {
            strcpy(live[i].path, path);
            live[i].owner = getpid();
            return;
        }
    }
}

static void live_drop(const char *path)
{
    for (int i = 0; i < LIVE_MAX; i++)
        if (strcmp(live[i].path, path) == 0)
            live[i].path[0] = '\0';
}

/* ---- temporary flash files ------------------------------------------------ */

int test_flash_open(test_flash_t *tf, uint32_t size)
{
    const char *dir = getenv("TMPDIR");
    int fd, n, rc;

    memset(tf, 0, sizeof *tf);
    tf->nor.fd = -1;
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    n = snprintf(tf->path, sizeof tf->path, "%s/aloft-flash-XXXXXX", dir);
    if (n < 0 || (size_t)n >= sizeof tf->path)
        return ALOFT_ERR_ARG;
    fd = mkstemp(tf->path);
    if (fd < 0) {
        tf->path[0] = '\0';
        return ALOFT_ERR_IO;
    }
    close(fd);
    live_add(tf->path);
    rc = nor_open(&tf->nor, tf->path, size, true);
    if (rc != 0)
        test_flash_close(tf);
    return rc;
}

int test_flash_reboot(test_flash_t *tf)
{
    nor_close(&tf->nor);
    return nor_open_existing(&tf->nor, tf->path);
}

void test_flash_close(test_flash_t *tf)
{
    nor_close(&tf->nor);
    if (tf->path[0] != '\0') {
        unlink(tf->path);
        live_drop(tf->path);
    }
    tf->path[0] = '\0';
}

/* ---- power cuts --------------------------------------------------------- */

typedef struct cut_jump {
    jmp_buf env;
} cut_jump_t;

/* The simulated power loss: unwind to test_flash_run_cut. */
static void cut_longjmp(void *ctx)
{
    longjmp(((cut_jump_t *)ctx)->env, 1);
}

bool test_flash_run_cut(nor_flash_t *nor, uint64_t n, uint32_t seed,
                        int (*fn)(void *arg), void *arg, int *rc)
{
    cut_jump_t jump;
    int r;

    /* nor disarms itself before calling cut_longjmp; nothing to undo. */
    if (setjmp(jump.env) != 0)
        return true;
    nor_arm_cut(nor, n, seed, cut_longjmp, &jump);
    r = fn(arg);
    nor_arm_cut(nor, 0, 0, NULL, NULL);
    if (rc != NULL)
        *rc = r;
    return false;
}
