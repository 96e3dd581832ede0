/* The benchmark floor: the least a custom runtime can do per invoke on the Runtime API. It reads the
 * whole event from /next, keeps the request id and answers a fixed {"batchItemFailures":[]} to
 * /response, with no JSON parsing and no logging. bench/run compares the bundled bootstrap with it.
 * It uses libcurl the way the runtime does (one easy handle, keep-alive, no total timeout), so the
 * difference between the two is the runtime's own work.
 *
 * With LR_FLOOR_WRITE_EVENT=1 in its environment it is the writing floor: the same loop that also
 * writes the whole event to stdout once per invoke (write(2) calls until it is all out, before the
 * answer is posted), the least "log every record" can cost: every byte of the event goes through
 * the log pipe once, with no formatting at all.
 *
 * Built with LR_FLOOR_AWS it is lr_bench_floor_aws, the same loop with lr_aws linked but not called
 * before the first GET /next, for the cold-start figure with and without the AWS client linked: an
 * invoke whose payload is exactly {"floor":"aws"} makes one DynamoDB ListTables call (credentials,
 * region, endpoint and CA bundle from the environment, as lr_aws reads them) and answers
 * {"aws":"<status>"}. That code path keeps the whole client in the binary; nothing of it runs until an
 * invoke asks. */
#define _POSIX_C_SOURCE 200809L /* strncasecmp */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>

#include "lr/runtime.h"
#ifdef LR_FLOOR_AWS
#include "lr/aws.h"
#endif

#define REQUEST_ID_MAX 128
#define URL_MAX 512

static const char REQUEST_ID_HEADER[] = "lambda-runtime-aws-request-id:";
static const char FIXED_RESPONSE[] = "{\"batchItemFailures\":[]}";

/* Event body buffer, reused across invokes; it only grows, up to LR_MAX_EVENT_BYTES. */
struct body {
    char *data;
    size_t len;
    size_t cap;
    int too_large;
};

struct floor_state {
    CURL *curl;
    struct body body;
    char request_id[REQUEST_ID_MAX + 1];
    char base[URL_MAX];
    int write_event; /* LR_FLOOR_WRITE_EVENT=1: the writing floor */
#ifdef LR_FLOOR_AWS
    struct lr_aws_client *aws; /* made by the first invoke that asks for a call */
    char answer[128];
#endif
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *user)
{
    struct body *b = user;
    size_t n = size * nmemb;
    if (n > LR_MAX_EVENT_BYTES - b->len) {
        b->too_large = 1;
        return 0; /* aborts the transfer: never buffer more than Lambda can send */
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < b->len + n)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown)
            abort(); /* Lambda replaces a crashed sandbox */
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    return n;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Keeps the request id (the only header the floor needs), bounded and trimmed. */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *user)
{
    char *id = ((struct floor_state *)user)->request_id;
    size_t n = size * nmemb;
    size_t name_len = sizeof(REQUEST_ID_HEADER) - 1;
    if (n <= name_len || strncasecmp(ptr, REQUEST_ID_HEADER, name_len) != 0)
        return n;
    const unsigned char *v = (const unsigned char *)ptr + name_len;
    size_t vlen = n - name_len;
    while (vlen && is_space(v[0])) {
        v++;
        vlen--;
    }
    while (vlen && is_space(v[vlen - 1]))
        vlen--;
    if (vlen > REQUEST_ID_MAX)
        vlen = 0; /* an oversized id is treated as missing */
    memcpy(id, v, vlen);
    id[vlen] = '\0';
    return n;
}

