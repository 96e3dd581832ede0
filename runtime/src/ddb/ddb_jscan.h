/* Private JSON validator of the ddb parser: syntax, UTF-8, \u escapes and nesting in one
 * iterative pass (no recursion, so no input can exhaust the stack). */
#ifndef LR_DDB_JSCAN_H
#define LR_DDB_JSCAN_H

#include <stddef.h>

#include "lr/ddb.h"

/* Validates exactly one JSON value at s[start..len) followed only by whitespace. On error returns
 * DDB_E_NOT_JSON or DDB_E_TOO_DEEP with *err_off and a static *err_msg. */
enum ddb_status ddb_jscan_validate(const char *s, size_t len, size_t start, size_t *err_off,
                                   const char **err_msg);

/* Length of a JSON number literal at s[0..len) (0 if it does not start with one). */
size_t ddb_jscan_number_len(const char *s, size_t len);

/* Value of the four hex digits at p[0..4) (the caller checked the length), or -1. */
long ddb_jscan_hex4(const unsigned char *p);

#endif
