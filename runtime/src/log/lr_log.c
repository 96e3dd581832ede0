/* Logging module: formats one line per event (Text or JSON), escapes everything that comes from the
 * caller, enforces the line cap by cutting values (never the line structure), writes and flushes. */
#define _POSIX_C_SOURCE 200809L
#include "lr/log.h"

#include <errno.h>
#include <stdio_ext.h> /* __fpending (glibc and musl) */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/lr_bytes.h"
#include "lr/buf.h"
#include "lr/clock.h"
#include "lr/json.h"

/* Longest request id kept; longer ids are cut (real ids are 36-byte UUIDs). */
#define LR_LOG_MAX_REQUEST_ID 256
#define MARK_LEN (sizeof(LR_LOG_TRUNCATION_MARK) - 1)
/* Worst case a cut value adds: the mark, plus quotes when a raw JSON value is replaced by it. */
#define MARK_RESERVE (MARK_LEN + 2)

/* Set once before any worker starts, then only read: no lock needed. */
static struct {
    enum lr_log_format format;
    enum lr_log_level min_level;
    FILE *out; /* NULL: stdout (resolved at write time, so tests may swap stdout) */
    size_t max_line;
    bool configured;
} g_log = {LR_LOG_FORMAT_TEXT, LR_LOG_INFO, NULL, LR_LOG_DEFAULT_MAX_LINE, false};

/* The invoke a thread serves: per thread, so concurrent workers stamp their own lines. Escaped
 * once per invoke for each format (an escaped byte takes up to six), not once per line. */
#define ESCAPED_REQUEST_ID (6 * LR_LOG_MAX_REQUEST_ID)
static _Thread_local struct {
    char id[LR_LOG_MAX_REQUEST_ID];
    size_t len;
    char text[ESCAPED_REQUEST_ID]; /* escaped for Text lines */
    size_t text_len;
    char json[ESCAPED_REQUEST_ID]; /* escaped for JSON lines */
    size_t json_len;
} t_request;

/* The last timestamp a thread formatted: a batch writes thousands of lines within one millisecond,
 * and they all carry the same text. Per thread, like the request id. */
static _Thread_local struct {
    int64_t ms;
    bool valid;
    char text[LR_CLOCK_RFC3339_LEN + 1];
} t_stamp;

/* Lines held for one write, per thread (see "Lines held within an invoke" below). */
#define PENDING_MAX ((size_t)64 * 1024)
static _Thread_local struct {
    char *data; /* PENDING_MAX bytes while lines are held, else NULL (freed at every flush) */
    size_t len;
    int64_t ms; /* the timestamp of the lines held: all of them carry the same millisecond */
    int fd;     /* where they go, kept for lr_log_crash_flush(), which may not call fileno() */
} t_pending;

static void flush_pending(void);

/* ---- configuration ---- */

static const char *const level_names[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"};
#define N_LEVELS (sizeof(level_names) / sizeof(level_names[0]))

bool lr_log_parse_level(const char *s, enum lr_log_level *out)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < N_LEVELS; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum lr_log_level)i;
            return true;
        }
    }
    return false;
}

bool lr_log_parse_format(const char *s, enum lr_log_format *out)
{
    if (s == NULL)
        return false;
    if (strcasecmp(s, "JSON") == 0) {
        *out = LR_LOG_FORMAT_JSON;
        return true;
    }
    if (strcasecmp(s, "Text") == 0) {
        *out = LR_LOG_FORMAT_TEXT;
        return true;
    }
    return false;
}

const char *lr_log_level_name(enum lr_log_level level)
{
    size_t i = (size_t)level;
    return i < N_LEVELS ? level_names[i] : "INFO";
}

void lr_log_init_from_env(void)
{
    /* Lambda sets both variables itself, so a value it would never set is worth a WARN, not a failed
     * init. The WARN comes after both are applied, so it is written in the format in force. */
    const char *format_env = getenv("AWS_LAMBDA_LOG_FORMAT");
    const char *level_env = getenv("AWS_LAMBDA_LOG_LEVEL");
    enum lr_log_format format = LR_LOG_FORMAT_TEXT;
    enum lr_log_level level = LR_LOG_INFO;
    bool format_ok =
        format_env == NULL || *format_env == '\0' || lr_log_parse_format(format_env, &format);
    bool level_ok =
        level_env == NULL || *level_env == '\0' || lr_log_parse_level(level_env, &level);
    g_log.format = format;
    g_log.min_level = level;
    g_log.configured = true;
    if (!format_ok)
        lr_log(LR_LOG_WARN, "AWS_LAMBDA_LOG_FORMAT=%s is neither JSON nor Text; using Text",
               format_env);
    if (!level_ok)
        lr_log(LR_LOG_WARN,
               "AWS_LAMBDA_LOG_LEVEL=%s is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL; "
               "using INFO",
               level_env);
}

