/* The handler loop: GET /next -> handler -> POST, with the status policy of the Runtime API
 * (spec 1.7): 2xx ok; 413 the invoke already failed, carry on; 400/403 log and carry on; 500 exit
 * promptly; failed /next retried a bounded number of times with back-off, then exit. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lr/clock.h"
#include "lr/log.h"
#include "lr/runtime.h"

#define EXIT_FATAL 1
#define EXIT_STOPPED 0
#define WORKER_STACK_BYTES ((size_t)8 * 1024 * 1024)

/* Raised by SIGTERM (workers finish what they hold, then stop) or by a worker that met a fatal
 * condition (the others stop too, as the process must end). Lock-free, so the handler may set it. */
static atomic_bool g_stop;

static bool stop_requested(void)
{
    return atomic_load_explicit(&g_stop, memory_order_relaxed);
}

int64_t lr_invocation_time_remaining_ms(const struct lr_invocation_request *req)
{
    int64_t now = lr_clock_now_ms(); /* >= 0 */
    if (req == NULL)
        return 0;
    if (req->deadline_ms < INT64_MIN + now)
        return INT64_MIN; /* a hand-made request with an absurd deadline: saturate, no overflow */
    return req->deadline_ms - now;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && !stop_requested()) {
        /* interrupted by a signal other than SIGTERM: sleep the rest */
    }
}

static struct lr_run_options effective_options(const struct lr_run_options *o)
{
    struct lr_run_options d = LR_RUN_OPTIONS_DEFAULT;
    if (o == NULL)
        return d;
    d.next_max_attempts = o->next_max_attempts ? o->next_max_attempts : d.next_max_attempts;
    d.next_backoff_max_ms = o->next_backoff_max_ms ? o->next_backoff_max_ms : d.next_backoff_max_ms;
    d.next_backoff_initial_ms =
        o->next_backoff_initial_ms ? o->next_backoff_initial_ms : d.next_backoff_initial_ms;
    if (d.next_backoff_initial_ms > d.next_backoff_max_ms)
        d.next_backoff_initial_ms = d.next_backoff_max_ms;
    return d;
}

/* An invoke we could not accept (an event too large, headers we cannot read) but whose request id we
 * know is answered with an error, so the caller gets one instead of a timeout. */
static void report_unreadable_event(struct lr_client *c, const struct lr_invocation_request *req,
                                    enum lr_status why)
{
    struct lr_invocation_response err =
        why == LR_E_TOO_LARGE
            ? lr_response_failure("The event exceeds the runtime's size limit.",
                                  "Runtime.EventTooLarge")
            : lr_response_failure("The invoke's headers could not be read: a line malformed or "
                                  "too long, or a known header repeated.",
                                  "Runtime.InvalidHeaders");
    enum lr_status st = lr_client_post(c, req, &err);
    if (st != LR_OK)
        lr_log(LR_LOG_ERROR, "could not report the unreadable invoke: %s", lr_status_str(st));
    lr_response_clean_up(&err);
}

/* GET /next until it yields an event: LR_OK, or the status that ends the loop. */
static enum lr_status next_with_retries(struct lr_client *c, struct lr_invocation_request *req,
                                        const struct lr_run_options *o)
{
    unsigned failures = 0, backoff = o->next_backoff_initial_ms;
    for (;;) {
        enum lr_status st = lr_client_next(c, req);
        if (st == LR_OK || st == LR_E_CANCELLED)
            return st;
        if (st == LR_E_HTTP_500) {
            lr_log(LR_LOG_FATAL,
                   "GET /next: Runtime API reported a container error (500); exiting");
            return st;
        }
        if ((st == LR_E_TOO_LARGE || st == LR_E_PROTOCOL) && req->request_id.len > 0) {
            report_unreadable_event(c, req, st); /* answered: not a failure of /next */
            failures = 0;
            backoff = o->next_backoff_initial_ms;
            continue;
        }
        if (++failures >= o->next_max_attempts) {
            lr_log(LR_LOG_FATAL, "GET /next failed %u times in a row (last: %s); exiting", failures,
                   lr_status_str(st));
            return st;
        }
        sleep_ms(backoff);
        if (stop_requested())
            return LR_E_CANCELLED;
        backoff = backoff > o->next_backoff_max_ms / 2 ? o->next_backoff_max_ms : backoff * 2;
    }
}

/* Applies the status policy to the outcome of a POST; false means: stop the loop. */
static bool post_outcome_allows_next(enum lr_status st)
{
    switch (st) {
    case LR_OK:
    case LR_E_TOO_LARGE: /* replaced by a Function.ResponseSizeTooLarge report, already logged */
        return true;
    case LR_E_HTTP_413:
        lr_log(LR_LOG_WARN, "Runtime API refused the response as too large (413); the invoke "
                            "has already failed");
        return true;
    case LR_E_HTTP_500:
        lr_log(LR_LOG_FATAL, "Runtime API reported a container error (500); exiting");
        return false;
    default:
        /* 400/403, unexpected status, or a lost connection: the invoke's fate is the Runtime
         * API's to decide; the next /next (with its bounded retries) tells whether to go on. */
        lr_log(LR_LOG_ERROR, "posting the result failed: %s", lr_status_str(st));
        return true;
    }
}

