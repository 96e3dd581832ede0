/* Growing byte buffer with a hard cap (internal): appends past the cap fail with LR_E_TOO_LARGE.
 * The buffer owns data (heap); data is NUL-terminated after every successful append (data[len] == 0)
 * and is valid until the next append/reset/clean_up. Out-of-memory aborts. */
#ifndef LR_CORE_BUF_H
#define LR_CORE_BUF_H

#include <stddef.h>

#include "lr/runtime.h"

struct lr_buf {
    char *data;   /* heap, owned; NULL until the first append */
    size_t len;   /* bytes used (excluding the terminating NUL) */
    size_t alloc; /* bytes allocated */
    size_t cap;   /* maximum len */
};

/* Starts an empty buffer that may hold up to cap bytes. Cannot fail. */
void lr_buf_init(struct lr_buf *b, size_t cap);

/* Appends bytes[0..n); LR_E_TOO_LARGE (buffer unchanged) if len + n would exceed cap. */
enum lr_status lr_buf_append(struct lr_buf *b, const void *bytes, size_t n) LR_NODISCARD;

/* Makes room for n more bytes (plus a NUL) and returns where they go; the caller writes at most n
 * bytes there and then calls lr_buf_commit(). NULL if len + n would exceed cap. */
char *lr_buf_reserve(struct lr_buf *b, size_t n);
void lr_buf_commit(struct lr_buf *b, size_t n);

/* Empties the buffer, keeping its memory for reuse. */
void lr_buf_reset(struct lr_buf *b);

/* Frees the memory; safe on a zeroed buffer and safe to call twice. */
void lr_buf_clean_up(struct lr_buf *b);

#endif
