/*
 * host/progress.h — upload progress for people and for logs.
 *
 * On a terminal: one line redrawn in place (at most 10 times a second),
 *   [##########--------------]  42%   430.0/1024.0 KiB   85.3 KiB/s  ETA 0:07
 * Elsewhere (pipes, CI logs): a plain line when 0, 25, 50, 75 and 100 %
 * are reached, nothing that needs a terminal to read.
 *
 * Time is passed in (seconds from progress_clock()), so the formatting is
 * testable without a clock.
 */
#ifndef ALOFT_PROGRESS_H
#define ALOFT_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_BAR_WIDTH 24u

typedef struct progress {
    FILE *out;
    bool tty;             /* redraw one line, else milestone lines */
    const char *label;    /* milestone prefix, e.g. "upload" */
    uint64_t total;
    uint64_t base;        /* bytes done before start, left out of the rate */
    double start;         /* clock at init */
    double last_draw;     /* tty: when the line was last drawn */
    int next_mark;        /* milestones: next percentage to print */
    size_t drawn;         /* tty: characters on the line now */
} progress_t;

/* Monotonic seconds (an arbitrary origin). */
double progress_clock(void);

/* Start showing progress of total bytes on out. label must outlive p. */
void progress_init(progress_t *p, FILE *out, bool tty, const char *label, uint64_t total,
                   double now);

/* Bytes up to base were there before now (a resumed upload): the rate and
 * the ETA count only what is done after base from now on. */
void progress_rebase(progress_t *p, uint64_t base, double now);

/* done bytes of total so far. */
void progress_update(progress_t *p, uint64_t done, double now);

/* The transfer ended (ok: all confirmed). Draws the final state and ends
 * the terminal line so that messages can follow. */
void progress_end(progress_t *p, uint64_t done, double now, bool ok);

/* The terminal line: bar, percent, KiB done/total, rate and ETA (or the
 * elapsed time once done == total) into out (n bytes, NUL-terminated).
 * Returns the length. */
size_t progress_line(char *out, size_t n, uint64_t done, uint64_t total, double elapsed);

/* The same with base bytes done before elapsed began (see
 * progress_rebase): the rate counts done - base. */
size_t progress_line_from(char *out, size_t n, uint64_t done, uint64_t base, uint64_t total,
                          double elapsed);

/* A milestone line, "upload  25%  262144 of 1048576 bytes, 85.3 KiB/s"
 * (no newline). Returns the length. */
size_t progress_mark_line(char *out, size_t n, const char *label, int percent, uint64_t done,
                          uint64_t total, double elapsed);

/* The same with base bytes done before elapsed began. */
size_t progress_mark_line_from(char *out, size_t n, const char *label, int percent,
                               uint64_t done, uint64_t base, uint64_t total, double elapsed);

#endif /* ALOFT_PROGRESS_H */
