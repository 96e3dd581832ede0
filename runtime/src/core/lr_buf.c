/* Capped growing byte buffer. */
#include "core/lr_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lr_buf_init(struct lr_buf *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->cap = cap;
}

char *lr_buf_reserve(struct lr_buf *b, size_t n)
{
    if (n > b->cap || b->len > b->cap - n)
        return NULL;
    size_t need = b->len + n + 1; /* + NUL; cannot overflow: cap is far below SIZE_MAX */
    if (need > b->alloc) {
        size_t alloc = b->alloc ? b->alloc : 256;
        while (alloc < need)
            alloc = alloc > SIZE_MAX / 2 ? need : alloc * 2;
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

void lr_buf_reset(struct lr_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

void lr_buf_clean_up(struct lr_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}
