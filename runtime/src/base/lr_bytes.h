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

/* Bytes below 0x20 (C0 controls) or from 0x80 (not ASCII). */
static inline uint64_t lr_bytes_control_or_high(uint64_t w)
{
    return (w | ((w - LR_BYTES_ONES * 0x20) & ~w)) & LR_BYTES_HIGHS;
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

#endif
