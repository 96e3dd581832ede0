/* Word-at-a-time byte classes, shared by the JSON escaper (base/lr_json.c) and the event scanner
 * (ddb/ddb_jscan.h): eight bytes are tested with a few integer operations instead of eight compares.
 * Header-only (the callers' loops need them inlined); no pointers are kept.
 *
 * A mask has the high bit set in each flagged byte. Borrows and carries can flag a byte wrongly, but
 * only a byte above (more significant than) a byte flagged for real, so "is the mask zero" is always
 * exact, and so is the lowest flag. Where the lowest byte is the first in memory (little-endian) its
 * index is found at once; elsewhere, and when LR_BYTES_PORTABLE is defined (the switch that builds and
 * tests this path on every machine), callers locate the byte with a byte loop instead. */
#ifndef LR_BASE_BYTES_H
#define LR_BASE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LR_BYTES_ONES ((uint64_t)0x0101010101010101u)
#define LR_BYTES_HIGHS ((uint64_t)0x8080808080808080u)

/* Eight bytes from p, one unaligned load. */
static inline uint64_t lr_bytes_load(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/* Bytes equal to c. */
static inline uint64_t lr_bytes_equal(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (LR_BYTES_ONES * c);
    return (x - LR_BYTES_ONES) & ~x & LR_BYTES_HIGHS;
}

/* Bytes below 0x20 (C0 controls). */
static inline uint64_t lr_bytes_control(uint64_t w)
{
    return (w - LR_BYTES_ONES * 0x20) & ~w & LR_BYTES_HIGHS;
}

/* Bytes below 0x20 (C0 controls) or from 0x80 (not ASCII). */
static inline uint64_t lr_bytes_control_or_high(uint64_t w)
{
    return (w & LR_BYTES_HIGHS) | lr_bytes_control(w);
}

/* Bytes that are not printable ASCII: C0 controls, DEL, and from 0x80. x - 0x20 flags x < 0x20, x + 1
 * flags 0x7F and x itself flags x >= 0x80; a borrow or carry leaves only a flagged byte. */
static inline uint64_t lr_bytes_not_printable(uint64_t w)
{
    return ((w - LR_BYTES_ONES * 0x20) | (w + LR_BYTES_ONES) | w) & LR_BYTES_HIGHS;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    !defined(LR_BYTES_PORTABLE)
#define LR_BYTES_HAS_INDEX 1
#else
#define LR_BYTES_HAS_INDEX 0
#endif

/* Where the first flagged byte of a nonzero mask is, in memory order: 0..7, or 8 when this build
 * cannot tell without a byte loop (LR_BYTES_HAS_INDEX 0; the caller scans those eight bytes itself). */
static inline size_t lr_bytes_first(uint64_t mask)
{
#if LR_BYTES_HAS_INDEX
    return (size_t)__builtin_ctzll(mask) / 8;
#else
    (void)mask;
    return 8;
#endif
}

/* ---- Blocks: 16 bytes with SSE2 (baseline on x86-64), else the eight-byte words above ----
 * LR_BYTES_BLOCK bytes are classified at once; the quote count is exact (every bit is a real byte),
 * the other tests are "is any byte flagged", which the word masks answer exactly too. The portable
 * build (LR_BYTES_PORTABLE) and machines without SSE2 take the word path, which the unit tests run. */
#if defined(__SSE2__) && !defined(LR_BYTES_PORTABLE)
#include <emmintrin.h>
#define LR_BYTES_BLOCK 16
#else
#define LR_BYTES_BLOCK 8
#endif

/* One bit per byte of the LR_BYTES_BLOCK at p (bit k: byte k) that a JSON string scan stops at: a
 * quote, a backslash, a C0 control or not ASCII (lr_bytes_block_json_special(p, 1) with SSE2). The
 * word build has no use for it on its hot path; it is exact there too. */
static inline unsigned lr_bytes_block_string_stops(const unsigned char *p)
{
#if LR_BYTES_BLOCK == 16
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    /* x ^ 2 moves '"' to 0x20, keeps the controls below 0x20 and the bytes from 0x80 negative as
     * signed bytes (and moves nothing else to 0x20 or below): minus 0x21, saturated, the sign bit
     * flags all three. */
    __m128i low = _mm_subs_epi8(_mm_xor_si128(v, _mm_set1_epi8(2)), _mm_set1_epi8(0x21));
    __m128i backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(low, backslash));
#else
    unsigned m = 0;
    for (unsigned k = 0; k < LR_BYTES_BLOCK; k++)
        if (p[k] == '"' || p[k] == '\\' || p[k] < 0x20 || p[k] >= 0x80)
            m |= 1u << k;
    return m;
#endif
}

#if LR_BYTES_BLOCK == 16
/* One bit per byte of the 16 at p (bit k: byte k) that is a quote or a backslash, and, when
 * any_special, also a C0 control or not ASCII: the bytes a JSON string scan stops at. */
static inline unsigned lr_bytes_block_json_special(const unsigned char *p, int any_special)
{
    if (any_special)
        return lr_bytes_block_string_stops(p);
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
}

/* Whether any of the 16 bytes at p is not printable ASCII (C0 control, DEL, from 0x80), or, when
 * quotes_too, a '"' or a backslash: what ends a run the JSON escaper copies as it is. */
static inline int lr_bytes_block_not_plain(const unsigned char *p, int quotes_too)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1F)), v),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)));
    if (quotes_too)
        m = _mm_or_si128(m, _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                         _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
    return _mm_movemask_epi8(_mm_or_si128(m, v)); /* v: its sign bits are the bytes >= 0x80 */
}
#endif

/* Bytes equal to c, exact (nothing carries into the next byte): x & 0x7F plus 0x7F sets the high
 * bit of its own byte unless x & 0x7F is 0, and x itself sets it when x >= 0x80. */
static inline uint64_t lr_bytes_equal_exact(uint64_t w, unsigned char c)
{
    uint64_t x = w ^ (LR_BYTES_ONES * c);
    uint64_t low7 = LR_BYTES_ONES * 0x7F;
    return ~(((x & low7) + low7) | x | low7);
}

/* The block at p: the parity of its '"' bytes, and in *attention whether any byte is a backslash, a
 * space, a C0 control, DEL or not ASCII (what compact JSON text needs a closer look at). */
static inline unsigned lr_bytes_block_quote_parity(const unsigned char *p, int *attention)
{
#if LR_BYTES_BLOCK == 16
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v); /* <= 0x20 */
    __m128i odd = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
                               _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F)));
    *attention = _mm_movemask_epi8(_mm_or_si128(low, odd)) | _mm_movemask_epi8(v); /* v: >= 0x80 */
    unsigned quotes = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    return (unsigned)__builtin_popcount(quotes) & 1u;
#else
    uint64_t w = lr_bytes_load(p);
    *attention =
        (lr_bytes_not_printable(w) | lr_bytes_equal(w, ' ') | lr_bytes_equal(w, '\\')) != 0;
    return (unsigned)__builtin_popcountll(lr_bytes_equal_exact(w, '"')) & 1u;
#endif
}

#endif
