/* DynamoDB Streams event model: typed records and the ten attribute types, parsed from the event
 * Lambda sends, and serialised back to compact DynamoDB JSON for logging.
 *
 * Ownership in one paragraph: every struct lr_str / struct ddb_bytes / array pointer reachable from a
 * struct ddb_event (or from a record filled by a struct ddb_reader) is either a view into the caller's
 * JSON buffer or lives in storage owned by that event (reader). It stays valid until
 * ddb_event_clean_up() (for a reader: until the next ddb_reader_next() or ddb_reader_clean_up()),
 * and only while the caller's JSON buffer is alive and unchanged. Never free anything you get from
 * this module except through those clean-up calls. Strings are NOT NUL-terminated and may hold NUL.
 *
 * Nothing here trusts its input: nesting, lengths and numbers are bounded, and every failure is a
 * named enum lr_status. Not thread-safe per object; distinct objects are independent.
 */
#ifndef LR_DDB_H
#define LR_DDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lr/buf.h"
#include "lr/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* DynamoDB allows a value to sit inside at most 32 nested M/L containers; deeper is LR_E_TOO_DEEP. */
#define DDB_MAX_NESTING 32
/* Structural JSON nesting limit of a whole event (envelope plus attributes). Deeper inside one element
 * of "Records" is LR_E_TOO_DEEP for that record alone; anywhere else, for the whole event. Checked by
 * an iterative scanner, never by recursion. */
#define DDB_MAX_JSON_DEPTH 256
/* Longest SequenceNumber accepted (real ones have 21..40 digits; test events use e.g. "111"). */
#define DDB_MAX_SEQUENCE_DIGITS 40

/* Errors are enum lr_status (lr/common.h). Whole-event errors come back from ddb_event_parse() and
 * ddb_reader_init(); record-level errors are stored in struct ddb_record.error. */

/* Details of a whole-event error (caller storage; message is NUL-terminated and log-safe). */
struct ddb_parse_error {
    size_t offset; /* byte offset into the JSON as given (a BOM counts), where known, else 0 */
    char message[192];
};

/* ---- Attribute values ---- */

enum ddb_type { DDB_S = 1, DDB_N, DDB_B, DDB_SS, DDB_NS, DDB_BS, DDB_M, DDB_L, DDB_NULL, DDB_BOOL };

/* Static DynamoDB name of a type ("S", "NS", "BOOL", ...); "?" for anything else. */
const char *ddb_type_name(enum ddb_type type);

/* Decoded bytes (B and BS members). Borrowed like every view of this module. */
struct ddb_bytes {
    const unsigned char *ptr;
    size_t len;
};

struct ddb_attr;
struct ddb_member;

/* A map (M, and the Keys/NewImage/OldImage images): members in document order. present is false
 * when the JSON had no such member (or null); an empty map has present == true and count == 0.
 * text is the image's own JSON text in the event (a view, like the strings), set for the Keys,
 * NewImage and OldImage of a parsed record; {NULL, 0} for nested maps and maps built by hand. */
struct ddb_map {
    const struct ddb_member *members;
    size_t count;
    bool present;
    struct lr_str text;
    /* Set by the parser when the validator has already found text in the form ddb_image_text()
     * gives (compact, no escape, nothing the log escaping changes): it is then handed out without a
     * second scan. False for maps built by hand. */
    bool text_is_log_text;
};

struct ddb_str_array {
    const struct lr_str *items;
    size_t count;
};

struct ddb_bytes_array {
    const struct ddb_bytes *items;
    size_t count;
};

struct ddb_attr_array {
    const struct ddb_attr *items;
    size_t count;
};

/* One AttributeValue: a tagged union, the member to read is given by type. Sets are accepted empty
 * (DynamoDB forbids it, but published test events contain "SS":[]) and are not checked for
 * duplicates; maps keep duplicate names in document order. */
struct ddb_attr {
    enum ddb_type type;
    union {
        struct lr_str s;           /* DDB_S: UTF-8 text, unescaped */
        struct lr_str n;           /* DDB_N: the exact decimal string, validated */
        struct ddb_bytes b;        /* DDB_B: decoded bytes */
        struct ddb_str_array ss;   /* DDB_SS */
        struct ddb_str_array ns;   /* DDB_NS: each validated like N */
        struct ddb_bytes_array bs; /* DDB_BS: decoded bytes */
        struct ddb_map m;          /* DDB_M (present is always true) */
        struct ddb_attr_array l;   /* DDB_L */
        bool boolean;              /* DDB_BOOL (DDB_NULL has no payload) */
    } v;
};

