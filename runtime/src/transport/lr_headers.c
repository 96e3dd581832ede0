/* /next response header parsing: bounded, case-insensitive, strict about the headers we use and
 * tolerant of the ones we do not. Also home of lr_parse_u64(), the bounded number parser. */
#include "transport/lr_headers.h"

#include <string.h>

static const char *const header_names[LR_HDR_COUNT] = {
    [LR_HDR_REQUEST_ID] = "lambda-runtime-aws-request-id",
    [LR_HDR_DEADLINE_MS] = "lambda-runtime-deadline-ms",
    [LR_HDR_FUNCTION_ARN] = "lambda-runtime-invoked-function-arn",
    [LR_HDR_TRACE_ID] = "lambda-runtime-trace-id",
    [LR_HDR_CLIENT_CONTEXT] = "lambda-runtime-client-context",
    [LR_HDR_COGNITO] = "lambda-runtime-cognito-identity",
    [LR_HDR_TENANT_ID] = "lambda-runtime-aws-tenant-id",
    [LR_HDR_CONTENT_TYPE] = "content-type",
};

enum lr_status lr_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    /* 19 digits always fit in uint64_t (max 20 digits), so no overflow check is needed per step. */
    if (s == NULL || len == 0 || len > 19)
        return LR_E_PROTOCOL;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < '0' || c > '9')
            return LR_E_PROTOCOL;
        v = v * 10 + (uint64_t)(c - '0');
    }
    if (v > max)
        return LR_E_PROTOCOL;
    *out = v;
    return LR_OK;
}

void lr_headers_init(struct lr_headers *h)
{
    memset(h, 0, sizeof(*h));
    /* + one NUL per known value */
    lr_buf_init(&h->store, LR_HEADERS_MAX_TOTAL + LR_HDR_COUNT);
}

static void forget_values(struct lr_headers *h)
{
    lr_buf_reset(&h->store);
    memset(h->present, 0, sizeof(h->present));
    memset(h->off, 0, sizeof(h->off));
    memset(h->len, 0, sizeof(h->len));
}

void lr_headers_reset(struct lr_headers *h)
{
    forget_values(h);
    h->total = 0;
}

void lr_headers_clean_up(struct lr_headers *h)
{
    lr_buf_clean_up(&h->store);
    lr_headers_reset(h);
}

/* RFC 9110 token characters. */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Index of the known header called name[0..len), or LR_HDR_COUNT. */
static enum lr_header_id lookup(const char *name, size_t len)
{
    for (size_t id = 0; id < LR_HDR_COUNT; id++) {
        const char *known = header_names[id];
        if (strlen(known) != len)
            continue;
        size_t i = 0;
        while (i < len && lower((unsigned char)name[i]) == (unsigned char)known[i])
            i++;
        if (i == len)
            return (enum lr_header_id)id;
    }
    return LR_HDR_COUNT;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static enum lr_status store_value(struct lr_headers *h, enum lr_header_id id, const char *v,
                                  size_t n)
{
    if (h->present[id])
        return LR_E_PROTOCOL; /* two different request ids, say: which one would be right? */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7F)
            return LR_E_PROTOCOL; /* RFC 9110 forbids them; we pass values on (env, URL, logs) */
    }
    size_t off = h->store.len;
    enum lr_status st = lr_buf_append(&h->store, v, n);
    if (st == LR_OK)
        st = lr_buf_append(&h->store, "", 1); /* keeps each value NUL-terminated */
    if (st != LR_OK)
        return st;
    h->off[id] = off;
    h->len[id] = n;
    h->present[id] = true;
    return LR_OK;
}

static enum lr_status parse_field(struct lr_headers *h, const char *line, size_t len)
{
    const char *colon = memchr(line, ':', len);
    if (colon == NULL || colon == line)
        return LR_E_PROTOCOL;
    size_t name_len = (size_t)(colon - line);
    for (size_t i = 0; i < name_len; i++)
        if (!is_tchar((unsigned char)line[i]))
            return LR_E_PROTOCOL; /* also rejects obs-fold continuation lines */
    enum lr_header_id id = lookup(line, name_len);
    if (id == LR_HDR_COUNT)
        return LR_OK; /* not ours: ignored */
    const char *v = colon + 1;
    size_t n = len - name_len - 1;
    while (n > 0 && is_ows(v[0])) {
        v++;
        n--;
    }
    while (n > 0 && is_ows(v[n - 1]))
        n--;
    return store_value(h, id, v, n);
}

enum lr_status lr_headers_parse_line(struct lr_headers *h, const char *line, size_t len)
{
    if (len > LR_HEADER_MAX_LINE || len > LR_HEADERS_MAX_TOTAL - h->total)
        return LR_E_TOO_LARGE;
    h->total += len;
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return LR_OK; /* end of a header block */
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        forget_values(h); /* a new response (after 1xx): only its headers count */
        return LR_OK;
    }
    return parse_field(h, line, len);
}

struct lr_str lr_headers_get(const struct lr_headers *h, enum lr_header_id id)
{
    if ((size_t)id >= LR_HDR_COUNT || !h->present[id])
        return (struct lr_str){"", 0};
    return (struct lr_str){h->store.data + h->off[id], h->len[id]};
}

enum lr_status lr_headers_check(const struct lr_headers *h)
{
    struct lr_str id = lr_headers_get(h, LR_HDR_REQUEST_ID);
    if (id.len == 0 || id.len > LR_REQUEST_ID_MAX)
        return LR_E_PROTOCOL;
    for (size_t i = 0; i < id.len; i++) {
        unsigned char c = (unsigned char)id.ptr[i];
        if (c < 0x21 || c > 0x7E)
            return LR_E_PROTOCOL;
    }
    return LR_OK;
}

bool lr_headers_deadline_ms(const struct lr_headers *h, int64_t now_ms, int64_t fallback_ms,
                            int64_t *deadline_ms)
{
    struct lr_str v = lr_headers_get(h, LR_HDR_DEADLINE_MS);
    uint64_t parsed = 0;
    if (lr_parse_u64(v.ptr, v.len, (uint64_t)LR_DEADLINE_MAX_MS, &parsed) == LR_OK &&
        parsed >= (uint64_t)LR_DEADLINE_MIN_MS) {
        *deadline_ms = (int64_t)parsed;
        return true;
    }
    /* Saturating: now and fallback come from our own clock and configuration, but stay safe. */
    if (fallback_ms > 0 && now_ms > INT64_MAX - fallback_ms)
        *deadline_ms = INT64_MAX;
    else
        *deadline_ms = now_ms + fallback_ms;
    return false;
}
