/* The bundled DynamoDB Streams handler: logs every record, reports partial batch failures, prints
 * one summary line and one EMF metrics line per invoke. Settings: docs/handler.md. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "handler_config.h"
#include "lr/batch.h"
#include "lr/log.h"
#include "lr/runtime.h"
#include "record_log.h"

struct handler {
    struct handler_config cfg;
    struct record_log rl;
};

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
        /* interrupted: sleep the rest */
    }
}

static enum lr_batch_record_status on_record(const struct ddb_record *rec, void *user_data,
                                             struct lr_batch_reason *reason)
{
    struct handler *h = user_data;
    if (h->cfg.log_records != HANDLER_LOG_RECORDS_NONE)
        record_log_write(&h->rl, rec, h->cfg.log_records == HANDLER_LOG_RECORDS_FULL);
    if (h->cfg.record_delay_ms > 0)
        sleep_ms(h->cfg.record_delay_ms);
    if (handler_config_should_fail(&h->cfg, rec->sequence_number.ptr, rec->sequence_number.len)) {
        lr_batch_reason_set(reason, "listed in LR_TEST_FAIL_SEQUENCE_NUMBERS");
        return LR_BATCH_RECORD_FAILED;
    }
    return LR_BATCH_RECORD_OK;
}

static struct lr_invocation_response handle(const struct lr_invocation_request *req,
                                            void *user_data)
{
    struct handler *h = user_data;
    lr_log_set_request_id(req->request_id.ptr, req->request_id.len);
    struct lr_batch_options opts = h->cfg.batch;
    opts.deadline_ms = req->deadline_ms;
    struct lr_batch_result res;
    lr_batch_process(req->payload.ptr, req->payload.len, &opts, on_record, h, &res);
    lr_batch_log_summary(&res);
    if (h->cfg.emf)
        lr_batch_emit_metrics(&res, h->cfg.emf_namespace, h->cfg.function_name, req->request_id);
    struct lr_invocation_response resp = lr_batch_to_response(&res);
    lr_batch_result_clean_up(&res);
    return resp;
}

int main(void)
{
    static struct handler h; /* static: lives as long as the process, like the runtime loop */
    char msg[512];
    lr_log_init_from_env();
    if (!handler_config_from_env(&h.cfg, msg, sizeof(msg))) {
        lr_log(LR_LOG_FATAL, "configuration error: %s", msg);
        return lr_report_init_error(msg, "Runtime.ConfigInvalid");
    }
    record_log_init(&h.rl);
    int rc = lr_run_handler(handle, &h);
    record_log_clean_up(&h.rl);
    handler_config_clean_up(&h.cfg);
    return rc;
}
