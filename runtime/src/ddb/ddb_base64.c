/* Strict base64: DynamoDB always emits canonical padded base64, so anything else is a fault. */
#include "ddb/ddb_base64.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

size_t ddb_base64_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

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

bool ddb_base64_decode(const char *text, size_t len, unsigned char *out, size_t *out_len,
                       size_t *bad_pos, const char **why)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t n = 0;
    for (size_t q = 0; q < len; q += 4) {
        bool last = q + 4 >= len;
        if (len - q < 4)
            return fail(len, "length is not a multiple of 4", bad_pos, why);
        int pad = last ? padding_of(t + q) : 0;
        unsigned long acc = 0;
        for (size_t i = 0; i < 4; i++) {
            int v = i < 4 - (size_t)pad ? value_of(t[q + i]) : 0;
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
