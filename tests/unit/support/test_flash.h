/*
 * tests/unit/support/test_flash.h — simulated flash for unit tests: a fresh
 * temporary flash file per test, and running code under a power cut.
 *
 * Typical power-cut sweep:
 *
 *     test_flash_t tf;
 *     assert_int_equal(test_flash_open(&tf, 1u << 20), 0);
 *     for (uint64_t n = 1; ; n++) {
 *         ...put the flash into the starting state...
 *         if (!test_flash_run_cut(&tf.nor, n, (uint32_t)n, step, &ctx, NULL))
 *             break;                        // ran to the end: all N covered
 *         assert_int_equal(test_flash_reboot(&tf), 0);
 *         ...check the invariant on &tf.nor.flash...
 *     }
 *     test_flash_close(&tf);
 */
#ifndef ALOFT_TEST_FLASH_H
#define ALOFT_TEST_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "nor_flash.h"

#define TEST_FLASH_PATH_MAX 256

typedef struct test_flash {
    nor_flash_t nor;        /* hand &tf->nor.flash to the core */
    char path[TEST_FLASH_PATH_MAX]; /* the backing file */
} test_flash_t;

/* Create a temporary flash file of size bytes (a non-zero multiple of
 * 64 KiB), all 0xFF, under $TMPDIR (or /tmp), and open it into tf->nor
 * (timing off, no cut armed). The file goes at test_flash_close, or at
 * exit if a failed assertion skipped that (up to 16 files at a time).
 * Returns 0 or a negative aloft_err_t. */
int test_flash_open(test_flash_t *tf, uint32_t size);

/* Close and reopen the same file, as a device sees its flash after a
 * reset: only what reached the file survives; counters and timing mode
 * start afresh. Returns 0 or a negative aloft_err_t. */
int test_flash_reboot(test_flash_t *tf);

/* Close tf->nor and remove the file. Safe after a failed open. */
void test_flash_close(test_flash_t *tf);

/* Run fn(arg) with a power cut armed at the n-th erase/program from now
 * (n >= 1; seed decides how the torn op lands, see nor_arm_cut). When the
 * cut fires, fn is abandoned at that op (longjmp out of the flash call;
 * fn must hold nothing that needs freeing) and true is returned. When fn
 * returns first, the cut is disarmed, *rc (if not NULL) gets fn's result
 * and false is returned. Not reentrant for the same nor. */
bool test_flash_run_cut(nor_flash_t *nor, uint64_t n, uint32_t seed,
                        int (*fn)(void *arg), void *arg, int *rc);

#endif /* ALOFT_TEST_FLASH_H */