static void on_fatal_signal(int sig)
{
    lr_log_crash_flush();
    raise(sig); /* SA_RESETHAND restored the default action: it ends the process on return */
}

/* A crash would lose the log lines the crashing thread holds: they are written first. Only where
 * the action is the default, so a handler of the user's (or a sanitizer's) stays in charge. Run once,
 * at the first invoke: no line is held before it, and the cold start keeps its few system calls. */
static pthread_once_t g_crash_flush_once = PTHREAD_ONCE_INIT;

static void install_crash_flush(void)
{
    static const int fatal[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
    for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++) {
        struct sigaction old, sa;
        if (sigaction(fatal[i], NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
            old.sa_handler != SIG_DFL)
            continue;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_fatal_signal;
        sa.sa_flags = (int)SA_RESETHAND;
        sigemptyset(&sa.sa_mask);
        sigaction(fatal[i], &sa, NULL);
    }
    atexit(lr_log_flush); /* exit() from a handler: the exiting thread's held lines */
}

/* Lambda (and the X-Ray SDK) expect the variable to follow the current invoke, unset when absent.
 * Only with one worker: the environment is process-wide, and setenv() races with getenv(). */
static void export_trace_id(struct lr_str trace)
{
    if (trace.len > 0)
        setenv("_X_AMZN_TRACE_ID", trace.ptr, 1);
    else
        unsetenv("_X_AMZN_TRACE_ID");
}

static bool run_one(struct lr_client *c, const struct lr_invocation_request *req,
                    lr_handler_fn handler, void *user_data)
{
    pthread_once(&g_crash_flush_once, install_crash_flush);
    lr_log_set_request_id(req->request_id.ptr, req->request_id.len);
    struct lr_invocation_response resp = handler(req, user_data);
    lr_log_flush(); /* logs must precede the response: Lambda may freeze us right after it */
    enum lr_status st = lr_client_post(c, req, &resp);
    lr_response_clean_up(&resp);
    bool go_on = post_outcome_allows_next(st);
    lr_log_set_request_id(NULL, 0);
    return go_on;
}

/* One worker's loop: EXIT_STOPPED when asked to stop, EXIT_FATAL when the Runtime API is gone. */
static int serve(struct lr_client *c, uint32_t worker, uint32_t count, lr_handler_fn handler,
                 void *user_data, const struct lr_run_options *o)
{
    struct lr_invocation_request req;
    while (!stop_requested()) {
        enum lr_status st = next_with_retries(c, &req, o);
        if (st != LR_OK)
            return st == LR_E_CANCELLED ? EXIT_STOPPED : EXIT_FATAL;
        req.worker = worker;
        req.worker_count = count;
        if (count == 1)
            export_trace_id(req.xray_trace_id);
        if (!run_one(c, &req, handler, user_data))
            return EXIT_FATAL;
    }
    return EXIT_STOPPED;
}

static void ensure_log_configured(void)
{
    if (!lr_log_is_configured())
        lr_log_init_from_env();
}

enum lr_status lr_run_concurrency(uint32_t *out)
{
    const char *v = getenv("AWS_LAMBDA_MAX_CONCURRENCY");
    uint64_t n = 1;
    if (v != NULL && *v != '\0' &&
        (lr_parse_u64(v, strlen(v), LR_MAX_WORKERS, &n) != LR_OK || n == 0))
        return LR_E_CONFIG;
    *out = (uint32_t)n;
    return LR_OK;
}

struct worker {
    pthread_t thread;
    struct lr_client *client;
    uint32_t index, count;
    lr_handler_fn handler;
    void *user_data;
    const struct lr_run_options *options;
    int rc;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->rc = serve(w->client, w->index, w->count, w->handler, w->user_data, w->options);
    if (w->rc == EXIT_FATAL)
        atomic_store(&g_stop, true); /* the process is ending: the others finish and stop */
    return NULL;
}

static void on_sigterm(int sig)
{
    (void)sig;
    atomic_store(&g_stop, true);
}

/* SIGTERM stops the workers gracefully; SA_RESTART is left out so a sleeping worker wakes. */
static void install_sigterm(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigterm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
}

/* Creates every client on this thread first (curl_global_init is not thread-safe), then starts
 * the workers and waits for all of them. */
static int run_workers(struct worker *ws, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        if (lr_client_new(NULL, &ws[i].client) != LR_OK)
            return EXIT_FATAL; /* the endpoint was valid for worker 0: only memory is missing */
        lr_client_set_stop(ws[i].client, stop_requested);
    }
    /* A handler gets the stack it has with one worker, on the main thread: Lambda's 8 MiB. libc's
     * default for a thread is far less with musl (128 KiB), which the packaged bootstrap uses. */
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, WORKER_STACK_BYTES) != 0)
        abort(); /* cannot fail for a valid size, short of memory at start-up */
    uint32_t started = 0;
    for (; started < count; started++)
        if (pthread_create(&ws[started].thread, &attr, worker_main, &ws[started]) != 0)
            break;
    pthread_attr_destroy(&attr);
    if (started < count) {
        lr_log(LR_LOG_FATAL, "could only start %u of %u workers", (unsigned)started,
               (unsigned)count);
        atomic_store(&g_stop, true);
    }
    int rc = started < count ? EXIT_FATAL : EXIT_STOPPED;
    for (uint32_t i = 0; i < started; i++) {
        pthread_join(ws[i].thread, NULL);
        rc = ws[i].rc == EXIT_FATAL ? EXIT_FATAL : rc;
    }
    return rc;
}