/* A named member of a map. */
struct ddb_member {
    struct lr_str name;
    struct ddb_attr value;
};

/* First member called name[0..len) in map, or NULL. The result is borrowed from map. */
const struct ddb_attr *ddb_map_get(const struct ddb_map *map, const char *name, size_t len);

/* ---- Numbers (N / NS) ---- */

/* Checks DynamoDB's number grammar: -?(digits[.digits]|.digits)([eE][+-]?digits)?, at most 38
 * significant digits ("5." and ".5" are accepted too), magnitude 0 or within 1E-130..9.9999999999999999999999999999999999999E+125.
 * Returns LR_OK, LR_E_BAD_NUMBER, LR_E_NUMBER_PRECISION or LR_E_NUMBER_RANGE. */
enum lr_status ddb_number_validate(const char *text, size_t len);

/* Exact conversion to int64: LR_E_NUMBER_INEXACT for a non-integral value (e.g. "1.5"; "1.0" and
 * "1E2" are fine), LR_E_NUMBER_RANGE outside int64, LR_E_BAD_NUMBER etc. for invalid text.
 * *out is written only on LR_OK. */
enum lr_status ddb_number_to_int64(struct lr_str n, int64_t *out) LR_NODISCARD;

/* Conversion to the nearest double. *out is written on LR_OK and on LR_E_NUMBER_INEXACT, which
 * says the double does not print back to the same significant digits (precision was lost, e.g. 17+
 * digits); LR_E_NUMBER_RANGE if it does not fit (cannot happen for valid DynamoDB numbers). */
enum lr_status ddb_number_to_double(struct lr_str n, double *out) LR_NODISCARD;

/* ---- Records ---- */

enum ddb_event_name { DDB_EVENT_UNKNOWN = 0, DDB_EVENT_INSERT, DDB_EVENT_MODIFY, DDB_EVENT_REMOVE };

enum ddb_view_type {
    DDB_VIEW_UNKNOWN = 0, /* absent or unrecognised: see stream_view_type_raw */
    DDB_VIEW_KEYS_ONLY,
    DDB_VIEW_NEW_IMAGE,
    DDB_VIEW_OLD_IMAGE,
    DDB_VIEW_NEW_AND_OLD_IMAGES
};

/* ApproximateCreationDateTime, from integer, fraction, exponent or numeric-string forms. The value
 * is kept as given (seconds in DynamoDB Streams; no guessing about millisecond-valued inputs);
 * digits beyond nanoseconds are truncated. present is false when absent or null. */
struct ddb_timestamp {
    bool present;
    int64_t sec;
    int32_t nsec; /* 0..999999999 */
};

/* userIdentity: present only on TTL deletes in real streams. */
struct ddb_user_identity {
    bool present;
    struct lr_str type;         /* e.g. "Service"; len 0 when absent */
    struct lr_str principal_id; /* e.g. "dynamodb.amazonaws.com"; len 0 when absent */
};

/* One stream record. For an invalid record (valid == false) the fields that could be read before
 * and after the faulty part are still filled in; sequence_number in particular is kept whenever it
 * is itself readable, so the batch layer can report the record as a failed item. */
struct ddb_record {
    bool valid;
    enum lr_status error;     /* LR_OK when valid */
    const char *error_detail; /* NUL-terminated, log-safe reason; "" when valid */
    size_t index;             /* position in Records (0-based) */
    size_t offset;            /* byte offset of the record object in the JSON */

    struct lr_str event_id;
    enum ddb_event_name event_name;
    struct lr_str event_name_raw; /* the text as sent, also for unknown names */
    struct lr_str event_version;
    struct lr_str event_source;
    struct lr_str aws_region;
    struct lr_str event_source_arn;
    struct ddb_user_identity user_identity;

    struct ddb_timestamp approximate_creation;
    struct ddb_map keys;
    struct ddb_map new_image;
    struct ddb_map old_image;
    /* Validated 1..DDB_MAX_SEQUENCE_DIGITS decimal digits; len 0 when absent or malformed (then the
     * record cannot be reported individually). Compare with ddb_seq_cmp(). */
    struct lr_str sequence_number;
    int64_t size_bytes; /* -1 when absent */
    enum ddb_view_type stream_view_type;
    struct lr_str stream_view_type_raw;
};

/* True for a REMOVE done by DynamoDB's TTL: userIdentity {type "Service", principalId
 * "dynamodb.amazonaws.com"}. */
bool ddb_record_is_ttl_delete(const struct ddb_record *rec);

