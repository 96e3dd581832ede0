/* Unit tests of logging records from views of the payload: lr_json_is_compact_log_text() (every byte
 * value and a set of UTF-8 sequences at every position across the vector blocks, whitespace in and
 * out of strings) and ddb_image_text(), whose view must be byte for byte what ddb_image_serialize()
 * writes whenever it is given; and of lr_json_compact(). The unit tests also run on the portable
 * build (LR_PORTABLE_BYTES), which takes the eight-byte word path instead of SSE2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lr/buf.h"
#include "lr/ddb.h"
#include "lr/json.h"

#define SPAN 40 /* string positions tried: more than two 16-byte blocks */

/* {"k":{"S":"aaa<ins>aaa"}} with ins (any bytes, NUL included) after `at` bytes of padding;
 * returns the length. */
static size_t doc_with(char *out, size_t cap, size_t at, const char *ins, size_t ins_len)
{
    static const char head[] = "{\"k\":{\"S\":\"", tail[] = "\"}}";
    size_t n = 0;
    assert_true(sizeof(head) + SPAN + ins_len + sizeof(tail) < cap);
    memcpy(out, head, sizeof(head) - 1);
    n += sizeof(head) - 1;
    memset(out + n, 'a', at);
    n += at;
    memcpy(out + n, ins, ins_len);
    n += ins_len;
    memset(out + n, 'a', SPAN - at);
    n += SPAN - at;
    memcpy(out + n, tail, sizeof(tail) - 1);
    return n + sizeof(tail) - 1;
}

static int byte_kept(unsigned c)
{
    return c >= 0x20 && c < 0x7F && c != '\\';
}

static void every_byte_in_a_string_at_every_position(void **state)
{
    (void)state;
    char doc[128];
    for (unsigned c = 0; c < 256; c++) {
        if (c == '"')
            continue; /* would end the string: not the valid JSON the function takes */
        for (size_t at = 0; at <= SPAN; at++) {
            char ins = (char)c;
            size_t len = doc_with(doc, sizeof(doc), at, &ins, 1);
            assert_int_equal(lr_json_is_compact_log_text(doc, len), byte_kept(c));
        }
    }
}

static void utf8_sequences_as_the_log_escaping_keeps_them(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        int kept;
    } cases[] = {
        {"caf\xC3\xA9", 1},      /* é */
        {"\xE2\x80\xA7", 1},     /* U+2027: kept */
        {"\xF0\x9F\x98\x80", 1}, /* an emoji */
        {"\xC2\x85", 0},         /* NEL, a C1 control: escaped */
        {"\xC2\x9B", 0},         /* 8-bit CSI */
        {"\xE2\x80\xA8", 0},     /* U+2028 */
        {"\xE2\x80\xA9", 0},     /* U+2029 */
        {"\xED\xA0\x80", 0},     /* a surrogate: invalid */
        {"\xC0\xAF", 0},         /* overlong */
        {"\xE2\x80", 0},         /* cut short */
    };
    char doc[128];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t at = 0; at <= SPAN; at++) {
            size_t len = doc_with(doc, sizeof(doc), at, cases[i].bytes, strlen(cases[i].bytes));
            assert_int_equal(lr_json_is_compact_log_text(doc, len), cases[i].kept);
        }
    }
}

static void whitespace_only_inside_strings(void **state)
{
    (void)state;
    static const char compact[] =
        "{\"name\":{\"S\":\"two words\"},\"n\":{\"N\":\"1\"},\"l\":{\"L\":[{\"NULL\":true},"
        "{\"BOOL\":false}]},\"tags\":{\"SS\":[\"a b\",\" \"]},\"m\":{\"M\":{}}}";
    size_t n = sizeof(compact) - 1;
    assert_true(lr_json_is_compact_log_text(compact, n));
    /* a blank inserted between any two tokens makes it non-compact */
    char doc[256];
    bool in_string = false;
    for (size_t at = 1; at < n; at++) {
        in_string ^= compact[at - 1] == '"';
        if (in_string)
            continue;
        static const char blanks[] = " \t\n\r";
        for (size_t b = 0; b < 4; b++) {
            memcpy(doc, compact, at);
            doc[at] = blanks[b];
            memcpy(doc + at + 1, compact + at, n - at);
            assert_false(lr_json_is_compact_log_text(doc, n + 1));
        }
    }
    assert_true(lr_json_is_compact_log_text("{}", 2));
    assert_false(lr_json_is_compact_log_text("{\"a\":\"x\\\"y\"}", 12)); /* an escape */
}

