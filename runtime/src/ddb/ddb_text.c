/* Escaping for log-safe JSON strings. */
#include "ddb/ddb_text.h"

#include <stdbool.h>
#include <string.h>

size_t ddb_text_utf8_len(const unsigned char *p, size_t avail)
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

/* The escaped form of one character starting at p, written to piece; returns its length and the
 * number of input bytes it covers in *used. */
static size_t escape_one(const unsigned char *p, size_t avail, char piece[8], size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = p[0];
    size_t n = ddb_text_utf8_len(p, avail);
    *used = n ? n : 1;
    if (!n) {
        memcpy(piece, "\\ufffd", 6);
        return 6;
    }
    if (c == '"' || c == '\\') {
        piece[0] = '\\';
        piece[1] = (char)c;
        return 2;
    }
    /* C0, DEL and the C1 range (U+0080..U+009F, e.g. the 8-bit CSI) can drive terminals. */
    unsigned cp = n == 1 ? c : (n == 2 ? (unsigned)((c & 0x1F) << 6 | (p[1] & 0x3F)) : 0x100);
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
        const char *named = cp == '\n' ? "\\n" : cp == '\r' ? "\\r" : cp == '\t' ? "\\t" : NULL;
        if (named) {
            memcpy(piece, named, 2);
            return 2;
        }
        memcpy(piece, "\\u00", 4);
        piece[4] = hex[cp >> 4];
        piece[5] = hex[cp & 15];
        return 6;
    }
    memcpy(piece, p, n);
    return n;
}

size_t ddb_text_escape(char *dst, size_t cap, const char *bytes, size_t len)
{
    const unsigned char *p = (const unsigned char *)bytes;
    size_t need = 0, out = 0;
    bool cut = cap == 0;
    for (size_t i = 0; i < len;) {
        char piece[8];
        size_t used;
        size_t m = escape_one(p + i, len - i, piece, &used);
        if (!cut && out + m < cap) {
            memcpy(dst + out, piece, m);
            out += m;
        } else {
            cut = true;
        }
        need += m;
        i += used;
    }
    if (cap > 0)
        dst[out] = '\0';
    return need;
}
