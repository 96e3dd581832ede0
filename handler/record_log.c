/* One log line per record, built from compact DynamoDB JSON of its keys and images. */
#include "record_log.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "lr/json.h"
#include "lr/log.h"

void record_log_init(struct record_log *rl)
{
    assert(rl);
    lr_buf_init(&rl->keys, RECORD_LOG_MAX_IMAGE_BYTES);
    lr_buf_init(&rl->new_image, RECORD_LOG_MAX_IMAGE_BYTES);
    lr_buf_init(&rl->old_image, RECORD_LOG_MAX_IMAGE_BYTES);
}

void record_log_clean_up(struct record_log *rl)
{
    if (!rl)
        return;
    lr_buf_clean_up(&rl->keys);
    lr_buf_clean_up(&rl->new_image);
    lr_buf_clean_up(&rl->old_image);
}

/* Serialises map into buf and fills the field: JSON when it fits, else a plain-text note, so the
 * line keeps the record's identity even when an image is too big to log. */
static void image_field(struct lr_log_field *f, const char *key, const struct ddb_map *map,
                        struct lr_buf *buf, bool plain)
{
    static const char too_large[] = "(omitted: larger than the per-image log cap)";
    f->key = key;
    /* Most images arrive as compact JSON that needs no escaping: then the line takes the event's
     * own text (ddb_image_text() checks it renders the same, byte for byte). */
    struct lr_str text = plain ? (struct lr_str){NULL, 0} : ddb_image_text(map);
    if (text.ptr && text.len <= RECORD_LOG_MAX_IMAGE_BYTES) {
        f->value = text;
        f->is_json = LR_LOG_VALUE_JSON_CHECKED; /* ddb_image_text() gives only text that passed */
        return;
    }
    lr_buf_reset(buf);
    enum lr_status st = plain ? ddb_image_render_plain(map, DDB_PLAIN_NUMBERS_NUMBER, buf)
                              : ddb_image_serialize(map, buf);
    if (st == LR_OK && buf->data) {
        f->value = (struct lr_str){buf->data, buf->len};
        f->is_json = LR_LOG_VALUE_JSON;
    } else {
        f->value = (struct lr_str){too_large, sizeof(too_large) - 1};
        f->is_json = LR_LOG_VALUE_TEXT;
    }
}

/* "record <index>: <eventName>", the name cut at 16 bytes (and, as printf's %.*s would, at a NUL),
 * written without printf, which would cost more than the rest of the line. Returns the length. */
static size_t record_message(char out[64], const struct ddb_record *rec)
{
    memcpy(out, "record ", 7);
    size_t len = 7 + lr_json_int(out + 7, (int64_t)rec->index); /* an index fits: 64 >= 7+20+2+16 */
    out[len++] = ':';
    out[len++] = ' ';
    struct lr_str name = rec->event_name_raw;
    size_t n = name.ptr ? (name.len > 16 ? 16 : name.len) : 0;
    const char *nul = n ? memchr(name.ptr, '\0', n) : NULL;
    n = nul ? (size_t)(nul - name.ptr) : n;
    memcpy(out + len, name.ptr ? name.ptr : "", n);
    return len + n;
}

void record_log_write(struct record_log *rl, const struct ddb_record *rec, bool with_images,
                      bool plain)
{
    if (!lr_log_enabled(LR_LOG_INFO))
        return; /* e.g. AWS_LAMBDA_LOG_LEVEL=WARN: do not serialise images nobody will see */
    struct lr_log_field fields[6] = {
        {"eventName", rec->event_name_raw, false},
        {"eventID", rec->event_id, false},
        {"sequenceNumber", rec->sequence_number, false},
    };
    size_t n = 3;
    image_field(&fields[n++], "keys", &rec->keys, &rl->keys, plain);
    if (with_images) {
        image_field(&fields[n++], "newImage", &rec->new_image, &rl->new_image, plain);
        image_field(&fields[n++], "oldImage", &rec->old_image, &rl->old_image, plain);
    }
    char msg[64];
    size_t msg_len = record_message(msg, rec);
    lr_log_fields_str(LR_LOG_INFO, fields, n, msg, msg_len);
}