void lr_log_configure(enum lr_log_format format, enum lr_log_level min_level, FILE *out,
                      size_t max_line)
{
    g_log.format = format == LR_LOG_FORMAT_JSON ? LR_LOG_FORMAT_JSON : LR_LOG_FORMAT_TEXT;
    g_log.min_level = (size_t)min_level < N_LEVELS ? min_level : LR_LOG_INFO;
    g_log.out = out;
    g_log.max_line = max_line == 0 ? LR_LOG_DEFAULT_MAX_LINE : max_line;
    g_log.configured = true;
}

bool lr_log_is_configured(void)
{
    return g_log.configured;
}

bool lr_log_enabled(enum lr_log_level level)
{
    return (size_t)level < N_LEVELS && level >= g_log.min_level;
}

void lr_log_set_request_id(const char *id, size_t len)
{
    flush_pending(); /* held lines belong to the invoke that is ending */
    if (id == NULL)
        len = 0;
    if (len > sizeof(t_request.id))
        len = sizeof(t_request.id); /* escaped on output, so a cut sequence is harmless */
    if (len > 0)
        memcpy(t_request.id, id, len);
    t_request.len = len;
    t_request.text_len = lr_json_escape(t_request.text, sizeof(t_request.text), t_request.id, len,
                                        LR_JSON_ESCAPE_TEXT, NULL);
    t_request.json_len = lr_json_escape(t_request.json, sizeof(t_request.json), t_request.id, len,
                                        LR_JSON_ESCAPE_LOG, NULL);
}

static FILE *log_out(void)
{
    return g_log.out != NULL ? g_log.out : stdout;
}

void lr_log_flush(void)
{
    flush_pending();
    fflush(log_out());
    fflush(stdout); /* handlers may printf(); a pipe is block-buffered */
}

/* ---- line building ---- */

enum piece_kind {
    PIECE_ESCAPED, /* escaped with mode, inside quotes when quoted */
    PIECE_BARE,    /* Text-format value made only of safe ASCII: written as is */
    PIECE_RAW_JSON /* a JSON value from the program, checked inert: written as is */
};

/* One variable part of a line: the message or a field value. */
struct piece {
    const char *bytes;
    size_t len;
    const char *key; /* a field's key (NULL for the message) and its length */
    size_t key_len;
    enum piece_kind kind;
    enum lr_json_escape mode;
    bool quoted;
    size_t need;   /* bytes of the content when not cut */
    size_t budget; /* bytes of content allowed */
    bool cut;
};

/* Byte classes of Text-format values and of field keys, one table lookup per byte (every line
 * checks its identifiers byte by byte). */
