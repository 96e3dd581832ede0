/* The JSON string escaper: every byte that could split a log event (\n), forge one (\r, ANSI/C1
 * control sequences, U+2028/U+2029 line separators) or break JSON is escaped; valid UTF-8 text is
 * kept as is; each byte that does not start a valid UTF-8 sequence becomes \ufffd. */
#include "lr/json.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/lr_bytes.h"
#include "lr/utf8.h"

static size_t hex_escape(char out[LR_JSON_ESCAPE_MAX_UNIT], unsigned code)
{
    static const char hex[] = "0123456789abcdef";
    out[0] = '\\';
    out[1] = 'u';
    out[2] = hex[(code >> 12) & 0xF];
    out[3] = hex[(code >> 8) & 0xF];
    out[4] = hex[(code >> 4) & 0xF];
    out[5] = hex[code & 0xF];
    return 6;
}

static size_t ascii_unit(unsigned char c, enum lr_json_escape mode,
                         char out[LR_JSON_ESCAPE_MAX_UNIT])
{
    const char *two = NULL;
    switch (c) {
    case '\n': two = "\\n"; break;
    case '\r': two = "\\r"; break;
    case '\t': two = "\\t"; break;
    case '\\': two = "\\\\"; break;
    case '"': two = mode == LR_JSON_ESCAPE_TEXT ? NULL : "\\\""; break;
    case '\b': two = mode == LR_JSON_ESCAPE_MIN ? "\\b" : NULL; break;
    case '\f': two = mode == LR_JSON_ESCAPE_MIN ? "\\f" : NULL; break;
    default: break;
    }
    if (two != NULL) {
        memcpy(out, two, 2);
        return 2;
    }
    if (c < 0x20 || c == 0x7F) /* NUL, ESC and the other C0 controls, DEL */
        return hex_escape(out, c);
    out[0] = (char)c;
    return 1;
}

