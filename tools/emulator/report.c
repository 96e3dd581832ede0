/* Platform log lines (see report.h). */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>

#include "clk.h"

static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes fmt's text and a newline with a single write (it may hold several lines). */
static void line(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(buf) - 2 ? (size_t)n : sizeof(buf) - 2;
    buf[len++] = '\n';
    fwrite(buf, 1, len, stdout); /* one write per call: the bootstrap shares this stdout */
    fflush(stdout);
}

void report_start(const char *request_id)
{
    line("START RequestId: %s Version: $LATEST", request_id);
}

void report_end(const char *request_id, const struct report_figures *f)
{
    char init[64] = "", status[64] = "";
    if (f->init_ms >= 0)
        snprintf(init, sizeof(init), "\tInit Duration: %.2f ms", f->init_ms);
    if (f->status)
        snprintf(status, sizeof(status), "\tStatus: %s", f->status);
    /* Billed from the printed (0.01 ms) figure, rounded up to the ms, at least 1 ms, as Lambda bills. */
    long centi = (long)(f->duration_ms * 100.0 + 0.5);
    long billed = (centi + 99) / 100 > 0 ? (centi + 99) / 100 : 1;
    long max_mb = (f->max_rss_kb + 1023) / 1024;
    line(
        "END RequestId: %s\nREPORT RequestId: %s\tDuration: %ld.%02ld ms\tBilled Duration: %ld ms\t"
        "Memory Size: %u MB\tMax Memory Used: %ld MB%s%s",
        request_id, request_id, centi / 100, centi % 100, billed, (unsigned)f->memory_mb, max_mb,
        init, status);
}

void report_timeout(const char *request_id, uint32_t timeout_ms)
{
    char ts[40];
    clk_rfc3339(ts, sizeof(ts));
    line("%s %s Task timed out after %.2f seconds", ts, request_id, (double)timeout_ms / 1000.0);
}

void report_runtime_error(const char *request_id, const char *reason, const char *error_type)
{
    line("RequestId: %s Error: %s", request_id, reason);
    line("%s", error_type);
}

void report_init_error(double init_ms, const char *error_type)
{
    line("INIT_REPORT Init Duration: %.2f ms\tPhase: init\tStatus: error\tError Type: %s", init_ms,
         error_type);
}
