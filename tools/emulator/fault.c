/* Fault registry (see fault.h). */
#include "fault.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "num.h"

#define MAX_ARMED 64

struct armed {
    struct fault fault;
    uint32_t count;
};

static const struct {
    const char *name;
    enum fault_kind kind;
    enum fault_site site;
    bool has_param;
} kinds[] = {
    {"next-500", FAULT_NEXT_500, FAULT_SITE_NEXT, false},
    {"next-reset-before-body", FAULT_NEXT_RESET_BEFORE_BODY, FAULT_SITE_NEXT, false},
    {"next-reset-mid-body", FAULT_NEXT_RESET_MID_BODY, FAULT_SITE_NEXT, false},
    {"next-delay-body-ms", FAULT_NEXT_DELAY_BODY, FAULT_SITE_NEXT, true},
    {"next-omit-request-id", FAULT_NEXT_OMIT_REQUEST_ID, FAULT_SITE_NEXT, false},
    {"next-bad-deadline", FAULT_NEXT_BAD_DEADLINE, FAULT_SITE_NEXT, false},
    {"next-omit-deadline", FAULT_NEXT_OMIT_DEADLINE, FAULT_SITE_NEXT, false},
    {"next-repeat-header", FAULT_NEXT_REPEAT_HEADER, FAULT_SITE_NEXT, false},
    {"next-long-header", FAULT_NEXT_LONG_HEADER, FAULT_SITE_NEXT, false},
    {"response-413", FAULT_RESPONSE_413, FAULT_SITE_POST, false},
    {"response-403", FAULT_RESPONSE_403, FAULT_SITE_POST, false},
    {"response-400", FAULT_RESPONSE_400, FAULT_SITE_POST, false},
    {"response-500", FAULT_RESPONSE_500, FAULT_SITE_POST, false},
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct armed armed[MAX_ARMED];
static size_t n_armed;
static uint64_t fired;

static bool is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static size_t find_kind(const char *name, size_t len)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (strlen(kinds[i].name) == len && memcmp(kinds[i].name, name, len) == 0)
            return i;
    return N_KINDS;
}

static const char *rfind(const char *s, size_t len, char c)
{
    for (size_t i = len; i > 0; i--)
        if (s[i - 1] == c)
            return s + i - 1;
    return NULL;
}

static enum fault_status push(struct fault f, uint32_t count)
{
    pthread_mutex_lock(&mu);
    enum fault_status st = FAULT_E_TOO_MANY;
    if (n_armed < MAX_ARMED) {
        armed[n_armed++] = (struct armed){f, count};
        st = FAULT_OK;
    }
    pthread_mutex_unlock(&mu);
    return st;
}

enum fault_status fault_arm(const char *spec, size_t len)
{
    while (len && is_blank((unsigned char)spec[0]))
        spec++, len--;
    while (len && is_blank((unsigned char)spec[len - 1]))
        len--;
    uint32_t count = 1;
    const char *colon = rfind(spec, len, ':');
    if (colon) {
        size_t n = (size_t)(spec + len - colon - 1);
        if (!num_parse_u32(colon + 1, n, UINT32_MAX, &count) || count == 0)
            return FAULT_E_BAD_NUMBER;
        len = (size_t)(colon - spec);
    }
    struct fault f = {FAULT_NONE, 0};
    const char *eq = memchr(spec, '=', len);
    size_t name_len = eq ? (size_t)(eq - spec) : len;
    size_t k = find_kind(spec, name_len);
    if (k == N_KINDS)
        return FAULT_E_UNKNOWN_NAME;
    if (kinds[k].has_param != (eq != NULL))
        return FAULT_E_BAD_NUMBER;
    if (eq && !num_parse_u32(eq + 1, (size_t)(spec + len - eq - 1), UINT32_MAX, &f.param))
        return FAULT_E_BAD_NUMBER;
    f.kind = kinds[k].kind;
    return push(f, count);
}

enum fault_status fault_arm_lines(const char *text, size_t len)
{
    while (len) {
        const char *nl = memchr(text, '\n', len);
        size_t line = nl ? (size_t)(nl - text) : len;
        size_t i = 0;
        while (i < line && is_blank((unsigned char)text[i]))
            i++;
        if (i < line) {
            enum fault_status st = fault_arm(text, line);
            if (st != FAULT_OK)
                return st;
        }
        text += nl ? line + 1 : line;
        len -= nl ? line + 1 : line;
    }
    return FAULT_OK;
}

static enum fault_site site_of(enum fault_kind kind)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (kinds[i].kind == kind)
            return kinds[i].site;
    return FAULT_SITE_NEXT;
}

bool fault_take(enum fault_site site, struct fault *out)
{
    *out = (struct fault){FAULT_NONE, 0};
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < n_armed; i++) {
        if (site_of(armed[i].fault.kind) != site)
            continue;
        *out = armed[i].fault;
        fired++;
        if (--armed[i].count == 0) {
            memmove(&armed[i], &armed[i + 1], (n_armed - i - 1) * sizeof(armed[0]));
            n_armed--;
        }
        break;
    }
    pthread_mutex_unlock(&mu);
    return out->kind != FAULT_NONE;
}

const char *fault_name(enum fault_kind kind)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (kinds[i].kind == kind)
            return kinds[i].name;
    return "none";
}

const char *fault_status_str(enum fault_status st)
{
    switch (st) {
    case FAULT_OK: return "ok";
    case FAULT_E_UNKNOWN_NAME: return "unknown fault name";
    case FAULT_E_BAD_NUMBER: return "bad number (NAME[=N][:COUNT], COUNT >= 1)";
    case FAULT_E_TOO_MANY: return "too many armed faults";
    }
    return "?";
}

uint64_t fault_fired_count(void)
{
    pthread_mutex_lock(&mu);
    uint64_t n = fired;
    pthread_mutex_unlock(&mu);
    return n;
}
