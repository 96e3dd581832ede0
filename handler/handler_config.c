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
    /* CloudWatch takes printable ASCII, not starting with ':' (PutMetricData's pattern). */
    bool blank = true;
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)ns[i] < 0x20 || (unsigned char)ns[i] > 0x7E)
            return bad(msg, cap, "LR_EMF_NAMESPACE", ns, "printable ASCII characters only");
        blank = blank && ns[i] == ' ';
    }
    if (ns[0] == ':' || blank)
        return bad(msg, cap, "LR_EMF_NAMESPACE", ns, "not blank, and not starting with ':'");
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

/* arn:<partition>:<service>:<region>:<12-digit account>:<resource>: the region into cfg and the
 * resource returned (NULL when arn is not such an ARN). */
static const char *split_arn(struct handler_config *cfg, const char *arn, const char *service)
{
    const char *f[6];
    size_t len[6];
    const char *p = arn;
    for (int i = 0; i < 6; i++) {
        f[i] = p;
        len[i] = i < 5 ? strcspn(p, ":") : strlen(p);
        if (i < 5 && p[len[i]] != ':')
            return NULL;
        p += len[i] + 1;
    }
    const char *lower = "abcdefghijklmnopqrstuvwxyz-";
    const char *region_chars = "abcdefghijklmnopqrstuvwxyz0123456789-";
    if (len[0] != 3 || memcmp(f[0], "arn", 3) != 0 || len[1] == 0 || strspn(f[1], lower) < len[1] ||
        len[2] != strlen(service) || memcmp(f[2], service, len[2]) != 0 || len[3] == 0 ||
        len[3] >= sizeof(cfg->sink_region) || strspn(f[3], region_chars) < len[3] || len[4] != 12 ||
        strspn(f[4], "0123456789") < 12)
        return NULL;
    memcpy(cfg->sink_region, f[3], len[3]);
    cfg->sink_region[len[3]] = '\0';
    return f[5];
}

