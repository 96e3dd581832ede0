/* Start-up allocator for libcurl: a two-ended bump arena in .bss with a lock-free CAS on one word
 * holding both ends, falling back to the C library when full. Why: lr_curl_alloc.h. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "core/lr_curl_alloc.h"
#include "lr/log.h"

#include <curl/curl.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define LR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LR_ASAN 1
#endif
#endif

#ifdef LR_ASAN
/* The arena is one static array, invisible to ASan's allocator: poison what is not handed out, so
 * libcurl overflowing a block or using a freed one is still caught. Headers stay poisoned and are
 * only touched by the functions marked NO_ASAN. */
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define NO_ASAN __attribute__((no_sanitize_address))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#define NO_ASAN
#endif

#define ALIGN 16u
#define HDR 16u /* one header per block, keeps payloads ALIGN-aligned */

struct block_header {
    size_t size;   /* bytes asked for: what realloc copies */
    uint32_t span; /* bytes the block occupies, header included, a multiple of ALIGN */
    uint32_t top;  /* 1 if taken from the top end */
};
_Static_assert(sizeof(struct block_header) <= HDR, "header fits its slot");
_Static_assert(LR_CURL_ARENA_BYTES % ALIGN == 0 && LR_CURL_ARENA_BYTES <= UINT32_MAX, "arena size");

static alignas(ALIGN) unsigned char g_arena[LR_CURL_ARENA_BYTES];
/* Both ends in one word, so that the two ends can never cross: bits 0-31 are the bottom end (bytes
 * used from the start), bits 32-63 the top end (offset of the lowest byte used from the end). */
static _Atomic uint64_t g_ends = (uint64_t)LR_CURL_ARENA_BYTES << 32;

static uint64_t pack(uint32_t lo, uint32_t hi)
{
    return (uint64_t)hi << 32 | lo;
}

/* Reserves span bytes at one end; NULL when they do not fit. */
static unsigned char *take(uint32_t span, bool top)
{
    uint64_t old = atomic_load(&g_ends), next;
    uint32_t lo, hi;
    do {
        lo = (uint32_t)old;
        hi = (uint32_t)(old >> 32);
        if (span > hi - lo)
            return NULL;
        next = top ? pack(lo, hi - span) : pack(lo + span, hi);
    } while (!atomic_compare_exchange_weak(&g_ends, &old, next));
    return g_arena + (top ? hi - span : lo);
}

/* Returns a block's space if it is the latest one at its end; otherwise it stays used. */
static void give_back(const unsigned char *block, uint32_t span, bool top)
{
    uint32_t off = (uint32_t)(block - g_arena);
    uint64_t old = atomic_load(&g_ends), next;
    do {
        uint32_t lo = (uint32_t)old, hi = (uint32_t)(old >> 32);
        if (top ? hi != off : lo != off + span)
            return;
        next = top ? pack(lo, hi + span) : pack(off, hi);
    } while (!atomic_compare_exchange_weak(&g_ends, &old, next));
}

NO_ASAN static void write_header(unsigned char *block, size_t size, uint32_t span, bool top)
{
    struct block_header h = {size, span, top ? 1u : 0u};
    memcpy(block, &h, sizeof(h));
}

NO_ASAN static struct block_header read_header(const void *payload)
{
    struct block_header h;
    memcpy(&h, (const unsigned char *)payload - HDR, sizeof(h));
    return h;
}

NO_ASAN static void set_header_size(void *payload, size_t size)
{
    memcpy((unsigned char *)payload - HDR + offsetof(struct block_header, size), &size, sizeof(size));
}

/* An arena block of size bytes, or NULL when the arena cannot hold it. */
static void *arena_alloc(size_t size, bool top)
{
    if (size > LR_CURL_ARENA_BYTES - HDR)
        return NULL;
    uint32_t span = (uint32_t)(HDR + ((size + ALIGN - 1) & ~(size_t)(ALIGN - 1)));
    if (size == 0)
        span += ALIGN; /* malloc(0) still yields a unique pointer */
    unsigned char *block = take(span, top);
    if (block == NULL)
        return NULL;
    write_header(block, size, span, top);
    UNPOISON(block + HDR, size);
    return block + HDR;
}