/* lr_json_compact() takes out the blanks between tokens and writes raw DEL in strings as \u007f,
 * nothing else: spaces inside strings and escaped quotes and backslashes (which do not end a
 * string) stay as they are; what does not fit in cap is not written, and the length is the whole. */
static void compacting_keeps_strings_whole(void **state)
{
    (void)state;
    static const char compact[] = "{\"s\":\" a\\\" b\\\\\",\"t\":[\"\\\\\",1,true,null],\"u\":{}}";
    size_t n = sizeof(compact) - 1;
    char doc[512], out[512];
    /* "\r\n\t " between every two tokens, before the first and after the last */
    static const char structural[] = "{}[]:,\"";
    size_t len = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i <= n; i++) {
        bool boundary = i == 0 || i == n || memchr(structural, compact[i], 7) != NULL ||
                        memchr(structural, compact[i - 1], 7) != NULL;
        if (!in_string && boundary) {
            memcpy(doc + len, "\r\n\t ", 4);
            len += 4;
        }
        if (i == n)
            break;
        bool quote = compact[i] == '"' && !escaped;
        escaped = in_string && compact[i] == '\\' && !escaped;
        in_string ^= quote;
        doc[len++] = compact[i];
    }
    assert_true(len < sizeof(doc));
    assert_int_equal(lr_json_compact(NULL, 0, doc, len), n);
    memset(out, '#', sizeof(out));
    assert_int_equal(lr_json_compact(out, n, doc, len), n);
    assert_memory_equal(out, compact, n);
    assert_int_equal(out[n], '#');
    assert_int_equal(lr_json_compact(out, sizeof(out), compact, n), n); /* compact: as it is */
    assert_memory_equal(out, compact, n);
    /* a cut never writes past cap */
    memset(out, '#', sizeof(out));
    assert_int_equal(lr_json_compact(out, 5, doc, len), n);
    assert_memory_equal(out, compact, 5);
    assert_int_equal(out[5], '#');
}

/* DEL is the one control byte a valid JSON string may carry raw; C1 controls (two UTF-8 bytes of
 * 0x80 or more) are no raw control byte and stay. */
static void compacting_escapes_del(void **state)
{
    (void)state;
    static const char doc[] = "{ \"a\x7f\" : \"\x7f x\xc2\x85\x7f\" }";
    static const char want[] = "{\"a\\u007f\":\"\\u007f x\xc2\x85\\u007f\"}";
    char out[64];
    size_t n = lr_json_compact(out, sizeof(out), doc, sizeof(doc) - 1);
    assert_int_equal(n, sizeof(want) - 1);
    assert_memory_equal(out, want, n);
    memset(out, '#', sizeof(out)); /* an escape that does not fit whole is not written */
    assert_int_equal(lr_json_compact(out, 6, doc, sizeof(doc) - 1), n);
    assert_memory_equal(out, "{\"a###", 6);
}

/* Every record image of the event: the view, when there is one, is exactly the serialisation. */
static size_t check_views(const char *event, size_t *views)
{
    struct ddb_event ev;
    struct ddb_parse_error err;
    assert_int_equal(ddb_event_parse(&ev, event, strlen(event), &err), LR_OK);
    struct lr_buf buf;
    lr_buf_init(&buf, 1 << 20);
    size_t images = 0;
    for (size_t i = 0; i < ev.count; i++) {
        const struct ddb_map *maps[] = {&ev.records[i].keys, &ev.records[i].new_image,
                                        &ev.records[i].old_image};
        for (size_t k = 0; k < 3; k++) {
            struct lr_str text = ddb_image_text(maps[k]);
            if (!maps[k]->present) {
                assert_null(text.ptr);
                continue;
            }
            images++;
            if (!text.ptr)
                continue;
            lr_buf_reset(&buf);
            assert_int_equal(ddb_image_serialize(maps[k], &buf), LR_OK);
            assert_int_equal(text.len, buf.len);
            assert_memory_equal(text.ptr, buf.data, buf.len);
            (*views)++;
        }
    }
    lr_buf_clean_up(&buf);
    ddb_event_clean_up(&ev);
    return images;
}