/* name is 1..max of [A-Za-z0-9_-] and, when fifo_ok, a ".fifo" suffix (which sets cfg->sink_fifo). */
static bool queue_name_ok(struct handler_config *cfg, const char *name, size_t max)
{
    static const char allowed[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";
    size_t len = strlen(name);
    cfg->sink_fifo = len > 5 && strcmp(name + len - 5, ".fifo") == 0;
    size_t base = cfg->sink_fifo ? len - 5 : len;
    return base >= 1 && len <= max && strspn(name, allowed) >= base;
}

/* http(s)://<host>/<12-digit account>/<queue name>; the region from sqs.<region>.amazonaws.com[.cn]
 * (another host, such as a local endpoint, leaves it to AWS_REGION). */
static bool parse_queue_url(struct handler_config *cfg, const char *url)
{
    const char *host = strncmp(url, "https://", 8) == 0  ? url + 8
                       : strncmp(url, "http://", 7) == 0 ? url + 7
                                                         : NULL;
    const char *slash = host ? strchr(host, '/') : NULL;
    if (!slash || slash == host || strspn(slash + 1, "0123456789") != 12 || slash[13] != '/' ||
        !queue_name_ok(cfg, slash + 14, 80))
        return false;
    size_t host_len = (size_t)(slash - host);
    const char *dot = host_len > 4 ? memchr(host + 4, '.', host_len - 4) : NULL;
    if (strncmp(host, "sqs.", 4) == 0 && dot != NULL && strncmp(dot, ".amazonaws.com", 14) == 0 &&
        (size_t)(dot - host - 4) < sizeof(cfg->sink_region)) {
        memcpy(cfg->sink_region, host + 4, (size_t)(dot - host - 4));
        cfg->sink_region[dot - host - 4] = '\0';
    }
    return true;
}

/* An event bus name (1..256 of [A-Za-z0-9._-/]) or arn:<partition>:events:...:event-bus/<name>. */
static bool parse_bus(struct handler_config *cfg, const char *v)
{
    static const char allowed[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/";
    const char *name = v;
    if (strncmp(v, "arn:", 4) == 0) {
        const char *res = split_arn(cfg, v, "events");
        if (!res || strncmp(res, "event-bus/", 10) != 0)
            return false;
        name = res + 10;
    }
    size_t len = strlen(name);
    return len >= 1 && len <= 256 && strspn(name, allowed) == len;
}

/* LR_SINK_TARGET of a message sink, kept as given once it is checked. */
static bool parse_message_target(struct handler_config *cfg, const char *v, char *msg, size_t cap)
{
    const char *res;
    bool ok = strlen(v) < sizeof(cfg->sink_target);
    if (cfg->sink == HANDLER_SINK_SQS && !(ok && parse_queue_url(cfg, v)))
        return bad(msg, cap, "LR_SINK_TARGET", v,
                   "a queue URL, https://sqs.<region>.amazonaws.com/<account>/<queue name>");
    if (cfg->sink == HANDLER_SINK_SNS &&
        !(ok && (res = split_arn(cfg, v, "sns")) != NULL && queue_name_ok(cfg, res, 256)))
        return bad(msg, cap, "LR_SINK_TARGET", v,
                   "a topic ARN, arn:<partition>:sns:<region>:<account>:<topic name>");
    if (cfg->sink == HANDLER_SINK_EVENTBRIDGE && !(ok && parse_bus(cfg, v)))
        return bad(msg, cap, "LR_SINK_TARGET", v,
                   "an event bus name or ARN, arn:<partition>:events:<region>:<account>:"
                   "event-bus/<name>");
    memcpy(cfg->sink_target, v, strlen(v) + 1);
    return true;
}

static bool parse_table_target(struct handler_config *cfg, const char *v, char *msg, size_t cap)
{
    const char *res = strncmp(v, "arn:", 4) == 0 ? split_arn(cfg, v, "dynamodb") : NULL;
    if (strncmp(v, "arn:", 4) == 0) {
        if (!res || strncmp(res, "table/", 6) != 0 || !table_name_ok(res + 6, strlen(res + 6)))
            return bad(msg, cap, "LR_SINK_TARGET", v,
                       "a table ARN, arn:<partition>:dynamodb:<region>:<account>:table/<name>");
        if (strlen(v) >= sizeof(cfg->sink_table))
            return bad(msg, cap, "LR_SINK_TARGET", v, "a table ARN of at most 1023 bytes");
        /* As given: a table of another account (resource-based policy) is named by its ARN, while
         * a bare name is read as the caller's own table. */
        memcpy(cfg->sink_table, v, strlen(v) + 1);
    } else if (table_name_ok(v, strlen(v))) {
        memcpy(cfg->sink_table, v, strlen(v) + 1);
    } else {
        return bad(msg, cap, "LR_SINK_TARGET", v,
                   "a table name (3..255 of A-Z a-z 0-9 _ . -) or ARN");
    }
    return true;
}

static bool parse_sink_target(struct handler_config *cfg, const char *sink, char *msg, size_t cap)
{
    const char *v = env_or_empty("LR_SINK_TARGET");
    if (cfg->sink == HANDLER_SINK_LOG) {
        if (*v)
            return bad(msg, cap, "LR_SINK_TARGET", v, "no target with LR_SINK=log (set LR_SINK)");
        return true;
    }
    if (!*v) {
        static const char *const want[] = {"", "the target table's name or ARN", "a queue URL",
                                           "a topic ARN", "an event bus name or ARN"};
        snprintf(msg, cap, "invalid LR_SINK_TARGET=\"\": expected %s with LR_SINK=%s",
                 want[cfg->sink], sink);
        return false;
    }
    if (!(cfg->sink == HANDLER_SINK_DYNAMODB ? parse_table_target(cfg, v, msg, cap)
                                             : parse_message_target(cfg, v, msg, cap)))
        return false;
    if (!cfg->sink_region[0] && !*env_or_empty("AWS_REGION") &&
        !*env_or_empty("AWS_DEFAULT_REGION"))
        return bad(
            msg, cap, "LR_SINK_TARGET", v,
            "a region: AWS_REGION (Lambda sets it), AWS_DEFAULT_REGION, or one in the target");
    return true;
}

/* LR_SINK_MAX_BYTES and LR_EVENT_SOURCE, which only message sinks take. */
static bool parse_message_limits(struct handler_config *cfg, char *msg, size_t cap)
{
    bool messages = cfg->sink >= HANDLER_SINK_SQS;
    const char *v = env_or_empty("LR_SINK_MAX_BYTES");
    cfg->sink_max_bytes = HANDLER_SINK_MAX_BYTES_DEFAULT;
    if (*v && !messages)
        return bad(msg, cap, "LR_SINK_MAX_BYTES", v,
                   "no value without a sqs, sns or eventbridge sink");
    if (*v) {
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        if (*end || v[0] < '0' || v[0] > '9' || n < HANDLER_SINK_MAX_BYTES_MIN ||
            n > HANDLER_SINK_MAX_BYTES_MAX)
            return bad(msg, cap, "LR_SINK_MAX_BYTES", v, "a number of bytes in 1024..1048576");
        cfg->sink_max_bytes = (size_t)n;
    }
    v = env_or_empty("LR_EVENT_SOURCE");
    if (*v && cfg->sink != HANDLER_SINK_EVENTBRIDGE)
        return bad(msg, cap, "LR_EVENT_SOURCE", v, "no value without LR_SINK=eventbridge");
    if (!*v)
        v = HANDLER_DEFAULT_EVENT_SOURCE;
    size_t len = strlen(v);
    if (len > 256)
        return bad(msg, cap, "LR_EVENT_SOURCE", v, "at most 256 characters");
    /* EventBridge refuses each entry of a reserved source: every record would fail. */
    if (strncmp(v, "aws.", 4) == 0)
        return bad(msg, cap, "LR_EVENT_SOURCE", v,
                   "a source not starting with the reserved \"aws.\"");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] == 0x7F)
            return bad(msg, cap, "LR_EVENT_SOURCE", v, "no control characters");
    memcpy(cfg->event_source, v, len + 1);
    return true;
}

