/* The runtime's one wall clock: CLOCK_REALTIME in epoch milliseconds (the clock Lambda's deadline
 * refers to), with one test hook so timestamps, time remaining and the deadline guard can be checked
 * exactly. No pointers are returned. */
#ifndef LR_CLOCK_H
#define LR_CLOCK_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A clock for tests: returns epoch milliseconds, given the data it was installed with. */
typedef int64_t (*lr_clock_fn)(void *data);

/* Milliseconds since the Unix epoch (CLOCK_REALTIME), or what the test clock returns. */
int64_t lr_clock_now_ms(void);

/* Test hook: from now on lr_clock_now_ms() returns fn(data) (fn is called on every reading, so it may
 * advance); NULL restores the real clock. Process-wide: set it before any other thread reads time. */
void lr_clock_set_for_test(lr_clock_fn fn, void *data);

/* Formats epoch milliseconds as RFC 3339 UTC with milliseconds, "2026-11-30T15:40:04.123Z", into
 * out (NUL-terminated, always 24 characters). */
#define LR_CLOCK_RFC3339_LEN 24
void lr_clock_format_rfc3339(int64_t epoch_ms, char out[LR_CLOCK_RFC3339_LEN + 1]);

#ifdef __cplusplus
}
#endif
#endif