enum { CLASS_KEY = 1, CLASS_BARE = 2 };
static const unsigned char byte_class[256] = {
    ['a'] = CLASS_KEY | CLASS_BARE,
    ['b'] = CLASS_KEY | CLASS_BARE,
    ['c'] = CLASS_KEY | CLASS_BARE,
    ['d'] = CLASS_KEY | CLASS_BARE,
    ['e'] = CLASS_KEY | CLASS_BARE,
    ['f'] = CLASS_KEY | CLASS_BARE,
    ['g'] = CLASS_KEY | CLASS_BARE,
    ['h'] = CLASS_KEY | CLASS_BARE,
    ['i'] = CLASS_KEY | CLASS_BARE,
    ['j'] = CLASS_KEY | CLASS_BARE,
    ['k'] = CLASS_KEY | CLASS_BARE,
    ['l'] = CLASS_KEY | CLASS_BARE,
    ['m'] = CLASS_KEY | CLASS_BARE,
    ['n'] = CLASS_KEY | CLASS_BARE,
    ['o'] = CLASS_KEY | CLASS_BARE,
    ['p'] = CLASS_KEY | CLASS_BARE,
    ['q'] = CLASS_KEY | CLASS_BARE,
    ['r'] = CLASS_KEY | CLASS_BARE,
    ['s'] = CLASS_KEY | CLASS_BARE,
    ['t'] = CLASS_KEY | CLASS_BARE,
    ['u'] = CLASS_KEY | CLASS_BARE,
    ['v'] = CLASS_KEY | CLASS_BARE,
    ['w'] = CLASS_KEY | CLASS_BARE,
    ['x'] = CLASS_KEY | CLASS_BARE,
    ['y'] = CLASS_KEY | CLASS_BARE,
    ['z'] = CLASS_KEY | CLASS_BARE,
    ['A'] = CLASS_KEY | CLASS_BARE,
    ['B'] = CLASS_KEY | CLASS_BARE,
    ['C'] = CLASS_KEY | CLASS_BARE,
    ['D'] = CLASS_KEY | CLASS_BARE,
    ['E'] = CLASS_KEY | CLASS_BARE,
    ['F'] = CLASS_KEY | CLASS_BARE,
    ['G'] = CLASS_KEY | CLASS_BARE,
    ['H'] = CLASS_KEY | CLASS_BARE,
    ['I'] = CLASS_KEY | CLASS_BARE,
    ['J'] = CLASS_KEY | CLASS_BARE,
    ['K'] = CLASS_KEY | CLASS_BARE,
    ['L'] = CLASS_KEY | CLASS_BARE,
    ['M'] = CLASS_KEY | CLASS_BARE,
    ['N'] = CLASS_KEY | CLASS_BARE,
    ['O'] = CLASS_KEY | CLASS_BARE,
    ['P'] = CLASS_KEY | CLASS_BARE,
    ['Q'] = CLASS_KEY | CLASS_BARE,
    ['R'] = CLASS_KEY | CLASS_BARE,
    ['S'] = CLASS_KEY | CLASS_BARE,
    ['T'] = CLASS_KEY | CLASS_BARE,
    ['U'] = CLASS_KEY | CLASS_BARE,
    ['V'] = CLASS_KEY | CLASS_BARE,
    ['W'] = CLASS_KEY | CLASS_BARE,
    ['X'] = CLASS_KEY | CLASS_BARE,
    ['Y'] = CLASS_KEY | CLASS_BARE,
    ['Z'] = CLASS_KEY | CLASS_BARE,
    ['0'] = CLASS_KEY | CLASS_BARE,
    ['1'] = CLASS_KEY | CLASS_BARE,
    ['2'] = CLASS_KEY | CLASS_BARE,
    ['3'] = CLASS_KEY | CLASS_BARE,
    ['4'] = CLASS_KEY | CLASS_BARE,
    ['5'] = CLASS_KEY | CLASS_BARE,
    ['6'] = CLASS_KEY | CLASS_BARE,
    ['7'] = CLASS_KEY | CLASS_BARE,
    ['8'] = CLASS_KEY | CLASS_BARE,
    ['9'] = CLASS_KEY | CLASS_BARE,
    ['-'] = CLASS_KEY | CLASS_BARE,
    ['_'] = CLASS_KEY | CLASS_BARE,
    ['.'] = CLASS_KEY | CLASS_BARE,
    [':'] = CLASS_BARE,
    ['/'] = CLASS_BARE,
    ['@'] = CLASS_BARE,
    ['+'] = CLASS_BARE,
    [','] = CLASS_BARE,
};

static bool is_bare_char(unsigned char c)
{
    return byte_class[c] & CLASS_BARE;
}

/* Text-format field values are bare when that cannot be misread (key=value pairs split on spaces),
 * otherwise quoted with JSON escaping. */
static bool can_be_bare(const char *bytes, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_bare_char((unsigned char)bytes[i]))
            return false;
    return true;
}

static void piece_escaped(struct piece *p, const char *bytes, size_t len, enum lr_json_escape mode,
                          bool quoted)
{
    p->bytes = bytes;
    p->len = len;
    p->kind = PIECE_ESCAPED;
    p->mode = mode;
    p->quoted = quoted;
    lr_json_escape(NULL, 0, bytes, len, mode, &p->need);
}

static const char *field_key(const struct lr_log_field *f)
{
    return f->key != NULL && f->key[0] != '\0' ? f->key : "field";
}

