/* Example: keep a stock ledger in sync with an inventory table's stream.
 *
 * Business rule: every INSERT/MODIFY of an item must carry a whole, non-negative "Quantity" (N) and
 * a "Sku" (S). A record that breaks the rule is reported as failed, so Lambda retries the batch from
 * it (and, with an OnFailure destination, eventually parks it) instead of the ledger silently
 * drifting. REMOVE events just close the item. Everything else (ordering, partial batch response,
 * deadline guard, logs and metrics) comes from lr_batch. */
#include <inttypes.h>

#include "lr/batch.h"
#include "lr/ddb.h"
#include "lr/log.h"
#include "lr/runtime.h"

struct ledger {
    int64_t units_in_stock; /* what the business logic maintains across records */
};

static enum lr_batch_record_status apply_change(const struct ddb_record *rec, void *user_data,
                                                struct lr_batch_reason *reason)
{
    struct ledger *ledger = user_data;
    if (rec->event_name == DDB_EVENT_REMOVE)
        return LR_BATCH_RECORD_OK; /* the item is gone; nothing to check */
    const struct ddb_attr *sku = ddb_map_get(&rec->new_image, "Sku", 3);
    const struct ddb_attr *qty = ddb_map_get(&rec->new_image, "Quantity", 8);
    if (!sku || sku->type != DDB_S) {
        lr_batch_reason_set(reason, "NewImage has no Sku string");
        return LR_BATCH_RECORD_FAILED;
    }
    int64_t units = 0;
    if (!qty || qty->type != DDB_N || ddb_number_to_int64(qty->v.n, &units) != LR_OK || units < 0) {
        lr_batch_reason_set(reason, "Quantity of %.*s is not a whole number >= 0",
                            (int)(sku->v.s.len > 64 ? 64 : sku->v.s.len), sku->v.s.ptr);
        return LR_BATCH_RECORD_FAILED;
    }
    ledger->units_in_stock += units;
    lr_log(LR_LOG_INFO, "stock of %.*s is now %" PRId64 " (ledger total %" PRId64 ")",
           (int)(sku->v.s.len > 64 ? 64 : sku->v.s.len), sku->v.s.ptr, units,
           ledger->units_in_stock);
    return LR_BATCH_RECORD_OK;
}

int main(void)
{
    static struct ledger ledger;
    static struct lr_batch_handler h;
    char msg[256];
    lr_batch_handler_init(&h, apply_change, &ledger);
    h.emf_namespace = "InventoryExample";
    h.options.mode = LR_BATCH_MODE_ORDERED; /* per-SKU order matters for a ledger */
    if (lr_batch_options_from_env(&h.options, msg, sizeof(msg)) != LR_OK)
        return lr_report_init_error(msg, "Runtime.ConfigInvalid");
    return lr_run_handler(lr_batch_handle, &h); /* logs follow AWS_LAMBDA_LOG_FORMAT / LEVEL */
}
