/* Configuration of the bundled handler, read once at init from the environment (docs/handler.md has
 * the table). Everything is validated; a bad value is an init error, never a silent default. */
#ifndef LR_HANDLER_CONFIG_H
#define LR_HANDLER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lr/batch.h"
#include "lr/emf.h"

enum handler_log_records {
    HANDLER_LOG_RECORDS_FULL = 0, /* keys, new and old images */
    HANDLER_LOG_RECORDS_KEYS,     /* keys only: keeps item contents (personal data) out of logs */
    HANDLER_LOG_RECORDS_NONE      /* no per-record line (the summary and failures are still logged) */
};

#define HANDLER_DEFAULT_EMF_NAMESPACE "DynamoDBStreamsLambda"
/* Cap on LR_TEST_FAIL_SEQUENCE_NUMBERS entries (a batch holds at most 10,000 records). */
#define HANDLER_MAX_FAIL_SEQUENCES 10000
#define HANDLER_MAX_RECORD_DELAY_MS 900000

struct handler_config {
    struct lr_batch_options batch;   /* mode, all-failed policy, deadline margin */
    enum handler_log_records log_records;
    bool emf;
    char emf_namespace[LR_EMF_MAX_NAMESPACE + 1];
    const char *function_name;       /* AWS_LAMBDA_FUNCTION_NAME (environment storage) or "" */
    char **fail_sequences;           /* heap array of heap strings, owned by the config */
    size_t n_fail_sequences;
    int64_t record_delay_ms;         /* testing aid: sleep per record */
};

/* Fills *cfg from the environment. On false, msg[0..msg_cap) says which variable is wrong and why,
 * and *cfg holds nothing to free. On true, release it with handler_config_clean_up(). */
bool handler_config_from_env(struct handler_config *cfg, char *msg, size_t msg_cap);

/* Frees what the config owns and zeroes it; safe on a zeroed config and safe to call twice. */
void handler_config_clean_up(struct handler_config *cfg);

/* True when seq[0..len) is listed in LR_TEST_FAIL_SEQUENCE_NUMBERS. */
bool handler_config_should_fail(const struct handler_config *cfg, const char *seq, size_t len);

#endif