static void piece_for_field(struct piece *p, const struct lr_log_field *f, bool json)
{
    const char *bytes = f->value.ptr != NULL ? f->value.ptr : "";
    size_t len = f->value.ptr != NULL ? f->value.len : 0;
    memset(p, 0, sizeof(*p));
    p->key = field_key(f);
    p->key_len = strlen(p->key);
    if (f->is_json && len > 0 &&
        (f->is_json == LR_LOG_VALUE_JSON_CHECKED || lr_json_is_inert(bytes, len))) {
        p->bytes = bytes;
        p->len = p->need = len;
        p->kind = PIECE_RAW_JSON;
    } else if (!json && can_be_bare(bytes, len)) {
        p->bytes = bytes;
        p->len = p->need = len;
        p->kind = PIECE_BARE;
    } else {
        /* A "JSON" value with a raw control byte is not trusted: it becomes a string. */
        piece_escaped(p, bytes, len, LR_JSON_ESCAPE_LOG, true);
    }
}

static void append(struct lr_buf *b, const char *s, size_t n)
{
    /* render_line() reserves the whole line up front, so this is mostly a plain copy into memory
     * that is already there (lr_buf_put_char's test); lr_buf_append() does the rest. */
    if (b->data != NULL && n < b->alloc - b->len && n <= b->cap - b->len) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return;
    }
    if (lr_buf_append(b, s, n) != LR_OK)
        abort(); /* the line buffer has no practical cap: cannot happen */
}

static void append_str(struct lr_buf *b, const char *s)
{
    append(b, s, strlen(s));
}

/* A string literal, its length known at compile time. */
#define APPEND_LIT(b, lit) append((b), "" lit, sizeof(lit) - 1)

static void append_escaped(struct lr_buf *b, const char *bytes, size_t len,
                           enum lr_json_escape mode, size_t budget)
{
    char *dst = lr_buf_reserve(b, budget);
    if (dst == NULL)
        abort(); /* cannot happen: see append() */
    lr_buf_commit(b, lr_json_escape(dst, budget, bytes, len, mode, NULL));
}

static void append_piece(struct lr_buf *b, const struct piece *p, bool json)
{
    if (p->kind == PIECE_RAW_JSON && p->cut) {
        append_str(b, json ? "\"" LR_LOG_TRUNCATION_MARK "\"" : LR_LOG_TRUNCATION_MARK);
        return;
    }
    if (p->quoted)
        append(b, "\"", 1);
    if (p->kind == PIECE_ESCAPED)
        append_escaped(b, p->bytes, p->len, p->mode, p->budget);
    else /* bare or raw JSON, cut only when bare (ASCII: any cut point is a character boundary) */
        append(b, p->bytes, p->budget);
    if (p->cut)
        append(b, LR_LOG_TRUNCATION_MARK, MARK_LEN);
    if (p->quoted)
        append(b, "\"", 1);
}

/* Shares the room left by the fixed parts of the line among the pieces, in order: each piece gets
 * all it needs while that fits; the first that does not is cut, and the rest keep only the mark. */
static void plan_budgets(struct piece *pieces, size_t n, size_t fixed, size_t max_line)
{
    size_t total = fixed;
    for (size_t i = 0; i < n; i++)
        total += pieces[i].need;
    size_t reserve = fixed + n * MARK_RESERVE;
    size_t avail = total <= max_line ? SIZE_MAX : (max_line > reserve ? max_line - reserve : 0);
    for (size_t i = 0; i < n; i++) {
        struct piece *p = &pieces[i];
        p->cut = p->need > avail;
        p->budget = p->cut ? (p->kind == PIECE_RAW_JSON ? 0 : avail) : p->need;
        avail = p->cut ? 0 : (avail == SIZE_MAX ? avail : avail - p->need);
    }
}

/* Everything before the message. Text without a request id says "undefined", as the Node.js
 * runtime does outside an invoke; JSON then simply has no "requestId" member. */
