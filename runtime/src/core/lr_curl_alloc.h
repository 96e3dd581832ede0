/* Start-up allocator for libcurl (internal).
 *
 * Why: a cold start's first GET /next makes libcurl perform about 50 allocations of some 25 sizes.
 * musl's allocator (the static bootstrap's) puts every size class in its own group of pages, so those
 * ~15 KB cost ~12 page faults plus a few mmap calls: 45 us of a 0.3 ms cold start on a Firecracker VM,
 * where a page fault costs 2-3 us. This module hands libcurl memory from one static arena instead,
 * packed: small blocks from the bottom up, large uninitialised buffers (libcurl's 16 KB receive buffer)
 * from the top down, so the pages those leave untouched are never mapped. When the arena is full,
 * every further request goes to the C library's allocator. Freeing an arena block gives its space
 * back only if it is the most recent block at its end of the arena: the arena is a start-up cache of
 * fixed size (LR_CURL_ARENA_BYTES), not a general allocator, and it is never unmapped. libcurl's
 * per-request allocations fill it within the first few invokes; from then on it runs on the C
 * library's allocator exactly as without the arena.
 *
 * The callbacks are lock-free and thread-safe (libcurl calls them from any thread that uses it,
 * including a handler's own easy handles). Pointers they return belong to libcurl, which frees them
 * through the same callbacks; blocks from the arena live at most as long as the process. */
#ifndef LR_CORE_CURL_ALLOC_H
#define LR_CORE_CURL_ALLOC_H

#include <stdbool.h>
#include <stddef.h>

#define LR_CURL_ARENA_BYTES 65536
/* Uninitialised requests of at least this size are placed at the top of the arena. */
#define LR_CURL_ARENA_LARGE 4096

/* curl_global_init_mem(CURL_GLOBAL_DEFAULT, ...) with the arena callbacks below, or plain
 * curl_global_init when the environment says LR_CURL_ARENA=0 (any value but 0 or 1 is logged as a
 * warning and keeps the arena). Returns curl's CURLcode (0 = ok).
 * Like curl_global_init, balanced by curl_global_cleanup; when libcurl was already initialised by
 * someone else, it only counts (libcurl keeps the allocator it started with). */
int lr_curl_alloc_global_init(void);

/* The callbacks, with the contracts of malloc, free, realloc, strdup and calloc. */
void *lr_curl_alloc_malloc(size_t size);
void lr_curl_alloc_free(void *ptr);
void *lr_curl_alloc_realloc(void *ptr, size_t size);
char *lr_curl_alloc_strdup(const char *s);
void *lr_curl_alloc_calloc(size_t nmemb, size_t size);

/* True when ptr points into the arena (diagnostics and tests). */
bool lr_curl_alloc_owns(const void *ptr);

/* Bytes of the arena in use at its bottom and top ends (diagnostics and tests). */
void lr_curl_alloc_usage(size_t *bottom, size_t *top);

/* Test hook: empties the arena. Only when no arena block is alive any more. */
void lr_curl_alloc_reset_for_test(void);

#endif
