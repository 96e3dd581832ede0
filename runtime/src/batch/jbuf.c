/* Capped growing buffer and JSON string escaping for the batch layer's renderers. */
#include "batch/jbuf.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jbuf_init(struct jbuf *b, size_t max_bytes)
{
    assert(b);
    memset(b, 0, sizeof(*b));
    b->max = max_bytes;
}

void jbuf_clean_up(struct jbuf *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* Makes room for len more bytes plus a NUL; false (and sticky overflow) past the cap. */
static bool reserve(struct jbuf *b, size_t len)
{
    if (b->overflow || len > b->max - b->len) {
        b->overflow = true;
        return false;
    }
    size_t need = b->len + len + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(b->data, cap);
    if (!p)
        abort(); /* out of memory: Lambda replaces the sandbox */
    b->data = p;
    b->cap = cap;
    return true;
}

void jbuf_append(struct jbuf *b, const char *bytes, size_t len)
{
    if (len == 0 || !reserve(b, len))
        return;
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void jbuf_append_cstr(struct jbuf *b, const char *s)
{
    jbuf_append(b, s, strlen(s));
}

void jbuf_append_i64(struct jbuf *b, int64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%" PRId64, v);
    if (n > 0)
        jbuf_append(b, tmp, (size_t)n);
}

size_t jbuf_utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0; /* continuation byte, C0/C1 overlong lead, or > U+10FFFF lead */
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0u) != 0x80u)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3Fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0; /* overlong or out of range */
    if (cp >= 0xD800 && cp <= 0xDFFF)
        return 0; /* UTF-16 surrogates are not characters */
    return n;
}

/* The escape for one byte below 0x20 or DEL, or NULL when the byte needs none. */
static const char *short_escape(unsigned char c, char tmp[8])
{
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\b': return "\\b";
    case '\f': return "\\f";
    default: break;
    }
    if (c < 0x20 || c == 0x7F) {
        snprintf(tmp, 8, "\\u%04x", (unsigned)c);
        return tmp;
    }
    return NULL;
}

void jbuf_append_json_string(struct jbuf *b, const char *bytes, size_t len)
{
    const unsigned char *s = (const unsigned char *)bytes;
    size_t run = 0; /* start of the pending run of bytes that need no escaping */
    jbuf_append(b, "\"", 1);
    for (size_t i = 0; i < len;) {
        char tmp[8];
        const char *esc = short_escape(s[i], tmp);
        size_t n = esc ? 0 : jbuf_utf8_seq_len(s + i, len - i);
        if (!esc && n > 0) {
            i += n;
            continue;
        }
        jbuf_append(b, bytes + run, i - run);
        jbuf_append_cstr(b, esc ? esc : "\\ufffd");
        i++;
        run = i;
    }
    jbuf_append(b, bytes + run, len - run);
    jbuf_append(b, "\"", 1);
}

char *jbuf_take(struct jbuf *b, size_t *len_out)
{
    if (b->overflow) {
        jbuf_clean_up(b);
        if (len_out)
            *len_out = 0;
        return NULL;
    }
    if (!b->data)
        reserve(b, 0); /* an empty document is still a valid, NUL-terminated string */
    char *out = b->data;
    if (out)
        out[b->len] = '\0';
    if (len_out)
        *len_out = b->len;
    memset(b, 0, sizeof(*b));
    return out;
}