static void append_prefix(struct lr_buf *b, enum lr_log_level level, bool json)
{
    int64_t now = lr_clock_now_ms();
    if (!t_stamp.valid || t_stamp.ms != now) {
        lr_clock_format_rfc3339(now, t_stamp.text);
        t_stamp.ms = now;
        t_stamp.valid = true;
    }
    const char *ts = t_stamp.text;
    if (json) {
        APPEND_LIT(b, "{\"timestamp\":\"");
        append(b, ts, LR_CLOCK_RFC3339_LEN);
        APPEND_LIT(b, "\",\"level\":\"");
        append_str(b, lr_log_level_name(level));
        APPEND_LIT(b, "\"");
        if (t_request.len > 0) {
            APPEND_LIT(b, ",\"requestId\":\"");
            append(b, t_request.json, t_request.json_len);
            APPEND_LIT(b, "\"");
        }
        APPEND_LIT(b, ",\"message\":");
        return;
    }
    append(b, ts, LR_CLOCK_RFC3339_LEN);
    APPEND_LIT(b, "\t");
    if (t_request.len > 0)
        append(b, t_request.text, t_request.text_len);
    else
        APPEND_LIT(b, "undefined");
    APPEND_LIT(b, "\t");
    append_str(b, lr_log_level_name(level));
    APPEND_LIT(b, "\t");
}

/* Field keys are meant to be plain identifiers; anything else is replaced by '_' (same length), so
 * a key can neither break the JSON nor forge a key=value pair. */
static void append_key(struct lr_buf *b, const char *key, size_t n)
{
    char *dst = lr_buf_reserve(b, n);
    if (dst == NULL)
        abort(); /* cannot happen: see append() */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)key[i];
        dst[i] = byte_class[c] & CLASS_KEY ? (char)c : '_';
    }
    lr_buf_commit(b, n);
}

/* Lines with up to this many fields plan their pieces on the stack (no allocation per line). */
#define STACK_PIECES 8

/* Bytes the planned line takes: fixed parts, then each piece as append_piece() writes it. */
static size_t planned_len(const struct piece *pieces, size_t n, size_t fixed)
{
    size_t len = fixed;
    for (size_t i = 0; i < n; i++)
        len += pieces[i].budget + (pieces[i].cut ? MARK_RESERVE : 0);
    return len;
}

static void render_line(struct lr_buf *b, enum lr_log_level level, const char *msg, size_t msg_len,
                        const struct lr_log_field *fields, size_t n_fields)
{
    bool json = g_log.format == LR_LOG_FORMAT_JSON;
    size_t n = n_fields + 1;
    struct piece stack_pieces[STACK_PIECES];
    struct piece *pieces = n <= STACK_PIECES ? stack_pieces : calloc(n, sizeof(*pieces));
    if (pieces == NULL)
        abort(); /* out of memory: Lambda replaces the sandbox */
    memset(pieces, 0, n * sizeof(*pieces));
    piece_escaped(&pieces[0], msg, msg_len, json ? LR_JSON_ESCAPE_LOG : LR_JSON_ESCAPE_TEXT, json);
    for (size_t i = 0; i < n_fields; i++)
        piece_for_field(&pieces[i + 1], &fields[i], json);

    /* Room for the prefix and the pieces up front, so the line is allocated once in the common
     * case (an escaped request id can take six bytes per byte; 128 covers the rest). */
    size_t guess = 128 + t_request.json_len + t_request.text_len;
    for (size_t i = 0; i < n && guess < g_log.max_line; i++)
        guess += pieces[i].need + 2;
    if (lr_buf_reserve(b, guess < g_log.max_line ? guess : g_log.max_line) == NULL)
        abort(); /* cannot happen: see append() */
    append_prefix(b, level, json);
    size_t fixed = b->len + (json ? 2 : 1); /* "}\n" or "\n" */
    for (size_t i = 1; i < n; i++)
        fixed += pieces[i].key_len + (json ? 4 : 2); /* ,"key": or " key=" */
    for (size_t i = 0; i < n; i++)
        fixed += pieces[i].quoted ? 2 : 0;
    plan_budgets(pieces, n, fixed, g_log.max_line);
    /* One allocation for the whole line: every later append then fits. */
    if (lr_buf_reserve(b, planned_len(pieces, n, fixed) - b->len) == NULL)
        abort(); /* cannot happen: see append() */

    append_piece(b, &pieces[0], json);
    for (size_t i = 1; i < n; i++) {
        if (json)
            APPEND_LIT(b, ",\"");
        else
            APPEND_LIT(b, " ");
        append_key(b, pieces[i].key, pieces[i].key_len);
        if (json)
            APPEND_LIT(b, "\":");
        else
            APPEND_LIT(b, "=");
        append_piece(b, &pieces[i], json);
    }
    if (json)
        APPEND_LIT(b, "}\n");
    else
        APPEND_LIT(b, "\n");
    if (pieces != stack_pieces)
        free(pieces);
}

