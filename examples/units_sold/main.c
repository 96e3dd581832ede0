/* Example: units sold per product over a tumbling window (the mapping's TumblingWindowInSeconds).
 *
 * Every INSERT of an order line (NewImage: "Product" S, "Units" N, a whole number >= 0) adds its units
 * to the product's tally. The tallies of one invoke are kept in the process and merged into the
 * window's state by the window function, which Lambda hands back on the next invoke of the window: the
 * state is {"<product>": units, ...}. The final invoke of a window logs the totals. A line that breaks
 * the rule fails (ordered mode: the batch is retried from it) and is not counted; Lambda's answer
 * carries the state either way, as it must. */
#include <inttypes.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "lr/batch.h"
#include "lr/ddb.h"
#include "lr/log.h"
#include "lr/runtime.h"

struct tally {
    cJSON *units; /* this invoke's units per product, an object; NULL between invokes */
};

static enum lr_batch_record_status count_line(const struct ddb_record *rec, void *user_data,
                                              struct lr_batch_reason *reason)
{
    struct tally *t = user_data;
    if (rec->event_name != DDB_EVENT_INSERT)
        return LR_BATCH_RECORD_OK; /* an order line is sold once, when it is written */
    const struct ddb_attr *product = ddb_map_get(&rec->new_image, "Product", 7);
    const struct ddb_attr *units = ddb_map_get(&rec->new_image, "Units", 5);
    int64_t n = 0;
    if (!product || product->type != DDB_S || product->v.s.len == 0 || product->v.s.len > 128 ||
        !units || units->type != DDB_N || ddb_number_to_int64(units->v.n, &n) != LR_OK || n < 0) {
        lr_batch_reason_set(reason, "an order line needs Product (S, 1..128 bytes) and Units "
                                    "(a whole N >= 0)");
        return LR_BATCH_RECORD_FAILED;
    }
    char name[129];
    snprintf(name, sizeof(name), "%.*s", (int)product->v.s.len, product->v.s.ptr);
    if (!t->units)
        t->units = cJSON_CreateObject();
    cJSON *have = cJSON_GetObjectItemCaseSensitive(t->units, name);
    if (have)
        cJSON_SetNumberValue(have, have->valuedouble + (double)n);
    else
        cJSON_AddNumberToObject(t->units, name, (double)n);
    return LR_BATCH_RECORD_OK;
}

/* state = the incoming state + this invoke's tallies. */
static enum lr_status merge_window(void *user_data, const struct ddb_window *w,
                                   const struct lr_batch_result *res, struct lr_buf *state)
{
    (void)res;
    struct tally *t = user_data;
    cJSON *total = w->state_json.len ? cJSON_ParseWithLength(w->state_json.ptr, w->state_json.len)
                                     : NULL;
    if (!cJSON_IsObject(total)) {
        cJSON_Delete(total);
        total = cJSON_CreateObject();
    }
    const cJSON *line;
    cJSON_ArrayForEach (line, t->units) {
        cJSON *have = cJSON_GetObjectItemCaseSensitive(total, line->string);
        if (cJSON_IsNumber(have))
            cJSON_SetNumberValue(have, have->valuedouble + line->valuedouble);
        else
            cJSON_AddNumberToObject(total, line->string, line->valuedouble);
    }
    char *text = cJSON_PrintUnformatted(total);
    lr_buf_put_str(state, text ? text : "{}");
    if (w->is_final_invoke_for_window)
        lr_log(LR_LOG_INFO, "units sold from %.*s to %.*s: %s", (int)w->start.len, w->start.ptr,
               (int)w->end.len, w->end.ptr, text ? text : "{}");
    cJSON_free(text);
    cJSON_Delete(total);
    cJSON_Delete(t->units); /* the next invoke starts its own tally */
    t->units = NULL;
    return LR_OK;
}

static struct tally tally;
static struct lr_batch_handler h;

/* Each invoke starts its own tally: one that ended in an invoke error, or an event without a
 * window, never reached merge_window(). */
static struct lr_invocation_response invoke(const struct lr_invocation_request *req, void *user)
{
    cJSON_Delete(tally.units);
    tally.units = NULL;
    return lr_batch_handle(req, user);
}

int main(void)
{
    char msg[256];
    lr_batch_handler_init(&h, count_line, &tally);
    h.window = merge_window;
    h.emf_namespace = "UnitsSoldExample";
    if (lr_batch_options_from_env(&h.options, msg, sizeof(msg)) != LR_OK)
        return lr_report_init_error(msg, "Runtime.ConfigInvalid");
    return lr_run_handler(invoke, &h);
}