static int run_concurrent(uint32_t count, lr_handler_fn handler, void *user_data,
                          const struct lr_run_options *o)
{
    struct worker *ws = calloc(count, sizeof(*ws));
    if (ws == NULL)
        abort(); /* out of memory at start-up: Lambda replaces the sandbox */
    for (uint32_t i = 0; i < count; i++)
        ws[i] = (struct worker){
            .index = i, .count = count, .handler = handler, .user_data = user_data, .options = o};
    unsetenv("_X_AMZN_TRACE_ID"); /* never per invoke with several: see lr_run_handler() */
    /* Until the handler is installed SIGTERM still ends the process, so no stop request can be
     * pending here but one left by an earlier run in the same process (tests). */
    atomic_store(&g_stop, false);
    install_sigterm();
    lr_log(LR_LOG_INFO, "serving up to %u invokes at once (AWS_LAMBDA_MAX_CONCURRENCY)",
           (unsigned)count);
    int rc = run_workers(ws, count);
    if (rc == EXIT_STOPPED)
        lr_log(LR_LOG_INFO, "SIGTERM: the invokes in flight are answered; stopped polling");
    for (uint32_t i = 0; i < count; i++)
        lr_client_destroy(ws[i].client);
    free(ws);
    lr_log_flush();
    return rc;
}

int lr_run_handler_with_options(lr_handler_fn handler, void *user_data,
                                const struct lr_run_options *options)
{
    ensure_log_configured();
    if (handler == NULL) {
        lr_log(LR_LOG_FATAL, "lr_run_handler: no handler given");
        return EXIT_FATAL;
    }
    uint32_t count = 1;
    if (lr_run_concurrency(&count) != LR_OK) {
        char msg[160];
        snprintf(msg, sizeof(msg),
                 "AWS_LAMBDA_MAX_CONCURRENCY=%.40s is not a whole number from 1 to %u",
                 getenv("AWS_LAMBDA_MAX_CONCURRENCY"), LR_MAX_WORKERS);
        return lr_report_init_error(msg, "Runtime.ConfigInvalid");
    }
    struct lr_client *c = NULL;
    enum lr_status st = lr_client_new(NULL, &c);
    if (st != LR_OK) {
        /* Without an endpoint there is nowhere to post /init/error: the log is all we have. */
        lr_log(LR_LOG_FATAL, "cannot start: %s (AWS_LAMBDA_RUNTIME_API must be host:port)",
               lr_status_str(st));
        return EXIT_FATAL;
    }
    struct lr_run_options o = effective_options(options);
    if (count > 1) {
        lr_client_destroy(c);
        return run_concurrent(count, handler, user_data, &o);
    }
    serve(c, 0, 1, handler, user_data, &o);
    lr_log_flush();
    lr_client_destroy(c);
    return EXIT_FATAL; /* with one worker the loop only ends on a fatal condition */
}

int lr_run_handler(lr_handler_fn handler, void *user_data)
{
    return lr_run_handler_with_options(handler, user_data, NULL);
}

int lr_report_init_error(const char *error_message, const char *error_type)
{
    ensure_log_configured();
    lr_log(LR_LOG_FATAL, "initialisation failed: %s: %s", error_type != NULL ? error_type : "",
           error_message != NULL ? error_message : "");
    struct lr_client *c = NULL;
    enum lr_status st = lr_client_new(NULL, &c);
    if (st != LR_OK) {
        lr_log(LR_LOG_FATAL, "cannot report it: %s", lr_status_str(st));
        return EXIT_FATAL;
    }
    st = lr_client_init_error(c, error_message, error_type);
    if (st != LR_OK)
        lr_log(LR_LOG_ERROR, "POST /init/error failed: %s", lr_status_str(st));
    lr_log_flush();
    lr_client_destroy(c);
    return EXIT_FATAL;
}
