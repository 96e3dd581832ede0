/* The bundled DynamoDB Streams bootstrap: logs every record (and replicates it with LR_SINK=dynamodb),
 * reports partial batch failures, prints one summary line and the EMF metrics lines per invoke.
 * Settings: docs/handler.md. With AWS_LAMBDA_MAX_CONCURRENCY=N (Lambda Managed Instances) the run
 * loop has N workers; each has its own struct handler (log buffers, sink client), so they share
 * nothing mutable. */
#include <stdlib.h>

#include "handler.h"
#include "lr/log.h"
#include "lr/runtime.h"

static struct lr_invocation_response invoke_on_worker(const struct lr_invocation_request *req,
                                                      void *user_data)
{
    struct handler *per_worker = user_data;
    return handler_invoke(req, &per_worker[req->worker]);
}

static void clean_up_all(struct handler *hs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        handler_clean_up(&hs[i]);
    free(hs);
}

int main(void)
{
    char msg[512];
    lr_log_init_from_env();
    uint32_t n = 1;
    if (lr_run_concurrency(&n) != LR_OK)
        return lr_run_handler(invoke_on_worker, NULL); /* reports Runtime.ConfigInvalid */
    struct handler *hs = calloc(n, sizeof(*hs));       /* lives as long as the run loop */
    if (hs == NULL)
        abort();
    for (uint32_t i = 0; i < n; i++) {
        if (handler_init_from_env(&hs[i], msg, sizeof(msg)) != LR_OK) {
            lr_log(LR_LOG_FATAL, "configuration error: %s", msg);
            clean_up_all(hs, n); /* zeroed or half set up: both are safe to clean */
            return lr_report_init_error(msg, "Runtime.ConfigInvalid");
        }
    }
    int rc = lr_run_handler(invoke_on_worker, hs);
    clean_up_all(hs, n);
    return rc;
}
