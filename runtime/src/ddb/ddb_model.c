/* Small accessors of the model: names of enums, map lookup, sequence numbers, TTL deletes. */
#include <string.h>

#include "lr/ddb.h"

const char *ddb_type_name(enum ddb_type type)
{
    static const char *const names[] = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"};
    if (type >= DDB_S && type <= DDB_BOOL)
        return names[type - DDB_S];
    return "?";
}

const char *ddb_event_name_str(enum ddb_event_name name)
{
    switch (name) {
    case DDB_EVENT_INSERT: return "INSERT";
    case DDB_EVENT_MODIFY: return "MODIFY";
    case DDB_EVENT_REMOVE: return "REMOVE";
    case DDB_EVENT_UNKNOWN: break;
    }
    return "UNKNOWN";
}

const char *ddb_view_type_str(enum ddb_view_type view)
{
    switch (view) {
    case DDB_VIEW_KEYS_ONLY: return "KEYS_ONLY";
    case DDB_VIEW_NEW_IMAGE: return "NEW_IMAGE";
    case DDB_VIEW_OLD_IMAGE: return "OLD_IMAGE";
    case DDB_VIEW_NEW_AND_OLD_IMAGES: return "NEW_AND_OLD_IMAGES";
    case DDB_VIEW_UNKNOWN: break;
    }
    return "UNKNOWN";
}

const struct ddb_attr *ddb_map_get(const struct ddb_map *map, const char *name, size_t len)
{
    for (size_t i = 0; i < map->count; i++) {
        const struct ddb_member *m = &map->members[i];
        if (m->name.len == len && (len == 0 || memcmp(m->name.ptr, name, len) == 0))
            return &m->value;
    }
    return NULL;
}

static struct lr_str strip_zeros(struct lr_str s)
{
    while (s.len > 1 && s.ptr[0] == '0') {
        s.ptr++;
        s.len--;
    }
    return s;
}

int ddb_seq_cmp(struct lr_str a, struct lr_str b)
{
    a = strip_zeros(a);
    b = strip_zeros(b);
    if (a.len != b.len)
        return a.len < b.len ? -1 : 1;
    if (a.len == 0)
        return 0;
    int c = memcmp(a.ptr, b.ptr, a.len);
    return (c > 0) - (c < 0);
}

static bool text_is(struct lr_str s, const char *lit)
{
    return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

bool ddb_record_is_ttl_delete(const struct ddb_record *rec)
{
    return rec->event_name == DDB_EVENT_REMOVE && rec->user_identity.present &&
           text_is(rec->user_identity.type, "Service") &&
           text_is(rec->user_identity.principal_id, "dynamodb.amazonaws.com");
}