/* Writes bytes[0..len) as one write(2) where the stream has a descriptor, all under the stream's
 * lock: concurrent workers' lines never interleave, and a line over the pipe's atomic size is not
 * split by another writer either. What stdio holds of the stream (a handler's printf) goes out before
 * the bytes, or after them when they are held lines: those were held while stdio was empty, so what
 * it holds now came after them. */
static void write_whole(const char *bytes, size_t len, bool held)
{
    FILE *out = log_out();
    flockfile(out);
    if (!held)
        fflush(out);
    int fd = fileno(out);
    while (fd >= 0 && len > 0) {
        ssize_t n = write(fd, bytes, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* nowhere to log to: nothing better to do than drop the line */
        bytes += n;
        len -= (size_t)n;
    }
    if (fd < 0) /* a memory stream (tests): stdio is the only way in */
        fwrite(bytes, 1, len, out);
    fflush(out);
    funlockfile(out);
}

/* ---- Lines held within an invoke ----
 * A write(2) per line costs more than building the line: for a 6 MB batch (5,460 record lines) the
 * writes took about as long as everything else. Inside an invoke (the thread has a request id), lines
 * at INFO and below are therefore held in a per-thread buffer and written whole, several per write,
 * through write_whole() (the stream's lock): before the buffer would pass PENDING_MAX, as soon as the
 * clock's millisecond differs from the held lines' timestamp, before any line at WARN or above (which
 * is written at once), when the request id changes, and at lr_log_flush(), which the run loop calls
 * before posting the response, the sinks before every AWS call, and exit() through atexit. So every
 * line is out before its invoke's answer, and while an invoke keeps logging no line waits past its
 * millisecond. A fatal signal writes the crashing thread's lines (lr_log_crash_flush()); what a
 * crash can still lose is another worker's held lines, and a SIGKILL the lines of the last
 * millisecond in which the thread logged, however long ago, if nothing wrote them since: a handler
 * that logs and then blocks until Lambda's timeout kills it loses those unless it calls
 * lr_log_flush() before blocking, as the sinks do before every AWS call.
 * Outside an invoke, on a stream without a descriptor (memory streams) and while the stream's stdio
 * buffer holds a handler's printf() output (order kept), lines are written at once, as before. */

static void flush_pending(void)
{
    if (t_pending.data == NULL)
        return;
    write_whole(t_pending.data, t_pending.len, true);
    free(t_pending.data); /* nothing is kept between invokes, nor when a thread ends */
    t_pending.data = NULL;
    t_pending.len = 0;
}

/* Whether stdio holds output of out that was never written (a handler's printf()), read under the
 * stream's lock, which the other workers' writes take too. */
static bool stdio_pending(FILE *out)
{
    flockfile(out);
    bool pending = __fpending(out) != 0;
    funlockfile(out);
    return pending;
}

static bool may_hold(enum lr_log_level level, size_t len)
{
    FILE *out = log_out();
    return t_request.len > 0 && level <= LR_LOG_INFO && len <= PENDING_MAX && fileno(out) >= 0 &&
           !stdio_pending(out);
}

/* Writes bytes[0..len), one or more whole lines stamped at ms, now or with the held lines. */
static void emit(enum lr_log_level level, const char *bytes, size_t len, int64_t ms)
{
    bool hold = may_hold(level, len);
    if (t_pending.data != NULL &&
        (!hold || t_pending.len + len > PENDING_MAX || t_pending.ms != ms))
        flush_pending();
    if (!hold) {
        write_whole(bytes, len, false);
        return;
    }
    if (t_pending.data == NULL) {
        t_pending.data = malloc(PENDING_MAX);
        if (t_pending.data == NULL)
            abort(); /* out of memory: Lambda replaces the sandbox */
        t_pending.ms = ms;
        t_pending.fd = fileno(log_out());
    }
    memcpy(t_pending.data + t_pending.len, bytes, len);
    t_pending.len += len;
}

void lr_log_crash_flush(void)
{
    const char *p = t_pending.data;
    size_t len = p != NULL ? t_pending.len : 0;
    t_pending.len = 0; /* a second fatal signal must not write them twice; the buffer stays
                          referenced (freeing is not async-signal-safe) */
    while (len > 0) {
        ssize_t n = write(t_pending.fd, p, len);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void write_line(enum lr_log_level level, const struct lr_buf *b)
{
    emit(level, b->data, b->len, t_stamp.ms); /* render_line() stamped it with t_stamp */
}

/* Messages up to this size are formatted on the stack: one vsnprintf, no allocation. */
#define STACK_MESSAGE 256

static char *format_message(const char *fmt, va_list ap, char *stack, size_t *len) LR_PRINTF(1, 0);

/* Formats the printf message, cut at max_line bytes (a longer one is truncated anyway), into
 * stack[0..STACK_MESSAGE) when it fits, else into the heap; the caller frees a result != stack. */
static char *format_message(const char *fmt, va_list ap, char *stack, size_t *len)
{
    if (fmt == NULL)
        fmt = "(no message)";
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(stack, STACK_MESSAGE, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        static const char bad[] = "(invalid log format string)";
        memcpy(stack, bad, sizeof(bad));
        *len = sizeof(bad) - 1;
        return stack;
    }
    size_t size = (size_t)n < g_log.max_line ? (size_t)n : g_log.max_line;
    *len = size;
    if ((size_t)n < STACK_MESSAGE)
        return stack;
    char *m = malloc(size + 1);
    if (m == NULL)
        abort();
    vsnprintf(m, size + 1, fmt, ap);
    return m;
}

/* Renders and writes one line whose message is msg[0..msg_len), already cut at max_line. */
static void log_line(enum lr_log_level level, const char *msg, size_t msg_len,
                     const struct lr_log_field *fields, size_t n_fields)
{
    struct lr_buf line;
    lr_buf_init(&line, SIZE_MAX / 4); /* bounded by construction: max_line plus fixed parts */
    render_line(&line, level, msg, msg_len, fields, fields != NULL ? n_fields : 0);
    write_line(level, &line);
    lr_buf_clean_up(&line);
}

void lr_log_vfields(enum lr_log_level level, const struct lr_log_field *fields, size_t n_fields,
                    const char *fmt, va_list ap)
{
    if (!lr_log_enabled(level))
        return;
    char stack[STACK_MESSAGE];
    size_t msg_len = 0;
    char *msg = format_message(fmt, ap, stack, &msg_len);
    log_line(level, msg, msg_len, fields, n_fields);
    if (msg != stack)
        free(msg);
}

void lr_log_fields_str(enum lr_log_level level, const struct lr_log_field *fields, size_t n_fields,
                       const char *msg, size_t msg_len)
{
    if (!lr_log_enabled(level))
        return;
    if (msg == NULL) { /* what format_message() makes of a NULL format */
        msg = "(no message)";
        msg_len = strlen(msg);
    }
    log_line(level, msg, msg_len < g_log.max_line ? msg_len : g_log.max_line, fields, n_fields);
}

void lr_log_fields(enum lr_log_level level, const struct lr_log_field *fields, size_t n_fields,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lr_log_vfields(level, fields, n_fields, fmt, ap);
    va_end(ap);
}

void lr_log(enum lr_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lr_log_vfields(level, NULL, 0, fmt, ap);
    va_end(ap);
}

/* Whether s[0..len) holds a byte below 0x20, eight at a time (a zero mask is exact). */
static bool has_control(const unsigned char *s, size_t len)
{
    size_t i = 0;
    for (; len - i >= 8; i += 8)
        if (lr_bytes_control(lr_bytes_load(s + i)))
            return true;
    for (; i < len; i++)
        if (s[i] < 0x20)
            return true;
    return false;
}

enum lr_status lr_log_raw_json_line(const char *json, size_t len)
{
    /* Refused: nothing, a document longer than the line cap, or any raw control byte (a compact
     * JSON document has none; a \n or \r would split or forge a log event). */
    if (len >= g_log.max_line)
        return LR_E_TOO_LARGE;
    if (json == NULL || len == 0 || has_control((const unsigned char *)json, len))
        return LR_E_INVALID_ARG;
    char *line = malloc(len + 1);
    if (line == NULL)
        abort(); /* out of memory: Lambda replaces the sandbox */
    memcpy(line, json, len);
    line[len] = '\n'; /* the newline goes in the same write as the document */
    emit(LR_LOG_INFO, line, len + 1, lr_clock_now_ms()); /* metrics lines are held like INFO */
    free(line);
    return LR_OK;
}
