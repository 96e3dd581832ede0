/* The invokes the sandbox has started and not yet let go of, plus the ids it let go of last (a late
 * post for one of those is a 403, not a 400). Its capacity is the concurrency limit (1 unless
 * AWS_LAMBDA_MAX_CONCURRENCY says more), so a full table is what makes further callers wait.
 * Not thread-safe: the sandbox calls it with its lock held. Slots never move, so a pointer to an
 * invoke stays valid until invtab_remove(). */
#ifndef EMU_INVTAB_H
#define EMU_INVTAB_H

#include <stdbool.h>
#include <stdint.h>

#include "blob.h"
#include "reqid.h"
#include "sandbox.h"

/* QUEUED: waiting for a /next. DELIVERED: the bootstrap has it. DONE: its result is recorded and its
 * caller is about to collect it. ORPHANED (concurrent mode only): it timed out while the bootstrap
 * had it; the caller is answered and gone, and the slot stays busy until the bootstrap posts. */
enum inv_state { INV_QUEUED, INV_DELIVERED, INV_DONE, INV_ORPHANED };

struct invoke {
    bool used;
    char id[REQID_LEN + 1];
    struct blob *event;
    char *trace_id, *client_context, *tenant_id;
    int64_t deadline_ms;
    enum inv_state state;
    uint64_t order; /* admission order: /next serves the oldest queued invoke first */
    uint64_t seq;   /* of its latest delivery, for sandbox_undeliver(); 0 before any */
    enum result_kind kind;
    struct blob *result;
};

struct invtab {
    struct invoke *slots;
    unsigned capacity, used;
    char (*answered)[REQID_LEN + 1]; /* ring of the last `capacity` ids removed */
    unsigned answered_next;
};

/* Allocates capacity (>= 1) slots; aborts on out-of-memory. */
void invtab_init(struct invtab *t, unsigned capacity);

bool invtab_full(const struct invtab *t);

/* A zeroed slot marked used, or NULL when the table is full. */
struct invoke *invtab_add(struct invtab *t);

/* Frees what the invoke holds, remembers its id as answered and frees the slot. */
void invtab_remove(struct invtab *t, struct invoke *inv);

/* The slot at index i (< capacity) when used, else NULL: for walking every invoke. */
struct invoke *invtab_at(struct invtab *t, unsigned i);

/* The invoke with this request id, or NULL. */
struct invoke *invtab_find_id(struct invtab *t, const char *id);

/* The invoke whose latest delivery is seq (non-zero), or NULL. */
struct invoke *invtab_find_seq(struct invtab *t, uint64_t seq);

/* The queued invoke admitted first, or NULL when none is queued. */
struct invoke *invtab_oldest_queued(struct invtab *t);

/* Whether id is among the ids removed last (an invoke already answered). */
bool invtab_was_answered(const struct invtab *t, const char *id);

#endif
