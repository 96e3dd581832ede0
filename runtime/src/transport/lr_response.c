/* Response constructors: success copies or takes the body; failure renders the Lambda error
 * document. */
#include "transport/lr_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr/buf.h"
#include "lr/json.h"
#include "lr/log.h"
#include "lr/runtime.h"

static const char default_content_type[] = "application/json";

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (p == NULL) {
        fputs("lambda-ddb: out of memory\n", stderr);
        abort(); /* Lambda replaces a crashed sandbox */
    }
    return p;
}

size_t lr_response_header_value(char dst[LR_HEADER_VALUE_MAX + 1], const char *src)
{
    size_t n = 0;
    if (src == NULL)
        src = "";
    while (*src == ' ')
        src++;
    for (; *src != '\0' && n < LR_HEADER_VALUE_MAX; src++) {
        unsigned char c = (unsigned char)*src;
        dst[n++] = (c >= 0x20 && c <= 0x7E) ? (char)c : '_';
    }
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = '\0';
    return n;
}

struct lr_invocation_response lr_response_success(const char *payload, size_t len,
                                                  const char *content_type)
{
    char *copy = xmalloc(len + 1);
    if (len > 0)
        memcpy(copy, payload, len);
    copy[len] = '\0';
    return lr_response_success_take(copy, len, content_type);
}

struct lr_invocation_response lr_response_success_take(char *payload, size_t len,
                                                       const char *content_type)
{
    struct lr_invocation_response r;
    memset(&r, 0, sizeof(r));
    r.body = payload;
    r.body_len = payload != NULL ? len : 0;
    r.content_type = content_type != NULL ? content_type : default_content_type;
    r.success = true;
    return r;
}

static void append_or_abort(struct lr_buf *b, const char *s, size_t n)
{
    if (lr_buf_append(b, s, n) != LR_OK)
        abort(); /* the body buffer's cap is above the largest body built here */
}

/* Appends the JSON escaping of s, cut (never inside a character) at max bytes with a mark. */
static void append_json_string(struct lr_buf *b, const char *s, size_t max)
{
    size_t len = strlen(s), need = 0;
    char *dst = lr_buf_reserve(b, max);
    if (dst == NULL)
        abort();
    lr_buf_commit(b, lr_json_escape(dst, max, s, len, LR_JSON_ESCAPE_LOG, &need));
    if (need > max)
        append_or_abort(b, LR_LOG_TRUNCATION_MARK, sizeof(LR_LOG_TRUNCATION_MARK) - 1);
}

struct lr_invocation_response lr_response_failure(const char *error_message, const char *error_type)
{
    struct lr_buf body;
    lr_buf_init(&body, LR_ERROR_MESSAGE_MAX + 4 * LR_HEADER_VALUE_MAX + 128);
    append_or_abort(&body, "{\"errorMessage\":\"", 17);
    append_json_string(&body, error_message != NULL ? error_message : "", LR_ERROR_MESSAGE_MAX);
    append_or_abort(&body, "\",\"errorType\":\"", 15);
    append_json_string(&body, error_type != NULL ? error_type : "", 2 * LR_HEADER_VALUE_MAX);
    append_or_abort(&body, "\",\"stackTrace\":[]}", 18);

    char header[LR_HEADER_VALUE_MAX + 1];
    size_t header_len = lr_response_header_value(header, error_type);
    struct lr_invocation_response r;
    memset(&r, 0, sizeof(r));
    r.body = body.data; /* ownership moves to the response */
    r.body_len = body.len;
    r.content_type = default_content_type;
    r.error_type = xmalloc(header_len + 1);
    memcpy(r.error_type, header, header_len + 1);
    r.success = false;
    return r;
}

void lr_response_clean_up(struct lr_invocation_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    free(resp->error_type);
    memset(resp, 0, sizeof(*resp));
}
