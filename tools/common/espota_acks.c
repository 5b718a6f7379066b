/* tools/common/espota_acks.c — see espota_acks.h. */
#include "espota_acks.h"

#include <string.h>

void espota_acks_init(espota_acks_t *a)
{
    memset(a, 0, sizeof *a);
}

static void add_text(espota_acks_t *a, char c)
{
    if (c == '\n') {
        a->error_done = true;
        return;
    }
    if (c == '\r' || a->error_done || a->text_len >= ESPOTA_ACKS_TEXT_MAX)
        return;
    /* The text is shown to the user: keep it printable. */
    a->text[a->text_len++] = (c >= 0x20 && c < 0x7F) ? c : '?';
    a->text[a->text_len] = '\0';
}

/* Cut the pending digit run into counts, longest first, each no larger
 * than what is still unconfirmed. A run that cannot fit (a repeated count,
 * or counts merged into a huge number) means the device has everything we
 * sent so far. */
void espota_acks_flush(espota_acks_t *a, uint64_t sent)
{
    size_t i = 0;
    if (a->ndigits)
        a->counts++;
    while (i < a->ndigits) {
        uint64_t room = sent > a->acked ? sent - a->acked : 0;
        uint64_t v = 0, val = 0;
        size_t best = 0;
        if (a->digits[i] == '0') {   /* a count never starts with 0 */
            i++;
            continue;
        }
        for (size_t j = i; j < a->ndigits && j - i < 10; j++) {
            v = v * 10 + (uint64_t)(a->digits[j] - '0');
            if (v > room)
                break;
            best = j + 1;
            val = v;
        }
        if (best == 0) {
            a->acked = sent;
            break;
        }
        a->acked += val;
        i = best;
    }
    a->ndigits = 0;
}

static void start_error(espota_acks_t *a, char c, uint64_t sent)
{
    espota_acks_flush(a, sent);
    a->error = true;
    add_text(a, c);
}

static void feed_char(espota_acks_t *a, char c, uint64_t sent)
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
            espota_acks_flush(a, sent);
        a->digits[a->ndigits++] = c;
    } else if (c == 'O') {
        espota_acks_flush(a, sent);
        a->pending_o = true;
    } else if (c == ' ' || c == '\r' || c == '\n' || c == '\t') {
        espota_acks_flush(a, sent);   /* not sent by devices; harmless */
    } else {
        start_error(a, c, sent);
    }
}

void espota_acks_feed(espota_acks_t *a, const void *data, size_t len, uint64_t sent)
{
    const char *p = data;
    for (size_t i = 0; i < len && !a->ok; i++)
        feed_char(a, p[i], sent);
    if (a->ok)
        espota_acks_flush(a, sent);
}
