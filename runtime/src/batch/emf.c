/* Embedded Metric Format rendering: validates against the EMF limits, then writes one compact line. */
#include "lr/emf.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch/jbuf.h"

const char *lr_emf_status_str(enum lr_emf_status st)
{
    switch (st) {
    case LR_EMF_OK: return "LR_EMF_OK";
    case LR_EMF_E_NAMESPACE: return "LR_EMF_E_NAMESPACE (namespace empty or too long)";
    case LR_EMF_E_NAME: return "LR_EMF_E_NAME (member name empty, too long, reserved or repeated)";
    case LR_EMF_E_VALUE: return "LR_EMF_E_VALUE (dimension value empty or too long)";
    case LR_EMF_E_COUNT: return "LR_EMF_E_COUNT (no metric, or too many metrics/dimensions)";
    case LR_EMF_E_UNIT: return "LR_EMF_E_UNIT (not a CloudWatch unit)";
    case LR_EMF_E_TOO_LARGE: return "LR_EMF_E_TOO_LARGE (line over the cap)";
    }
    return "LR_EMF_E_UNKNOWN";
}

int64_t lr_emf_now_ms(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const k_units[] = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second",
    "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second",
    "Count/Second", "None"};

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

static enum lr_emf_status check_members(struct names *ns, const struct lr_emf_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!name_add(ns, m[i].name))
            return LR_EMF_E_NAME;
        if (!m[i].value.ptr || m[i].value.len == 0 || m[i].value.len > LR_EMF_MAX_VALUE)
            return LR_EMF_E_VALUE;
    }
    return LR_EMF_OK;
}

static enum lr_emf_status validate(const struct lr_emf_doc *d)
{
    size_t ns_len = d->namespace_name ? strlen(d->namespace_name) : 0;
    if (ns_len == 0 || ns_len > LR_EMF_MAX_NAMESPACE)
        return LR_EMF_E_NAMESPACE;
    if (d->n_metrics == 0 || d->n_metrics > LR_EMF_MAX_METRICS ||
        d->n_dimensions > LR_EMF_MAX_DIMENSIONS || d->n_properties > LR_EMF_MAX_DIMENSIONS)
        return LR_EMF_E_COUNT;
    struct names ns = {.n = 0};
    enum lr_emf_status st = check_members(&ns, d->dimensions, d->n_dimensions);
    if (st == LR_EMF_OK)
        st = check_members(&ns, d->properties, d->n_properties);
    for (size_t i = 0; st == LR_EMF_OK && i < d->n_metrics; i++) {
        if (!name_add(&ns, d->metrics[i].name))
            st = LR_EMF_E_NAME;
        else if (!unit_ok(d->metrics[i].unit))
            st = LR_EMF_E_UNIT;
    }
    return st;
}

static void render_directive(struct jbuf *b, const struct lr_emf_doc *d)
{
    jbuf_append_cstr(b, "{\"Namespace\":");
    jbuf_append_json_string(b, d->namespace_name, strlen(d->namespace_name));
    jbuf_append_cstr(b, ",\"Dimensions\":[[");
    for (size_t i = 0; i < d->n_dimensions; i++) {
        if (i)
            jbuf_append(b, ",", 1);
        jbuf_append_json_string(b, d->dimensions[i].name, strlen(d->dimensions[i].name));
    }
    jbuf_append_cstr(b, "]],\"Metrics\":[");
    for (size_t i = 0; i < d->n_metrics; i++) {
        const struct lr_emf_metric *m = &d->metrics[i];
        jbuf_append_cstr(b, i ? ",{\"Name\":" : "{\"Name\":");
        jbuf_append_json_string(b, m->name, strlen(m->name));
        jbuf_append_cstr(b, ",\"Unit\":\"");
        jbuf_append_cstr(b, m->unit ? m->unit : "None");
        jbuf_append_cstr(b, "\"}");
    }
    jbuf_append_cstr(b, "]}");
}

static void render_members(struct jbuf *b, const struct lr_emf_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jbuf_append(b, ",", 1);
        jbuf_append_json_string(b, m[i].name, strlen(m[i].name));
        jbuf_append(b, ":", 1);
        jbuf_append_json_string(b, m[i].value.ptr, m[i].value.len);
    }
}

enum lr_emf_status lr_emf_render(const struct lr_emf_doc *doc, char **out, size_t *out_len)
{
    assert(doc && out && out_len);
    *out = NULL;
    *out_len = 0;
    enum lr_emf_status st = validate(doc);
    if (st != LR_EMF_OK)
        return st;
    struct jbuf b;
    jbuf_init(&b, LR_EMF_MAX_LINE_BYTES);
    jbuf_append_cstr(&b, "{\"_aws\":{\"Timestamp\":");
    jbuf_append_i64(&b, doc->timestamp_ms);
    jbuf_append_cstr(&b, ",\"CloudWatchMetrics\":[");
    render_directive(&b, doc);
    jbuf_append_cstr(&b, "]}");
    render_members(&b, doc->dimensions, doc->n_dimensions);
    render_members(&b, doc->properties, doc->n_properties);
    for (size_t i = 0; i < doc->n_metrics; i++) {
        jbuf_append(&b, ",", 1);
        jbuf_append_json_string(&b, doc->metrics[i].name, strlen(doc->metrics[i].name));
        jbuf_append(&b, ":", 1);
        jbuf_append_i64(&b, doc->metrics[i].value);
    }
    jbuf_append(&b, "}", 1);
    *out = jbuf_take(&b, out_len);
    return *out ? LR_EMF_OK : LR_EMF_E_TOO_LARGE;
}
