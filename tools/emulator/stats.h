/* The emulator's counters, served as JSON by GET /emulator/stats (meanings in README.md). */
#ifndef EMU_STATS_H
#define EMU_STATS_H

#include <stdint.h>

struct stats {
    uint64_t connections, invoke_connections, invoke_requests, invokes, next_requests, responses,
        errors, init_errors, timeouts, crashes, spawns, exits, rejected_400, rejected_403,
        rejected_413, redeliveries;
    /* Concurrency (Managed Instances mode): the limit, invokes the bootstrap holds now (delivered,
     * not yet posted for) and at most so far, its /next calls waiting for an event now, /next calls
     * refused as one too many, and posts for timed-out invokes that were discarded. */
    uint64_t max_concurrency, in_flight, peak_in_flight, next_waiting, too_many_requests,
        late_posts;
    int last_exit_code;   /* -1 when none or killed by a signal */
    int last_exit_signal; /* 0 when none */
    int64_t last_init_us; /* spawn to first /next of the latest bootstrap, -1 before any */
    char last_error_type[128];
};

/* The counters, plus faults fired and the running bootstrap's pid (0 = none), as one compact JSON
 * object; a heap string owned by the caller (free). Aborts on out-of-memory. */
char *stats_json(const struct stats *s, uint64_t faults_fired, long child_pid);

#endif
