/* Wall clock of the runtime (internal): one place to read CLOCK_REALTIME in milliseconds, with a
 * test hook so log timestamps and time-remaining can be checked exactly. No pointers are returned. */
#ifndef LR_CORE_CLOCK_H
#define LR_CORE_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME), or the fixed value set by the test hook. */
int64_t lr_clock_now_ms(void);

/* Test hook: freezes lr_clock_now_ms() at fixed_ms; a negative value restores the real clock. */
void lr_clock_set_fixed_for_test(int64_t fixed_ms);

/* Formats epoch milliseconds as RFC 3339 UTC with milliseconds, "2026-11-30T15:40:04.123Z", into
 * out (NUL-terminated, always 24 characters). */
#define LR_CLOCK_RFC3339_LEN 24
void lr_clock_format_rfc3339(int64_t epoch_ms, char out[LR_CLOCK_RFC3339_LEN + 1]);

#endif
