/* Embedded Metric Format rendering: validates against the EMF limits, then writes one compact line. */
#include "lr/emf.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lr/buf.h"
#include "lr/json.h"
#include "lr/log.h"

static const char *const k_units[] = {"Seconds",
                                      "Microseconds",
                                      "Milliseconds",
                                      "Bytes",
                                      "Kilobytes",
                                      "Megabytes",
                                      "Gigabytes",
                                      "Terabytes",
                                      "Bits",
                                      "Kilobits",
                                      "Megabits",
                                      "Gigabits",
                                      "Terabits",
                                      "Percent",
                                      "Count",
                                      "Bytes/Second",
                                      "Kilobytes/Second",
                                      "Megabytes/Second",
                                      "Gigabytes/Second",
                                      "Terabytes/Second",
                                      "Bits/Second",
                                      "Kilobits/Second",
                                      "Megabits/Second",
                                      "Gigabits/Second",
                                      "Terabits/Second",
                                      "Count/Second",
                                      "None"};

static bool unit_ok(const char *unit)
{
    if (!unit)
        return true;
    for (size_t i = 0; i < sizeof(k_units) / sizeof(k_units[0]); i++)
        if (strcmp(unit, k_units[i]) == 0)
            return true;
    return false;
}

/* Every top-level member name seen so far, to refuse duplicates (a later key would shadow an
 * earlier one and CloudWatch would read the wrong value). */
struct names {
    const char *seen[LR_EMF_MAX_DIMENSIONS * 2 + LR_EMF_MAX_METRICS];
    size_t n;
};

static bool name_add(struct names *ns, const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > LR_EMF_MAX_NAME || strcmp(name, "_aws") == 0)
        return false;
    if (ns->n == sizeof(ns->seen) / sizeof(ns->seen[0]))
        return false;
    for (size_t i = 0; i < ns->n; i++)
        if (strcmp(ns->seen[i], name) == 0)
            return false;
    ns->seen[ns->n++] = name;
    return true;
}

static enum lr_status check_members(struct names *ns, const struct lr_emf_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!name_add(ns, m[i].name))
            return LR_E_EMF_NAME;
        if (!m[i].value.ptr || m[i].value.len == 0 || m[i].value.len > LR_EMF_MAX_VALUE)
            return LR_E_EMF_VALUE;
    }
    return LR_OK;
}

static enum lr_status validate(const struct lr_emf_doc *d)
{
    size_t ns_len = d->namespace_name ? strlen(d->namespace_name) : 0;
    if (ns_len == 0 || ns_len > LR_EMF_MAX_NAMESPACE)
        return LR_E_EMF_NAMESPACE;
    if (d->n_metrics == 0 || d->n_metrics > LR_EMF_MAX_METRICS ||
        d->n_dimensions > LR_EMF_MAX_DIMENSIONS || d->n_properties > LR_EMF_MAX_DIMENSIONS)
        return LR_E_EMF_COUNT;
    struct names ns = {.n = 0};
    enum lr_status st = check_members(&ns, d->dimensions, d->n_dimensions);
    if (st == LR_OK)
        st = check_members(&ns, d->properties, d->n_properties);
    for (size_t i = 0; st == LR_OK && i < d->n_metrics; i++) {
        if (!name_add(&ns, d->metrics[i].name))
            st = LR_E_EMF_NAME;
        else if (!unit_ok(d->metrics[i].unit))
            st = LR_E_EMF_UNIT;
    }
    return st;
}

static void put_json(struct lr_buf *b, const char *bytes, size_t len)
{
    /* An EMF document is a stdout log line: the same escaping as every other line (U+2028/2029
     * and C1 controls included), so no metric value can look like a line break to any reader. */
    lr_buf_put_json_string(b, bytes, len, LR_JSON_ESCAPE_LOG);
}

static void put_i64(struct lr_buf *b, int64_t v)
{
    char tmp[LR_JSON_INT_MAX];
    lr_buf_put(b, tmp, lr_json_int(tmp, v));
}

static void render_directive(struct lr_buf *b, const struct lr_emf_doc *d)
{
    lr_buf_put_str(b, "{\"Namespace\":");
    put_json(b, d->namespace_name, strlen(d->namespace_name));
    lr_buf_put_str(b, ",\"Dimensions\":[[");
    for (size_t i = 0; i < d->n_dimensions; i++) {
        if (i)
            lr_buf_put(b, ",", 1);
        put_json(b, d->dimensions[i].name, strlen(d->dimensions[i].name));
    }
    lr_buf_put_str(b, "]],\"Metrics\":[");
    for (size_t i = 0; i < d->n_metrics; i++) {
        const struct lr_emf_metric *m = &d->metrics[i];
        lr_buf_put_str(b, i ? ",{\"Name\":" : "{\"Name\":");
        put_json(b, m->name, strlen(m->name));
        lr_buf_put_str(b, ",\"Unit\":\"");
        lr_buf_put_str(b, m->unit ? m->unit : "None");
        lr_buf_put_str(b, "\"}");
    }
    lr_buf_put_str(b, "]}");
}

static void render_members(struct lr_buf *b, const struct lr_emf_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        lr_buf_put(b, ",", 1);
        put_json(b, m[i].name, strlen(m[i].name));
        lr_buf_put(b, ":", 1);
        put_json(b, m[i].value.ptr, m[i].value.len);
    }
}

enum lr_status lr_emf_render(const struct lr_emf_doc *doc, char **out, size_t *out_len)
{
    assert(doc && out && out_len);
    *out = NULL;
    *out_len = 0;
    enum lr_status st = validate(doc);
    if (st != LR_OK)
        return st;
    struct lr_buf b;
    lr_buf_init(&b, LR_EMF_MAX_LINE_BYTES);
    lr_buf_put_str(&b, "{\"_aws\":{\"Timestamp\":");
    put_i64(&b, doc->timestamp_ms);
    lr_buf_put_str(&b, ",\"CloudWatchMetrics\":[");
    render_directive(&b, doc);
    lr_buf_put_str(&b, "]}");
    render_members(&b, doc->dimensions, doc->n_dimensions);
    render_members(&b, doc->properties, doc->n_properties);
    for (size_t i = 0; i < doc->n_metrics; i++) {
        lr_buf_put(&b, ",", 1);
        put_json(&b, doc->metrics[i].name, strlen(doc->metrics[i].name));
        lr_buf_put(&b, ":", 1);
        put_i64(&b, doc->metrics[i].value);
    }
    lr_buf_put(&b, "}", 1);
    *out = lr_buf_take(&b, out_len);
    return *out ? LR_OK : LR_E_TOO_LARGE;
}

enum lr_status lr_emf_print(const struct lr_emf_doc *doc)
{
    char *line = NULL;
    size_t len = 0;
    enum lr_status st = lr_emf_render(doc, &line, &len);
    if (st == LR_OK) {
        st = lr_log_raw_json_line(line, len);
        free(line);
    }
    if (st != LR_OK)
        lr_log(LR_LOG_WARN, "metrics line not written: %s", lr_status_str(st));
    return st;
}