/* Compares two sequence numbers numerically (they do not fit in 64 bits): by length after leading
 * zeros, then lexicographically. Returns <0, 0 or >0. Both must be digit strings. */
int ddb_seq_cmp(struct lr_str a, struct lr_str b);

/* Static names of the enums ("INSERT", "NEW_AND_OLD_IMAGES", "UNKNOWN"). */
const char *ddb_event_name_str(enum ddb_event_name name);
const char *ddb_view_type_str(enum ddb_view_type view);

/* ---- Events ---- */

/* Tumbling-window envelope (present when any of its members is). */
struct ddb_window {
    bool present;
    struct lr_str start;      /* window.start, e.g. "2020-07-30T17:00:00Z"; len 0 if absent */
    struct lr_str end;        /* window.end */
    struct lr_str state_json; /* the raw JSON text of "state" (a view); len 0 if absent */
    struct lr_str shard_id;
    struct lr_str event_source_arn; /* the envelope's own eventSourceARN */
    bool is_final_invoke_for_window;
    bool is_window_terminated_early;
};

struct ddb_arena; /* private storage */

/* A whole parsed event. Zero it (or let ddb_event_parse do it) before use. */
struct ddb_event {
    struct ddb_record *records; /* count records, in document order; owned by the event */
    size_t count;
    size_t invalid_count; /* records with valid == false */
    bool single_record;   /* the input was one record without a Records wrapper */
    struct ddb_window window;
    struct ddb_arena *arena_; /* private */
};

/* Parses json[0..len) (a leading UTF-8 BOM is skipped) into *ev, which the caller then owns and frees
 * with ddb_event_clean_up(); json must outlive ev. A whole-event error returns its status, fills
 * *err (may be NULL) and leaves *ev zeroed. Malformed records do not fail the call: a record with a bad
 * member, or whose text holds invalid UTF-8, a lone surrogate escape, a control character or a bad
 * escape in a string, or nesting past DDB_MAX_JSON_DEPTH, is a record with valid == false (its
 * SequenceNumber still read when it is itself readable). Only an event whose record boundaries cannot
 * be found (a JSON syntax error) fails as a whole. */
enum lr_status ddb_event_parse(struct ddb_event *ev, const char *json, size_t len,
                               struct ddb_parse_error *err) LR_NODISCARD;

/* Frees everything the event owns and zeroes it; safe on a zeroed event and safe to call twice. */
void ddb_event_clean_up(struct ddb_event *ev);

/* Strings the validator notes as not log text, at most (see ddb_image_text()); later records' images
 * are scanned instead. */
#define DDB_LOG_MARKS 64

/* Private: what the validator found about log text, kept by the reader. With log_text (the event is
 * compact and holds no DEL) the only text a log line would not carry as it is
 * (lr_json_is_compact_log_text()) is in strings with a backslash, a C1 control, U+2028 or U+2029:
 * the opening quotes of the first DDB_LOG_MARKS of them are at[0..n), in document order; when there
 * were more, end is the offset of the first one not noted (text from there on is unknown), else
 * SIZE_MAX. next is the reader's cursor: the first mark not before the current record. */
struct ddb_log_marks_ {
    bool log_text;
    size_t n, next, end;
    size_t at[DDB_LOG_MARKS];
};

/* Low-memory path: one record's storage at a time. */
struct ddb_reader {
    size_t count; /* number of records, known after init */
    bool single_record;
    struct ddb_window window;
    /* private */
    const char *json_;
    size_t len_;
    size_t pos_;
    size_t next_index_;
    bool poisoned_;                    /* some record holds text the validator skipped */
    bool compact_;                     /* no whitespace between tokens: the cursor skips none */
    struct ddb_log_marks_ marks_;      /* strings a log line would not carry as they are */
    struct ddb_arena *arena_;          /* the current record's storage, reset per record */
    struct ddb_arena *envelope_arena_; /* decoded envelope strings, kept for the reader's life */
};

/* Validates the whole document (one pass, no tree), reads the envelope and positions the reader on
 * the first record. Same whole-event errors as ddb_event_parse(), after which *r is left zeroed.
 * json must outlive the reader, which the caller frees with ddb_reader_clean_up() (safe on a zeroed
 * reader, so calling it after an error is fine too). */
enum lr_status ddb_reader_init(struct ddb_reader *r, const char *json, size_t len,
                               struct ddb_parse_error *err) LR_NODISCARD;

/* Parses the next record into *rec and returns true, or returns false after the last one. The views
 * in *rec stay valid until the next ddb_reader_next() or ddb_reader_clean_up(). */
