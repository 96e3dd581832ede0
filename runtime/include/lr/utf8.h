/* Strict UTF-8 validation (RFC 3629), shared by the log escaper, the JSON renderers and the event
 * parser so that all of them agree on what is text. Pure functions: no state, no allocation. */
#ifndef LR_UTF8_H
#define LR_UTF8_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length in bytes (1..4) of the well-formed UTF-8 sequence starting at p[0], reading at most avail
 * (>= 1) bytes; 0 when p[0] does not start one (stray continuation byte, overlong form, UTF-16
 * surrogate, above U+10FFFF, or cut short by avail). Every ASCII byte, controls included, is 1. */
size_t lr_utf8_seq_len(const unsigned char *p, size_t avail);

#ifdef __cplusplus
}
#endif
#endif
