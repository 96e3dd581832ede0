/* Success and error answers of the JSON and query protocols. */
#include "aws/lr_aws_answer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "aws/lr_aws_retry.h"

/* Copies at most n bytes of src, printable ASCII only (anything else becomes '?'): an error message from
 * outside may end up in a log line. */
static void copy_printable(char *dst, size_t cap, const char *src, size_t n)
{
    size_t i = 0;
    for (; i < n && i + 1 < cap && src[i] != '\0'; i++)
        dst[i] = src[i] >= 0x20 && src[i] < 0x7F ? src[i] : '?';
    dst[i] = '\0';
}

/* An error message: its first line only. A signature mismatch answer goes on, after a blank line,
 * with the canonical request AWS computed, x-amz-security-token and all, which must reach no log
 * line; an XML answer may write that line break as a character reference. */
static void copy_message(char *dst, size_t cap, const char *src, size_t n)
{
    size_t line = 0;
    while (line < n && src[line] != '\0' && src[line] != '\n' && src[line] != '\r' &&
           !(src[line] == '&' && n - line >= 2 && src[line + 1] == '#'))
        line++;
    copy_printable(dst, cap, src, line);
}

/* "com.amazonaws.dynamodb.v20120810#ThrottlingException" and "ThrottlingException:http://..." both
 * mean "ThrottlingException". */
static void set_code(struct lr_aws_response *resp, const char *code, size_t n)
{
    const char *hash = memchr(code, '#', n);
    if (hash != NULL) {
        n -= (size_t)(hash + 1 - code);
        code = hash + 1;
    }
    const char *colon = memchr(code, ':', n);
    if (colon != NULL)
        n = (size_t)(colon - code);
    copy_printable(resp->error_code, sizeof(resp->error_code), code, n);
}

/* The text of the first <tag>...</tag> in the body, bounded by the body. */
static const char *xml_text(const struct lr_buf *body, const char *tag, size_t *n)
{
    char open[32], close[32];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *start =
        body->data ? strstr(body->data, open) : NULL; /* lr_buf keeps data NUL-terminated */
    const char *end = start ? strstr(start, close) : NULL;
    if (end == NULL)
        return NULL;
    start += strlen(open);
    *n = (size_t)(end - start);
    return start;
}

static void xml_error(struct lr_aws_response *resp)
{
    size_t n = 0;
    const char *code = xml_text(&resp->body, "Code", &n);
    if (code != NULL)
        set_code(resp, code, n);
    const char *msg = xml_text(&resp->body, "Message", &n);
    if (msg != NULL)
        copy_message(resp->error_message, sizeof(resp->error_message), msg, n);
}

static const char *json_string(const cJSON *obj, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, a);
    if (!cJSON_IsString(v))
        v = cJSON_GetObjectItemCaseSensitive(obj, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void json_error(struct lr_aws_response *resp, const char *error_type)
{
    cJSON *doc = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "", resp->body.len);
    const char *code = cJSON_IsObject(doc) ? json_string(doc, "__type", "code") : NULL;
    const char *msg = cJSON_IsObject(doc) ? json_string(doc, "message", "Message") : NULL;
    if (code == NULL && *error_type != '\0')
        code = error_type;
    if (code != NULL)
        set_code(resp, code, strlen(code));
    if (msg != NULL)
        copy_message(resp->error_message, sizeof(resp->error_message), msg, strlen(msg));
    cJSON_Delete(doc);
}

/* A query-protocol answer is one XML document: '<' first and '>' last, blanks aside. */
static bool looks_like_xml(const struct lr_buf *body)
{
    size_t a = 0, z = body->len;
    while (a < z && strchr(" \t\r\n", body->data[a]) != NULL)
        a++;
    while (z > a && strchr(" \t\r\n", body->data[z - 1]) != NULL)
        z--;
    return z > a && body->data[a] == '<' && body->data[z - 1] == '>';
}

enum lr_status lr_aws_answer_read(bool json_protocol, const char *error_type,
                                  struct lr_aws_response *resp)
{
    if (resp->http_status >= 200 && resp->http_status < 300) {
        if (!json_protocol)
            return looks_like_xml(&resp->body) ? LR_OK : LR_E_AWS_BAD_RESPONSE;
        resp->json = cJSON_ParseWithLength(resp->body.data ? resp->body.data : "", resp->body.len);
        return cJSON_IsObject(resp->json) ? LR_OK : LR_E_AWS_BAD_RESPONSE;
    }
    if (json_protocol)
        json_error(resp, error_type);
    if (resp->error_code[0] ==
        '\0') /* query errors, and what some front ends answer JSON calls with */
        xml_error(resp);
    if (resp->error_code[0] == '\0')
        return resp->http_status == 429 ? LR_E_AWS_THROTTLED : LR_E_AWS_BAD_ERROR;
    return lr_aws_retry_is_throttling(resp->error_code) ? LR_E_AWS_THROTTLED : LR_E_AWS_SERVICE;
}
