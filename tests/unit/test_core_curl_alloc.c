/* Unit tests of libcurl's start-up arena (core/lr_curl_alloc.h): packing and alignment, large blocks
 * at the top, giving back the latest block, realloc and calloc contracts, the fall-back to the C
 * library when full, concurrent use from several threads, and a real libcurl transfer through it. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <pthread.h>

#include "core/lr_curl_alloc.h"

static int reset(void **state)
{
    (void)state;
    lr_curl_alloc_reset_for_test();
    return 0;
}

static size_t bottom_used(void)
{
    size_t b = 0;
    lr_curl_alloc_usage(&b, NULL);
    return b;
}

static size_t top_used(void)
{
    size_t t = 0;
    lr_curl_alloc_usage(NULL, &t);
    return t;
}

static void test_small_blocks_are_packed_and_aligned(void **state)
{
    (void)state;
    unsigned char *a = lr_curl_alloc_malloc(1);
    unsigned char *b = lr_curl_alloc_malloc(17);
    unsigned char *c = lr_curl_alloc_malloc(0);
    assert_true(lr_curl_alloc_owns(a) && lr_curl_alloc_owns(b) && lr_curl_alloc_owns(c));
    assert_int_equal((uintptr_t)a % 16, 0);
    assert_int_equal((uintptr_t)b % 16, 0);
    assert_int_equal((uintptr_t)c % 16, 0);
    /* 16-byte header + payload rounded to 16: consecutive, nothing wasted between them */
    assert_ptr_equal(b, a + 16 + 16);
    assert_ptr_equal(c, b + 16 + 32);
    assert_true(c != b && c != a); /* malloc(0) is unique */
    assert_int_equal(bottom_used(), 32 + 48 + 32);
    assert_int_equal(top_used(), 0);
    memset(a, 0xAA, 1);
    memset(b, 0xBB, 17);
    assert_int_equal(a[0], 0xAA);
    assert_int_equal(b[16], 0xBB);
}

static void test_large_uninitialised_blocks_go_to_the_top(void **state)
{
    (void)state;
    unsigned char *small = lr_curl_alloc_malloc(100);
    unsigned char *big = lr_curl_alloc_malloc(16385); /* libcurl's receive buffer */
    unsigned char *small2 = lr_curl_alloc_malloc(100);
    assert_true(lr_curl_alloc_owns(big));
    assert_int_equal(top_used(), 16 + 16400);
    /* the small ones stay adjacent: the big buffer's untouched pages do not sit between them */
    assert_ptr_equal(small2, small + 16 + 112);
    assert_true(big > small2);
    /* calloc is always at the bottom (it is written at once anyway) */
    unsigned char *z = lr_curl_alloc_calloc(1, 8192);
    assert_ptr_equal(z, small2 + 16 + 112);
    lr_curl_alloc_free(z);
    lr_curl_alloc_free(small2);
    lr_curl_alloc_free(big);
    lr_curl_alloc_free(small);
    assert_int_equal(bottom_used(), 0);
    assert_int_equal(top_used(), 0);
}

static void test_only_the_latest_block_is_given_back(void **state)
{
    (void)state;
    void *a = lr_curl_alloc_malloc(32);
    void *b = lr_curl_alloc_malloc(32);
    size_t used = bottom_used();
    lr_curl_alloc_free(a); /* not the latest: its space stays used */
    assert_int_equal(bottom_used(), used);
    lr_curl_alloc_free(b); /* the latest: given back */
    assert_int_equal(bottom_used(), used - 48);
    void *c = lr_curl_alloc_malloc(32);
    assert_ptr_equal(c, b); /* and reused */
    lr_curl_alloc_free(c);
    lr_curl_alloc_free(NULL);
}

