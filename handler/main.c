/* The bundled DynamoDB Streams bootstrap: logs every record (and replicates it with LR_SINK=dynamodb),
 * reports partial batch failures, prints one summary line and the EMF metrics lines per invoke.
 * Settings: docs/handler.md. */
#include "handler.h"
#include "lr/log.h"
#include "lr/runtime.h"

int main(void)
{
    static struct handler h; /* static: lives as long as the process, like the runtime loop */
    char msg[512];
    lr_log_init_from_env();
    if (handler_init_from_env(&h, msg, sizeof(msg)) != LR_OK) {
        lr_log(LR_LOG_FATAL, "configuration error: %s", msg);
        return lr_report_init_error(msg, "Runtime.ConfigInvalid");
    }
    int rc = lr_run_handler(handler_invoke, &h);
    handler_clean_up(&h);
    return rc;
}
