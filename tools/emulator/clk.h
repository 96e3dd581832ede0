/* Clocks and timestamps used by the emulator. */
#ifndef EMU_CLK_H
#define EMU_CLK_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds (durations, timeouts). */
int64_t clk_mono_ns(void);

/* CLOCK_REALTIME in milliseconds since the Unix epoch (the deadline header). */
int64_t clk_real_ms(void);

/* Writes the current UTC time as RFC 3339 with milliseconds ("2026-11-30T15:04:05.123Z"). */
void clk_rfc3339(char *buf, size_t cap);

#endif
