/* The bundled handler with two testing switches, for the tests, benchmarks and fault tests (the
 * production bootstrap does not read them):
 *   LR_TEST_FAIL_SEQUENCE_NUMBERS  comma-separated SequenceNumbers (1..40 digits, at most 10,000)
 *                                  whose records fail, after being logged as usual;
 *   LR_TEST_RECORD_DELAY_MS        0..900000: sleep this long per record (exercises the deadline guard).
 * A bad value is an init error (Runtime.ConfigInvalid) naming the variable, like the real settings. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handler.h"
#include "lr/runtime.h"

#define MAX_FAIL_SEQUENCES 10000
#define MAX_RECORD_DELAY_MS 900000

/* Read from the environment before any invoke, then only read: every worker shares them. */
static struct {
    const char *fail_list; /* the environment's value: ",seq,seq," lookups need no copies */
    uint64_t delay_ms;
} g_switches;

static enum lr_status bad(char *msg, size_t cap, const char *var, const char *value,
                          const char *want)
{
    snprintf(msg, cap, "invalid %s=\"%.64s\": expected %s", var, value, want);
    return LR_E_CONFIG;
}

static enum lr_status check_fail_list(const char *v, char *msg, size_t cap)
{
    static const char *const var = "LR_TEST_FAIL_SEQUENCE_NUMBERS";
    static const char *const want = "comma-separated SequenceNumbers of 1..40 digits";
    size_t n = 0;
    while (*v) {
        size_t len = strcspn(v, ",");
        if (len == 0 || len > DDB_MAX_SEQUENCE_DIGITS || strspn(v, "0123456789") < len)
            return bad(msg, cap, var, v, want);
        if (++n > MAX_FAIL_SEQUENCES)
            return bad(msg, cap, var, v, "at most 10000 entries");
        v += len;
        if (*v == ',' && *++v == '\0')
            return bad(msg, cap, var, "(trailing comma)", want);
    }
    return LR_OK;
}

static enum lr_status read_switches(char *msg, size_t cap)
{
    const char *v = getenv("LR_TEST_FAIL_SEQUENCE_NUMBERS");
    g_switches.fail_list = v ? v : "";
    if (check_fail_list(g_switches.fail_list, msg, cap) != LR_OK)
        return LR_E_CONFIG;
    v = getenv("LR_TEST_RECORD_DELAY_MS");
    if (v && *v &&
        (strlen(v) > 7 ||
         lr_parse_u64(v, strlen(v), MAX_RECORD_DELAY_MS, &g_switches.delay_ms) != LR_OK))
        return bad(msg, cap, "LR_TEST_RECORD_DELAY_MS", v, "milliseconds 0..900000");
    return LR_OK;
}

static bool listed(const char *list, struct lr_str seq)
{
    for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        size_t len = strcspn(p, ",");
        if (len == seq.len && memcmp(p, seq.ptr, len) == 0)
            return true;
    }
    return false;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
        /* interrupted: sleep the rest */
    }
}

static enum lr_batch_record_status on_record(const struct ddb_record *rec, void *user_data,
                                             struct lr_batch_reason *reason)
{
    if (g_switches.delay_ms > 0)
        sleep_ms(g_switches.delay_ms);
    if (listed(g_switches.fail_list, rec->sequence_number)) {
        handler_log_record(user_data, rec);
        lr_batch_reason_set(reason, "listed in LR_TEST_FAIL_SEQUENCE_NUMBERS");
        return LR_BATCH_RECORD_FAILED;
    }
    return handler_on_record(rec, user_data, reason);
}

/* The handler's own set-up, then the switches and the testing per-record callback (user data: the
 * struct handler, as handler_init_from_env() set it). */
static enum lr_status with_switches(struct handler *h, char *msg, size_t cap)
{
    if (read_switches(msg, cap) != LR_OK)
        return LR_E_CONFIG;
    h->batch.fn = on_record;
    return LR_OK;
}

int main(void)
{
    return handler_main(with_switches);
}
