/* One-pass iterative JSON validator. It is the only place that checks syntax (including UTF-8 and
 * nesting); the cursor in ddb_json.c relies on it but still never reads past the end. */
#include "ddb/ddb_jscan.h"

#include <stdint.h>
#include <string.h>

#include "lr/utf8.h"

#define DEPTH_WORDS ((DDB_MAX_JSON_DEPTH + 63) / 64)

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

static size_t digits(const char *s, size_t len, size_t i)
{
    while (i < len && is_digit((unsigned char)s[i]))
        i++;
    return i;
}

size_t ddb_jscan_number_len(const char *s, size_t len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    if (i >= len || !is_digit((unsigned char)s[i]))
        return 0;
    i = s[i] == '0' ? i + 1 : digits(s, len, i);
    if (i < len && s[i] == '.') {
        size_t f = digits(s, len, i + 1);
        if (f == i + 1)
            return 0;
        i = f;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = i + 1;
        if (e < len && (s[e] == '+' || s[e] == '-'))
            e++;
        size_t f = digits(s, len, e);
        if (f == e)
            return 0;
        i = f;
    }
    return i;
}

struct vstate {
    const unsigned char *s;
    size_t len;
    size_t pos;
    unsigned depth;
    unsigned base;                /* the depth at which the value being validated is complete */
    uint64_t is_obj[DEPTH_WORDS]; /* bit per level: object (1) or array (0) */
    const char *msg;
    struct ddb_jscan_arrays *arrays; /* where member arrays of the top object are noted, or NULL */
    bool tracking;                   /* arrays->a[arrays->n] is the array being scanned */
    bool spaced;                     /* whitespace was skipped between tokens */
};

/* Inside an element of a noted array, a bad element is noted and skipped instead of failing. */
static bool tolerated(const struct vstate *v)
{
    return v->tracking && v->depth >= 2;
}

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

static inline void skip_ws_v(struct vstate *v)
{
    while (v->pos < v->len && is_ws(v->s[v->pos])) {
        v->pos++;
        v->spaced = true; /* only ever reached with whitespace: compact text never pays for it */
    }
}

static bool top_is_obj(const struct vstate *v)
{
    unsigned d = v->depth - 1;
    return (v->is_obj[d / 64] >> (d % 64)) & 1u;
}

static enum lr_status push(struct vstate *v, bool obj, bool *opened)
{
    if (v->depth >= DDB_MAX_JSON_DEPTH) {
        v->msg = "nesting too deep";
        size_t at = v->pos;
        if (!tolerated(v) || !skip_container_lenient(v)) {
            v->pos = at;
            return LR_E_TOO_DEEP;
        }
        note_bad_element(v, LR_E_TOO_DEEP, at);
        *opened = false; /* skipped whole, like a scalar */
        return LR_OK;
    }
    unsigned d = v->depth++;
    uint64_t bit = (uint64_t)1 << (d % 64);
    v->is_obj[d / 64] = obj ? (v->is_obj[d / 64] | bit) : (v->is_obj[d / 64] & ~bit);
    if (d == 1 && !obj && (v->is_obj[0] & 1u) && v->arrays && v->arrays->n < DDB_JSCAN_ARRAYS) {
        v->arrays->a[v->arrays->n] = (struct ddb_jscan_array){.open = v->pos};
        v->tracking = true;
    }
    v->pos++;
    *opened = true;
    return LR_OK;
}

/* scan_string_v() past its fast path: the string holds a backslash or a byte that is not ASCII,
 * or is bad. Bad content inside an element of a noted array is noted and skipped. */
static bool scan_string_v_slow(struct vstate *v)
{
    if (scan_string(v->s, v->len, &v->pos, &v->msg))
        return true;
    size_t bad = v->pos; /* past the opening quote: where the string went wrong */
    if (!tolerated(v) || !skip_string_lenient(v, bad)) {
        v->pos = bad;
        return false;
    }
    note_bad_element(v, LR_E_NOT_JSON, bad);
    return true;
}

/* A string at v->pos (its quote). Most strings are plain ASCII: then the first special byte is the
 * closing quote, found here without a call (scan_string() would find the same); the rest goes the
 * full way. */
static inline bool scan_string_v(struct vstate *v)
{
    size_t i = ddb_jscan_find_special(v->s, v->len, v->pos + 1, true);
    if (i < v->len && v->s[i] == '"') {
        v->pos = i + 1;
        return true;
    }
    return scan_string_v_slow(v);
}

