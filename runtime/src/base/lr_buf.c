/* Capped growing byte buffer, shared by every renderer in the tree. */
#include "lr/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "lr/json.h"

/* Longest string lr_buf_put_json_string() escapes in one pass (see there). */
#define ONE_PASS_MAX ((size_t)16384)

void lr_buf_init(struct lr_buf *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = cap;
}

char *lr_buf_reserve(struct lr_buf *b, size_t n)
{
    if (n > b->cap || b->len > b->cap - n)
        return NULL;
    size_t need = b->len + n + 1; /* + NUL; cannot overflow: len + n <= cap < SIZE_MAX */
    if (need > b->alloc) {
        size_t alloc = b->alloc ? b->alloc : 256;
        while (alloc < need)
            alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
        if (b->cap < SIZE_MAX && alloc > b->cap + 1)
            alloc = b->cap + 1; /* doubling past the cap would hold memory never used */
        char *p = realloc(b->data, alloc);
        if (p == NULL) {
            fputs("lambda-ddb: out of memory\n", stderr);
            abort(); /* Lambda replaces a crashed sandbox */
        }
        b->data = p;
        b->alloc = alloc;
    }
    return b->data + b->len;
}

void lr_buf_commit(struct lr_buf *b, size_t n)
{
    b->len += n;
    b->data[b->len] = '\0';
}

enum lr_status lr_buf_append(struct lr_buf *b, const void *bytes, size_t n)
{
    char *dst = lr_buf_reserve(b, n);
    if (dst == NULL)
        return LR_E_TOO_LARGE;
    if (n > 0)
        memcpy(dst, bytes, n);
    lr_buf_commit(b, n);
    return LR_OK;
}

char *lr_buf_put_reserve(struct lr_buf *b, size_t n)
{
    char *dst = b->overflow ? NULL : lr_buf_reserve(b, n);
    if (dst == NULL)
        b->overflow = true;
    return dst;
}

/* lr_buf_put_reserve() without the calls when the memory is already there: renderers put many tiny
 * pieces, and the bookkeeping used to cost more than the bytes. */
static char *put_room(struct lr_buf *b, size_t n)
{
    if (!b->overflow && n < b->alloc - b->len && n <= b->cap - b->len) /* + NUL fits in alloc */
        return b->data + b->len;
    return lr_buf_put_reserve(b, n);
}

void lr_buf_put(struct lr_buf *b, const void *bytes, size_t n)
{
    if (n == 0)
        return; /* nothing to add: neither allocates nor overflows */
    char *dst = put_room(b, n);
    if (dst == NULL)
        return;
    memcpy(dst, bytes, n);
    lr_buf_commit(b, n);
}

void lr_buf_put_str(struct lr_buf *b, const char *s)
{
    lr_buf_put(b, s, strlen(s));
}

/* The frames are a few bytes (`,`, `:`, `{"S":`): a loop is cheaper than a call to memcpy(). */
static void copy_frame(char *dst, struct lr_str s)
{
    if (s.len > 16) {
        memcpy(dst, s.ptr, s.len);
        return;
    }
    for (size_t i = 0; i < s.len; i++)
        dst[i] = s.ptr[i];
}

void lr_buf_put_json_framed(struct lr_buf *b, struct lr_str pre, const char *bytes, size_t n,
                            enum lr_json_escape how, struct lr_str post)
{
    if (b->overflow)
        return; /* do not spend a pass on a document that is already lost */
    size_t frame = pre.len + post.len + 2; /* the two quotes */
    if (frame < 2 || frame > b->cap) {
        b->overflow = true;
        return;
    }
    /* One pass when the worst case (every byte a 6-byte escape) fits under the cap; otherwise
     * measure first, so overflow is set exactly when the framed string does not fit. Long strings
     * are measured too, so the worst case never inflates the allocation by megabytes. */
    size_t need = n * LR_JSON_ESCAPE_MAX_UNIT;
    bool worst_fits = n <= ONE_PASS_MAX && b->len <= b->cap && need <= b->cap - b->len &&
                      frame <= b->cap - b->len - need;
    if (!worst_fits)
        lr_json_escape(NULL, 0, bytes, n, how, &need);
    char *dst = need <= SIZE_MAX - frame ? put_room(b, need + frame) : NULL;
    if (dst == NULL) {
        b->overflow = true;
        return;
    }
    copy_frame(dst, pre);
    dst += pre.len;
    *dst++ = '"';
    size_t w = need > 0 ? lr_json_escape(dst, need, bytes, n, how, NULL) : 0;
    dst[w] = '"';
    copy_frame(dst + w + 1, post);
    lr_buf_commit(b, w + frame);
}

void lr_buf_put_json_string(struct lr_buf *b, const char *bytes, size_t n, enum lr_json_escape how)
{
    struct lr_str none = {"", 0};
    lr_buf_put_json_framed(b, none, bytes, n, how, none);
}

void lr_buf_rewind(struct lr_buf *b, size_t len)
{
    b->overflow = false;
    if (len < b->len) {
        b->len = len;
        b->data[len] = '\0';
    }
}

char *lr_buf_take(struct lr_buf *b, size_t *len_out)
{
    char *out = NULL;
    size_t len = 0;
    if (!b->overflow && lr_buf_reserve(b, 0) != NULL) { /* an empty buffer gets its memory */
        out = b->data;
        len = b->len;
        out[len] = '\0';
        b->data = NULL;
    }
    lr_buf_clean_up(b);
    if (len_out)
        *len_out = len;
    return out;
}

void lr_buf_reset(struct lr_buf *b)
{
    b->len = 0;
    b->overflow = false;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void lr_buf_clean_up(struct lr_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->overflow = false;
}
