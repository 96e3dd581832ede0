/* Bounded decimal parsing for the emulator's options and fault specs. The emulator keeps its own
 * parser rather than linking the runtime's lr_parse_u64(): it is the other side of the Runtime API
 * and must not share the runtime's bugs. */
#ifndef EMU_NUM_H
#define EMU_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses s[0..len) as 1..9 decimal digits (so it always fits in uint32_t; no sign, no spaces) with
 * value <= max into *out; false (and *out untouched) otherwise. */
bool num_parse_u32(const char *s, size_t len, uint32_t max, uint32_t *out);

#endif