/* Member key and colon, cursor on the key's quote. */
static bool scan_key(struct vstate *v)
{
    skip_ws_v(v);
    if (v->pos >= v->len || v->s[v->pos] != '"') {
        v->msg = "expected a member name";
        return false;
    }
    if (!scan_string_v(v))
        return false;
    skip_ws_v(v);
    if (v->pos >= v->len || v->s[v->pos] != ':') {
        v->msg = "expected ':'";
        return false;
    }
    v->pos++;
    return true;
}

static bool scan_literal(struct vstate *v, const char *lit)
{
    size_t n = strlen(lit);
    if (v->len - v->pos < n || memcmp(v->s + v->pos, lit, n) != 0) {
        v->msg = "invalid literal";
        return false;
    }
    v->pos += n;
    return true;
}

/* One scalar value, or the opening of a container. *opened says which. */
static enum lr_status scan_value_start(struct vstate *v, bool *opened)
{
    skip_ws_v(v);
    *opened = false;
    if (v->pos >= v->len) {
        v->msg = "unexpected end of input";
        return LR_E_NOT_JSON;
    }
    unsigned char c = v->s[v->pos];
    if (c == '{' || c == '[')
        return push(v, c == '{', opened);
    if (c == '"')
        return scan_string_v(v) ? LR_OK : LR_E_NOT_JSON;
    if (c == 't' || c == 'f' || c == 'n')
        return scan_literal(v, c == 't'   ? "true"
                               : c == 'f' ? "false"
                                          : "null")
                   ? LR_OK
                   : LR_E_NOT_JSON;
    size_t n = ddb_jscan_number_len((const char *)v->s + v->pos, v->len - v->pos);
    if (!n) {
        v->msg = c == '-' || is_digit(c) ? "invalid number" : "unexpected character";
        return LR_E_NOT_JSON;
    }
    v->pos += n;
    return LR_OK;
}

/* After a value or an opening: closes containers / consumes separators until the next value is
 * due (returns true) or the top level is done (*done). */
static enum lr_status scan_after(struct vstate *v, bool just_opened, bool *done)
{
    *done = false;
    for (;;) {
        if (v->depth == v->base) {
            *done = true;
            return LR_OK;
        }
        skip_ws_v(v);
        char close = top_is_obj(v) ? '}' : ']';
        unsigned char c = v->pos < v->len ? v->s[v->pos] : 0;
        if (c == (unsigned char)close) {
            v->pos++;
            v->depth--;
            if (v->tracking && v->depth == 1) {
                v->arrays->a[v->arrays->n++].close = v->pos;
                v->tracking = false;
            }
            just_opened = false;
            continue;
        }
        if (!just_opened) {
            if (c != ',') {
                v->msg = v->pos >= v->len ? "unexpected end of input" : "expected ',' or a close";
                return LR_E_NOT_JSON;
            }
            v->pos++;
        }
        if (close == '}' && !scan_key(v))
            return LR_E_NOT_JSON;
        return LR_OK;
    }
}

static enum lr_status run(struct vstate *v, size_t *err_off, const char **err_msg)
{
    bool opened, done = false;
    while (!done) {
        if (v->tracking && v->depth == 2) /* a value starts right inside the noted array */
            v->arrays->a[v->arrays->n].count++;
        enum lr_status st = scan_value_start(v, &opened);
        if (st == LR_OK)
            st = scan_after(v, opened, &done);
        if (st != LR_OK) {
            *err_off = v->pos;
            *err_msg = v->msg;
            return st;
        }
    }
    return LR_OK;
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
    if (arrays)
        arrays->n = 0;
    enum lr_status st = run(&v, err_off, err_msg);
    if (st != LR_OK)
        return st;
    skip_ws_v(&v);
    if (v.pos != len) {
        *err_off = v.pos;
        *err_msg = "unexpected data after the JSON value";
        return LR_E_NOT_JSON;
    }
    if (arrays) /* a skipped bad element was not looked at for whitespace: not known compact */
        arrays->compact = !v.spaced && !any_poisoned(arrays);
    return LR_OK;
}

enum lr_status ddb_jscan_validate_element(const char *s, size_t len, size_t start, size_t *err_off,
                                          const char **err_msg)
{
    /* Levels 0 and 1: the top object and its member array, as in the whole document. */
    struct vstate v = {
        .s = (const unsigned char *)s, .len = len, .pos = start, .depth = 2, .base = 2};
    v.is_obj[0] = 1;
    return run(&v, err_off, err_msg);
}
