/* The bundled handler's per-invoke work without the Runtime API, for instruction counts: reads an
 * event file, sets the handler up from the environment as the bootstrap does (LR_LOG_RECORDS,
 * AWS_LAMBDA_LOG_FORMAT, ...), runs one warm-up invoke, then the measured invokes in
 * bench_measured_invoke(). bench/bench.py runs it under
 *
 *   valgrind --tool=callgrind --toggle-collect=bench_measured_invoke lr_bench_invoke EVENT.json
 *
 * so that the count holds exactly what run_one() in lr_run.c does between receiving the event and
 * posting the answer: set the request id, the handler, flush the log. It leaves out libcurl and the
 * kernel (write(2) of the log lines is one instruction to callgrind), which the timed benchmark
 * through the emulator measures. The warm-up makes the buffers reach their size, as after the first
 * invoke of a process. Log lines go to stdout (send them to /dev/null).
 *
 *   lr_bench_invoke EVENT.json [INVOKES]      (INVOKES measured after the warm-up, default 1) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"
#include "lr/clock.h"
#include "lr/log.h"

static const char REQUEST_ID[] = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 20, n = 0;
    char *data = malloc(cap);
    while (data != NULL) {
        n += fread(data + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        char *grown = realloc(data, cap);
        if (grown == NULL)
            free(data);
        data = grown;
    }
    fclose(f);
    *len = n;
    return data;
}

/* One invoke as the run loop does it; returns the answer's length (so nothing is optimised out). */
static size_t one_invoke(struct handler *h, const struct lr_invocation_request *req)
{
    lr_log_set_request_id(req->request_id.ptr, req->request_id.len);
    struct lr_invocation_response resp = handler_invoke(req, h);
    lr_log_flush();
    size_t n = resp.body_len;
    lr_response_clean_up(&resp);
    lr_log_set_request_id(NULL, 0);
    return n;
}

/* Not inlined: callgrind's --toggle-collect needs the measured invokes in a function of their own,
 * and the warm-up outside it. */
__attribute__((noinline)) size_t bench_measured_invoke(struct handler *h,
                                                       const struct lr_invocation_request *req);
__attribute__((noinline)) size_t bench_warm_up(struct handler *h,
                                               const struct lr_invocation_request *req);

size_t bench_measured_invoke(struct handler *h, const struct lr_invocation_request *req)
{
    return one_invoke(h, req);
}

size_t bench_warm_up(struct handler *h, const struct lr_invocation_request *req)
{
    return one_invoke(h, req);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: lr_bench_invoke EVENT.json [INVOKES]\n");
        return 2;
    }
    long invokes = argc == 3 ? strtol(argv[2], NULL, 10) : 1;
    size_t len = 0;
    char *event = read_file(argv[1], &len);
    if (event == NULL || invokes < 1) {
        fprintf(stderr, "lr_bench_invoke: cannot read %s\n", argv[1]);
        return 1;
    }
    lr_log_init_from_env();
    static struct handler h;
    char msg[512];
    if (handler_init_from_env(&h, msg, sizeof(msg)) != LR_OK) {
        fprintf(stderr, "lr_bench_invoke: %s\n", msg);
        return 1;
    }
    struct lr_invocation_request req = {
        .payload = {event, len},
        .request_id = {REQUEST_ID, sizeof(REQUEST_ID) - 1},
        .deadline_ms = lr_clock_now_ms() + 15 * 60 * 1000, /* the guard never stops the batch */
        .worker_count = 1,
    };
    size_t answered = 0;
    bench_warm_up(&h, &req);
    for (long i = 0; i < invokes; i++)
        answered += bench_measured_invoke(&h, &req);
    fprintf(stderr, "lr_bench_invoke: %ld invokes of %zu bytes, %zu answer bytes each\n", invokes,
            len, answered / (size_t)invokes);
    handler_clean_up(&h);
    free(event);
    return 0;
}
