/* lr-test-bootstrap: a function on the real runtime library for the integration tests. Its behaviour
 * is LR_TB_MODE, or the "tb_mode" member of an event that is a JSON object (per-invoke override):
 *   echo (default)  answer the event itself
 *   info            answer {"pid","count","worker","worker_count","request_id","trace","deadline_ms",
 *                   "remaining_ms","function_arn","client_context","tenant_id","env":{...}}
 *   trace           answer the value of _X_AMZN_TRACE_ID, or <unset>
 *   error           report a function error (LR_TB_ERROR_TYPE, default Custom.Boom; message "boom")
 *   init-error      (LR_TB_MODE only) report /init/error and exit 1 without serving
 *   crash           exit(LR_TB_EXIT_CODE, default 3), or raise LR_TB_SIGNAL when set
 *   sleep           sleep LR_TB_SLEEP_MS (or the event's "ms") milliseconds, then echo
 *   big             answer a JSON string of LR_TB_BIG_BYTES (or the event's "bytes") bytes
 *   stack           use 3 MiB of the stack (a handler with large locals), then echo
 *   fixed           (LR_TB_MODE only) answer {"batchItemFailures":[]} without reading the event:
 *                   the run loop alone, the floor of bench/concurrency_bench.py at any concurrency
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "lr/log.h"
#include "lr/runtime.h"

/* Counted by every worker when AWS_LAMBDA_MAX_CONCURRENCY runs several. */
static atomic_ulong invocations;

static long env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    return v && *v ? atol(v) : fallback;
}

static long event_long(const cJSON *event, const char *key, long fallback)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(event, key);
    return cJSON_IsNumber(n) ? (long)n->valuedouble : fallback;
}

static struct lr_invocation_response json_answer(cJSON *o)
{
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    return lr_response_success_take(text, strlen(text), "application/json");
}

static void add_env(cJSON *env, const char *name)
{
    const char *v = getenv(name);
    if (v)
        cJSON_AddStringToObject(env, name, v);
}

static struct lr_invocation_response info(const struct lr_invocation_request *req)
{
    static const char *const names[] = {"AWS_LAMBDA_RUNTIME_API",
                                        "AWS_LAMBDA_FUNCTION_NAME",
                                        "AWS_LAMBDA_FUNCTION_VERSION",
                                        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                        "AWS_LAMBDA_LOG_GROUP_NAME",
                                        "AWS_LAMBDA_LOG_STREAM_NAME",
                                        "AWS_REGION",
                                        "_HANDLER",
                                        "LAMBDA_TASK_ROOT",
                                        "AWS_LAMBDA_LOG_FORMAT",
                                        "AWS_LAMBDA_LOG_LEVEL",
                                        "_X_AMZN_TRACE_ID",
                                        "LR_TB_CUSTOM"};
    cJSON *o = cJSON_CreateObject(), *env = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "pid", (double)getpid());
    cJSON_AddNumberToObject(o, "count", (double)atomic_load(&invocations));
    cJSON_AddNumberToObject(o, "worker", (double)req->worker);
    cJSON_AddNumberToObject(o, "worker_count", (double)req->worker_count);
    cJSON_AddStringToObject(o, "request_id", req->request_id.ptr);
    if (req->xray_trace_id.len)
        cJSON_AddStringToObject(o, "trace", req->xray_trace_id.ptr);
    else
        cJSON_AddNullToObject(o, "trace");
    cJSON_AddNumberToObject(o, "deadline_ms", (double)req->deadline_ms);
    cJSON_AddNumberToObject(o, "remaining_ms", (double)lr_invocation_time_remaining_ms(req));
    cJSON_AddStringToObject(o, "function_arn", req->function_arn.len ? req->function_arn.ptr : "");
    cJSON_AddStringToObject(o, "client_context",
                            req->client_context.len ? req->client_context.ptr : "");
    cJSON_AddStringToObject(o, "tenant_id", req->tenant_id.len ? req->tenant_id.ptr : "");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        add_env(env, names[i]);
    cJSON_AddItemToObject(o, "env", env);
    return json_answer(o);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static struct lr_invocation_response big(long bytes)
{
    size_t n = bytes > 2 ? (size_t)bytes : 2;
    char *s = malloc(n);
    if (!s)
        abort();
    memset(s, 'a', n);
    s[0] = '"';
    s[n - 1] = '"';
    return lr_response_success_take(s, n, "application/json");
}

