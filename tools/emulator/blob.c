/* Reference-counted byte buffers (see blob.h). */
#include "blob.h"

#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort(); /* out of memory: the emulator cannot do anything useful */
    return p;
}

struct blob *blob_take(char *data, size_t len)
{
    struct blob *b = xmalloc(sizeof(*b));
    atomic_init(&b->refs, 1u);
    b->len = len;
    b->data = data;
    b->data[len] = '\0';
    return b;
}

struct blob *blob_new(const void *bytes, size_t len)
{
    char *data = xmalloc(len + 1);
    if (len)
        memcpy(data, bytes, len);
    return blob_take(data, len);
}

struct blob *blob_from_str(const char *s)
{
    return blob_new(s, strlen(s));
}

struct blob *blob_ref(struct blob *b)
{
    if (b)
        atomic_fetch_add(&b->refs, 1u);
    return b;
}

void blob_unref(struct blob *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1u) != 1u)
        return;
    free(b->data);
    free(b);
}
