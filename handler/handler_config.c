/* Environment configuration of the bundled handler: strict parsing, clear messages. */
#include "handler_config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr/ddb.h"

static bool bad(char *msg, size_t cap, const char *var, const char *value, const char *want)
{
    snprintf(msg, cap, "invalid %s=\"%.64s\": expected %s", var, value, want);
    return false;
}

static const char *env_or_empty(const char *name)
{
    const char *v = getenv(name);
    return v ? v : "";
}

static bool parse_log_records(struct handler_config *cfg, char *msg, size_t cap)
{
    const char *v = env_or_empty("LR_LOG_RECORDS");
    if (!*v || strcmp(v, "full") == 0)
        cfg->log_records = HANDLER_LOG_RECORDS_FULL;
    else if (strcmp(v, "keys") == 0)
        cfg->log_records = HANDLER_LOG_RECORDS_KEYS;
    else if (strcmp(v, "none") == 0)
        cfg->log_records = HANDLER_LOG_RECORDS_NONE;
    else
        return bad(msg, cap, "LR_LOG_RECORDS", v, "full, keys or none");
    return true;
}

static bool parse_emf(struct handler_config *cfg, char *msg, size_t cap)
{
    const char *v = env_or_empty("LR_EMF");
    if (!*v || strcmp(v, "on") == 0)
        cfg->emf = true;
    else if (strcmp(v, "off") == 0)
        cfg->emf = false;
    else
        return bad(msg, cap, "LR_EMF", v, "on or off");
    const char *ns = env_or_empty("LR_EMF_NAMESPACE");
    if (!*ns)
        ns = HANDLER_DEFAULT_EMF_NAMESPACE;
    size_t len = strlen(ns);
    if (len > LR_EMF_MAX_NAMESPACE || strncmp(ns, "AWS/", 4) == 0)
        return bad(msg, cap, "LR_EMF_NAMESPACE", ns,
                   "1..1024 characters, not starting with the reserved \"AWS/\"");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)ns[i] < 0x20 || (unsigned char)ns[i] == 0x7F)
            return bad(msg, cap, "LR_EMF_NAMESPACE", ns, "no control characters");
    memcpy(cfg->emf_namespace, ns, len + 1);
    return true;
}

/* Splits the comma-separated list into heap copies; every item is 1..40 decimal digits. */
static bool parse_fail_list(struct handler_config *cfg, char *msg, size_t cap)
{
    const char *v = env_or_empty("LR_TEST_FAIL_SEQUENCE_NUMBERS");
    static const char *const var = "LR_TEST_FAIL_SEQUENCE_NUMBERS";
    static const char *const want = "comma-separated SequenceNumbers of 1..40 digits";
    while (*v) {
        size_t len = strcspn(v, ",");
        if (len == 0 || len > DDB_MAX_SEQUENCE_DIGITS || strspn(v, "0123456789") < len)
            return bad(msg, cap, var, v, want);
        if (cfg->n_fail_sequences == HANDLER_MAX_FAIL_SEQUENCES)
            return bad(msg, cap, var, v, "at most 10000 entries");
        char **grown = realloc(cfg->fail_sequences,
                               (cfg->n_fail_sequences + 1) * sizeof(*cfg->fail_sequences));
        char *item = malloc(len + 1);
        if (!grown || !item)
            abort(); /* out of memory at init: nothing sensible left to do */
        memcpy(item, v, len);
        item[len] = '\0';
        cfg->fail_sequences = grown;
        cfg->fail_sequences[cfg->n_fail_sequences++] = item;
        v += len;
        if (*v == ',' && *++v == '\0')
            return bad(msg, cap, var, "(trailing comma)", want);
    }
    return true;
}

static bool parse_delay(struct handler_config *cfg, char *msg, size_t cap)
{
    const char *v = env_or_empty("LR_TEST_RECORD_DELAY_MS");
    cfg->record_delay_ms = 0;
    if (*v && !lr_batch_parse_ms(v, HANDLER_MAX_RECORD_DELAY_MS, &cfg->record_delay_ms))
        return bad(msg, cap, "LR_TEST_RECORD_DELAY_MS", v, "milliseconds 0..900000");
    return true;
}

bool handler_config_from_env(struct handler_config *cfg, char *msg, size_t msg_cap)
{
    assert(cfg && msg && msg_cap);
    memset(cfg, 0, sizeof(*cfg));
    msg[0] = '\0';
    lr_batch_options_init(&cfg->batch);
    cfg->function_name = env_or_empty("AWS_LAMBDA_FUNCTION_NAME");
    bool ok = lr_batch_options_from_env(&cfg->batch, msg, msg_cap) &&
              parse_log_records(cfg, msg, msg_cap) && parse_emf(cfg, msg, msg_cap) &&
              parse_fail_list(cfg, msg, msg_cap) && parse_delay(cfg, msg, msg_cap);
    if (!ok)
        handler_config_clean_up(cfg);
    return ok;
}

void handler_config_clean_up(struct handler_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_fail_sequences; i++)
        free(cfg->fail_sequences[i]);
    free(cfg->fail_sequences);
    memset(cfg, 0, sizeof(*cfg));
}

bool handler_config_should_fail(const struct handler_config *cfg, const char *seq, size_t len)
{
    for (size_t i = 0; i < cfg->n_fail_sequences; i++)
        if (strlen(cfg->fail_sequences[i]) == len && memcmp(cfg->fail_sequences[i], seq, len) == 0)
            return true;
    return false;
}
