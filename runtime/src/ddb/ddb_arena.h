/* Private bump allocator of the ddb layer: every record's arrays and decoded strings of one event
 * (or of one reader step) live in one arena, freed in one call. Capped: past the cap an allocation
 * fails instead of growing without bound. */
#ifndef LR_DDB_ARENA_H
#define LR_DDB_ARENA_H

#include <stddef.h>

struct ddb_arena_chunk;

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

/* n zeroed bytes, aligned for any type, valid until reset/destroy; NULL when the cap would be
 * exceeded (aborts on out-of-memory). n == 0 returns a valid non-NULL pointer. */
void *ddb_arena_alloc(struct ddb_arena *a, size_t n);

/* Like ddb_arena_alloc(count * size) with an overflow check. */
void *ddb_arena_array(struct ddb_arena *a, size_t count, size_t size);

#endif
