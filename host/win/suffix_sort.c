/* host/win/suffix_sort.c — see divsufsort.h. */
#include "divsufsort.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

/* Rank of the suffix k bytes after i; past the end sorts first. */
static int64_t rank_at(const saidx_t *rk, saidx_t i, saidx_t k, saidx_t n)
{
    return i + k < n ? rk[i + k] : -1;
}

int divsufsort(const unsigned char *t, saidx_t *sa, saidx_t n)
{
    if (n < 0)
        return -1;
    if (n < 2) {
        if (n == 1)
            sa[0] = 0;
        return 0;
    }
    size_t m = (size_t)n > 256 ? (size_t)n : 256;
    saidx_t *rk = xmalloc((size_t)n * sizeof *rk), *y = xmalloc((size_t)n * sizeof *y);
    saidx_t *cnt = xmalloc(m * sizeof *cnt);
    saidx_t classes = 256;
    /* Sorted by the first byte. */
    memset(cnt, 0, 256 * sizeof *cnt);
    for (saidx_t i = 0; i < n; i++)
        cnt[rk[i] = t[i]]++;
    for (saidx_t c = 1; c < 256; c++)
        cnt[c] += cnt[c - 1];
    for (saidx_t i = n; i-- > 0;)
        sa[--cnt[rk[i]]] = i;
    /* Sorted by 2k bytes: by the rank k bytes on (sa's order gives it),
     * then stably by the own rank. */
    for (saidx_t k = 1;; k *= 2) {
        saidx_t p = 0;
        for (saidx_t i = n - k; i < n; i++)
            y[p++] = i;
        for (saidx_t j = 0; j < n; j++)
            if (sa[j] >= k)
                y[p++] = sa[j] - k;
        memset(cnt, 0, (size_t)classes * sizeof *cnt);
        for (saidx_t i = 0; i < n; i++)
            cnt[rk[i]]++;
        for (saidx_t c = 1; c < classes; c++)
            cnt[c] += cnt[c - 1];
        for (saidx_t i = n; i-- > 0;)
            sa[--cnt[rk[y[i]]]] = y[i];
        /* New ranks into y, then swap: y held only the order. */
        y[sa[0]] = 0;
        p = 1;
        for (saidx_t j = 1; j < n; j++) {
            saidx_t a = sa[j - 1], b = sa[j];
            bool same = rk[a] == rk[b] && rank_at(rk, a, k, n) == rank_at(rk, b, k, n);
            y[b] = same ? p - 1 : p++;
        }
        saidx_t *tmp = rk;
        rk = y;
        y = tmp;
        classes = p;
        if (p == n)
            break;
    }
    free(rk);
    free(y);
    free(cnt);
    return 0;
}
