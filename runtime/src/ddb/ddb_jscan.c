/* One-pass iterative JSON validator. It is the only place that checks syntax (including UTF-8 and
 * nesting); the cursor in ddb_json.c relies on it but still never reads past the end. */
#include "ddb/ddb_jscan.h"

#include <stdint.h>
#include <string.h>

#include "lr/json.h"
#include "lr/utf8.h"

/* Compact JSON has almost no whitespace: one comparison rules out most bytes. */
static bool is_ws(unsigned char c)
{
    return c <= ' ' && (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long ddb_jscan_hex4(const unsigned char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hex_value(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Validates a \u escape at s[*i] (the backslash), including surrogate pairing. */
static bool scan_unicode_escape(const unsigned char *s, size_t end, size_t *i, const char **msg)
{
    if (end - *i < 6 || ddb_jscan_hex4(s + *i + 2) < 0) {
        *msg = "bad \\u escape";
        return false;
    }
    long cp = ddb_jscan_hex4(s + *i + 2);
    *i += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        *msg = "unpaired low surrogate in \\u escape";
        return false;
    }
    if (cp < 0xD800 || cp > 0xDBFF)
        return true;
    long lo =
        (end - *i >= 6 && s[*i] == '\\' && s[*i + 1] == 'u') ? ddb_jscan_hex4(s + *i + 2) : -1;
    if (lo < 0xDC00 || lo > 0xDFFF) {
        *msg = "unpaired high surrogate in \\u escape";
        return false;
    }
    *i += 6;
    return true;
}

/* *pos is on the opening quote; on success it ends after the closing quote. */
static bool scan_string(const unsigned char *s, size_t len, size_t *pos, const char **msg)
{
    size_t i = *pos + 1;
    while ((i = ddb_jscan_find_special(s, len, i, true)) < len) {
        unsigned char c = s[i];
        if (c == '"') {
            *pos = i + 1;
            return true;
        }
        if (c < 0x20) {
            *pos = i;
            *msg = "control character in string";
            return false;
        }
        if (c == '\\') {
            unsigned char e = i + 1 < len ? s[i + 1] : 0;
            if (e == 'u') {
                size_t at = i;
                if (!scan_unicode_escape(s, len, &i, msg)) {
                    *pos = at;
                    return false;
                }
                continue;
            }
            if (!e || !strchr("\"\\/bfnrt", e)) {
                *pos = i;
                *msg = "bad escape in string";
                return false;
            }
            i += 2;
            continue;
        }
        size_t n = lr_utf8_seq_len(s + i, len - i);
        if (!n) {
            *pos = i;
            *msg = "invalid UTF-8 in string";
            return false;
        }
        i += n;
    }
    *pos = len;
    *msg = "unterminated string";
    return false;
}

static size_t digits(const unsigned char *s, size_t len, size_t i)
{
    while (i < len && is_digit(s[i]))
        i++;
    return i;
}

/* Where the JSON number literal starting at s[i] ends, or i if none starts there. Inline: the
 * validator loop takes it for every number. */
static inline size_t number_end(const unsigned char *s, size_t len, size_t i)
{
    size_t start = i;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !is_digit(s[i]))
        return start;
    i = s[i] == '0' ? i + 1 : digits(s, len, i);
    if (i < len && s[i] == '.') {
        size_t f = digits(s, len, i + 1);
        if (f == i + 1)
            return start;
        i = f;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = i + 1;
        if (e < len && (s[e] == '+' || s[e] == '-'))
            e++;
        size_t f = digits(s, len, e);
        if (f == e)
            return start;
        i = f;
    }
    return i;
}

size_t ddb_jscan_number_len(const char *s, size_t len)
{
    return number_end((const unsigned char *)s, len, 0);
}

/* What the validator loop (run_containers()) shares with its cold paths; the loop keeps the cursor,
 * the depth and the innermost container's kind in locals. */
struct vstate {
    const unsigned char *s;
    size_t len;
    size_t pos;    /* in and out of the cold paths; the error offset on failure */
    unsigned base; /* the depth at which the value being validated is complete */
    unsigned char closer[DDB_MAX_JSON_DEPTH]; /* per open level: the byte that closes it */
    const char *msg;
    struct ddb_jscan_arrays *arrays; /* where member arrays of the top object are noted, or NULL */
    /* Inside an element of a noted array (arrays->a[arrays->n] is open), where a bad element is
     * noted and skipped instead of failing. */
    bool tolerant;
    bool spaced; /* whitespace was skipped between tokens */
};

static void note_bad_element(struct vstate *v, enum lr_status st, size_t off)
{
    struct ddb_jscan_array *a = &v->arrays->a[v->arrays->n];
    if (!a->poisoned)
        *a = (struct ddb_jscan_array){a->open, a->close, a->count, true, st, off, v->msg};
}

/* From inside a string (at or after its opening quote's next byte), to just after its closing quote,
 * looking only for quotes and backslashes. False at the end of the input. */
static bool skip_string_lenient(struct vstate *v, size_t i)
{
    while ((i = ddb_jscan_find_special(v->s, v->len, i, false)) < v->len) {
        if (v->s[i] == '"') {
            v->pos = i + 1;
            return true;
        }
        if (v->len - i < 2)
            break; /* a backslash as the last byte: the string never ends */
        i += 2;    /* a backslash and the byte it escapes, whatever that is */
    }
    v->pos = v->len;
    return false;
}

/* From an opening bracket to just after its matching close, counting brackets outside strings and
 * nothing else: bounded and iterative, for a container nested past the validator's depth. */
static bool skip_container_lenient(struct vstate *v)
{
    size_t open = 0;
    while (v->pos < v->len) {
        unsigned char c = v->s[v->pos++];
        if (c == '"' && !skip_string_lenient(v, v->pos))
            return false;
        else if (c == '{' || c == '[')
            open++;
        else if ((c == '}' || c == ']') && --open == 0)
            return true;
    }
    return false;
}

/* A container opening at v->pos past DDB_MAX_JSON_DEPTH: fatal, unless tolerated (inside an element
 * of a noted array), where it is noted and skipped whole like a scalar (true, v->pos after it). */
static bool too_deep(struct vstate *v)
{
    v->msg = "nesting too deep";
    size_t at = v->pos;
    if (!v->tolerant || !skip_container_lenient(v)) {
        v->pos = at;
        return false;
    }
    note_bad_element(v, LR_E_TOO_DEEP, at);
    return true;
}

/* too_deep() for the container at *pos: *pos ends after it when it was skipped. */
static bool skip_too_deep(struct vstate *v, size_t *pos)
{
    v->pos = *pos;
    bool ok = too_deep(v);
    *pos = v->pos;
    return ok;
}

/* Past whitespace at pos. Compact text never comes here: callers look for it only when the byte is
 * not the one they expect. */
static size_t skip_ws(struct vstate *v, size_t pos)
{
    while (pos < v->len && is_ws(v->s[pos])) {
        pos++;
        v->spaced = true;
    }
    return pos;
}

/* A valid string that took the slow path (a backslash, or bytes that are not ASCII) from quote to
 * v->pos: noted when a log line would not carry it as it is (see struct ddb_jscan_arrays). */
static void note_log_text(struct vstate *v, size_t quote)
{
    struct ddb_log_marks_ *m = v->arrays ? &v->arrays->marks : NULL;
    if (m == NULL || m->end != SIZE_MAX ||
        lr_json_is_compact_log_text((const char *)v->s + quote, v->pos - quote))
        return;
    if (m->n < DDB_LOG_MARKS)
        m->at[m->n++] = quote;
    else
        m->end = quote;
}

/* A string that holds a backslash or a byte that is not ASCII, or is bad, from v->pos (its quote).
 * Bad content inside an element of a noted array is noted and skipped. */
static bool string_slow(struct vstate *v)
{
    size_t quote = v->pos;
    if (scan_string(v->s, v->len, &v->pos, &v->msg)) {
        note_log_text(v, quote);
        return true;
    }
    size_t bad = v->pos; /* past the opening quote: where the string went wrong */
    if (!v->tolerant || !skip_string_lenient(v, bad)) {
        v->pos = bad;
        return false;
    }
    note_bad_element(v, LR_E_NOT_JSON, bad);
    return true;
}

/* Whether the string at *pos (its quote) is plain, its first stop (quote, backslash, control, not
 * ASCII) being its closing quote; *pos then ends just after it. Blocks of sixteen with SSE2, the
 * find_special() search for the tail and elsewhere. */
static inline bool plain_string_end(const unsigned char *s, size_t len, size_t *pos)
{
    size_t i = *pos + 1;
#if LR_BYTES_BLOCK == 16
    if (len - i >= 16) {
        /* Most strings end in their first block: it is tested ahead of the loop. */
        unsigned m = lr_bytes_block_string_stops(s + i);
        while (!m) {
            i += 16;
            if (len - i < 16)
                break;
            m = lr_bytes_block_string_stops(s + i);
        }
        if (m) {
            i += (unsigned)__builtin_ctz(m);
            *pos = i + 1;
            return s[i] == '"'; /* inside the block, so before len */
        }
    }
#endif
    i = ddb_jscan_find_special(s, len, i, true);
    *pos = i + 1;
    return i < len && s[i] == '"';
}

/* A string at *pos (its quote), to just after it. Most strings are plain: then they are done here
 * without a call; the rest take scan_string(), which finds the same end for a plain one. */
static inline bool string_at(struct vstate *v, const unsigned char *s, size_t len, size_t *pos)
{
    size_t end = *pos;
    if (plain_string_end(s, len, &end)) {
        *pos = end;
        return true;
    }
    v->pos = *pos;
    bool ok = string_slow(v);
    *pos = v->pos;
    return ok;
}

/* The byte at *pos, past any whitespace when it is not the expected one (0 at the end). */
static inline unsigned char byte_at(struct vstate *v, const unsigned char *s, size_t len,
                                    size_t *pos, unsigned char expected)
{
    unsigned char b = *pos < len ? s[*pos] : 0;
    if (b == expected || !is_ws(b))
        return b;
    *pos = skip_ws(v, *pos);
    return *pos < len ? s[*pos] : 0;
}

/* Member name and colon, b being the byte at *pos (past whitespace); to just after the colon. */
static inline bool member_name(struct vstate *v, const unsigned char *s, size_t len, size_t *pos,
                               unsigned char b)
{
    if (b != '"') {
        v->msg = "expected a member name";
        return false;
    }
    if (!string_at(v, s, len, pos))
        return false;
    if (byte_at(v, s, len, pos, ':') != ':') {
        v->msg = "expected ':'";
        return false;
    }
    ++*pos;
    return true;
}

/* Whether the four bytes at s[pos..len) are lit: one load and compare. */
static inline bool literal_at(const unsigned char *s, size_t len, size_t pos, const char *lit)
{
    uint32_t w, want;
    if (len - pos < 4)
        return false;
    memcpy(&w, s + pos, 4);
    memcpy(&want, lit, 4);
    return w == want;
}

/* Length of the literal at pos ("true", "false", "null", picked by its first byte b), 0 if not. */
static inline size_t literal_len(const unsigned char *s, size_t len, size_t pos, unsigned char b)
{
    if (b == 't')
        return literal_at(s, len, pos, "true") ? 4 : 0;
    if (b == 'n')
        return literal_at(s, len, pos, "null") ? 4 : 0;
    return literal_at(s, len, pos + 1, "alse") ? 5 : 0; /* b is 'f', at pos < len */
}

/* A scalar at *pos whose first byte b is not a quote: a literal or a number, to just after it. */
static inline bool scalar_at(struct vstate *v, const unsigned char *s, size_t len, size_t *pos,
                             unsigned char b)
{
    size_t n;
    if (b == 't' || b == 'f' || b == 'n') {
        if ((n = literal_len(s, len, *pos, b)) == 0)
            v->msg = "invalid literal";
    } else if ((n = number_end(s, len, *pos) - *pos) == 0) {
        v->msg = *pos >= len               ? "unexpected end of input"
                 : b == '-' || is_digit(b) ? "invalid number"
                                           : "unexpected character";
    }
    *pos += n;
    return n != 0;
}

/* The whole value is a scalar (nothing encloses it): a string, a literal or a number at v->pos
 * (run() skipped the whitespace before it). */
static enum lr_status lone_scalar(struct vstate *v)
{
    unsigned char b = v->pos < v->len ? v->s[v->pos] : 0;
    size_t pos = v->pos;
    bool ok = b == '"' ? string_at(v, v->s, v->len, &pos) : scalar_at(v, v->s, v->len, &pos, b);
    v->pos = pos;
    return ok ? LR_OK : LR_E_NOT_JSON;
}

/* Notes the array opening at pos at level 1 when the top value is an object (close, the byte that
 * closes level 0, says so) and there is room: its elements are then counted at level 2. */
static inline unsigned note_array(struct vstate *v, size_t pos, unsigned depth, unsigned char close)
{
    if (depth != 1 || close != '}' || !v->arrays || v->arrays->n >= DDB_JSCAN_ARRAYS)
        return 0;
    v->arrays->a[v->arrays->n] = (struct ddb_jscan_array){.open = pos};
    v->tolerant = true;
    return 2;
}

/* The container at v->pos and everything in it, down to v->base levels: one loop, with the cursor,
 * the depth and the byte that closes the innermost container in locals. Each turn reads one value
 * (or opens a container and reads up to its first value), then closes containers and reads
 * separators until the next value is due. On failure v->pos and v->msg tell where and why. */
static enum lr_status run_containers(struct vstate *v, unsigned depth)
{
    const unsigned char *s = v->s;
    const size_t len = v->len;
    const unsigned base = v->base;
    size_t pos = v->pos;
    unsigned char close = depth > 0 ? v->closer[depth - 1] : 0;
    /* 2 while a noted array is open (it is at level 1), else 0: the level its elements start at.
     * While it is open, any value is inside one of its elements (v->tolerant). */
    unsigned counted = 0;
    /* The depth at which a close needs a second look: base, or 1 while a noted array is open. */
    unsigned watch = base;
    for (;;) {
        unsigned char b = pos < len ? s[pos] : 0; /* a value is due at pos */
        if (b == '"') {
            if (!string_at(v, s, len, &pos))
                break;
        } else if (b == '{') {
            if (depth >= DDB_MAX_JSON_DEPTH) {
                if (!skip_too_deep(v, &pos))
                    return LR_E_TOO_DEEP;
            } else {
                close = '}';
                v->closer[depth++] = close;
                pos++;
                b = byte_at(v, s, len, &pos, '"');
                if (b != '}') {
                    if (!member_name(v, s, len, &pos, b))
                        break;
                    continue;
                }
            }
        } else if (b == '[') {
            if (depth >= DDB_MAX_JSON_DEPTH) {
                if (!skip_too_deep(v, &pos))
                    return LR_E_TOO_DEEP;
            } else {
                if (!counted && (counted = note_array(v, pos, depth, close)) != 0)
                    watch = 1;
                close = ']';
                v->closer[depth++] = close;
                pos++;
                if (byte_at(v, s, len, &pos, ']') != ']') {
                    if (depth == counted) /* the first element of the noted array */
                        v->arrays->a[v->arrays->n].count++;
                    continue;
                }
            }
        } else if (is_ws(b)) {
            pos = skip_ws(v, pos);
            continue;
        } else if (!scalar_at(v, s, len, &pos, b)) {
            break;
        }
        /* After a value (inside a container): closers, then a separator (and a member name). */
        for (;;) {
            b = pos < len ? s[pos] : 0;
            if (b == ',') {
                pos++;
                if (close == ']') {
                    if (depth == counted)
                        v->arrays->a[v->arrays->n].count++;
                } else if (!member_name(v, s, len, &pos, byte_at(v, s, len, &pos, '"'))) {
                    v->pos = pos;
                    return LR_E_NOT_JSON;
                }
                break;
            }
            if (b == close) {
                pos++;
                if (--depth == watch) {
                    if (counted) { /* the noted array closed (it is at level 1) */
                        v->arrays->a[v->arrays->n++].close = pos;
                        v->tolerant = false;
                        counted = 0;
                        watch = base;
                    }
                    if (depth == base) {
                        v->pos = pos;
                        return LR_OK;
                    }
                }
                close = v->closer[depth - 1];
                continue;
            }
            if (!is_ws(b)) {
                v->msg = pos >= len ? "unexpected end of input" : "expected ',' or a close";
                v->pos = pos;
                return LR_E_NOT_JSON;
            }
            pos = skip_ws(v, pos);
        }
    }
    v->pos = pos;
    return LR_E_NOT_JSON;
}

/* The value at v->pos, at level `depth`; complete when back at v->base. */
static enum lr_status run(struct vstate *v, unsigned depth, size_t *err_off, const char **err_msg)
{
    v->pos = skip_ws(v, v->pos);
    unsigned char b = v->pos < v->len ? v->s[v->pos] : 0;
    enum lr_status st = b == '{' || b == '[' ? run_containers(v, depth) : lone_scalar(v);
    if (st != LR_OK) {
        *err_off = v->pos;
        *err_msg = v->msg;
    }
    return st;
}

static bool any_poisoned(const struct ddb_jscan_arrays *arrays)
{
    for (size_t i = 0; i < arrays->n; i++)
        if (arrays->a[i].poisoned)
            return true;
    return false;
}

enum lr_status ddb_jscan_validate(const char *s, size_t len, size_t start,
                                  struct ddb_jscan_arrays *arrays, size_t *err_off,
                                  const char **err_msg)
{
    struct vstate v = {.s = (const unsigned char *)s, .len = len, .pos = start, .arrays = arrays};
    if (arrays) {
        arrays->n = 0;
        arrays->marks.n = arrays->marks.next = 0;
        arrays->marks.end = SIZE_MAX;
    }
    enum lr_status st = run(&v, 0, err_off, err_msg);
    if (st != LR_OK)
        return st;
    v.pos = skip_ws(&v, v.pos);
    if (v.pos != len) {
        *err_off = v.pos;
        *err_msg = "unexpected data after the JSON value";
        return LR_E_NOT_JSON;
    }
    if (arrays) { /* a skipped bad element was not looked at for whitespace: not known compact */
        arrays->compact = !v.spaced && !any_poisoned(arrays);
        /* DEL is rare and valid anywhere in a string: one memchr() instead of a test per block */
        arrays->marks.log_text = arrays->compact && memchr(s + start, 0x7F, len - start) == NULL;
    }
    return LR_OK;
}

enum lr_status ddb_jscan_validate_element(const char *s, size_t len, size_t start, size_t *err_off,
                                          const char **err_msg)
{
    /* Levels 0 and 1: the top object and its member array, as in the whole document. */
    struct vstate v = {.s = (const unsigned char *)s, .len = len, .pos = start, .base = 2};
    v.closer[0] = '}';
    v.closer[1] = ']';
    return run(&v, 2, err_off, err_msg);
}
