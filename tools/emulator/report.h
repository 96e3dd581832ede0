/* The platform lines Lambda writes around each invoke (START, END, REPORT, timeouts, runtime exits),
 * printed on stdout, each with a single write so they never interleave with the bootstrap's lines. */
#ifndef EMU_REPORT_H
#define EMU_REPORT_H

#include <stdbool.h>
#include <stdint.h>

struct report_figures {
    double duration_ms;
    uint32_t memory_mb;
    long max_rss_kb;    /* 0 when unknown */
    double init_ms;     /* < 0 when this invoke did not start a bootstrap */
    const char *status; /* NULL for a normal end, else e.g. "timeout", "error" */
};

void report_start(const char *request_id);
void report_end(const char *request_id, const struct report_figures *f);

/* "<time> <id> Task timed out after N.NN seconds" */
void report_timeout(const char *request_id, uint32_t timeout_ms);

/* "RequestId: <id> Error: <reason>" then the error type on its own line, as Lambda logs a runtime exit. */
void report_runtime_error(const char *request_id, const char *reason, const char *error_type);

/* "INIT_REPORT Init Duration: X ms Phase: init Status: error Error Type: T" */
void report_init_error(double init_ms, const char *error_type);

#endif
