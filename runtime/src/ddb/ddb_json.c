/* Validator and cursor over JSON text. The validator is the only place that checks syntax; every
 * walker afterwards relies on it but still never reads past len. */
#include "ddb/ddb_json.h"

#include <stdint.h>
#include <string.h>

#define DEPTH_WORDS ((DDB_MAX_JSON_DEPTH + 63) / 64)

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
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

/* Four hex digits at p (caller checked the length), or -1. */
static long hex4(const unsigned char *p)
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

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates), or 0. */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF; /* UTF-16 surrogates are not characters */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (avail < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

/* Validates a \u escape at s[*i] (the backslash), including surrogate pairing. */
static bool scan_unicode_escape(const unsigned char *s, size_t end, size_t *i, const char **msg)
{
    if (end - *i < 6 || hex4(s + *i + 2) < 0) {
        *msg = "bad \\u escape";
        return false;
    }
    long cp = hex4(s + *i + 2);
    *i += 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
        *msg = "unpaired low surrogate in \\u escape";
        return false;
    }
    if (cp < 0xD800 || cp > 0xDBFF)
        return true;
    long lo = (end - *i >= 6 && s[*i] == '\\' && s[*i + 1] == 'u') ? hex4(s + *i + 2) : -1;
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
    while (i < len) {
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
        size_t n = utf8_len(s + i, len - i);
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

size_t ddb_json_number_len(const char *s, size_t len)
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
    uint64_t is_obj[DEPTH_WORDS]; /* bit per level: object (1) or array (0) */
    const char *msg;
};

static void skip_ws_v(struct vstate *v)
{
    while (v->pos < v->len && is_ws(v->s[v->pos]))
        v->pos++;
}

static bool top_is_obj(const struct vstate *v)
{
    unsigned d = v->depth - 1;
    return (v->is_obj[d / 64] >> (d % 64)) & 1u;
}

static enum ddb_status push(struct vstate *v, bool obj)
{
    if (v->depth >= DDB_MAX_JSON_DEPTH) {
        v->msg = "nesting too deep";
        return DDB_E_TOO_DEEP;
    }
    unsigned d = v->depth++;
    uint64_t bit = (uint64_t)1 << (d % 64);
    v->is_obj[d / 64] = obj ? (v->is_obj[d / 64] | bit) : (v->is_obj[d / 64] & ~bit);
    v->pos++;
    return DDB_OK;
}

/* Member key and colon, cursor on the key's quote. */
static bool scan_key(struct vstate *v)
{
    skip_ws_v(v);
    if (v->pos >= v->len || v->s[v->pos] != '"') {
        v->msg = "expected a member name";
        return false;
    }
    if (!scan_string(v->s, v->len, &v->pos, &v->msg))
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
static enum ddb_status scan_value_start(struct vstate *v, bool *opened)
{
    skip_ws_v(v);
    *opened = false;
    if (v->pos >= v->len) {
        v->msg = "unexpected end of input";
        return DDB_E_NOT_JSON;
    }
    unsigned char c = v->s[v->pos];
    if (c == '{' || c == '[') {
        *opened = true;
        return push(v, c == '{');
    }
    if (c == '"')
        return scan_string(v->s, v->len, &v->pos, &v->msg) ? DDB_OK : DDB_E_NOT_JSON;
    if (c == 't' || c == 'f' || c == 'n')
        return scan_literal(v, c == 't' ? "true" : c == 'f' ? "false" : "null") ? DDB_OK
                                                                                : DDB_E_NOT_JSON;
    size_t n = ddb_json_number_len((const char *)v->s + v->pos, v->len - v->pos);
    if (!n) {
        v->msg = c == '-' || is_digit(c) ? "invalid number" : "unexpected character";
        return DDB_E_NOT_JSON;
    }
    v->pos += n;
    return DDB_OK;
}

/* After a value or an opening: closes containers / consumes separators until the next value is
 * due (returns true) or the top level is done (*done). */
static enum ddb_status scan_after(struct vstate *v, bool just_opened, bool *done)
{
    *done = false;
    for (;;) {
        skip_ws_v(v);
        if (v->depth == 0) {
            *done = true;
            return DDB_OK;
        }
        char close = top_is_obj(v) ? '}' : ']';
        unsigned char c = v->pos < v->len ? v->s[v->pos] : 0;
        if (c == (unsigned char)close) {
            v->pos++;
            v->depth--;
            just_opened = false;
            continue;
        }
        if (!just_opened) {
            if (c != ',') {
                v->msg = v->pos >= v->len ? "unexpected end of input" : "expected ',' or a close";
                return DDB_E_NOT_JSON;
            }
            v->pos++;
        }
        if (close == '}' && !scan_key(v))
            return DDB_E_NOT_JSON;
        return DDB_OK;
    }
}

enum ddb_status ddb_json_validate(const char *s, size_t len, size_t start, size_t *err_off,
                                  const char **err_msg)
{
    struct vstate v = {.s = (const unsigned char *)s, .len = len, .pos = start};
    enum ddb_status st;
    bool opened, done = false;
    while (!done) {
        st = scan_value_start(&v, &opened);
        if (st == DDB_OK)
            st = scan_after(&v, opened, &done);
        if (st != DDB_OK) {
            *err_off = v.pos;
            *err_msg = v.msg;
            return st;
        }
    }
    if (v.pos != len) {
        *err_off = v.pos;
        *err_msg = "unexpected data after the JSON value";
        return DDB_E_NOT_JSON;
    }
    return DDB_OK;
}

/* ---- Cursor over validated text ---- */

static void skip_ws(struct ddb_json *j)
{
    while (j->pos < j->len && is_ws((unsigned char)j->s[j->pos]))
        j->pos++;
}

char ddb_json_peek(struct ddb_json *j)
{
    skip_ws(j);
    return j->pos < j->len ? j->s[j->pos] : '\0';
}

void ddb_json_read_string(struct ddb_json *j, struct ddb_jstr *out)
{
    size_t i = j->pos + 1;
    out->start = i;
    out->escaped = false;
    while (i < j->len && j->s[i] != '"') {
        if (j->s[i] == '\\') {
            out->escaped = true;
            i++; /* the escaped byte can be a quote */
        }
        i++;
    }
    if (i > j->len)
        i = j->len;
    out->end = i;
    j->pos = i < j->len ? i + 1 : j->len;
}

void ddb_json_read_scalar(struct ddb_json *j, size_t *start, size_t *end)
{
    skip_ws(j);
    *start = j->pos;
    while (j->pos < j->len) {
        char c = j->s[j->pos];
        if (c == ',' || c == '}' || c == ']' || is_ws((unsigned char)c))
            break;
        j->pos++;
    }
    *end = j->pos;
}

void ddb_json_skip(struct ddb_json *j)
{
    size_t depth = 0;
    do {
        char c = ddb_json_peek(j);
        if (c == '\0')
            return;
        if (c == '"') {
            struct ddb_jstr ignored;
            ddb_json_read_string(j, &ignored);
        } else if (c == '{' || c == '[') {
            depth++;
            j->pos++;
        } else if (c == '}' || c == ']') {
            depth--;
            j->pos++;
        } else if (c == ',' || c == ':') {
            j->pos++;
        } else {
            size_t a, b;
            ddb_json_read_scalar(j, &a, &b);
        }
    } while (depth > 0);
}

void ddb_json_enter(struct ddb_json *j)
{
    skip_ws(j);
    j->pos++;
}

static bool at_close_or_comma(struct ddb_json *j, char close)
{
    char c = ddb_json_peek(j);
    if (c == close || c == '\0') {
        if (c)
            j->pos++;
        return true;
    }
    if (c == ',')
        j->pos++;
    return false;
}

bool ddb_json_next_member(struct ddb_json *j, struct ddb_jstr *key)
{
    if (at_close_or_comma(j, '}'))
        return false;
    skip_ws(j);
    ddb_json_read_string(j, key);
    if (ddb_json_peek(j) == ':')
        j->pos++;
    skip_ws(j);
    return true;
}

bool ddb_json_next_element(struct ddb_json *j)
{
    if (at_close_or_comma(j, ']'))
        return false;
    skip_ws(j);
    return true;
}

size_t ddb_json_count(const struct ddb_json *j)
{
    struct ddb_json c = *j;
    char open = ddb_json_peek(&c);
    size_t n = 0;
    ddb_json_enter(&c);
    if (open == '{') {
        struct ddb_jstr key;
        while (ddb_json_next_member(&c, &key)) {
            ddb_json_skip(&c);
            n++;
        }
    } else {
        while (ddb_json_next_element(&c)) {
            ddb_json_skip(&c);
            n++;
        }
    }
    return n;
}

/* ---- Decoding ---- */

static size_t put_utf8(unsigned long cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes one character of validated string content at s[*i] into out[0..4), advancing *i. */
static size_t decode_one(const unsigned char *s, size_t end, size_t *i, unsigned char *out)
{
    if (s[*i] != '\\') {
        out[0] = s[(*i)++];
        return 1;
    }
    unsigned char e = *i + 1 < end ? s[*i + 1] : '\\';
    static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
    const char *hit = e ? strchr(from, e) : NULL;
    if (e != 'u' || end - *i < 6) {
        out[0] = hit ? (unsigned char)to[hit - from] : e;
        *i += 2;
        return 1;
    }
    unsigned long cp = (unsigned long)hex4(s + *i + 2);
    *i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && end - *i >= 6) {
        unsigned long lo = (unsigned long)hex4(s + *i + 2);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        *i += 6;
    }
    return put_utf8(cp, out);
}

bool ddb_json_str_eq(const char *s, const struct ddb_jstr *str, const char *lit)
{
    size_t n = strlen(lit);
    if (!str->escaped)
        return str->end - str->start == n && memcmp(s + str->start, lit, n) == 0;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = str->start, k = 0;
    unsigned char buf[4];
    while (i < str->end) {
        size_t m = decode_one(u, str->end, &i, buf);
        if (k + m > n || memcmp(lit + k, buf, m) != 0)
            return false;
        k += m;
    }
    return k == n;
}

bool ddb_json_str_get(const char *s, const struct ddb_jstr *str, struct ddb_arena *a,
                      struct lr_str *out)
{
    size_t raw = str->end - str->start;
    if (!str->escaped) {
        *out = (struct lr_str){s + str->start, raw};
        return true;
    }
    /* Decoding never makes text longer: \uXXXX (6) -> at most 3 bytes, a pair (12) -> 4. */
    unsigned char *dst = ddb_arena_alloc(a, raw + 1);
    if (!dst)
        return false;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = str->start, k = 0;
    while (i < str->end)
        k += decode_one(u, str->end, &i, dst + k);
    *out = (struct lr_str){(const char *)dst, k};
    return true;
}
