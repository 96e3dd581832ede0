/* Counters as JSON (see stats.h). */
#include "stats.h"

#include <stdlib.h>

#include <cjson/cJSON.h>

static void add_num(cJSON *o, const char *key, double v)
{
    if (!cJSON_AddNumberToObject(o, key, v))
        abort(); /* out of memory */
}

static void add_counters(cJSON *o, const struct stats *s)
{
    add_num(o, "connections", (double)s->connections);
    add_num(o, "invoke_connections", (double)s->invoke_connections);
    add_num(o, "invoke_requests", (double)s->invoke_requests);
    add_num(o, "invokes", (double)s->invokes);
    add_num(o, "next_requests", (double)s->next_requests);
    add_num(o, "responses", (double)s->responses);
    add_num(o, "errors", (double)s->errors);
    add_num(o, "init_errors", (double)s->init_errors);
    add_num(o, "timeouts", (double)s->timeouts);
    add_num(o, "crashes", (double)s->crashes);
    add_num(o, "spawns", (double)s->spawns);
    add_num(o, "exits", (double)s->exits);
    add_num(o, "rejected_400", (double)s->rejected_400);
    add_num(o, "rejected_403", (double)s->rejected_403);
    add_num(o, "rejected_413", (double)s->rejected_413);
    add_num(o, "redeliveries", (double)s->redeliveries);
    add_num(o, "max_concurrency", (double)s->max_concurrency);
    add_num(o, "in_flight", (double)s->in_flight);
    add_num(o, "peak_in_flight", (double)s->peak_in_flight);
    add_num(o, "next_waiting", (double)s->next_waiting);
    add_num(o, "too_many_requests", (double)s->too_many_requests);
    add_num(o, "late_posts", (double)s->late_posts);
}

char *stats_json(const struct stats *s, uint64_t faults_fired, long child_pid)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        abort();
    add_counters(o, s);
    add_num(o, "faults_fired", (double)faults_fired);
    add_num(o, "last_exit_code", s->last_exit_code);
    add_num(o, "last_exit_signal", s->last_exit_signal);
    add_num(o, "last_init_us", (double)s->last_init_us);
    add_num(o, "child_pid", (double)child_pid);
    if (!cJSON_AddStringToObject(o, "last_error_type", s->last_error_type))
        abort();
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text)
        abort();
    return text;
}
