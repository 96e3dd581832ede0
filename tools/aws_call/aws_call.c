/* aws_call: drives lr_aws from the integration tests and the benchmark; the packaging superbuild also
 * links it statically (mbedTLS), for the static build's end-to-end test against moto over TLS.
 *   aws_call [--repeat N] [--deadline-ms MS] [--backoff-base-ms MS] [--curl-init 1]
 *            [--max-response-bytes N] [--connect-timeout-ms MS] SERVICE OPERATION BODY_FILE
 * SERVICE is dynamodb, dynamodbstreams, sqs, events, firehose (JSON protocols: OPERATION is e.g.
 * PutItem) or sns (query protocol: OPERATION is ignored, the body holds Action=...). One client makes
 * every call, as a handler's client serves every invoke. Per call it prints one line
 *   status=<name> http=<code> attempts=<n> us=<microseconds> code=<AWS code> message=<AWS message>
 * and after the last call the body as "body=<bytes>", unless it was an AWS error answer (its code
 * and message are above). --deadline-ms gives each call a deadline that
 * many ms after its start; --curl-init 1 runs curl_global_init() first, as a bootstrap's Runtime API
 * client has done before any handler runs. Exit status 0 when every call returned LR_OK. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "lr/aws.h"
#include "lr/log.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = (size_t)8 << 20;
    char *data = malloc(cap);
    *len = data ? fread(data, 1, cap, f) : 0;
    fclose(f);
    return data;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    long repeat = 1, deadline = 0, base = -1, curl_init = 0, max_response = 0, connect = 0;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        long v = strtol(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--repeat") == 0)
            repeat = v;
        else if (strcmp(argv[i], "--deadline-ms") == 0)
            deadline = v;
        else if (strcmp(argv[i], "--backoff-base-ms") == 0)
            base = v;
        else if (strcmp(argv[i], "--curl-init") == 0)
            curl_init = v;
        else if (strcmp(argv[i], "--max-response-bytes") == 0)
            max_response = v;
        else if (strcmp(argv[i], "--connect-timeout-ms") == 0)
            connect = v;
        else
            return 2;
    }
    const struct lr_aws_service *svc = i + 3 == argc ? lr_aws_service_by_name(argv[i]) : NULL;
    size_t len = 0;
    char *body = svc ? read_file(argv[i + 2], &len) : NULL;
    if (body == NULL) {
        fprintf(stderr, "usage: aws_call [--repeat N] [--deadline-ms MS] [--backoff-base-ms MS] "
                        "[--curl-init 1] SERVICE OPERATION BODY_FILE\n");
        return 2;
    }
    lr_log_init_from_env();
    if (curl_init && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 2;
    struct lr_aws_settings s;
    enum lr_status st = lr_aws_settings_init(&s);
    struct lr_aws_client *client = NULL;
    if (base >= 0)
        s.backoff_base_ms = (uint32_t)base;
    if (max_response > 0)
        s.max_response_bytes = (size_t)max_response;
    if (connect > 0)
        s.connect_timeout_ms = (uint32_t)connect;
    if (st == LR_OK)
        st = lr_aws_client_new(&s, &client);
    struct lr_aws_response resp;
    lr_aws_response_init(&resp);
    bool all_ok = st == LR_OK;
    if (st != LR_OK)
        printf("status=%s http=0 attempts=0 us=0 code= message=\n", lr_status_str(st));
    for (long n = 0; client != NULL && n < repeat; n++) {
        int64_t t0 = now_us();
        int64_t dl = deadline > 0 ? t0 / 1000 + deadline : 0;
        struct lr_str b = {body, len};
        st = svc->target_prefix ? lr_aws_json_call(client, svc, argv[i + 1], b, dl, &resp)
                                : lr_aws_query_call(client, svc, b, dl, &resp);
        printf("status=%s http=%ld attempts=%u us=%lld code=%s message=%s\n", lr_status_str(st),
               resp.http_status, resp.attempts, (long long)(now_us() - t0), resp.error_code,
               resp.error_message);
        all_ok = all_ok && st == LR_OK;
    }
    /* An AWS error answer is its code and message, printed above: the rest of its body can hold the
     * canonical request AWS computed, session token included (a signature mismatch). */
    if (client != NULL && resp.error_code[0] == '\0')
        printf("body=%.*s\n", (int)resp.body.len, resp.body.data ? resp.body.data : "");
    lr_aws_response_clean_up(&resp);
    lr_aws_client_destroy(client);
    free(body);
    lr_log_flush();
    if (curl_init)
        curl_global_cleanup();
    return all_ok ? 0 : 1;
}
