/* The bundled handler: settings, the record callback, and its one-call batch handler. */
#include "handler.h"

#include <assert.h>
#include <string.h>

enum lr_status handler_init_from_env(struct handler *h, char *msg, size_t msg_cap)
{
    assert(h);
    memset(h, 0, sizeof(*h));
    enum lr_status st = handler_config_from_env(&h->cfg, msg, msg_cap);
    if (st != LR_OK)
        return st;
    record_log_init(&h->rl);
    lr_batch_handler_init(&h->batch, handler_on_record, h);
    h->batch.options = h->cfg.batch;
    h->batch.emf_namespace = h->cfg.emf ? h->cfg.emf_namespace : NULL;
    return LR_OK;
}

enum lr_batch_record_status handler_on_record(const struct ddb_record *rec, void *user_data,
                                              struct lr_batch_reason *reason)
{
    (void)reason;
    struct handler *h = user_data;
    if (h->cfg.log_records != HANDLER_LOG_RECORDS_NONE)
        record_log_write(&h->rl, rec, h->cfg.log_records == HANDLER_LOG_RECORDS_FULL,
                         h->cfg.log_images == HANDLER_LOG_IMAGES_PLAIN);
    return LR_BATCH_RECORD_OK;
}

void handler_clean_up(struct handler *h)
{
    if (!h)
        return;
    record_log_clean_up(&h->rl);
    memset(h, 0, sizeof(*h));
}