#define RECORD(keys, img)                                                      \
    "{\"eventID\":\"1\",\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":" keys \
    ",\"NewImage\":" img ",\"SequenceNumber\":\"1\"}}"

static void views_match_the_serialisation(void **state)
{
    (void)state;
    static const char compact[] = "{\"Records\":[" RECORD(
        "{\"pk\":{\"S\":\"caf\xC3\xA9\"}}",
        "{\"pk\":{\"S\":\"a b\"},\"n\":{\"N\":\"-1.5E+3\"},\"b\":{\"B\":\"AAE=\"},"
        "\"bs\":{\"BS\":[\"AA==\",\"AAEC\"]},\"ns\":{\"NS\":[\"1\",\"2\"]},\"m\":{\"M\":{\"x\":"
        "{\"L\":[{\"NULL\":true},{\"BOOL\":true},{\"SS\":[\"q\"]}]}}},\"e\":{\"M\":{}}}") "]}";
    size_t views = 0;
    assert_int_equal(check_views(compact, &views), 2);
    assert_int_equal(views, 2);

    /* Text that renders differently: no view, and the serialisation is still what is logged. */
    static const char differs[] = "{\"Records\":[" RECORD(
        "{ \"pk\" : {\"S\":\"x\"} }",
        "{\"pk\":{\"S\":"
        "\"a\\u0041\"}}") "," RECORD("{\"pk\":{\"S\":\"a\\/b\"}}",
                                     "{\"pk\":{\"S\":\"\xE2\x80\xA8\"}}") "," RECORD("{\"pk\":{"
                                                                                     "\"S\":"
                                                                                     "\"\x7F\"}}",
                                                                                     "{\"p\\u006b\""
                                                                                     ":{\"S\":"
                                                                                     "\"x\"}}") "]"
                                                                                                "}";
    views = 0;
    assert_int_equal(check_views(differs, &views), 6);
    assert_int_equal(views, 0);
}

/* ---- The validator's marks: which views skip the scan ----
 * An event of records {"pk":{"S":"<value>"}}; each record's images must carry text_is_log_text
 * exactly as expected (want[i]), through the reader and ddb_event_parse() alike, and every view
 * (flagged or scanned) must still be the serialisation. */

static size_t event_of(char *out, size_t cap, const char *const *values, size_t n, const char *gap)
{
    size_t len = (size_t)snprintf(out, cap, "{\"Records\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap - len,
                                "%s{\"eventID\":\"%zu\",\"eventName\":\"INSERT\",\"dynamodb\":{"
                                "\"Keys\":{\"pk\":{\"S\":\"%s\"}},\"NewImage\":{\"pk\":{\"S\":"
                                "\"%s\"},\"n\":{\"N\":\"1\"}},\"SequenceNumber\":\"%zu\"}}",
                                i ? "," : "", i, values[i], values[i], i);
    len += (size_t)snprintf(out + len, cap - len, "]%s}", gap);
    assert_true(len < cap);
    return len;
}

static void check_record_views(const struct ddb_record *rec, bool want_flag, bool want_view)
{
    struct lr_buf buf;
    lr_buf_init(&buf, 1 << 16);
    const struct ddb_map *maps[] = {&rec->keys, &rec->new_image};
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(maps[k]->text_is_log_text, want_flag);
        struct lr_str text = ddb_image_text(maps[k]);
        assert_int_equal(text.ptr != NULL, want_view);
        if (text.ptr) {
            assert_int_equal(ddb_image_serialize(maps[k], &buf), LR_OK);
            assert_int_equal(text.len, buf.len);
            assert_memory_equal(text.ptr, buf.data, buf.len);
            lr_buf_reset(&buf);
        }
    }
    lr_buf_clean_up(&buf);
}

