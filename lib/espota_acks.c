/* lib/espota_acks.c — see aloft/internal/espota_acks.h. */
#include <string.h>

#include "aloft/internal/espota_acks.h"

void aloft_espota_acks_init(aloft_espota_acks_t *a)
{
    memset(a, 0, sizeof *a);
}

static void add_text(aloft_espota_acks_t *a, char c)
{
    if (c == '\n') {
        a->error_done = true;
        return;
    }
    if (c == '\r' || a->error_done || a->text_len >= ALOFT_ESPOTA_ACKS_TEXT_MAX)
        return;
    /* The text is shown to the user: keep it printable. */
    a->text[a->text_len++] = (c >= 0x20 && c < 0x7F) ? c : '?';
    a->text[a->text_len] = '\0';
}

/* Split digits[0..n) greedily into counts (longest first), each at most
 * piece_max, together at most room, each at least min_digits long (but the
 * last if open_end: the run goes on) and without a leading zero. Returns
 * true with their sum in *sum and where the last count starts in *last
 * when the whole run splits that way. */
static bool split_run(const char *digits, size_t n, uint32_t piece_max, uint32_t room,
                      size_t min_digits, bool open_end, uint32_t *sum, size_t *last)
{
    size_t i = 0;
    *sum = 0;
    *last = 0;
    while (i < n) {
        uint32_t cap = room - *sum < piece_max ? room - *sum : piece_max;
        uint64_t v = 0, val = 0;
        size_t best = 0;
        if (digits[i] == '0')
            return false;
        for (size_t j = i; j < n && j - i < 10; j++) {
            v = v * 10 + (uint64_t)(digits[j] - '0');
            if (v > cap)
                break;
            best = j + 1;
            val = v;
        }
        if (best == 0 || (best - i < min_digits && !(open_end && best == n)))
            return false;
        *sum += (uint32_t)val;
        *last = i;
        i = best;
    }
    return true;
}

/* Decode the pending digit run. Devices read (and count) at most one TCP
 * segment, 1460 bytes, at a time, so first try counts of 2..4 digits up
 * to 1460 ("14601460" = 1460 + 1460); a run that does not split that way
 * ("2920", "4096": a device reading more at once) is cut into the longest
 * counts that fit what was sent. A run that fits neither (a repeated
 * count, or merged counts) means the device has everything we sent. */
uint32_t aloft_espota_acks_pending(const aloft_espota_acks_t *a, uint32_t sent)
{
    uint32_t room = sent > a->acked ? sent - a->acked : 0, sum;
    size_t last;
    if (a->ndigits == 0)
        return 0;
    if (split_run(a->digits, a->ndigits, ALOFT_ESPOTA_ACKS_READ_MAX, room, 2, false, &sum, &last) ||
        split_run(a->digits, a->ndigits, UINT32_MAX, room, 1, false, &sum, &last))
        return sum;
    return room;
}

/* The digit run fills the buffer (counts that kept coming with nothing
 * between them): decode every count but the last, which may go on, and
 * keep that one pending. Cutting the run anywhere else would split a
 * count and misread both halves. */
static void flush_all_but_last(aloft_espota_acks_t *a, uint32_t sent)
{
    uint32_t room = sent > a->acked ? sent - a->acked : 0, sum, tail = 0;
    size_t last;
    if (!(split_run(a->digits, a->ndigits, ALOFT_ESPOTA_ACKS_READ_MAX, room, 2, true, &sum, &last) ||
          split_run(a->digits, a->ndigits, UINT32_MAX, room, 1, true, &sum, &last)) ||
        last == 0) {
        aloft_espota_acks_flush(a, sent);
        return;
    }
    for (size_t i = last; i < a->ndigits; i++)
        tail = tail * 10 + (uint32_t)(a->digits[i] - '0');
    a->counts++;
    a->acked += sum - tail;
    a->ndigits = (uint8_t)(a->ndigits - last);
    memmove(a->digits, a->digits + last, a->ndigits);
}

void aloft_espota_acks_flush(aloft_espota_acks_t *a, uint32_t sent)
{
    if (a->ndigits == 0)
        return;
    a->counts++;
    a->acked += aloft_espota_acks_pending(a, sent);
    a->ndigits = 0;
}

static void start_error(aloft_espota_acks_t *a, char c, uint32_t sent)
{
    aloft_espota_acks_flush(a, sent);
    a->error = true;
    add_text(a, c);
}

static void feed_char(aloft_espota_acks_t *a, char c, uint32_t sent)
{
    if (a->error) {
        add_text(a, c);
        return;
    }
    if (a->pending_o) {
        a->pending_o = false;
        if (c == 'K') {
            a->ok = true;
            return;
        }
        start_error(a, 'O', sent);
        add_text(a, c);
        return;
    }
    if (c >= '0' && c <= '9') {
        if (a->ndigits == sizeof a->digits)
            flush_all_but_last(a, sent);
        a->digits[a->ndigits++] = c;
    } else if (c == 'O') {
        aloft_espota_acks_flush(a, sent);
        a->pending_o = true;
    } else if (c == ' ' || c == '\r' || c == '\n' || c == '\t') {
        aloft_espota_acks_flush(a, sent);   /* not sent by devices; harmless */
    } else {
        start_error(a, c, sent);
    }
}

void aloft_espota_acks_feed(aloft_espota_acks_t *a, const void *data, size_t len, uint32_t sent)
{
    const char *p = data;
    for (size_t i = 0; i < len && !a->ok; i++)
        feed_char(a, p[i], sent);
    if (a->ok)
        aloft_espota_acks_flush(a, sent);
}
