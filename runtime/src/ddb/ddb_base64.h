/* Private strict standard base64 (RFC 4648 section 4, padded) for B and BS values. */
#ifndef LR_DDB_BASE64_H
#define LR_DDB_BASE64_H

#include <stdbool.h>
#include <stddef.h>

#include "lr/buf.h"

/* Decoded size of len characters of valid base64 (an upper bound for invalid input). Inline: it
 * sizes the buffer of every B value. */
static inline size_t ddb_base64_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

/* Decodes text[0..len) into out (ddb_base64_decoded_max(len) bytes). Strict: the alphabet
 * A-Z a-z 0-9 + /, a length that is a multiple of 4, '=' only as final padding, and zero unused bits.
 * Returns true with *out_len, or false with *bad_pos (index into text) and a static *why. */
bool ddb_base64_decode(const char *text, size_t len, unsigned char *out, size_t *out_len,
                       size_t *bad_pos, const char **why);

/* Encoded size of len bytes (with padding). */
size_t ddb_base64_encoded_len(size_t len);

/* Encodes bytes[0..len) into out (ddb_base64_encoded_len(len) bytes, no NUL). */
void ddb_base64_encode(const unsigned char *bytes, size_t len, char *out);

/* Sticky append (lr_buf_put*) of bytes[0..len) as a quoted base64 JSON string. */
void ddb_base64_put_quoted(struct lr_buf *b, const unsigned char *bytes, size_t len);

#endif