static void test_calloc_zeroes_reused_space_and_rejects_overflow(void **state)
{
    (void)state;
    unsigned char *a = lr_curl_alloc_malloc(64);
    memset(a, 0xFF, 64);
    lr_curl_alloc_free(a);
    unsigned char *z = lr_curl_alloc_calloc(8, 8);
    assert_ptr_equal(z, a);
    for (size_t i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    assert_null(lr_curl_alloc_calloc(SIZE_MAX / 2, 4));
    assert_null(lr_curl_alloc_calloc(4, SIZE_MAX / 2));
    lr_curl_alloc_free(z);
}

static void test_strdup_copies(void **state)
{
    (void)state;
    char *s = lr_curl_alloc_strdup("127.0.0.1:9001");
    assert_true(lr_curl_alloc_owns(s));
    assert_string_equal(s, "127.0.0.1:9001");
    lr_curl_alloc_free(s);
}

static void test_realloc_keeps_content_in_place_or_moved(void **state)
{
    (void)state;
    assert_non_null(lr_curl_alloc_realloc(NULL, 8)); /* realloc(NULL) is malloc */
    char *p = lr_curl_alloc_malloc(5);
    memcpy(p, "abcde", 5);
    char *same = lr_curl_alloc_realloc(p, 16); /* within its 16-byte slot */
    assert_ptr_equal(same, p);
    char *moved = lr_curl_alloc_realloc(same, 100);
    assert_ptr_not_equal(moved, p);
    assert_memory_equal(moved, "abcde", 5);
    char *shrunk = lr_curl_alloc_realloc(moved, 3);
    assert_ptr_equal(shrunk, moved);
    assert_memory_equal(shrunk, "abc", 3);
    /* growing past the arena moves the block to the C library, content intact */
    char *heap = lr_curl_alloc_realloc(shrunk, LR_CURL_ARENA_BYTES * 2);
    assert_non_null(heap);
    assert_false(lr_curl_alloc_owns(heap));
    assert_memory_equal(heap, "abc", 3);
    heap = lr_curl_alloc_realloc(heap, LR_CURL_ARENA_BYTES * 4); /* plain realloc from now on */
    assert_memory_equal(heap, "abc", 3);
    lr_curl_alloc_free(heap);
}

static void test_full_arena_falls_back_to_the_c_library(void **state)
{
    (void)state;
    enum { FIT = LR_CURL_ARENA_BYTES / 1024 }; /* 1000 bytes + header, rounded: 1024 each */
    void *blocks[FIT];
    for (size_t i = 0; i < FIT; i++) {
        blocks[i] = lr_curl_alloc_malloc(1000);
        assert_true(lr_curl_alloc_owns(blocks[i]));
    }
    assert_int_equal(bottom_used(), LR_CURL_ARENA_BYTES);
    size_t n = FIT;
    void *heap = lr_curl_alloc_malloc(1000);
    void *heap0 = lr_curl_alloc_calloc(10, 100);
    char *heap_s = lr_curl_alloc_strdup("x");
    assert_false(lr_curl_alloc_owns(heap) || lr_curl_alloc_owns(heap0) || lr_curl_alloc_owns(heap_s));
    assert_string_equal(heap_s, "x");
    assert_int_equal(((unsigned char *)heap0)[999], 0);
    lr_curl_alloc_free(heap);
    lr_curl_alloc_free(heap0);
    lr_curl_alloc_free(heap_s);
    while (n > 0)
        lr_curl_alloc_free(blocks[--n]); /* in reverse: each is the latest, all given back */
    assert_int_equal(bottom_used(), 0);
}

/* ---- several threads at once: every block distinct, none overlapping ---- */

#define THREADS 4
#define PER_THREAD 300

struct worker {
    unsigned char id;
    unsigned char *blocks[PER_THREAD];
};

static void *work(void *arg)
{
    struct worker *w = arg;
    for (size_t i = 0; i < PER_THREAD; i++) {
        size_t size = 8 + (i % 7) * 24 + (i % 50 == 0 ? LR_CURL_ARENA_LARGE : 0);
        w->blocks[i] = lr_curl_alloc_malloc(size);
        if (w->blocks[i] != NULL)
            memset(w->blocks[i], w->id, 8);
    }
    return NULL;
}

static void test_concurrent_allocations_never_overlap(void **state)
{
    (void)state;
    static struct worker workers[THREADS];
    pthread_t t[THREADS];
    for (unsigned char i = 0; i < THREADS; i++) {
        workers[i].id = (unsigned char)(i + 1);
        assert_int_equal(pthread_create(&t[i], NULL, work, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        for (size_t j = 0; j < PER_THREAD; j++) {
            unsigned char *b = workers[i].blocks[j];
            assert_non_null(b);
            for (size_t k = 0; k < 8; k++) /* no other thread wrote over it */
                assert_int_equal(b[k], workers[i].id);
        }
    }
    for (int i = 0; i < THREADS; i++)
        for (size_t j = 0; j < PER_THREAD; j++)
            lr_curl_alloc_free(workers[i].blocks[j]);
}

/* ---- libcurl itself through the arena ---- */

static size_t count_bytes(char *data, size_t size, size_t n, void *user)
{
    (void)data;
    *(size_t *)user += size * n;
    return size * n;
}

static void test_libcurl_runs_on_the_arena(void **state)
{
    (void)state;
    unsetenv("LR_CURL_ARENA");
    assert_int_equal(lr_curl_alloc_global_init(), CURLE_OK);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    assert_true(bottom_used() > 0); /* the easy handle lives in the arena */
    /* a file:// transfer exercises URL parsing, the transfer loop and the receive buffer
     * without a server (HTTP over libcurl is covered by the integration tests) */
    size_t got = 0;
    curl_easy_setopt(h, CURLOPT_URL, "file://" LR_SOURCE_DIR "/input.json");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, count_bytes);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &got);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_UNSUPPORTED_PROTOCOL) { /* an HTTP-only libcurl (the static package build) */
        curl_easy_cleanup(h);
        curl_global_cleanup();
        skip();
    }
    assert_int_equal(rc, CURLE_OK);
    assert_true(got > 1000);
    curl_easy_cleanup(h);
    curl_global_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_small_blocks_are_packed_and_aligned, reset),
        cmocka_unit_test_setup(test_large_uninitialised_blocks_go_to_the_top, reset),
        cmocka_unit_test_setup(test_only_the_latest_block_is_given_back, reset),
        cmocka_unit_test_setup(test_calloc_zeroes_reused_space_and_rejects_overflow, reset),
        cmocka_unit_test_setup(test_strdup_copies, reset),
        cmocka_unit_test_setup(test_realloc_keeps_content_in_place_or_moved, reset),
        cmocka_unit_test_setup(test_full_arena_falls_back_to_the_c_library, reset),
        cmocka_unit_test_setup(test_concurrent_allocations_never_overlap, reset),
        cmocka_unit_test_setup(test_libcurl_runs_on_the_arena, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
