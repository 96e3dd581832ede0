/* libFuzzer target: the Runtime API /next header parser (transport/lr_headers.h) and lr_parse_u64.
 *
 * The input is split into lines at '\n' (each line keeps its '\n', as libcurl's header callback
 * delivers them) and fed to lr_headers_parse_line; a refused line resets the set, as the client would
 * drop the response. Afterwards every documented guarantee is checked and any breach aborts, so the
 * fuzzer reports it: views NUL-terminated and free of control bytes and edge blanks, a checked request
 * id of 1..LR_REQUEST_ID_MAX visible ASCII bytes, a deadline inside its documented range.
 * lr_parse_u64 runs on the whole input and on each header value and is compared with a reference. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/lr_headers.h"
#include "lr/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                         \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "fuzz_headers: check failed: %s (line %d)\n", #cond, __LINE__); \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* Straightforward reference for lr_parse_u64's contract: 1..19 ASCII digits, value <= max. */
static bool reference_u64(const unsigned char *s, size_t len, uint64_t max, uint64_t *out)
{
    if (len == 0 || len > 19)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits cannot overflow 64 bits */
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static void check_u64(const unsigned char *s, size_t len, uint64_t max)
{
    uint64_t got = 12345, want = 0;
    enum lr_status st = lr_parse_u64((const char *)s, len, max, &got);
    bool ok = reference_u64(s, len, max, &want);
    CHECK(st == (ok ? LR_OK : LR_E_PROTOCOL));
    CHECK(ok ? got == want : got == 12345); /* *out untouched on error */
}

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static void check_view(struct lr_str v)
{
    const unsigned char *p = (const unsigned char *)v.ptr;
    if (v.len == 0)
        return;
    CHECK(p != NULL && p[v.len] == '\0');
    CHECK(v.len < LR_HEADER_MAX_LINE);
    CHECK(!is_blank(p[0]) && !is_blank(p[v.len - 1]));
    for (size_t i = 0; i < v.len; i++)
        CHECK((p[i] >= 0x20 || p[i] == '\t') && p[i] != 0x7f); /* control bytes are refused */
}

static void check_headers(const struct lr_headers *h)
{
    for (int id = 0; id < LR_HDR_COUNT; id++) {
        struct lr_str v = lr_headers_get(h, (enum lr_header_id)id);
        check_view(v);
        check_u64((const unsigned char *)v.ptr, v.len, (uint64_t)INT64_MAX);
    }
    if (lr_headers_check(h) == LR_OK) {
        struct lr_str id = lr_headers_get(h, LR_HDR_REQUEST_ID);
        CHECK(id.len >= 1 && id.len <= LR_REQUEST_ID_MAX);
        for (size_t i = 0; i < id.len; i++)
            CHECK((unsigned char)id.ptr[i] >= 0x21 && (unsigned char)id.ptr[i] <= 0x7e);
    }
    const int64_t now_ms = INT64_C(1764500000000), fallback_ms = 3000;
    int64_t deadline = 0;
    if (lr_headers_deadline_ms(h, now_ms, fallback_ms, &deadline))
        CHECK(deadline >= LR_DEADLINE_MIN_MS && deadline <= LR_DEADLINE_MAX_MS);
    else
        CHECK(deadline == now_ms + fallback_ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The whole input as a number, against a cap taken from its first byte. */
    uint64_t max = size ? (UINT64_MAX >> (data[0] & 63)) : UINT64_MAX;
    check_u64(data, size, max);

    struct lr_headers h;
    lr_headers_init(&h);
    size_t start = 0;
    while (start < size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) + 1 : size;
        if (lr_headers_parse_line(&h, (const char *)data + start, end - start) != LR_OK)
            lr_headers_reset(&h);
        check_headers(&h);
        start = end;
    }
    check_headers(&h);
    lr_headers_clean_up(&h);
    lr_headers_clean_up(&h); /* documented as safe twice */
    return 0;
}