bool ddb_reader_next(struct ddb_reader *r, struct ddb_record *rec);

/* The most bytes the reader's private storage has held so far (for memory tests). */
size_t ddb_reader_peak_bytes(const struct ddb_reader *r);

/* Frees the reader's storage and zeroes it; safe on a zeroed reader and safe to call twice. */
void ddb_reader_clean_up(struct ddb_reader *r);

/* ---- Serialisation to compact DynamoDB JSON ---- */

/* Output goes into a struct lr_buf (lr/buf.h) that the caller owns: it sets the cap with
 * lr_buf_init(&b, cap), and frees it with lr_buf_clean_up(). */

/* Appends one attribute value as compact DynamoDB JSON ({"S":"x"}, {"N":"1"}, {"B":"<base64>"}, ...).
 * Strings are escaped by lr_json_escape_str() (quotes, backslash, control bytes, DEL, C1, U+2028/9;
 * invalid UTF-8 becomes \ufffd), so the result is safe inside one log line. On LR_E_TOO_LARGE (past
 * out->cap, or out already overflowed) the buffer is restored to its previous length. */
enum lr_status ddb_attr_serialize(const struct ddb_attr *attr, struct lr_buf *out) LR_NODISCARD;

/* Appends a map as a compact JSON object {"name":{...},...} (an image or Keys); an absent map
 * appends "null". Same escaping and cap rules as ddb_attr_serialize(). */
enum lr_status ddb_image_serialize(const struct ddb_map *map, struct lr_buf *out) LR_NODISCARD;

/* What ddb_image_serialize() would append for map, as a view into the event, when the event already
 * holds the image in exactly that form (map->text is compact, has no escape, and no byte the log
 * escaping would change: lr_json_is_compact_log_text()); {NULL, 0} otherwise, and for a map without
 * text. Logging a record from the views of its payload is one scan of the image instead of a
 * re-serialisation. */
struct lr_str ddb_image_text(const struct ddb_map *map);

/* ---- Plain JSON (for consumers outside DynamoDB) ---- */

/* How plain JSON writes N and NS members. */
enum ddb_plain_numbers {
    DDB_PLAIN_NUMBERS_NUMBER, /* a JSON number with the exact digits DynamoDB sent, rewritten into
                               * JSON's grammar ("01" -> 1, ".5" -> 0.5, "5." -> 5); never a double */
    DDB_PLAIN_NUMBERS_STRING  /* the same text as a JSON string, for consumers that would round
                               * numbers past 2^53 */
};

/* Appends a value as plain JSON: S a string, N a number (or string, as numbers says), B a base64
 * string, SS/NS/BS arrays, M an object, L an array, NULL null, BOOL true/false. Escaping, the cap and
 * LR_E_TOO_LARGE / LR_E_INVALID_ARG as ddb_attr_serialize(). */
enum lr_status ddb_attr_render_plain(const struct ddb_attr *attr, enum ddb_plain_numbers numbers,
                                     struct lr_buf *out) LR_NODISCARD;

/* Appends a map (an image or Keys) as a plain JSON object; an absent map appends "null". */
enum lr_status ddb_image_render_plain(const struct ddb_map *map, enum ddb_plain_numbers numbers,
                                      struct lr_buf *out) LR_NODISCARD;

/* Appends a record as {"eventName","eventID","sequenceNumber","approximateCreationDateTime" (RFC 3339
 * UTC),"table" (the name in eventSourceARN),"keys","newImage","oldImage"}: members the record does
 * not carry (an absent image, no eventSourceARN) are left out. */
enum lr_status ddb_record_render_plain(const struct ddb_record *rec, enum ddb_plain_numbers numbers,
                                       struct lr_buf *out) LR_NODISCARD;

/* The same record with keys and images as DynamoDB JSON ({"id":{"S":"x"}}), for consumers that
 * want the types; the other members as ddb_record_render_plain(). */
enum lr_status ddb_record_render_ddb(const struct ddb_record *rec, struct lr_buf *out) LR_NODISCARD;

/* The table's name in an eventSourceARN "arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL"
 * (a view into arn), or {NULL, 0} when it names none. */
struct lr_str ddb_arn_table_name(struct lr_str arn);

/* Deep equality of two values / maps (same types, same text, same bytes, same order). For tests and
 * round trips. */
bool ddb_attr_equal(const struct ddb_attr *a, const struct ddb_attr *b);
bool ddb_map_equal(const struct ddb_map *a, const struct ddb_map *b);

#ifdef __cplusplus
}
#endif
#endif
