/* Growing byte buffer with a hard cap, used by every renderer (log lines, Runtime API bodies, the
 * batch response, EMF lines, DynamoDB JSON). The buffer owns data (heap): after any successful append
 * data[len] == 0, and data stays valid until the next append, lr_buf_reset() or lr_buf_clean_up(),
 * unless lr_buf_take() hands it to the caller. Out-of-memory aborts (Lambda replaces the sandbox).
 *
 * Two styles of append: lr_buf_append() reports LR_E_TOO_LARGE at once and leaves the buffer as it
 * was; the lr_buf_put*() family is sticky: the first put that does not fit sets overflow, and every
 * later put does nothing, so a renderer stays linear and checks overflow once at the end. */
#ifndef LR_BUF_H
#define LR_BUF_H

#include <stdbool.h>
#include <stddef.h>

#include "lr/common.h"
#include "lr/json.h"

#ifdef __cplusplus
extern "C" {
#endif

struct lr_buf {
    char *data;    /* heap, owned by the buffer; NULL until the first append */
    size_t len;    /* bytes used (excluding the terminating NUL) */
    size_t alloc;  /* bytes allocated (private) */
    size_t cap;    /* maximum len, fixed at init */
    bool overflow; /* a put did not fit; cleared by lr_buf_reset() / lr_buf_rewind() */
};

/* Starts an empty buffer that may hold up to cap bytes. Allocates nothing; cannot fail. */
void lr_buf_init(struct lr_buf *b, size_t cap);

/* Appends bytes[0..n); LR_E_TOO_LARGE (buffer unchanged) if len + n would exceed cap. */
enum lr_status lr_buf_append(struct lr_buf *b, const void *bytes, size_t n) LR_NODISCARD;

/* Makes room for n more bytes (plus a NUL) and returns where they go; the caller writes at most n
 * bytes there and then calls lr_buf_commit(). NULL if len + n would exceed cap. */
char *lr_buf_reserve(struct lr_buf *b, size_t n);
void lr_buf_commit(struct lr_buf *b, size_t n);

/* Sticky appends: bytes[0..n), a C string, and one quoted, escaped JSON string. */
void lr_buf_put(struct lr_buf *b, const void *bytes, size_t n);
void lr_buf_put_str(struct lr_buf *b, const char *s);
void lr_buf_put_json_string(struct lr_buf *b, const char *bytes, size_t n, enum lr_json_escape how);

/* Sticky: pre, then bytes as lr_buf_put_json_string() writes them, then post, in one step (the
 * renderers' `,"name":` and `{"S":"..."}` shapes); pre and post are copied as they are. */
void lr_buf_put_json_framed(struct lr_buf *b, struct lr_str pre, const char *bytes, size_t n,
                            enum lr_json_escape how, struct lr_str post);

/* Sticky append of one byte, inline because renderers put many of them. */
static inline void lr_buf_put_char(struct lr_buf *b, char c)
{
    if (!b->overflow && b->alloc > 0 && b->len < b->alloc - 1 && b->len < b->cap) {
        b->data[b->len++] = c; /* the NUL then fits at data[len] */
        b->data[b->len] = '\0';
        return;
    }
    lr_buf_put(b, &c, 1);
}

/* Sticky lr_buf_reserve(): NULL, and overflow set, when the buffer already overflowed or n bytes do
 * not fit; else the caller writes at most n bytes there and calls lr_buf_commit(). */
char *lr_buf_put_reserve(struct lr_buf *b, size_t n);

/* Cuts the contents back to len bytes (len <= b->len) and clears overflow: undoes a failed render. */
void lr_buf_rewind(struct lr_buf *b, size_t len);

/* Hands the NUL-terminated contents (an empty buffer gives "") to the caller, who frees them with
 * free(), and leaves b empty; *len_out (if not NULL) gets the length. After an overflow the contents
 * are freed instead and the result is NULL. */
char *lr_buf_take(struct lr_buf *b, size_t *len_out);

/* Empties the buffer and clears overflow, keeping its memory for reuse. */
void lr_buf_reset(struct lr_buf *b);

/* Frees the memory and empties the buffer (cap is kept); safe on NULL, on a zeroed buffer and twice. */
void lr_buf_clean_up(struct lr_buf *b);

#ifdef __cplusplus
}
#endif
#endif
