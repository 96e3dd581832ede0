/* Placeholder bundled handler until the batch layer lands: logs the event size, reports no failures. */
#include <stdlib.h>

#include "lr/log.h"
#include "lr/runtime.h"

static struct lr_invocation_response handle(const struct lr_invocation_request *req, void *user_data)
{
    (void)user_data;
    lr_log(LR_LOG_INFO, "received event of %zu bytes", req->payload.len);
    static const char ok[] = "{\"batchItemFailures\":[]}";
    return lr_response_success(ok, sizeof(ok) - 1, "application/json");
}

int main(void)
{
    lr_log_init_from_env();
    return lr_run_handler(handle, NULL);
}
