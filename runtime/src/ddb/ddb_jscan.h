/* Private JSON validator of the ddb parser: syntax, UTF-8, \u escapes and nesting in one
 * iterative pass (no recursion, so no input can exhaust the stack). */
#ifndef LR_DDB_JSCAN_H
#define LR_DDB_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/lr_bytes.h"
#include "lr/ddb.h"

#define DDB_JSCAN_ARRAYS 8

/* An array that is a member value of the top-level object, as the validator saw it. */
struct ddb_jscan_array {
    size_t open;  /* offset of its '[' */
    size_t close; /* offset just after its ']' */
    size_t count; /* number of elements */
    /* An element with bad string content (invalid UTF-8, a lone surrogate, a control character, a bad
     * escape) or nested past DDB_MAX_JSON_DEPTH does not fail the document: its end is still found, so
     * only it is bad (a poison record must not fail the batch). The first such error is kept here;
     * ddb_jscan_validate_element() tells which elements are bad. */
    bool poisoned;
    enum lr_status bad_status;
    size_t bad_off;
    const char *bad_msg;
};

/* The first DDB_JSCAN_ARRAYS such arrays, in document order (the Records array among them), so
 * the envelope reader neither skips nor counts the records again. */
struct ddb_jscan_arrays {
    size_t n;
    struct ddb_jscan_array a[DDB_JSCAN_ARRAYS];
    /* Set on success: the document has no whitespace between tokens (and no bad element was
     * skipped unseen), so a cursor over it never needs to skip any. */
    bool compact;
    /* On success, the strings a log line would not carry as they are (struct ddb_log_marks_ in
     * lr/ddb.h; next is left 0). */
    struct ddb_log_marks_ marks;
};

/* Validates exactly one JSON value at s[start..len) followed only by whitespace, noting the top
 * object's member arrays in *arrays when it is not NULL (and then tolerating bad elements in them, see
 * struct ddb_jscan_array). On error returns LR_E_NOT_JSON or LR_E_TOO_DEEP with *err_off and a
 * static *err_msg. */
enum lr_status ddb_jscan_validate(const char *s, size_t len, size_t start,
                                  struct ddb_jscan_arrays *arrays, size_t *err_off,
                                  const char **err_msg);

/* Validates the one value at s[start..len) as an element of a member array of the top object (so
 * its depth counts from 2), with no tolerance; what follows the value is not looked at. Same errors
 * as ddb_jscan_validate(). */
enum lr_status ddb_jscan_validate_element(const char *s, size_t len, size_t start, size_t *err_off,
                                          const char **err_msg);

/* High bit set in each of the 8 bytes of w that is a quote or a backslash, and, when any_special,
 * also a control character (< 0x20) or a non-ASCII byte (see base/lr_bytes.h for what is exact). */
static inline uint64_t ddb_jscan_special_bytes(uint64_t w, bool any_special)
{
    uint64_t m = lr_bytes_equal(w, '"') | lr_bytes_equal(w, '\\');
    return any_special ? m | lr_bytes_control_or_high(w) : m;
}

static inline bool ddb_jscan_byte_is_special(unsigned char c, bool any_special)
{
    return c == '"' || c == '\\' || (any_special && (c < 0x20 || c >= 0x80));
}

/* Index of the first special byte of s[..len) at or after i (see ddb_jscan_special_bytes), or len:
 * strings are mostly plain text, so it is looked for sixteen bytes at a time with SSE2 (x86-64),
 * else and for the tail eight bytes at a time (the LR_PORTABLE_BYTES build tests that path). Inline: it runs once
 * per string, most of them a few bytes long. */
static inline size_t ddb_jscan_find_special(const unsigned char *s, size_t len, size_t i,
                                            bool any_special)
{
#if LR_BYTES_BLOCK == 16 /* SSE2: sixteen bytes at a time, then words and bytes for the tail */
    while (len - i >= 16) {
        unsigned m = lr_bytes_block_json_special(s + i, any_special);
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (len - i >= 8) {
        uint64_t m = ddb_jscan_special_bytes(lr_bytes_load(s + i), any_special);
        if (m) {
            size_t k = lr_bytes_first(m);
            if (k < 8)
                return i + k;
            break; /* the byte loop below finds it */
        }
        i += 8;
    }
    while (i < len && !ddb_jscan_byte_is_special(s[i], any_special))
        i++;
    return i;
}

/* Length of a JSON number literal at s[0..len) (0 if it does not start with one). */
size_t ddb_jscan_number_len(const char *s, size_t len);

/* Value of the four hex digits at p[0..4) (the caller checked the length), or -1. */
long ddb_jscan_hex4(const unsigned char *p);

#endif
