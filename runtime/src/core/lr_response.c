/* Response constructors (success copies or takes the body; failure renders the Lambda error
 * document) and the status names. */
#include "core/lr_response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr/buf.h"
#include "core/lr_log_escape.h"
#include "core/lr_log_internal.h"
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

const char *lr_status_str(enum lr_status st)
{
    switch (st) {
    case LR_OK: return "LR_OK";
    case LR_E_NO_MEMORY: return "LR_E_NO_MEMORY (out of memory)";
    case LR_E_CONFIG: return "LR_E_CONFIG (AWS_LAMBDA_RUNTIME_API missing or invalid)";
    case LR_E_TRANSPORT: return "LR_E_TRANSPORT (HTTP exchange failed)";
    case LR_E_PROTOCOL: return "LR_E_PROTOCOL (reply breaks the Runtime API contract)";
    case LR_E_TOO_LARGE: return "LR_E_TOO_LARGE (size cap exceeded)";
    case LR_E_HTTP_400: return "LR_E_HTTP_400 (invalid request id)";
    case LR_E_HTTP_403: return "LR_E_HTTP_403 (invalid state transition)";
    case LR_E_HTTP_413: return "LR_E_HTTP_413 (payload too large)";
    case LR_E_HTTP_500: return "LR_E_HTTP_500 (container error)";
    case LR_E_HTTP_OTHER: return "LR_E_HTTP_OTHER (unexpected HTTP status)";
    case LR_E_INVALID_ARG: return "LR_E_INVALID_ARG (invalid argument)";
    case LR_E_AWS_CONFIG: return "LR_E_AWS_CONFIG (AWS region, endpoint or setting missing or invalid)";
    case LR_E_AWS_CREDENTIALS: return "LR_E_AWS_CREDENTIALS (AWS credentials missing or invalid)";
    case LR_E_TLS_CA_BUNDLE: return "LR_E_TLS_CA_BUNDLE (no readable CA bundle)";
    case LR_E_TLS_HANDSHAKE: return "LR_E_TLS_HANDSHAKE (TLS handshake failed)";
    case LR_E_TLS_CERT_EXPIRED: return "LR_E_TLS_CERT_EXPIRED (server certificate expired)";
    case LR_E_TLS_CERT_HOST: return "LR_E_TLS_CERT_HOST (server certificate is for another host)";
    case LR_E_TLS_CERT_UNTRUSTED: return "LR_E_TLS_CERT_UNTRUSTED (server certificate not trusted)";
    case LR_E_AWS_CONNECT: return "LR_E_AWS_CONNECT (could not connect, or closed before answering)";
    case LR_E_AWS_TIMEOUT: return "LR_E_AWS_TIMEOUT (attempt timed out)";
    case LR_E_AWS_TRUNCATED: return "LR_E_AWS_TRUNCATED (answer shorter than announced)";
    case LR_E_AWS_BAD_RESPONSE: return "LR_E_AWS_BAD_RESPONSE (success answer with an unreadable body)";
    case LR_E_AWS_BAD_ERROR: return "LR_E_AWS_BAD_ERROR (error answer without an AWS error code)";
    case LR_E_AWS_THROTTLED: return "LR_E_AWS_THROTTLED (throttled on every attempt)";
    case LR_E_AWS_SERVICE: return "LR_E_AWS_SERVICE (AWS error answer)";
    case LR_E_DEADLINE: return "LR_E_DEADLINE (gave up before the invoke deadline)";
    }
    return "LR_E_UNKNOWN (not a status)";
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
    lr_buf_commit(b, lr_log_escape_ex(dst, max, s, len, LR_ESCAPE_JSON, &need));
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
