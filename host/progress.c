/* host/progress.c — see progress.h. */
#include "progress.h"

#include <string.h>

#include "host_os.h"

double progress_clock(void)
{
    return (double)host_now_ms() / 1e3;
}

static int percent_of(uint64_t done, uint64_t total)
{
    if (total == 0 || done >= total)
        return 100;
    return (int)(done * 100 / total);
}

static double kib_per_s(uint64_t done, double elapsed)
{
    return elapsed > 0 ? (double)done / 1024.0 / elapsed : 0.0;
}

/* "0:07", "12:34", "1:02:03"; a negative or absurd time is unknown. */
static void clock_text(char *out, size_t n, double seconds)
{
    if (seconds < 0 || seconds > 359999) {
        snprintf(out, n, "--:--");
        return;
    }
    unsigned s = (unsigned)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, n, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, n, "%u:%02u", s / 60, s % 60);
}

size_t progress_line(char *out, size_t n, uint64_t done, uint64_t total, double elapsed)
{
    return progress_line_from(out, n, done, 0, total, elapsed);
}

size_t progress_line_from(char *out, size_t n, uint64_t done, uint64_t base, uint64_t total,
                          double elapsed)
{
    char bar[PROGRESS_BAR_WIDTH + 1], when[16];
    double rate = kib_per_s(done > base ? done - base : 0, elapsed);
    unsigned filled = total ? (unsigned)((done > total ? total : done) * PROGRESS_BAR_WIDTH / total)
                            : PROGRESS_BAR_WIDTH;
    memset(bar, '-', PROGRESS_BAR_WIDTH);
    memset(bar, '#', filled);
    bar[PROGRESS_BAR_WIDTH] = '\0';
    if (done >= total)
        clock_text(when, sizeof when, elapsed);
    else
        clock_text(when, sizeof when, rate > 0 ? (double)(total - done) / 1024.0 / rate : -1);
    int len = snprintf(out, n, "[%s] %3d%%  %7.1f/%.1f KiB  %7.1f KiB/s  %s %s", bar,
                       percent_of(done, total), (double)done / 1024.0, (double)total / 1024.0,
                       rate, done >= total ? "in" : "ETA", when);
    if (len < 0)
        return 0;
    return (size_t)len < n ? (size_t)len : (n ? n - 1 : 0);
}

size_t progress_mark_line(char *out, size_t n, const char *label, int percent, uint64_t done,
                          uint64_t total, double elapsed)
{
    return progress_mark_line_from(out, n, label, percent, done, 0, total, elapsed);
}

size_t progress_mark_line_from(char *out, size_t n, const char *label, int percent,
                               uint64_t done, uint64_t base, uint64_t total, double elapsed)
{
    int len = snprintf(out, n, "%s %3d%%  %llu of %llu bytes, %.1f KiB/s", label, percent,
                       (unsigned long long)done, (unsigned long long)total,
                       kib_per_s(done > base ? done - base : 0, elapsed));
    if (len < 0)
        return 0;
    return (size_t)len < n ? (size_t)len : (n ? n - 1 : 0);
}

void progress_init(progress_t *p, FILE *out, bool tty, const char *label, uint64_t total,
                   double now)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->tty = tty;
    p->label = label;
    p->total = total;
    p->start = now;
    p->last_draw = now - 1.0;
}

static void draw(progress_t *p, uint64_t done, double now)
{
    char line[160];
    size_t len = progress_line_from(line, sizeof line, done, p->base, p->total, now - p->start);
    /* Pad over what a longer previous line left on screen. */
    fprintf(p->out, "\r%s%*s", line, p->drawn > len ? (int)(p->drawn - len) : 0, "");
    fflush(p->out);
    p->drawn = len;
    p->last_draw = now;
}

/* Print the highest milestone reached (once), not each one skipped over. */
static void marks(progress_t *p, uint64_t done, double now)
{
    char line[160];
    int pct = percent_of(done, p->total);
    if (p->next_mark > 100 || pct < p->next_mark)
        return;
    int mark = pct - pct % 25;
    progress_mark_line_from(line, sizeof line, p->label, mark, done, p->base, p->total,
                            now - p->start);
    fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->next_mark = mark + 25;
}

void progress_rebase(progress_t *p, uint64_t base, double now)
{
    p->base = base;
    p->start = now;
}

void progress_update(progress_t *p, uint64_t done, double now)
{
    if (!p->tty)
        marks(p, done, now);
    else if (now - p->last_draw >= 0.1)
        draw(p, done, now);
}

void progress_end(progress_t *p, uint64_t done, double now, bool ok)
{
    if (ok && done < p->total)
        done = p->total;
    if (!p->tty) {
        if (ok)
            marks(p, done, now);
        return;
    }
    draw(p, done, now);
    fputc('\n', p->out);
    fflush(p->out);
    p->drawn = 0;
}
