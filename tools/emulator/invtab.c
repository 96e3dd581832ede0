/* The sandbox's invoke table (see invtab.h). Linear scans: the capacity is at most 1024 and every
 * scan is a few compares per slot, far below the cost of the HTTP request that triggers it. */
#include "invtab.h"

#include <stdlib.h>
#include <string.h>

void invtab_init(struct invtab *t, unsigned capacity)
{
    t->capacity = capacity > 0 ? capacity : 1;
    t->used = 0;
    t->slots = calloc(t->capacity, sizeof(*t->slots));
    t->answered = calloc(t->capacity, sizeof(*t->answered));
    t->answered_next = 0;
    if (!t->slots || !t->answered)
        abort(); /* out of memory */
}

bool invtab_full(const struct invtab *t)
{
    return t->used >= t->capacity;
}

struct invoke *invtab_add(struct invtab *t)
{
    for (unsigned i = 0; i < t->capacity; i++) {
        struct invoke *inv = &t->slots[i];
        if (!inv->used) {
            memset(inv, 0, sizeof(*inv));
            inv->used = true;
            t->used++;
            return inv;
        }
    }
    return NULL;
}

void invtab_remove(struct invtab *t, struct invoke *inv)
{
    memcpy(t->answered[t->answered_next], inv->id, sizeof(inv->id));
    t->answered_next = (t->answered_next + 1) % t->capacity;
    blob_unref(inv->event);
    blob_unref(inv->result);
    free(inv->trace_id);
    free(inv->client_context);
    free(inv->tenant_id);
    memset(inv, 0, sizeof(*inv));
    t->used--;
}

struct invoke *invtab_at(struct invtab *t, unsigned i)
{
    return i < t->capacity && t->slots[i].used ? &t->slots[i] : NULL;
}

struct invoke *invtab_find_id(struct invtab *t, const char *id)
{
    for (unsigned i = 0; i < t->capacity; i++)
        if (t->slots[i].used && strcmp(t->slots[i].id, id) == 0)
            return &t->slots[i];
    return NULL;
}

struct invoke *invtab_find_seq(struct invtab *t, uint64_t seq)
{
    for (unsigned i = 0; seq != 0 && i < t->capacity; i++)
        if (t->slots[i].used && t->slots[i].seq == seq)
            return &t->slots[i];
    return NULL;
}

struct invoke *invtab_oldest_queued(struct invtab *t)
{
    struct invoke *best = NULL;
    for (unsigned i = 0; i < t->capacity; i++) {
        struct invoke *inv = &t->slots[i];
        if (inv->used && inv->state == INV_QUEUED && (!best || inv->order < best->order))
            best = inv;
    }
    return best;
}

bool invtab_was_answered(const struct invtab *t, const char *id)
{
    for (unsigned i = 0; i < t->capacity; i++)
        if (t->answered[i][0] && strcmp(t->answered[i], id) == 0)
            return true;
    return false;
}