static void check_marks(const char *event, size_t len, const bool *flag, const bool *view, size_t n)
{
    struct ddb_parse_error err;
    struct ddb_reader r;
    assert_int_equal(ddb_reader_init(&r, event, len, &err), LR_OK);
    struct ddb_record rec;
    size_t i = 0;
    for (; ddb_reader_next(&r, &rec); i++)
        check_record_views(&rec, flag[i], view[i]);
    assert_int_equal(i, n);
    ddb_reader_clean_up(&r);
    struct ddb_event ev;
    assert_int_equal(ddb_event_parse(&ev, event, len, &err), LR_OK);
    assert_int_equal(ev.count, n);
    for (i = 0; i < n; i++)
        check_record_views(&ev.records[i], flag[i], view[i]);
    ddb_event_clean_up(&ev);
}

static void validator_marks_decide_which_views_skip_the_scan(void **state)
{
    (void)state;
    static char event[64 * 1024];
    /* Plain, not ASCII but kept by the log, spaced inside a string: flagged. An escape, a C1
     * control, U+2028, U+2029: marked, and the scan finds no view either. */
    static const char *const mixed[] = {"x",
                                        "caf\xC3\xA9",
                                        "a b",
                                        "\xF0\x9F\x98\x80",
                                        "\\n",
                                        "\xC2\x9B",
                                        "\xE2\x80\xA8",
                                        "\xE2\x80\xA9",
                                        "y",
                                        "\\u0041",
                                        "z"};
    static const bool mixed_ok[] = {true,  true,  true, true,  false, false,
                                    false, false, true, false, true};
    size_t n = sizeof(mixed) / sizeof(mixed[0]);
    size_t len = event_of(event, sizeof(event), mixed, n, "");
    check_marks(event, len, mixed_ok, mixed_ok, n);

    /* Whitespace between tokens, or a DEL anywhere: nothing is flagged, the scan decides. */
    len = event_of(event, sizeof(event), mixed, n, " ");
    bool none[16] = {false};
    check_marks(event, len, none, mixed_ok, n);
    static const char *const del[] = {"x", "a\x7F", "y"};
    static const bool del_view[] = {true, false, true};
    len = event_of(event, sizeof(event), del, 3, "");
    check_marks(event, len, none, del_view, 3);

    /* More marked strings than the validator notes: records after the last one noted fall back to
     * the scan (flag off, view still there when plain); those before keep their flags. */
    enum { MANY = DDB_LOG_MARKS / 2 + 3 }; /* two marked strings per record */
    const char *many[MANY + 2];
    bool many_flag[MANY + 2], many_view[MANY + 2];
    many[0] = "x";
    many_flag[0] = many_view[0] = true;
    for (size_t i = 1; i <= MANY; i++) {
        many[i] = "\\t";
        many_flag[i] = many_view[i] = false;
    }
    many[MANY + 1] = "y";
    many_flag[MANY + 1] = false;
    many_view[MANY + 1] = true;
    len = event_of(event, sizeof(event), many, MANY + 2, "");
    check_marks(event, len, many_flag, many_view, MANY + 2);
}

static void maps_without_text_have_no_view(void **state)
{
    (void)state;
    struct ddb_map absent = {0};
    assert_null(ddb_image_text(&absent).ptr);
    struct ddb_map by_hand = {NULL, 0, true, {NULL, 0}, false};
    assert_null(ddb_image_text(&by_hand).ptr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_byte_in_a_string_at_every_position),
        cmocka_unit_test(utf8_sequences_as_the_log_escaping_keeps_them),
        cmocka_unit_test(whitespace_only_inside_strings),
        cmocka_unit_test(compacting_keeps_strings_whole),
        cmocka_unit_test(compacting_escapes_del),
        cmocka_unit_test(views_match_the_serialisation),
        cmocka_unit_test(validator_marks_decide_which_views_skip_the_scan),
        cmocka_unit_test(maps_without_text_have_no_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
