/* CloudWatch Embedded Metric Format: renders one metrics document as a single compact JSON line
 * ({"_aws":{"Timestamp":..,"CloudWatchMetrics":[{"Namespace":..,"Dimensions":[[..]],"Metrics":[..]}]},
 * members...}) that Lambda turns into metrics when it is printed on stdout (lr_log_raw_json_line).
 * Threads: no state outside the caller's objects; concurrent workers each render their own. */
#ifndef LR_EMF_H
#define LR_EMF_H

#include <stddef.h>
#include <stdint.h>

#include "lr/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits from the EMF specification (current version): a dimension set holds at most 30 keys, a
 * directive at most 100 metrics, a namespace 1..1024 characters, a dimension value at most 1024. */
#define LR_EMF_MAX_DIMENSIONS 30
#define LR_EMF_MAX_METRICS 100
#define LR_EMF_MAX_NAMESPACE 1024
#define LR_EMF_MAX_NAME 255
#define LR_EMF_MAX_VALUE 1024
/* A rendered line is capped well under CloudWatch's 256 KB event limit. */
#define LR_EMF_MAX_LINE_BYTES ((size_t)64 * 1024)

/* Errors: LR_E_EMF_NAMESPACE, LR_E_EMF_NAME, LR_E_EMF_VALUE, LR_E_EMF_COUNT, LR_E_EMF_UNIT
 * (lr/common.h), and LR_E_TOO_LARGE when the line would exceed LR_EMF_MAX_LINE_BYTES. */

/* One metric: a top-level member with an integer value (counts and milliseconds are integers). */
struct lr_emf_metric {
    const char *name; /* caller-owned, NUL-terminated, borrowed for the call */
    const char *unit; /* "Count", "Milliseconds", "Bytes", ...; NULL means "None" */
    int64_t value;
};

/* One string member: a dimension (listed in the dimension set) or a plain property (searchable in
 * Logs Insights but not a dimension, e.g. a high-cardinality request id). */
struct lr_emf_member {
    const char *name;    /* caller-owned, NUL-terminated, borrowed for the call */
    struct lr_str value; /* borrowed for the call */
};

/* Everything in one document; every pointer is borrowed for the duration of lr_emf_render(). */
struct lr_emf_doc {
    const char *namespace_name;
    int64_t timestamp_ms; /* epoch milliseconds (lr_clock_now_ms(), lr/clock.h) */
    const struct lr_emf_member *dimensions;
    size_t n_dimensions; /* 0 gives one empty dimension set: metrics without dimensions */
    const struct lr_emf_metric *metrics;
    size_t n_metrics;
    const struct lr_emf_member *properties;
    size_t n_properties;
};

/* Renders doc as one line without a trailing newline. On LR_OK *out is a NUL-terminated heap
 * string owned by the caller (free() it) and *out_len its length; on error *out is NULL. */
enum lr_status lr_emf_render(const struct lr_emf_doc *doc, char **out,
                             size_t *out_len) LR_NODISCARD;

/* Renders doc and prints it as one line on stdout through the logger (lr_log_raw_json_line(), which
 * Lambda reads as metrics). Returns the render or logger error, which is also logged as one WARN. */
enum lr_status lr_emf_print(const struct lr_emf_doc *doc);

#ifdef __cplusplus
}
#endif
#endif