static bool parse_sink(struct handler_config *cfg, char *msg, size_t cap)
{
    static const char *const sinks[] = {"log", "dynamodb", "sqs", "sns", "eventbridge"};
    static const char *const formats[] = {"plain", "ddb"};
    static const char *const numbers[] = {"number", "string"};
    const char *v = env_or_empty("LR_SINK");
    const char *sink = *v ? v : "log";
    int i = one_of(sink, sinks, 5);
    if (i < 0)
        return bad(msg, cap, "LR_SINK", v, "log, dynamodb, sqs, sns or eventbridge");
    cfg->sink = (enum handler_sink)i;
    v = env_or_empty("LR_SINK_FORMAT");
    if ((i = *v ? one_of(v, formats, 2) : 0) < 0)
        return bad(msg, cap, "LR_SINK_FORMAT", v, "plain or ddb");
    cfg->sink_format = i ? HANDLER_SINK_FORMAT_DDB : HANDLER_SINK_FORMAT_PLAIN;
    v = env_or_empty("LR_SINK_NUMBERS");
    if ((i = *v ? one_of(v, numbers, 2) : 0) < 0)
        return bad(msg, cap, "LR_SINK_NUMBERS", v, "number or string");
    cfg->sink_numbers = i ? DDB_PLAIN_NUMBERS_STRING : DDB_PLAIN_NUMBERS_NUMBER;
    return parse_sink_target(cfg, sink, msg, cap) && parse_message_limits(cfg, msg, cap);
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