static int get_next(struct floor_state *st)
{
    char url[URL_MAX + 64];
    snprintf(url, sizeof(url), "%s/runtime/invocation/next", st->base);
    st->body.len = 0;
    st->body.too_large = 0;
    st->request_id[0] = '\0';
    curl_easy_reset(st->curl); /* keeps the connection cache: keep-alive survives */
    curl_easy_setopt(st->curl, CURLOPT_URL, url);
    curl_easy_setopt(st->curl, CURLOPT_TIMEOUT, 0L); /* the sandbox may freeze between invokes */
    curl_easy_setopt(st->curl, CURLOPT_CONNECTTIMEOUT, 1L);
    curl_easy_setopt(st->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(st->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(st->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(st->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(st->curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(st->curl, CURLOPT_WRITEDATA, &st->body);
    curl_easy_setopt(st->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(st->curl, CURLOPT_HEADERDATA, st);
    long code = 0;
    if (curl_easy_perform(st->curl) != CURLE_OK) {
        if (st->body.too_large)
            fprintf(stderr, "floor: event larger than %zu bytes\n", (size_t)LR_MAX_EVENT_BYTES);
        return -1;
    }
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &code);
    return (code == 200 && st->request_id[0] != '\0') ? 0 : -1;
}

#ifdef LR_FLOOR_AWS
static const char AWS_PAYLOAD[] = "{\"floor\":\"aws\"}";

/* The fixed answer, or for the payload AWS_PAYLOAD the status of one ListTables call. */
static const char *answer(struct floor_state *st)
{
    if (st->body.len != sizeof(AWS_PAYLOAD) - 1 ||
        memcmp(st->body.data, AWS_PAYLOAD, st->body.len) != 0)
        return FIXED_RESPONSE;
    struct lr_aws_response resp;
    enum lr_status status = st->aws ? LR_OK : lr_aws_client_new(NULL, &st->aws);
    lr_aws_response_init(&resp);
    if (status == LR_OK) /* no deadline: the floor does not read the invoke's */
        status =
            lr_aws_json_call(st->aws, &lr_aws_dynamodb, "ListTables", LR_STR_LIT("{}"), 0, &resp);
    snprintf(st->answer, sizeof(st->answer), "{\"aws\":\"%s\"}", lr_status_str(status));
    lr_aws_response_clean_up(&resp);
    return st->answer;
}
#else
static const char *answer(struct floor_state *st)
{
    (void)st;
    return FIXED_RESPONSE;
}
#endif

/* The writing floor's log: the event as it came, to stdout, in as few write(2) calls as the
 * kernel takes. A failed write ends the attempt, as the runtime drops a line it cannot write. */
static void write_event(const struct body *b)
{
    const char *p = b->data;
    size_t left = b->len;
    while (left > 0) {
        ssize_t n = write(STDOUT_FILENO, p, left);
        if (n <= 0)
            return;
        p += n;
        left -= (size_t)n;
    }
}

static int post_response(struct floor_state *st)
{
    const char *body = answer(st);
    char url[URL_MAX + REQUEST_ID_MAX + 64];
    snprintf(url, sizeof(url), "%s/runtime/invocation/%s/response", st->base, st->request_id);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    curl_easy_reset(st->curl);
    curl_easy_setopt(st->curl, CURLOPT_URL, url);
    curl_easy_setopt(st->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(st->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(st->curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(st->curl, CURLOPT_PROXY, "");
    curl_easy_setopt(st->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(st->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(st->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    CURLcode rc = curl_easy_perform(st->curl);
    long code = 0;
    curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(headers);
    return (rc == CURLE_OK && code >= 200 && code < 300) ? 0 : -1;
}

int main(void)
{
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api || !api[0] || strlen(api) > URL_MAX - 64) {
        fprintf(stderr, "floor: AWS_LAMBDA_RUNTIME_API missing or too long\n");
        return 1;
    }
    struct floor_state st;
    memset(&st, 0, sizeof(st));
    snprintf(st.base, sizeof(st.base), "http://%s/2018-06-01", api);
    const char *w = getenv("LR_FLOOR_WRITE_EVENT");
    st.write_event = w != NULL && strcmp(w, "1") == 0;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(st.curl = curl_easy_init()))
        return 1;
    int status = 0;
    for (;;) {
        int got = get_next(&st) == 0;
        if (got && st.write_event)
            write_event(&st.body);
        if (!got || post_response(&st) != 0) {
            fprintf(stderr, "floor: Runtime API exchange failed\n");
            status = 1;
            break;
        }
    }
#ifdef LR_FLOOR_AWS
    lr_aws_client_destroy(st.aws);
#endif
    curl_easy_cleanup(st.curl);
    free(st.body.data);
    curl_global_cleanup();
    return status;
}
