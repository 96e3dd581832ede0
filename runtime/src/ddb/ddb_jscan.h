/* Private JSON validator of the ddb parser: syntax, UTF-8, \u escapes and nesting in one
 * iterative pass (no recursion, so no input can exhaust the stack). */
#ifndef LR_DDB_JSCAN_H
#define LR_DDB_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "lr/ddb.h"

#define DDB_JSCAN_ARRAYS 8

/* An array that is a member value of the top-level object, as the validator saw it. */
struct ddb_jscan_array {
    size_t open;  /* offset of its '[' */
    size_t close; /* offset just after its ']' */
    size_t count; /* number of elements */
};

/* The first DDB_JSCAN_ARRAYS such arrays, in document order (the Records array among them), so
 * the envelope reader neither skips nor counts the records again. */
struct ddb_jscan_arrays {
    size_t n;
    struct ddb_jscan_array a[DDB_JSCAN_ARRAYS];
};

/* Validates exactly one JSON value at s[start..len) followed only by whitespace, noting the top
 * object's member arrays in *arrays when it is not NULL. On error returns DDB_E_NOT_JSON or
 * DDB_E_TOO_DEEP with *err_off and a static *err_msg. */
enum ddb_status ddb_jscan_validate(const char *s, size_t len, size_t start,
                                   struct ddb_jscan_arrays *arrays, size_t *err_off,
                                   const char **err_msg);

/* First index >= i of s[..len) holding a byte other than printable ASCII that needs no escaping
 * in a JSON string (so a quote, a backslash, a control character or a byte >= 0x80), or len. */
size_t ddb_jscan_plain_end(const unsigned char *s, size_t len, size_t i);

/* First index >= i of s[..len) holding a quote or a backslash, or len. */
size_t ddb_jscan_quote_end(const unsigned char *s, size_t len, size_t i);

/* Length of a JSON number literal at s[0..len) (0 if it does not start with one). */
size_t ddb_jscan_number_len(const char *s, size_t len);

/* Value of the four hex digits at p[0..4) (the caller checked the length), or -1. */
long ddb_jscan_hex4(const unsigned char *p);

#endif
