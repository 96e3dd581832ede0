/* Private JSON cursor of the ddb parser: walks a document already checked by ddb_jscan_validate()
 * without building a tree. Strings come back as spans of the input; only strings with escapes are
 * decoded (into an arena). */
#ifndef LR_DDB_JSON_H
#define LR_DDB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ddb/ddb_arena.h"
#include "ddb/ddb_jscan.h"
#include "lr/common.h"
#include "lr/ddb.h"

/* Cursor over validated JSON. s is borrowed; pos is the next byte to read. */
struct ddb_json {
    const char *s;
    size_t len;
    size_t pos;
    bool compact; /* the validator found no whitespace between tokens: nothing to skip */
};

/* The raw content of a JSON string (between the quotes). */
struct ddb_jstr {
    size_t start;
    size_t end;
    bool escaped; /* contains a backslash: must be decoded */
};

/* Compact JSON has almost no whitespace: one comparison rules out most bytes. */
static inline bool ddb_json_is_ws(unsigned char c)
{
    return c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

/* The cursor functions below are inline: they run once or more per token. */
static inline void ddb_json_skip_ws(struct ddb_json *j)
{
    if (j->compact) /* most events: one test instead of a look at the next byte on every token */
        return;
    while (j->pos < j->len && ddb_json_is_ws((unsigned char)j->s[j->pos]))
        j->pos++;
}

/* Skips whitespace and returns the next byte without consuming it ('\0' at the end). */
static inline char ddb_json_peek(struct ddb_json *j)
{
    ddb_json_skip_ws(j);
    return j->pos < j->len ? j->s[j->pos] : '\0';
}

/* Whether the 8 bytes of w are all ASCII digits: each byte is 0x3_, and adding 6 keeps it 0x3_ (a
 * carry into the next byte needs a byte of 0xFA or more, which already fails the first test). */
static inline bool ddb_json_eight_digits(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101u;
    return (w & ones * 0xF0) == ones * 0x30 && ((w + ones * 6) & ones * 0xF0) == ones * 0x30;
}

/* Skips one value (iteratively; the document must be validated). */
void ddb_json_skip(struct ddb_json *j);

/* Consumes '{' / '['. The cursor must be on it (check with ddb_json_peek). */
static inline void ddb_json_enter(struct ddb_json *j)
{
    ddb_json_skip_ws(j);
    j->pos++;
}

/* The rest of a string with a backslash, from s[i] (out->start is set). */
void ddb_json_read_string_slow(struct ddb_json *j, struct ddb_jstr *out, size_t i);

/* Reads a string value (cursor on its quote). */
static inline void ddb_json_read_string(struct ddb_json *j, struct ddb_jstr *out)
{
    size_t i = j->pos + 1;
    out->start = i;
    /* Most strings have no backslash: then the first quote or backslash is the closing quote. */
    i = ddb_jscan_find_special((const unsigned char *)j->s, j->len, i, false);
    if (i < j->len && j->s[i] == '"') {
        out->end = i;
        out->escaped = false;
        j->pos = i + 1;
        return;
    }
    ddb_json_read_string_slow(j, out, i);
}

/* Consumes close and returns true (also at the end of the text), or consumes the ',' before the
 * next item, and the whitespace after it, and returns false. Whitespace is skipped once per item:
 * the cursor passes here for every member and element of a record. */
static inline bool ddb_json_at_close(struct ddb_json *j, char close)
{
    char c = ddb_json_peek(j);
    if (c == close || c == '\0') {
        j->pos += c != '\0';
        return true;
    }
    if (c == ',') {
        j->pos++;
        ddb_json_skip_ws(j);
    }
    return false;
}

/* Object iteration: after ddb_json_enter, returns true with *key set and the cursor on the member's
 * value, or false after consuming the closing brace. */
static inline bool ddb_json_next_member(struct ddb_json *j, struct ddb_jstr *key)
{
    if (ddb_json_at_close(j, '}'))
        return false;
    ddb_json_read_string(j, key);
    if (ddb_json_peek(j) == ':')
        j->pos++;
    ddb_json_skip_ws(j);
    return true;
}

/* ddb_json_next_member, shortened for compact text: there, after the '{' or a member's value come
 * '}' or ',', then the name and its ':', with nothing between. An escaped name, or text near the
 * end of the buffer, takes the general path. Used for the objects of every record. */
static inline bool ddb_json_next_name(struct ddb_json *j, struct ddb_jstr *key)
{
    if (!j->compact || j->len - j->pos < 2)
        return ddb_json_next_member(j, key);
    if (j->s[j->pos] == '}') {
        j->pos++;
        return false;
    }
    j->pos += j->s[j->pos] == ','; /* now on the name's quote */
    size_t i = ddb_jscan_find_special((const unsigned char *)j->s, j->len, j->pos + 1, false);
    if (j->len - i < 2 || j->s[i] != '"')
        return ddb_json_next_member(j, key); /* from the quote: reads the name again */
    *key = (struct ddb_jstr){j->pos + 1, i, false};
    j->pos = i + 2; /* past the ':' */
    return true;
}

/* Array iteration: returns true with the cursor on the next element, or false after the ']'. */
static inline bool ddb_json_next_element(struct ddb_json *j)
{
    if (j->compact && j->pos < j->len) { /* validated, no whitespace: ']', ',' or the first item */
        char c = j->s[j->pos];
        if (c == ']') {
            j->pos++;
            return false;
        }
        j->pos += c == ',';
        return true;
    }
    return !ddb_json_at_close(j, ']');
}

/* Consumes a literal/number and returns its span [*start, *end). */
void ddb_json_read_scalar(struct ddb_json *j, size_t *start, size_t *end);

/* Counts the members/elements of the container under the cursor without moving it. */
size_t ddb_json_count(const struct ddb_json *j);

/* Whether the escaped string equals the NUL-terminated ASCII text lit (decoded on the fly). */
bool ddb_json_str_eq_escaped(const char *s, const struct ddb_jstr *str, const char *lit);

/* Whether the string equals the NUL-terminated ASCII text lit. Inline: member names are compared
 * with many constant names, and with a constant lit the length check costs one comparison. */
static inline bool ddb_json_str_eq(const char *s, const struct ddb_jstr *str, const char *lit)
{
    size_t n = strlen(lit);
    if (!str->escaped)
        return str->end - str->start == n && memcmp(s + str->start, lit, n) == 0;
    return ddb_json_str_eq_escaped(s, str, lit);
}

/* The decoded text of an escaped string, into the arena; false when the arena is full. */
bool ddb_json_str_decode(const char *s, const struct ddb_jstr *str, struct ddb_arena *a,
                         struct lr_str *out);

/* The decoded text: a view into s when unescaped, else decoded into the arena. Returns false when the
 * arena is full. Inline: most strings are views, and it runs for every name and string value. */
static inline bool ddb_json_str_get(const char *s, const struct ddb_jstr *str, struct ddb_arena *a,
                                    struct lr_str *out)
{
    if (!str->escaped) {
        *out = (struct lr_str){s + str->start, str->end - str->start};
        return true;
    }
    return ddb_json_str_decode(s, str, a, out);
}

#endif
