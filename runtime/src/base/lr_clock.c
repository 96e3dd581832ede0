/* The wall clock in milliseconds, with its test hook. */
#define _POSIX_C_SOURCE 200809L
#include "lr/clock.h"

#include <string.h>
#include <time.h>

static lr_clock_fn test_clock; /* NULL: the real clock */
static void *test_clock_data;

int64_t lr_clock_now_ms(void)
{
    if (test_clock != NULL)
        return test_clock(test_clock_data);
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0; /* cannot happen with CLOCK_REALTIME; epoch keeps callers defined */
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void lr_clock_set_for_test(lr_clock_fn fn, void *data)
{
    test_clock = fn;
    test_clock_data = data;
}

/* Writes v as exactly width decimal digits (v always fits: callers pass bounded fields). */
static char *put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void lr_clock_format_rfc3339(int64_t epoch_ms, char out[LR_CLOCK_RFC3339_LEN + 1])
{
    /* Floor division so that pre-1970 values (never expected) still give a valid time. */
    int64_t secs = epoch_ms / 1000;
    int64_t ms = epoch_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
        /* Outside 4-digit years: a fixed but still well-formed timestamp. */
        memcpy(out, "1970-01-01T00:00:00.000Z", LR_CLOCK_RFC3339_LEN + 1);
        return;
    }
    char *p = put_digits(out, (unsigned)(tm.tm_year + 1900), 4);
    *p++ = '-';
    p = put_digits(p, (unsigned)(tm.tm_mon + 1), 2);
    *p++ = '-';
    p = put_digits(p, (unsigned)tm.tm_mday, 2);
    *p++ = 'T';
    p = put_digits(p, (unsigned)tm.tm_hour, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_min, 2);
    *p++ = ':';
    p = put_digits(p, (unsigned)tm.tm_sec, 2);
    *p++ = '.';
    p = put_digits(p, (unsigned)ms, 3);
    *p++ = 'Z';
    *p = '\0';
}