/* Escaped form of the character at p: its output in out, the input bytes it used in *used. */
static size_t next_unit(const unsigned char *p, size_t n, enum lr_json_escape mode,
                        char out[LR_JSON_ESCAPE_MAX_UNIT], size_t *used)
{
    *used = 1;
    if (p[0] < 0x80)
        return ascii_unit(p[0], mode, out);
    size_t seq = lr_utf8_seq_len(p, n);
    if (seq == 0)
        return hex_escape(out, 0xFFFD);
    *used = seq;
    if (mode == LR_JSON_ESCAPE_MIN) { /* not a log line: C1 and U+2028/9 are plain JSON text */
        memcpy(out, p, seq);
        return seq;
    }
    if (seq == 2 && p[0] == 0xC2 && p[1] <= 0x9F) /* C1 controls, e.g. U+009B (8-bit CSI) */
        return hex_escape(out, p[1]);
    if (seq == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
        return hex_escape(out,
                          0x2000u | (p[2] & 0x3Fu)); /* U+2028/U+2029 end lines for some readers */
    memcpy(out, p, seq);
    return seq;
}

/* ---- Fast scan of plain runs ----
 * Most log text is printable ASCII that every mode copies unchanged. Runs of it are found sixteen
 * bytes at a time with SSE2, else eight (a vector or word-wide test for "some byte needs attention")
 * and copied in one memcpy; only the byte that stopped the run goes through next_unit(), so the
 * output is exactly the per-character one.
 */

/* Nonzero when a byte of w is not printable ASCII, or is " or \: a byte no mode copies blindly. */
static uint64_t word_not_plain(uint64_t w)
{
    return lr_bytes_not_printable(w) | lr_bytes_equal(w, '"') | lr_bytes_equal(w, '\\');
}

/* Printable ASCII: 0x20..0x7E. */
static bool byte_inert(unsigned char c)
{
    return c >= 0x20 && c < 0x7F;
}

/* Printable ASCII that JSON keeps as is (" and \ need attention; so they do in Text mode, where
 * next_unit() keeps " and escapes \ itself). */
static bool byte_plain(unsigned char c)
{
    return byte_inert(c) && c != '"' && c != '\\';
}

/* Length of the run of printable ASCII other than " and \ at the start of p[0..n). Whole words
 * first; when only a partial word is left, the last eight bytes are tested at once (overlapping
 * bytes already known to be plain), so a clean string never takes the byte loop. */
static size_t plain_run(const unsigned char *p, size_t n)
{
    size_t k = 0;
#if LR_BYTES_BLOCK == 16
    while (n - k >= 16 && !lr_bytes_block_not_plain(p + k, 1))
        k += 16;
#endif
    while (n - k >= 8 && word_not_plain(lr_bytes_load(p + k)) == 0)
        k += 8;
    if (k == n || (n >= 8 && n - k < 8 && word_not_plain(lr_bytes_load(p + n - 8)) == 0))
        return n;
    while (k < n && byte_plain(p[k]))
        k++;
    return k;
}

/* Length of the run of printable ASCII (" and \ included) at the start of p[0..n). */
static size_t inert_run(const unsigned char *p, size_t n)
{
    size_t k = 0;
#if LR_BYTES_BLOCK == 16
    while (n - k >= 16 && !lr_bytes_block_not_plain(p + k, 0))
        k += 16;
#endif
    while (n - k >= 8 && lr_bytes_not_printable(lr_bytes_load(p + k)) == 0)
        k += 8;
    if (k == n || (n >= 8 && n - k < 8 && lr_bytes_not_printable(lr_bytes_load(p + n - 8)) == 0))
        return n;
    while (k < n && byte_inert(p[k]))
        k++;
    return k;
}

/* memcpy() for the short strings most values are, without the call: two overlapping words when
 * n is 8..16, bytes below that. */
static void copy_plain(char *dst, const unsigned char *src, size_t n)
{
    if (n > 16) {
        memcpy(dst, src, n);
    } else if (n >= 8) {
        uint64_t a = lr_bytes_load(src), b = lr_bytes_load(src + n - 8);
        memcpy(dst, &a, 8);
        memcpy(dst + n - 8, &b, 8);
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = (char)src[i];
    }
}

/* Where the escaping of one call stands: the bytes written, the full length, and whether a unit
 * already failed to fit (later, shorter ones must not be written). */
struct esc_out {
    char *dst;
    size_t cap, written, total;
    bool full;
};

/* Adds len output bytes (written when they still fit); false once nothing more will be written
 * and the caller does not want the full length. */
static bool esc_emit(struct esc_out *o, const char *bytes, size_t len, size_t unit, bool want_total)
{
    /* unit: 1 for a run of single-byte characters (cut anywhere), len for one escaped character. */
    size_t room = o->full ? 0 : o->cap - o->written;
    size_t fit = len <= room ? len : (unit == 1 ? room : 0);
    if (fit > 0) {
        memcpy(o->dst + o->written, bytes, fit);
        o->written += fit;
    }
    if (fit < len)
        o->full = true;
    o->total += len;
    return want_total || !o->full;
}

size_t lr_json_escape(char *dst, size_t cap, const char *bytes, size_t len,
                      enum lr_json_escape mode, size_t *needed)
{
    const unsigned char *p = (const unsigned char *)bytes;
    if (len <= cap && plain_run(p, len) == len) { /* most strings: nothing to escape, and it fits */
        copy_plain(dst, p, len);
        if (needed != NULL)
            *needed = len;
        return len;
    }
    struct esc_out o = {dst, cap, 0, 0, false};
    bool want_total = needed != NULL;
    char unit[LR_JSON_ESCAPE_MAX_UNIT];
    for (size_t i = 0, used = 0; i < len; i += used) {
        used = plain_run(p + i, len - i);
        if (used > 0) {
            if (!esc_emit(&o, bytes + i, used, 1, want_total))
                break;
            continue;
        }
        size_t ulen = next_unit(p + i, len - i, mode, unit, &used);
        if (!esc_emit(&o, unit, ulen, ulen, want_total))
            break;
    }
    if (needed != NULL)
        *needed = o.total;
    return o.written;
}

bool lr_json_is_inert(const char *bytes, size_t len)
{
    const unsigned char *p = (const unsigned char *)bytes;
    char unit[LR_JSON_ESCAPE_MAX_UNIT];
    for (size_t i = 0, used = 0; i < len; i += used) {
        used = inert_run(p + i, len - i);
        if (used > 0)
            continue;
        if (p[i] < 0x80) /* a C0 control or DEL */
            return false;
        size_t ulen = next_unit(p + i, len - i, LR_JSON_ESCAPE_LOG, unit, &used);
        if (ulen != used || memcmp(unit, p + i, used) != 0)
            return false; /* invalid UTF-8, a C1 control, U+2028 or U+2029 */
    }
    return true;
}

/* ---- Compact text ----
 * A JSON text the program would write the same way itself: checked a block at a time (see
 * base/lr_bytes.h); a block with nothing but printable ASCII other than backslash and space only
 * changes the in-string state by its quotes, any other block goes byte by byte. */

/* One character of the byte path at p[*i]: false when the text is not compact log text. */
static bool compact_step(const unsigned char *p, size_t len, size_t *i, bool *in_string)
{
    unsigned char c = p[*i];
    if (c == '"') {
        *in_string = !*in_string;
        *i += 1;
        return true;
    }
    if (c >= 0x80) { /* kept only where the log escaping keeps it, and only inside a string */
        char unit[LR_JSON_ESCAPE_MAX_UNIT];
        size_t used = 0;
        size_t ulen = next_unit(p + *i, len - *i, LR_JSON_ESCAPE_LOG, unit, &used);
        if (!*in_string || ulen != used || memcmp(unit, p + *i, used) != 0)
            return false;
        *i += used;
        return true;
    }
    /* a backslash (an escape), DEL and C0 controls are never kept; a space only inside a string */
    if (c == '\\' || c == 0x7F || c < 0x20 || (c == ' ' && !*in_string))
        return false;
    *i += 1;
    return true;
}

bool lr_json_is_compact_log_text(const char *json, size_t len)
{
    const unsigned char *p = (const unsigned char *)json;
    bool in_string = false;
    size_t i = 0;
    while (i < len) {
        if (len - i < LR_BYTES_BLOCK) {
            if (!compact_step(p, len, &i, &in_string))
                return false;
            continue;
        }
        int attention = 0;
        unsigned odd_quotes = lr_bytes_block_quote_parity(p + i, &attention);
        if (!attention) {
            in_string ^= odd_quotes != 0;
            i += LR_BYTES_BLOCK;
            continue;
        }
        for (size_t end = i + LR_BYTES_BLOCK; i < end;) /* a UTF-8 sequence may pass end */
            if (!compact_step(p, len, &i, &in_string))
                return false;
    }
    return !in_string;
}

size_t lr_json_compact(char *dst, size_t cap, const char *json, size_t len)
{
    struct esc_out o = {dst, cap, 0, 0, false};
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = json[i];
        if (in_string) {
            if (c == '\\' && i + 1 < len) { /* an escape: its next byte cannot end the string */
                esc_emit(&o, json + i++, 2, 2, true);
                continue;
            }
            if (c == 0x7F) { /* the one control byte JSON lets a string carry raw */
                esc_emit(&o, "\\u007f", 6, 6, true);
                continue;
            }
            in_string = c != '"';
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            continue;
        } else {
            in_string = c == '"';
        }
        esc_emit(&o, &c, 1, 1, true);
    }
    return o.total;
}

size_t lr_json_escape_str(char *dst, size_t cap, const char *bytes, size_t len)
{
    if (cap == 0) {
        size_t needed = 0;
        lr_json_escape(NULL, 0, bytes, len, LR_JSON_ESCAPE_LOG, &needed);
        return needed;
    }
    size_t needed = 0;
    size_t written = lr_json_escape(dst, cap - 1, bytes, len, LR_JSON_ESCAPE_LOG, &needed);
    dst[written] = '\0';
    return needed;
}

size_t lr_json_int(char out[LR_JSON_INT_MAX], int64_t v)
{
    /* The magnitude as unsigned: -INT64_MIN does not fit an int64_t. */
    uint64_t u = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
    char digits[LR_JSON_INT_MAX];
    size_t n = 0;
    do {
        digits[sizeof(digits) - ++n] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0)
        out[len++] = '-';
    memcpy(out + len, digits + sizeof(digits) - n, n);
    return len + n;
}
