/* Bump allocator: a list of chunks, each at least DEFAULT_CHUNK bytes. */
#include "ddb/ddb_arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_CHUNK ((size_t)64 * 1024)

struct ddb_arena *ddb_arena_new(size_t cap)
{
    struct ddb_arena *a = calloc(1, sizeof(*a));
    if (!a)
        abort(); /* Lambda replaces a crashed sandbox; out-of-memory is not recoverable here */
    a->cap = cap;
    return a;
}

static void free_chunks(struct ddb_arena_chunk *c)
{
    while (c) {
        struct ddb_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
}

void ddb_arena_destroy(struct ddb_arena *a)
{
    if (!a)
        return;
    free_chunks(a->head);
    free(a);
}

void ddb_arena_reset(struct ddb_arena *a)
{
    struct ddb_arena_chunk *first = a->head;
    if (!first)
        return;
    while (first->next) /* the oldest chunk is the last one in the list */
        first = first->next;
    struct ddb_arena_chunk *c = a->head;
    while (c != first) {
        struct ddb_arena_chunk *next = c->next;
        a->bytes -= sizeof(*c) + c->size;
        free(c);
        c = next;
    }
    first->used = 0;
    a->head = first;
}

static struct ddb_arena_chunk *grow(struct ddb_arena *a, size_t n)
{
    size_t size = n > DEFAULT_CHUNK ? n : DEFAULT_CHUNK;
    size_t total = sizeof(struct ddb_arena_chunk) + size;
    if (n > SIZE_MAX / 2 || a->bytes + total > a->cap)
        return NULL;
    struct ddb_arena_chunk *c = malloc(total);
    if (!c)
        abort();
    c->next = a->head;
    c->used = 0;
    c->size = size;
    a->head = c;
    a->bytes += total;
    if (a->bytes > a->peak)
        a->peak = a->bytes;
    return c;
}

void *ddb_arena_take_slow(struct ddb_arena *a, size_t n)
{
    const size_t align = DDB_ARENA_ALIGN;
    if (n > SIZE_MAX - align)
        return NULL;
    size_t rounded = (n + align - 1) / align * align;
    struct ddb_arena_chunk *c = a->head;
    if (!c || c->size - c->used < rounded) {
        c = grow(a, rounded);
        if (!c)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += rounded;
    return p;
}