static struct lr_invocation_response crash(void)
{
    long sig = env_long("LR_TB_SIGNAL", 0);
    lr_log(LR_LOG_INFO, "crashing on purpose");
    if (sig > 0)
        raise((int)sig);
    exit((int)env_long("LR_TB_EXIT_CODE", 3));
}

static struct lr_invocation_response trace(void)
{
    const char *t = getenv("_X_AMZN_TRACE_ID");
    const char *v = t ? t : "<unset>";
    return lr_response_success(v, strlen(v), "text/plain");
}

/* Touches every page of a 3 MiB local array: more than a thread gets by default with a small
 * RLIMIT_STACK or with musl, less than the main thread's 8 MiB on Lambda. */
static __attribute__((noinline)) unsigned use_stack(void)
{
    volatile unsigned char big[3u << 20];
    for (size_t i = 0; i < sizeof(big); i += 4096)
        big[i] = (unsigned char)i;
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof(big); i += 4096)
        sum += big[i];
    return sum;
}

static struct lr_invocation_response run_mode(const char *mode, const cJSON *event,
                                              const struct lr_invocation_request *req)
{
    if (strcmp(mode, "info") == 0)
        return info(req);
    if (strcmp(mode, "trace") == 0)
        return trace();
    if (strcmp(mode, "error") == 0) {
        const char *type = getenv("LR_TB_ERROR_TYPE");
        return lr_response_failure("boom", type ? type : "Custom.Boom");
    }
    if (strcmp(mode, "crash") == 0)
        return crash();
    if (strcmp(mode, "big") == 0)
        return big(event_long(event, "bytes", env_long("LR_TB_BIG_BYTES", 7 * 1024 * 1024)));
    if (strcmp(mode, "stack") == 0 && use_stack() == 1) /* never 1: keeps the call */
        return lr_response_failure("impossible sum", "Test.Stack");
    if (strcmp(mode, "sleep") == 0)
        sleep_ms(event_long(event, "ms", env_long("LR_TB_SLEEP_MS", 1000)));
    return lr_response_success(req->payload.ptr, req->payload.len, "application/json");
}

static struct lr_invocation_response handle(const struct lr_invocation_request *req,
                                            void *user_data)
{
    if (user_data != NULL) { /* fixed mode: see main() */
        static const char none[] = "{\"batchItemFailures\":[]}";
        return lr_response_success(none, sizeof(none) - 1, "application/json");
    }
    unsigned long n = atomic_fetch_add(&invocations, 1) + 1;
    lr_log(LR_LOG_INFO, "test bootstrap invoke %lu", n);
    cJSON *event = cJSON_ParseWithLength(req->payload.ptr, req->payload.len);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(event, "tb_mode");
    const char *mode = cJSON_IsString(m) ? m->valuestring : getenv("LR_TB_MODE");
    struct lr_invocation_response r = run_mode(mode ? mode : "echo", event, req);
    cJSON_Delete(event);
    return r;
}

int main(void)
{
    lr_log_init_from_env();
    const char *mode = getenv("LR_TB_MODE");
    if (mode && strcmp(mode, "init-error") == 0)
        return lr_report_init_error("init failed on purpose", "Runtime.TestInitError");
    static int fixed; /* its address, as user data, selects the fixed answer */
    return lr_run_handler(handle, mode && strcmp(mode, "fixed") == 0 ? &fixed : NULL);
}