bool lr_curl_alloc_owns(const void *ptr)
{
    uintptr_t p = (uintptr_t)ptr, base = (uintptr_t)g_arena;
    return p >= base && p < base + sizeof(g_arena);
}

void *lr_curl_alloc_malloc(size_t size)
{
    void *p = arena_alloc(size, size >= LR_CURL_ARENA_LARGE);
    return p != NULL ? p : malloc(size);
}

void *lr_curl_alloc_calloc(size_t nmemb, size_t size)
{
    if (size != 0 && nmemb > SIZE_MAX / size)
        return NULL;
    void *p = arena_alloc(nmemb * size, false);
    if (p == NULL)
        return calloc(nmemb, size);
    memset(p, 0, nmemb * size); /* a given-back block may hold old data */
    return p;
}

char *lr_curl_alloc_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(n, false);
    if (p == NULL)
        return strdup(s);
    memcpy(p, s, n);
    return p;
}

void lr_curl_alloc_free(void *ptr)
{
    if (ptr == NULL)
        return;
    if (!lr_curl_alloc_owns(ptr)) {
        free(ptr);
        return;
    }
    struct block_header h = read_header(ptr);
    POISON(ptr, h.span - HDR);
    give_back((unsigned char *)ptr - HDR, h.span, h.top != 0);
}

void *lr_curl_alloc_realloc(void *ptr, size_t size)
{
    if (ptr == NULL)
        return lr_curl_alloc_malloc(size);
    if (!lr_curl_alloc_owns(ptr))
        return realloc(ptr, size);
    struct block_header h = read_header(ptr);
    if (size <= h.span - HDR) { /* fits where it is */
        POISON(ptr, h.span - HDR);
        UNPOISON(ptr, size);
        set_header_size(ptr, size);
        return ptr;
    }
    void *moved = lr_curl_alloc_malloc(size);
    if (moved == NULL)
        return NULL; /* like realloc: the old block stays valid */
    memcpy(moved, ptr, h.size);
    lr_curl_alloc_free(ptr);
    return moved;
}

void lr_curl_alloc_usage(size_t *bottom, size_t *top)
{
    uint64_t ends = atomic_load(&g_ends);
    if (bottom != NULL)
        *bottom = (uint32_t)ends;
    if (top != NULL)
        *top = LR_CURL_ARENA_BYTES - (uint32_t)(ends >> 32);
}

void lr_curl_alloc_reset_for_test(void)
{
    atomic_store(&g_ends, pack(0, LR_CURL_ARENA_BYTES));
    POISON(g_arena, sizeof(g_arena));
}

int lr_curl_alloc_global_init(void)
{
    const char *setting = getenv("LR_CURL_ARENA");
    if (setting != NULL && strcmp(setting, "0") == 0)
        return (int)curl_global_init(CURL_GLOBAL_DEFAULT);
    if (setting != NULL && strcmp(setting, "1") != 0)
        lr_log(LR_LOG_WARN, "LR_CURL_ARENA must be 0 or 1; ignoring the value given, arena on");
#ifdef LR_ASAN
    static atomic_flag poisoned = ATOMIC_FLAG_INIT;
    if (!atomic_flag_test_and_set(&poisoned)) {
        uint64_t ends = atomic_load(&g_ends); /* only the free middle: blocks may be alive */
        POISON(g_arena + (uint32_t)ends, (uint32_t)(ends >> 32) - (uint32_t)ends);
    }
#endif
    return (int)curl_global_init_mem(CURL_GLOBAL_DEFAULT, lr_curl_alloc_malloc, lr_curl_alloc_free,
                                     lr_curl_alloc_realloc, lr_curl_alloc_strdup,
                                     lr_curl_alloc_calloc);
}
