/* Private bump allocator of the ddb layer: every record's arrays and decoded strings of one event
 * (or of one reader step) live in one arena, freed in one call. Capped: past the cap an allocation
 * fails instead of growing without bound. */
#ifndef LR_DDB_ARENA_H
#define LR_DDB_ARENA_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* One block of the arena. Here rather than private so that the common allocation is inline: the
 * parser allocates a few dozen times per record. */
struct ddb_arena_chunk {
    struct ddb_arena_chunk *next;
    size_t used; /* a multiple of DDB_ARENA_ALIGN, like size */
    size_t size;
    alignas(max_align_t) unsigned char data[];
};

#define DDB_ARENA_ALIGN alignof(max_align_t)

struct ddb_arena {
    struct ddb_arena_chunk *head; /* newest chunk first */
    size_t bytes;                 /* bytes of all chunks currently held */
    size_t peak;                  /* highest value bytes ever had */
    size_t cap;                   /* bytes may not exceed this */
};

/* Heap arena owned by the caller (free it with ddb_arena_destroy); aborts on out-of-memory. */
struct ddb_arena *ddb_arena_new(size_t cap);

/* Frees the arena and all its memory; NULL is a no-op. */
void ddb_arena_destroy(struct ddb_arena *a);

/* Frees everything allocated so far except the first chunk, which is kept for reuse. */
void ddb_arena_reset(struct ddb_arena *a);

/* n bytes with unspecified contents from a new chunk (the newest has no room); NULL past the cap. */
void *ddb_arena_take_slow(struct ddb_arena *a, size_t n);

/* n bytes with unspecified contents, aligned for any type, valid until reset/destroy; NULL when the
 * cap would be exceeded (aborts on out-of-memory). n == 0 returns a valid non-NULL pointer. For
 * buffers the caller fills at once (decoded text and bytes). */
static inline void *ddb_arena_take(struct ddb_arena *a, size_t n)
{
    struct ddb_arena_chunk *c = a->head;
    /* used and size are multiples of the alignment: if n fits, n rounded up fits too */
    if (c && n <= c->size - c->used) {
        void *p = c->data + c->used;
        c->used += (n + DDB_ARENA_ALIGN - 1) & ~(DDB_ARENA_ALIGN - 1);
        return p;
    }
    return ddb_arena_take_slow(a, n);
}

/* Like ddb_arena_take, but zeroed. */
static inline void *ddb_arena_alloc(struct ddb_arena *a, size_t n)
{
    void *p = ddb_arena_take(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

/* Like ddb_arena_alloc(count * size) with an overflow check. */
static inline void *ddb_arena_array(struct ddb_arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    return ddb_arena_alloc(a, count * size);
}

/* Like ddb_arena_take(count * size) with an overflow check: for arrays filled item by item. */
static inline void *ddb_arena_take_array(struct ddb_arena *a, size_t count, size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    return ddb_arena_take(a, count * size);
}

#endif
