/* The bundled handler's one log line per record: identity plus Keys and (in full mode) NewImage and
 * OldImage as compact DynamoDB JSON, as JSON-valued fields in JSON format. A struct record_log
 * holds reusable buffers: one per thread (each worker's struct handler has its own). */
#ifndef LR_HANDLER_RECORD_LOG_H
#define LR_HANDLER_RECORD_LOG_H

#include <stdbool.h>

#include "lr/ddb.h"

/* Cap on one serialised image; larger ones are replaced by a note (a log line is at most
 * LR_LOG_DEFAULT_MAX_LINE bytes anyway, and a DynamoDB item is at most 400 KB). */
#define RECORD_LOG_MAX_IMAGE_BYTES ((size_t)200 * 1024)

/* Scratch buffers reused from record to record (owned by the struct; record_log_clean_up frees). */
struct record_log {
    struct lr_buf keys;
    struct lr_buf new_image;
    struct lr_buf old_image;
};

void record_log_init(struct record_log *rl);

/* Frees the buffers and zeroes rl; safe on a zeroed struct and safe to call twice. */
void record_log_clean_up(struct record_log *rl);

/* Writes the line for rec at INFO; with_images false logs the keys only; plain writes keys and images
 * as plain JSON (ddb_image_render_plain) instead of DynamoDB JSON. rec is borrowed. */
void record_log_write(struct record_log *rl, const struct ddb_record *rec, bool with_images,
                      bool plain);

#endif
