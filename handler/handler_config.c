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

enum lr_status handler_config_from_env(struct handler_config *cfg, char *msg, size_t msg_cap)
{
    assert(cfg && msg && msg_cap);
    memset(cfg, 0, sizeof(*cfg));
    msg[0] = '\0';
    lr_batch_options_init(&cfg->batch);
    if (lr_batch_options_from_env(&cfg->batch, msg, msg_cap) != LR_OK ||
        !parse_log_records(cfg, msg, msg_cap) || !parse_log_images(cfg, msg, msg_cap) ||
        !parse_emf(cfg, msg, msg_cap))
        return LR_E_CONFIG;
    return LR_OK;
}
