/* Private record and attribute parsers of the ddb layer, shared by ddb_event_parse() and the reader.
 * They walk validated JSON (see ddb_json.h) and put arrays and decoded strings into an arena. */
#ifndef LR_DDB_PARSE_H
#define LR_DDB_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "ddb/ddb_arena.h"
#include "ddb/ddb_json.h"
#include "lr/common.h"
#include "lr/ddb.h"

/* State of one record's parse: the cursor, the arena, and the first error met. */
struct ddb_ctx {
    struct ddb_json j;
    struct ddb_arena *arena;
    const char *field;       /* record member being parsed, for error details (static) */
    struct lr_str name;      /* innermost attribute name being parsed, for error details */
    bool seen_stream_record; /* the record had a "dynamodb" object */
    enum lr_status error;
    char detail[256];
};

/* Records the first error of the record (later ones are ignored) and returns st. */
enum lr_status ddb_ctx_fail(struct ddb_ctx *c, enum lr_status st, size_t offset, const char *fmt,
                            ...) LR_PRINTF(4, 5);

/* Parses the attribute value under the cursor, which sits inside `level` M/L containers. */
enum lr_status ddb_attr_parse(struct ddb_ctx *c, struct ddb_attr *out, unsigned level);

/* Parses the object under the cursor as a map of attributes inside `level` containers. */
enum lr_status ddb_map_parse(struct ddb_ctx *c, struct ddb_map *out, unsigned level);

/* Parses the record whose value starts at s[pos] into *rec (zeroed first). Malformed content marks
 * the record invalid. Returns the offset just after the record's value. compact: the validator found
 * the document compact (struct ddb_jscan_arrays), so the cursor need not look for whitespace. */
size_t ddb_record_parse(struct ddb_arena *a, const char *s, size_t len, size_t pos, bool compact,
                        size_t index, struct ddb_record *rec);

#endif
