/* Cursor over JSON text already checked by ddb_jscan_validate(), and decoding of its strings. */
#include "ddb/ddb_json.h"

#include <string.h>

#include "ddb/ddb_jscan.h"

void ddb_json_read_scalar(struct ddb_json *j, size_t *start, size_t *end)
{
    ddb_json_skip_ws(j);
    *start = j->pos;
    /* Digits never end a scalar: numbers (timestamps, sizes) are stepped over eight at a time. */
    while (j->len - j->pos >= 8 &&
           ddb_json_eight_digits(lr_bytes_load((const unsigned char *)j->s + j->pos)))
        j->pos += 8;
    while (j->pos < j->len) {
        char c = j->s[j->pos];
        /* Valid JSON ends a scalar with one of the first three or whitespace. The rest also end it
         * in text the validator skipped without checking (nesting past its limit), so that
         * ddb_json_skip() finds the end the validator found: a record's end, and the next one. */
        if (c == ',' || c == '}' || c == ']' || ddb_json_is_ws((unsigned char)c) || c == '"' ||
            c == '{' || c == '[' || c == ':')
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

void ddb_json_read_string_slow(struct ddb_json *j, struct ddb_jstr *out, size_t i)
{
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
    unsigned long cp = (unsigned long)ddb_jscan_hex4(s + *i + 2);
    *i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF && end - *i >= 6) {
        unsigned long lo = (unsigned long)ddb_jscan_hex4(s + *i + 2);
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        *i += 6;
    }
    return put_utf8(cp, out);
}

bool ddb_json_str_eq_escaped(const char *s, const struct ddb_jstr *str, const char *lit)
{
    size_t n = strlen(lit);
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

bool ddb_json_str_decode(const char *s, const struct ddb_jstr *str, struct ddb_arena *a,
                         struct lr_str *out)
{
    size_t raw = str->end - str->start;
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
