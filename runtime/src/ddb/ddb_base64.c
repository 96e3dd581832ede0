/* Strict base64: DynamoDB always emits canonical padded base64, so anything else is a fault. */
#include "ddb/ddb_base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* value_of(c) + 1 for the 64 letters of the alphabet, 0 for every other byte: one load per
 * character on the common path. */
static const unsigned char plus_one[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64};

static bool fail(size_t pos, const char *msg, size_t *bad_pos, const char **why)
{
    *bad_pos = pos;
    *why = msg;
    return false;
}

/* Number of '=' at the end of the last quantum (0..2), or -1 if padding is misplaced there. */
static int padding_of(const unsigned char *q)
{
    if (q[3] != '=')
        return 0;
    if (q[2] != '=')
        return 1;
    return 2;
}

/* Decodes the last quantum q[0..4) into out when it is canonical (letters, then at most two '='
 * with zero unused bits before them) and returns its length, 1..3; 0 leaves it to the general
 * loop, which reports what is wrong (and rewrites out). */
static size_t last_plain(const unsigned char *q, unsigned char *out)
{
    unsigned a = plus_one[q[0]], b = plus_one[q[1]];
    if (!a || !b)
        return 0;
    out[0] = (unsigned char)((a - 1) << 2 | (b - 1) >> 4);
    if (q[2] == '=' && q[3] == '=')
        return ((b - 1) & 15) == 0 ? 1 : 0;
    unsigned c = plus_one[q[2]];
    if (!c)
        return 0;
    out[1] = (unsigned char)((b - 1) << 4 | (c - 1) >> 2);
    if (q[3] == '=')
        return ((c - 1) & 3) == 0 ? 2 : 0;
    unsigned d = plus_one[q[3]];
    if (!d)
        return 0;
    out[2] = (unsigned char)((c - 1) << 6 | (d - 1));
    return 3;
}

/* Decodes the quanta of t[0..len) before the last one as long as they hold only letters of the
 * alphabet (the usual case); returns where it stopped, a multiple of 4, with *n bytes in out. */
static size_t decode_plain(const unsigned char *t, size_t len, unsigned char *out, size_t *n)
{
    size_t q = 0, k = 0;
    for (; len - q > 4; q += 4) {
        unsigned a = plus_one[t[q]], b = plus_one[t[q + 1]], c = plus_one[t[q + 2]],
                 d = plus_one[t[q + 3]];
        if (!a || !b || !c || !d)
            break; /* the general loop reports it */
        unsigned long acc = (unsigned long)(a - 1) << 18 | (unsigned long)(b - 1) << 12 |
                            (unsigned long)(c - 1) << 6 | (unsigned long)(d - 1);
        out[k] = (unsigned char)(acc >> 16);
        out[k + 1] = (unsigned char)(acc >> 8);
        out[k + 2] = (unsigned char)acc;
        k += 3;
    }
    size_t last = len - q == 4 ? last_plain(t + q, out + k) : 0;
    *n = k + last;
    return last ? len : q;
}

bool ddb_base64_decode(const char *text, size_t len, unsigned char *out, size_t *out_len,
                       size_t *bad_pos, const char **why)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t n = 0;
    /* the general loop below checks each of the remaining quanta, the last one with padding */
    for (size_t q = decode_plain(t, len, out, &n); q < len; q += 4) {
        bool last = q + 4 >= len;
        if (len - q < 4)
            return fail(len, "length is not a multiple of 4", bad_pos, why);
        int pad = last ? padding_of(t + q) : 0;
        unsigned long acc = 0;
        for (size_t i = 0; i < 4; i++) {
            int v = i < 4 - (size_t)pad ? (int)plus_one[t[q + i]] - 1 : 0;
            if (v < 0)
                return fail(
                    q + i, t[q + i] == '=' ? "misplaced padding" : "character outside the alphabet",
                    bad_pos, why);
            acc = acc << 6 | (unsigned long)v;
        }
        if ((pad == 1 && (acc & 0xFF)) || (pad == 2 && (acc & 0xFFFF)))
            return fail(q + 3 - (size_t)pad, "non-zero unused bits before padding", bad_pos, why);
        out[n++] = (unsigned char)(acc >> 16);
        if (pad < 2)
            out[n++] = (unsigned char)(acc >> 8);
        if (pad < 1)
            out[n++] = (unsigned char)acc;
    }
    *out_len = n;
    return true;
}

size_t ddb_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

void ddb_base64_encode(const unsigned char *bytes, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned long acc = (unsigned long)bytes[i] << 16;
        if (i + 1 < len)
            acc |= (unsigned long)bytes[i + 1] << 8;
        if (i + 2 < len)
            acc |= bytes[i + 2];
        out[o++] = alphabet[(acc >> 18) & 63];
        out[o++] = alphabet[(acc >> 12) & 63];
        out[o++] = i + 1 < len ? alphabet[(acc >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? alphabet[acc & 63] : '=';
    }
}

void ddb_base64_put_quoted(struct lr_buf *b, const unsigned char *bytes, size_t len)
{
    size_t n = ddb_base64_encoded_len(len);
    lr_buf_put_char(b, '"');
    char *dst = lr_buf_put_reserve(b, n);
    if (dst == NULL)
        return;
    ddb_base64_encode(bytes, len, dst);
    lr_buf_commit(b, n);
    lr_buf_put_char(b, '"');
}
