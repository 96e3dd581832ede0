/* The bundled handler as a library: its settings, its per-record callback (log the record), and the
 * one-call batch handler that runs it. handler/main.c is the production bootstrap around it; the test
 * bootstrap (tests/bootstraps/handler_test.c) wraps the same callback with its testing switches. */
#ifndef LR_HANDLER_HANDLER_H
#define LR_HANDLER_HANDLER_H

#include <stddef.h>

#include "handler_config.h"
#include "lr/batch.h"
#include "record_log.h"

struct handler {
    struct handler_config cfg;
    struct record_log rl;
    struct lr_batch_handler batch; /* run with lr_run_handler(lr_batch_handle, &h->batch) */
};

/* Reads the settings (handler_config_from_env()) and sets h->batch up with handler_on_record() and h
 * as its user data. LR_E_CONFIG as handler_config_from_env(); release h with handler_clean_up()
 * either way. h must stay where it is while the batch handler runs. */
enum lr_status handler_init_from_env(struct handler *h, char *msg, size_t msg_cap);

/* The bundled per-record work: logs rec as LR_LOG_RECORDS says; user_data is the struct handler.
 * Never fails a record. */
enum lr_batch_record_status handler_on_record(const struct ddb_record *rec, void *user_data,
                                              struct lr_batch_reason *reason);

/* Frees what h owns; safe on a zeroed handler and safe to call twice. */
void handler_clean_up(struct handler *h);

#endif
