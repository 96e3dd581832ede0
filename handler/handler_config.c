/* Environment configuration of the bundled handler: strict parsing, clear messages. */
#include "handler_config.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static bool parse_log_images(struct handler_config *cfg, char *msg, size_t cap)
{
    const char *v = env_or_empty("LR_LOG_IMAGES");
    if (!*v || strcmp(v, "ddb") == 0)
        cfg->log_images = HANDLER_LOG_IMAGES_DDB;
    else if (strcmp(v, "plain") == 0)
        cfg->log_images = HANDLER_LOG_IMAGES_PLAIN;
    else
        return bad(msg, cap, "LR_LOG_IMAGES", v, "ddb or plain");
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

/* value is one of names[0..n): its position, or -1. */
static int one_of(const char *value, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(value, names[i]) == 0)
            return i;
    return -1;
}

/* A DynamoDB table name: 3..255 of [A-Za-z0-9_.-]. */
static bool table_name_ok(const char *name, size_t len)
{
    static const char allowed[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    return len >= 3 && len <= 255 && strspn(name, allowed) >= len;
}

/* arn:<partition>:dynamodb:<region>:<12-digit account>:table/<name>, split into name and region. */
static bool parse_table_arn(struct handler_config *cfg, const char *arn)
{
    const char *f[6];
    size_t len[6];
    const char *p = arn;
    for (int i = 0; i < 6; i++) {
        f[i] = p;
        len[i] = i < 5 ? strcspn(p, ":") : strlen(p);
        if (i < 5 && p[len[i]] != ':')
            return false;
        p += len[i] + 1;
    }
    const char *lower = "abcdefghijklmnopqrstuvwxyz-";
    const char *region_chars = "abcdefghijklmnopqrstuvwxyz0123456789-";
    if (len[0] != 3 || memcmp(f[0], "arn", 3) != 0 || len[1] == 0 || strspn(f[1], lower) < len[1] ||
        len[2] != 8 || memcmp(f[2], "dynamodb", 8) != 0 || len[3] == 0 ||
        len[3] >= sizeof(cfg->sink_region) || strspn(f[3], region_chars) < len[3] || len[4] != 12 ||
        strspn(f[4], "0123456789") < 12 || strncmp(f[5], "table/", 6) != 0 ||
        !table_name_ok(f[5] + 6, len[5] - 6))
        return false;
    memcpy(cfg->sink_region, f[3], len[3]);
    cfg->sink_region[len[3]] = '\0';
    memcpy(cfg->sink_table, f[5] + 6, len[5] - 5);
    return true;
}

static bool parse_sink_target(struct handler_config *cfg, char *msg, size_t cap)
{
    const char *v = env_or_empty("LR_SINK_TARGET");
    if (cfg->sink == HANDLER_SINK_LOG) {
        if (*v)
            return bad(msg, cap, "LR_SINK_TARGET", v, "no target with LR_SINK=log (set LR_SINK)");
        return true;
    }
    if (!*v)
        return bad(msg, cap, "LR_SINK_TARGET", v,
                   "the target table's name or ARN with LR_SINK=dynamodb");
    if (strncmp(v, "arn:", 4) == 0) {
        if (!parse_table_arn(cfg, v))
            return bad(msg, cap, "LR_SINK_TARGET", v,
                       "a table ARN, arn:<partition>:dynamodb:<region>:<account>:table/<name>");
    } else if (table_name_ok(v, strlen(v))) {
        memcpy(cfg->sink_table, v, strlen(v) + 1);
    } else {
        return bad(msg, cap, "LR_SINK_TARGET", v,
                   "a table name (3..255 of A-Z a-z 0-9 _ . -) or ARN");
    }
    if (!cfg->sink_region[0] && !*env_or_empty("AWS_REGION") &&
        !*env_or_empty("AWS_DEFAULT_REGION"))
        return bad(msg, cap, "LR_SINK_TARGET", v,
                   "a region: AWS_REGION (Lambda sets it), AWS_DEFAULT_REGION, or a table ARN");
    return true;
}

static bool parse_sink(struct handler_config *cfg, char *msg, size_t cap)
{
    static const char *const sinks[] = {"log", "dynamodb"};
    static const char *const formats[] = {"plain", "ddb"};
    static const char *const numbers[] = {"number", "string"};
    const char *v = env_or_empty("LR_SINK");
    int i = *v ? one_of(v, sinks, 2) : 0;
    if (i < 0)
        return bad(msg, cap, "LR_SINK", v, "log or dynamodb");
    cfg->sink = i ? HANDLER_SINK_DYNAMODB : HANDLER_SINK_LOG;
    v = env_or_empty("LR_SINK_FORMAT");
    if ((i = *v ? one_of(v, formats, 2) : 0) < 0)
        return bad(msg, cap, "LR_SINK_FORMAT", v, "plain or ddb");
    cfg->sink_format = i ? HANDLER_SINK_FORMAT_DDB : HANDLER_SINK_FORMAT_PLAIN;
    v = env_or_empty("LR_SINK_NUMBERS");
    if ((i = *v ? one_of(v, numbers, 2) : 0) < 0)
        return bad(msg, cap, "LR_SINK_NUMBERS", v, "number or string");
    cfg->sink_numbers = i ? DDB_PLAIN_NUMBERS_STRING : DDB_PLAIN_NUMBERS_NUMBER;
    return parse_sink_target(cfg, msg, cap);
}

enum lr_status handler_config_from_env(struct handler_config *cfg, char *msg, size_t msg_cap)
{
    assert(cfg && msg && msg_cap);
    memset(cfg, 0, sizeof(*cfg));
    msg[0] = '\0';
    lr_batch_options_init(&cfg->batch);
    if (lr_batch_options_from_env(&cfg->batch, msg, msg_cap) != LR_OK ||
        !parse_log_records(cfg, msg, msg_cap) || !parse_log_images(cfg, msg, msg_cap) ||
        !parse_emf(cfg, msg, msg_cap) || !parse_sink(cfg, msg, msg_cap))
        return LR_E_CONFIG;
    return LR_OK;
}
