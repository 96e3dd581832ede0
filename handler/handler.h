/* The bundled handler as a library: its settings, its per-record callback (log the record, and
 * send it with the sink), and the invoke function that runs a batch. handler/main.c is
 * the production bootstrap around it; the test bootstrap (tests/bootstraps/handler_test.c) wraps the
 * same callback with its testing switches. A struct handler belongs to one worker thread: with
 * AWS_LAMBDA_MAX_CONCURRENCY=N both bootstraps set up N of them and pick one by req->worker. */
#ifndef LR_HANDLER_HANDLER_H
#define LR_HANDLER_HANDLER_H

#include <stddef.h>

#include "handler_config.h"
#include "lr/batch.h"
#include "lr/runtime.h"
#include "record_log.h"
#include "sink_ddb.h"
#include "sink_msg.h"

struct handler {
    struct handler_config cfg;
    struct record_log rl;
    struct sink_ddb sink;          /* set up when cfg.sink is HANDLER_SINK_DYNAMODB */
    struct sink_msg messages;      /* set up when cfg.sink is sqs, sns or eventbridge */
    struct lr_batch_handler batch; /* what handler_invoke() runs */
};

/* Reads the settings (handler_config_from_env()), sets the sink up, and sets h->batch up with
 * handler_on_record(), handler_settle() and h as their user data. LR_E_CONFIG with msg filled on a bad
 * setting; release h with handler_clean_up() either way. h must stay where it is while it runs. */
enum lr_status handler_init_from_env(struct handler *h, char *msg, size_t msg_cap);

/* An lr_handler_fn (user_data: the struct handler): starts the sink's invoke, runs
 * lr_batch_handle() on h->batch, and prints the sink's metrics line. */
struct lr_invocation_response handler_invoke(const struct lr_invocation_request *req,
                                             void *user_data);

/* Logs rec as LR_LOG_RECORDS says. */
void handler_log_record(struct handler *h, const struct ddb_record *rec);

/* The bundled per-record work (user_data: the struct handler): handler_log_record(), then the sink's
 * answer (LR_BATCH_RECORD_OK for the log sink). */
enum lr_batch_record_status handler_on_record(const struct ddb_record *rec, void *user_data,
                                              struct lr_batch_reason *reason);

/* An lr_batch_settle_fn (user_data: the struct handler): settles the sink's deferred records. */
void handler_settle(void *user_data, struct lr_batch_deferred *deferred);

/* An lr_batch_window_fn (user_data: the struct handler): the state of a tumbling window is
 * {"records","INSERT","MODIFY","REMOVE","bytes"}, the incoming totals plus this invoke's successful
 * records; the final invoke of a window logs the totals in one line and one EMF line. */
enum lr_status handler_window(void *user_data, const struct ddb_window *w,
                              const struct lr_batch_result *res, struct lr_buf *state);

/* Frees what h owns; safe on a zeroed handler and safe to call twice. */
void handler_clean_up(struct handler *h);

/* A bootstrap's own set-up of a handler after handler_init_from_env(): LR_E_CONFIG with msg filled
 * fails the init. Called on the main thread, once per worker, before any invoke. */
typedef enum lr_status (*handler_customise_fn)(struct handler *h, char *msg, size_t msg_cap);

/* A bootstrap's main(): one struct handler per worker of the run loop (AWS_LAMBDA_MAX_CONCURRENCY),
 * each set up from the environment and then by customise (NULL: none), served by lr_run_handler()
 * through req->worker; a bad setting is reported as Runtime.ConfigInvalid. Frees them all and
 * returns the process's exit status. */
int handler_main(handler_customise_fn customise);

#endif
