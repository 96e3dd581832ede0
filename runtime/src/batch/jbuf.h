/* Internal to lr_batch: a capped, growing byte buffer for rendering compact JSON documents (the
 * batch response and EMF lines). Overflowing the cap is sticky and checked once at the end, so
 * renderers stay linear and the caller turns it into its own named error. */
#ifndef LR_BATCH_JBUF_H
#define LR_BATCH_JBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Storage owned by the jbuf (heap, grows on demand up to max bytes); freed by jbuf_clean_up() unless
 * taken with jbuf_take(). */
struct jbuf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;    /* hard cap on len, fixed at init */
    bool overflow; /* set once an append would have passed max; further appends are ignored */
};

void jbuf_init(struct jbuf *b, size_t max_bytes);

/* Frees the storage and zeroes b; safe on a zeroed jbuf and safe to call twice. */
void jbuf_clean_up(struct jbuf *b);

/* Appends bytes verbatim. Aborts on out-of-memory (Lambda replaces a crashed sandbox). */
void jbuf_append(struct jbuf *b, const char *bytes, size_t len);
void jbuf_append_cstr(struct jbuf *b, const char *s);
void jbuf_append_i64(struct jbuf *b, int64_t v);

/* Appends bytes as one JSON string, quotes included: ", \ and control bytes are escaped, valid UTF-8
 * passes through, each invalid UTF-8 byte becomes \ufffd (so the document is always valid JSON). */
void jbuf_append_json_string(struct jbuf *b, const char *bytes, size_t len);

/* Hands the NUL-terminated contents to the caller (who frees them with free()) and resets b.
 * Returns NULL (and frees) when the buffer overflowed. */
char *jbuf_take(struct jbuf *b, size_t *len_out);

/* Length in bytes of the valid UTF-8 sequence starting at s[0] (1..4), or 0 when it is invalid
 * (overlong, surrogate, out of range, truncated). Shared with the identifier checks. */
size_t jbuf_utf8_seq_len(const unsigned char *s, size_t avail);

#endif
