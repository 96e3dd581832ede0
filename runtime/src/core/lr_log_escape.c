/* Escaping for log lines: every byte that could split a log event (\n), forge one (\r, ANSI/C1
 * control sequences, U+2028/U+2029 line separators) or break JSON is escaped; valid UTF-8 text is
 * kept as is; each byte that does not start a valid UTF-8 sequence becomes \ufffd. */
#include "core/lr_log_escape.h"

#include <string.h>

#include "lr/log.h"
#include "lr/utf8.h"

static size_t hex_escape(char out[LR_ESCAPE_MAX_UNIT], unsigned code)
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

static size_t ascii_unit(unsigned char c, enum lr_escape_mode mode, char out[LR_ESCAPE_MAX_UNIT])
{
    const char *two = NULL;
    switch (c) {
    case '\n': two = "\\n"; break;
    case '\r': two = "\\r"; break;
    case '\t': two = "\\t"; break;
    case '\\': two = "\\\\"; break;
    case '"': two = mode == LR_ESCAPE_TEXT ? NULL : "\\\""; break;
    case '\b': two = mode == LR_ESCAPE_JSON_MIN ? "\\b" : NULL; break;
    case '\f': two = mode == LR_ESCAPE_JSON_MIN ? "\\f" : NULL; break;
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
static size_t next_unit(const unsigned char *p, size_t n, enum lr_escape_mode mode,
                        char out[LR_ESCAPE_MAX_UNIT], size_t *used)
{
    *used = 1;
    if (p[0] < 0x80)
        return ascii_unit(p[0], mode, out);
    size_t seq = lr_utf8_seq_len(p, n);
    if (seq == 0)
        return hex_escape(out, 0xFFFD);
    *used = seq;
    if (mode == LR_ESCAPE_JSON_MIN) { /* not a log line: C1 and U+2028/9 are plain JSON text */
        memcpy(out, p, seq);
        return seq;
    }
    if (seq == 2 && p[0] == 0xC2 && p[1] <= 0x9F) /* C1 controls, e.g. U+009B (8-bit CSI) */
        return hex_escape(out, p[1]);
    if (seq == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
        return hex_escape(out, 0x2000u | (p[2] & 0x3Fu)); /* U+2028/U+2029 end lines for some readers */
    memcpy(out, p, seq);
    return seq;
}

size_t lr_log_escape_ex(char *dst, size_t cap, const char *bytes, size_t len,
                        enum lr_escape_mode mode, size_t *needed)
{
    const unsigned char *p = (const unsigned char *)bytes;
    size_t written = 0, total = 0, used = 0;
    int full = 0; /* once one unit did not fit, later (shorter) ones must not be written */
    char unit[LR_ESCAPE_MAX_UNIT];
    for (size_t i = 0; i < len; i += used) {
        size_t ulen = next_unit(p + i, len - i, mode, unit, &used);
        if (!full && ulen <= cap - written) {
            memcpy(dst + written, unit, ulen);
            written += ulen;
        } else {
            full = 1;
            if (needed == NULL)
                break;
        }
        total += ulen;
    }
    if (needed != NULL)
        *needed = total;
    return written;
}

int lr_log_escape_is_inert(const char *bytes, size_t len)
{
    const unsigned char *p = (const unsigned char *)bytes;
    size_t used = 0;
    char unit[LR_ESCAPE_MAX_UNIT];
    for (size_t i = 0; i < len; i += used) {
        if (p[i] == '"' || p[i] == '\\') { /* JSON syntax, not a control: inert */
            used = 1;
            continue;
        }
        size_t ulen = next_unit(p + i, len - i, LR_ESCAPE_JSON, unit, &used);
        if (ulen != used || memcmp(unit, p + i, used) != 0)
            return 0;
    }
    return 1;
}

size_t lr_log_escape(char *dst, size_t cap, const char *bytes, size_t len)
{
    if (cap == 0) {
        size_t needed = 0;
        lr_log_escape_ex(NULL, 0, bytes, len, LR_ESCAPE_JSON, &needed);
        return needed;
    }
    size_t needed = 0;
    size_t written = lr_log_escape_ex(dst, cap - 1, bytes, len, LR_ESCAPE_JSON, &needed);
    dst[written] = '\0';
    return needed;
}
