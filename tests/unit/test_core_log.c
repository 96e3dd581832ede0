/* Unit tests of the logging module: exact Text and JSON lines under a fixed clock, escaping,
 * truncation at the line cap, level filtering and environment parsing. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lr/json.h"
#include "lr/clock.h"
#include "lr/log.h"
#include "lr/utf8.h"

#define FIXED_MS INT64_C(1796053204123) /* 2026-11-30T15:40:04.123Z */
#define TS "2026-11-30T15:40:04.123Z"
#define RID "8476a536-e9f4-11e8-9739-2dfe598c3fcd"

static char *mem_buf;
static size_t mem_size;
static FILE *mem;

static void capture(enum lr_log_format format, enum lr_log_level level, size_t max_line)
{
    mem = open_memstream(&mem_buf, &mem_size);
    assert_non_null(mem);
    lr_log_configure(format, level, mem, max_line);
}

static const char *captured(void)
{
    fflush(mem);
    return mem_buf;
}

static int64_t fixed_clock(void *data)
{
    (void)data;
    return FIXED_MS;
}

static int setup(void **state)
{
    (void)state;
    lr_clock_set_for_test(fixed_clock, NULL);
    lr_log_set_request_id(NULL, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, NULL, 0);
    if (mem != NULL)
        fclose(mem);
    free(mem_buf);
    mem = NULL;
    mem_buf = NULL;
    lr_clock_set_for_test(NULL, NULL);
    return 0;
}

/* ---- formats ---- */

static void text_line_is_exact(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, 0);
    lr_log_set_request_id(RID, strlen(RID));
    lr_log(LR_LOG_INFO, "hello %d", 42);
    assert_string_equal(captured(), TS "\t" RID "\tINFO\thello 42\n");
}

static void text_without_request_id_says_undefined(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_TRACE, 0);
    lr_log(LR_LOG_WARN, "init");
    assert_string_equal(captured(), TS "\tundefined\tWARN\tinit\n");
}

static void json_line_is_exact(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    lr_log_set_request_id(RID, strlen(RID));
    lr_log(LR_LOG_ERROR, "hello %s", "world");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"ERROR\",\"requestId\":\"" RID
                        "\",\"message\":\"hello world\"}\n");
}

static void json_without_request_id_has_no_member(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    lr_log_set_request_id(RID, strlen(RID));
    lr_log_set_request_id(NULL, 0);
    lr_log(LR_LOG_INFO, "x");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"x\"}\n");
}

static const struct lr_log_field sample_fields[] = {
    {"count", {"3", 1}, false},
    {"name", {"a b\"c", 5}, false},
    {"image", {"{\"id\":{\"S\":\"x y\"}}", 18}, true},
    {"empty", {"", 0}, false},
};

static void text_fields_are_bare_or_quoted(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, 0);
    lr_log_fields(LR_LOG_INFO, sample_fields, 4, "rec %d", 1);
    assert_string_equal(captured(), TS "\tundefined\tINFO\trec 1 count=3 name=\"a b\\\"c\" "
                                       "image={\"id\":{\"S\":\"x y\"}} empty=\"\"\n");
}

static void json_fields_follow_the_message(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    lr_log_fields(LR_LOG_INFO, sample_fields, 4, "rec");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"rec\","
                        "\"count\":\"3\",\"name\":\"a b\\\"c\",\"image\":{\"id\":{\"S\":"
                        "\"x y\"}},\"empty\":\"\"}\n");
}

static void json_field_with_raw_newline_becomes_a_string(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    const struct lr_log_field f[] = {{"doc", {"{\"a\":\n1}", 8}, true}};
    lr_log_fields(LR_LOG_INFO, f, 1, "m");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"m\","
                        "\"doc\":\"{\\\"a\\\":\\n1}\"}\n");
}

static void odd_keys_are_sanitised(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    const struct lr_log_field f[] = {{"a\"b c", {"1", 1}, true}, {NULL, {"2", 1}, true}};
    lr_log_fields(LR_LOG_INFO, f, 2, "m");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"m\","
                        "\"a_b_c\":1,\"field\":2}\n");
}

static void request_id_is_escaped_and_capped(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, 0);
    lr_log_set_request_id("a\nb\tc", 5);
    lr_log(LR_LOG_INFO, "m");
    assert_string_equal(captured(), TS "\ta\\nb\\tc\tINFO\tm\n");

    char long_id[300];
    memset(long_id, 'r', sizeof(long_id));
    lr_log_set_request_id(long_id, sizeof(long_id));
    lr_log(LR_LOG_INFO, "m");
    const char *second = strchr(captured(), '\n') + 1;
    assert_int_equal(strchr(second + 25, '\t') - (second + 25), 256);
}

/* ---- escaping ---- */

static void text_message_escapes_line_breakers(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, 0);
    lr_log(LR_LOG_INFO, "a\nb\rc\td\x1b[31mred\x7f \"q\" back\\slash");
    assert_string_equal(captured(), TS "\tundefined\tINFO\ta\\nb\\rc\\td\\u001b[31mred\\u007f "
                                       "\"q\" back\\\\slash\n");
}

static void json_message_keeps_valid_utf8_and_replaces_invalid(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    /* café, check mark, emoji (4 bytes) stay; 0xff, truncated 0xc3, overlong c0 af, surrogate ed a0 80
     * are replaced per byte; C1 CSI and U+2028 are escaped. */
    lr_log(LR_LOG_INFO, "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80|\xff|\xc3|\xc0\xaf|\xed\xa0\x80|"
                        "\xc2\x9b|\xe2\x80\xa8");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"caf\xc3\xa9 "
                        "\xe2\x9c\x93 \xf0\x9f\x98\x80|\\ufffd|\\ufffd|\\ufffd\\ufffd|"
                        "\\ufffd\\ufffd\\ufffd|\\u009b|\\u2028\"}\n");
}

static void nul_bytes_are_escaped(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    const struct lr_log_field f[] = {{"v", {"a\0b", 3}, false}};
    lr_log_fields(LR_LOG_INFO, f, 1, "x%cy", 0);
    assert_string_equal(captured(), "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":"
                                    "\"x\\u0000y\",\"v\":\"a\\u0000b\"}\n");
}

static void escape_reports_needed_size_and_never_cuts_inside(void **state)
{
    (void)state;
    char dst[16];
    /* "a" + 4-byte emoji needs 5; with room for 4 only "a" is written. */
    assert_int_equal(lr_json_escape_str(dst, 5, "a\xf0\x9f\x98\x80", 5), 5);
    assert_string_equal(dst, "a");
    assert_int_equal(lr_json_escape_str(dst, 6, "a\xf0\x9f\x98\x80", 5), 5);
    assert_string_equal(dst, "a\xf0\x9f\x98\x80");
    /* "\n\n" needs 4; with room for 3 only one escape. */
    assert_int_equal(lr_json_escape_str(dst, 4, "\n\n", 2), 4);
    assert_string_equal(dst, "\\n");
    /* \ufffd is 6 bytes: never half of it. */
    assert_int_equal(lr_json_escape_str(dst, 6, "\xff", 1), 6);
    assert_string_equal(dst, "");
    assert_int_equal(lr_json_escape_str(NULL, 0, "\"\\", 2), 4);
    assert_int_equal(lr_json_escape_str(dst, sizeof(dst), "\"\\\b\x01", 4), 2 + 2 + 6 + 6);
    assert_string_equal(dst, "\\\"\\\\\\u0008");
}

/* The escaper copies runs of plain ASCII eight bytes at a time: every character that needs
 * attention must be found wherever it sits in such a word, and the cap must still cut only between
 * characters. Each case is placed after 0..17 plain bytes and before 0..9 more. */
static const struct {
    const char *in, *out;
} special_chars[] = {
    {"\n", "\\n"},
    {"\r", "\\r"},
    {"\t", "\\t"},
    {"\x01", "\\u0001"},
    {"\x1b", "\\u001b"},
    {"\x1f", "\\u001f"},
    {"\x7f", "\\u007f"},
    {"\"", "\\\""},
    {"\\", "\\\\"},
    {"\xff", "\\ufffd"},
    {"\x80", "\\ufffd"},
    {"\xC2\x9B", "\\u009b"},
    {"\xC2\x85", "\\u0085"},
    {"\xE2\x80\xA8", "\\u2028"},
    {"\xE2\x80\xA9", "\\u2029"},
    {"\xC3\xA9", "\xC3\xA9"},
    {"\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80"},
    {"\xE2\x80", "\\ufffd\\ufffd"},
    {"\xED\xA0\x80", "\\ufffd\\ufffd\\ufffd"},
    {" ", " "},
    {"~", "~"},
};

static void escape_finds_specials_at_every_offset(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(special_chars) / sizeof(special_chars[0]); c++) {
        for (size_t pre = 0; pre <= 17; pre++) {
            for (size_t post = 0; post <= 9; post++) {
                char in[64], want[64], got[64];
                size_t ilen = strlen(special_chars[c].in);
                memset(in, 'a', pre);
                memcpy(in + pre, special_chars[c].in, ilen);
                memset(in + pre + ilen, 'b', post);
                snprintf(want, sizeof(want), "%.*s%s%.*s", (int)pre, in, special_chars[c].out,
                         (int)post, in + pre + ilen);
                size_t n = pre + ilen + post;
                assert_int_equal(lr_json_escape_str(got, sizeof(got), in, n), strlen(want));
                assert_string_equal(got, want);
            }
        }
    }
}

static void escape_cut_falls_between_characters_at_every_cap(void **state)
{
    (void)state;
    /* 11 plain bytes, U+2028 (6 out), 9 plain bytes: a cap keeps whole characters only. */
    static const char in[] = "aaaaaaaaaaa\xE2\x80\xA8"
                             "bbbbbbbbb";
    static const char full[] = "aaaaaaaaaaa\\u2028bbbbbbbbb";
    for (size_t cap = 1; cap <= sizeof(full); cap++) {
        char got[64];
        size_t room = cap - 1, keep = room;
        if (room > 11 && room < 17)
            keep = 11; /* the escape does not fit: nothing after it either */
        assert_int_equal(lr_json_escape_str(got, cap, in, sizeof(in) - 1), sizeof(full) - 1);
        assert_int_equal(strlen(got), keep);
        assert_memory_equal(got, full, keep);
    }
}

/* An is_json value is written raw only when no character in it could split or forge a line: one
 * such character anywhere, after any run of plain text, turns it into an escaped string. */
static void json_field_check_finds_specials_at_every_offset(void **state)
{
    (void)state;
    static const char *const bad[] = {"\n",       "\x01",         "\x1b",         "\x7f",    "\xff",
                                      "\xC2\x9B", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80"};
    for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
        for (size_t pre = 0; pre <= 17; pre++) {
            char doc[64], want[256], esc[64];
            int n =
                snprintf(doc, sizeof(doc), "[\"%.*s%s\"]", (int)pre, "aaaaaaaaaaaaaaaaa", bad[c]);
            capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
            const struct lr_log_field f[] = {{"doc", {doc, (size_t)n}, true}};
            lr_log_fields(LR_LOG_INFO, f, 1, "m");
            lr_json_escape_str(esc, sizeof(esc), doc, (size_t)n);
            snprintf(want, sizeof(want),
                     "{\"timestamp\":\"" TS
                     "\",\"level\":\"INFO\",\"message\":\"m\",\"doc\":\"%s\"}\n",
                     esc);
            assert_string_equal(captured(), want);
            fclose(mem);
            free(mem_buf);
            mem = NULL;
            mem_buf = NULL;
        }
    }
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    static const char good[] = "[\"aaaaaaaaaaaa \xC3\xA9\xF0\x9F\x98\x80\\n\"]";
    const struct lr_log_field ok[] = {{"doc", {good, sizeof(good) - 1}, true}};
    lr_log_fields(LR_LOG_INFO, ok, 1, "m");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"m\","
                        "\"doc\":[\"aaaaaaaaaaaa \xC3\xA9\xF0\x9F\x98\x80\\n\"]}\n");
}

/* A value the caller has had lr_json_is_compact_log_text() accept goes out as is, as an unchecked
 * JSON value that passes the log's own check would: the same line in both formats. */
static void checked_json_field_is_written_like_an_unchecked_one(void **state)
{
    (void)state;
    static const char img[] = "{\"pk\":{\"S\":\"caf\xC3\xA9\"},\"n\":{\"N\":\"1\"}}";
    assert_true(lr_json_is_compact_log_text(img, sizeof(img) - 1));
    enum lr_log_format formats[] = {LR_LOG_FORMAT_JSON, LR_LOG_FORMAT_TEXT};
    for (size_t i = 0; i < 2; i++) {
        char lines[2][256];
        enum lr_log_value_kind kinds[] = {LR_LOG_VALUE_JSON, LR_LOG_VALUE_JSON_CHECKED};
        for (size_t k = 0; k < 2; k++) {
            capture(formats[i], LR_LOG_INFO, 0);
            const struct lr_log_field f[] = {{"img", {img, sizeof(img) - 1}, kinds[k]}};
            lr_log_fields(LR_LOG_INFO, f, 1, "m");
            snprintf(lines[k], sizeof(lines[k]), "%s", captured());
            fclose(mem);
            free(mem_buf);
            mem = NULL;
            mem_buf = NULL;
        }
        assert_string_equal(lines[1], lines[0]);
        assert_non_null(strstr(lines[1], i == 0 ? ",\"img\":{\"pk\"" : " img={\"pk\""));
    }
}

/* The contract of lr_json_escape_str() written out one character at a time, independently of the
 * escaper's word-at-a-time scan: the random test below compares the two. */
static size_t reference_unit(const unsigned char *p, size_t n, char out[8], size_t *used)
{
    *used = 1;
    switch (p[0]) {
    case '\n': memcpy(out, "\\n", 2); return 2;
    case '\r': memcpy(out, "\\r", 2); return 2;
    case '\t': memcpy(out, "\\t", 2); return 2;
    case '\\': memcpy(out, "\\\\", 2); return 2;
    case '"': memcpy(out, "\\\"", 2); return 2;
    default: break;
    }
    if (p[0] < 0x20 || p[0] == 0x7F)
        return (size_t)snprintf(out, 8, "\\u%04x", p[0]);
    if (p[0] < 0x80) {
        out[0] = (char)p[0];
        return 1;
    }
    size_t seq = lr_utf8_seq_len(p, n);
    if (seq == 0)
        return (size_t)snprintf(out, 8, "\\ufffd");
    *used = seq;
    if (seq == 2 && p[0] == 0xC2 && p[1] < 0xA0)
        return (size_t)snprintf(out, 8, "\\u%04x", p[1]);
    if (seq == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9))
        return (size_t)snprintf(out, 8, "\\u%04x", 0x2000u + (p[2] & 0x3Fu));
    memcpy(out, p, seq);
    return seq;
}

static void escape_matches_the_per_character_contract_on_random_input(void **state)
{
    (void)state;
    static const unsigned char alphabet[] = {
        'a',  'z',  ' ',  '~',  '"',  '\\', '\n', '\r', '\t', 0x00, 0x1b, 0x1f, 0x7f, 0x80,
        0x85, 0x9b, 0xa8, 0xa9, 0xbf, 0xc2, 0xc3, 0xa9, 0xe2, 0xed, 0xf0, 0x9f, 0xf4, 0xff};
    uint32_t seed = 12345;
    for (int iter = 0; iter < 20000; iter++) {
        unsigned char in[48];
        char want[48 * 6 + 1], got[48 * 6 + 1], unit[8];
        seed = seed * 1103515245u + 12345u;
        size_t n = (seed >> 16) % sizeof(in), plain = (seed >> 8) % 2; /* half: mostly plain text */
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            unsigned r = (seed >> 16) & 0x7FFF;
            in[i] = plain && r % 8 != 0 ? (unsigned char)('a' + r % 26)
                                        : alphabet[r % sizeof(alphabet)];
        }
        seed = seed * 1103515245u + 12345u;
        size_t cap = (seed >> 16) % (sizeof(got) + 1) + 1, w = 0, total = 0, used = 0;
        for (size_t i = 0; i < n; i += used) {
            size_t u = reference_unit(in + i, n - i, unit, &used);
            if (w == total && total + u <= cap - 1) /* nothing cut so far, and this one fits */
                w += u;
            if (w == total + u)
                memcpy(want + total, unit, u);
            total += u;
        }
        want[w] = '\0';
        assert_int_equal(lr_json_escape_str(got, cap, (const char *)in, n), total);
        assert_string_equal(got, want);
    }
}

/* ---- truncation ---- */

static void long_json_message_is_cut_with_a_mark(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 100);
    char big[501];
    memset(big, 'x', 500);
    big[500] = '\0';
    lr_log(LR_LOG_INFO, "%s", big);
    char want[128];
    snprintf(want, sizeof(want),
             "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"%.18s"
             "[truncated]\"}\n",
             big);
    assert_string_equal(captured(), want);
    assert_true(strlen(captured()) <= 100);
}

static void long_text_message_is_cut_with_a_mark(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, 100);
    char big[501];
    memset(big, 'x', 500);
    big[500] = '\0';
    lr_log(LR_LOG_INFO, "%s", big);
    char want[128];
    snprintf(want, sizeof(want), TS "\tundefined\tINFO\t%.46s[truncated]\n", big);
    assert_string_equal(captured(), want);
}

static void truncation_never_splits_a_utf8_sequence(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 100);
    char big[401] = {0};
    for (int i = 0; i < 100; i++)
        memcpy(big + 4 * i, "\xf0\x9f\x98\x80", 4);
    lr_log(LR_LOG_INFO, "%s", big);
    /* 18 bytes of room: four whole emoji (16 bytes), not four and a half. */
    char want[128];
    snprintf(want, sizeof(want),
             "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"%.16s"
             "[truncated]\"}\n",
             big);
    assert_string_equal(captured(), want);
}

static void truncation_never_splits_an_escape(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 100);
    char big[101];
    memset(big, '\x01', 100); /* each becomes \u0001 (6 bytes) */
    big[100] = '\0';
    lr_log(LR_LOG_INFO, "%s", big);
    assert_string_equal(captured(), "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":"
                                    "\"\\u0001\\u0001\\u0001[truncated]\"}\n");
}

static void long_field_is_cut_and_line_stays_json(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 120);
    char big[500];
    memset(big, 'y', sizeof(big));
    char raw[210] = "{\"a\":\"";
    memset(raw + 6, 'z', 200);
    memcpy(raw + 206, "\"}", 3);
    const struct lr_log_field f[] = {{"data", {big, sizeof(big)}, false}};
    lr_log_fields(LR_LOG_INFO, f, 1, "m");
    const struct lr_log_field g[] = {{"img", {raw, strlen(raw)}, true}};
    lr_log_fields(LR_LOG_INFO, g, 1, "m");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"m\",\"data\":"
                        "\"yyyyyyyyyyyyyy[truncated]\"}\n"
                        "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":\"m\",\"img\":"
                        "\"[truncated]\"}\n");
}

static void default_cap_applies_to_huge_messages(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_INFO, 0);
    size_t n = LR_LOG_DEFAULT_MAX_LINE * 2;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'q', n);
    big[n] = '\0';
    lr_log(LR_LOG_INFO, "%s", big);
    free(big);
    size_t len = strlen(captured());
    assert_true(len <= LR_LOG_DEFAULT_MAX_LINE);
    assert_true(len > LR_LOG_DEFAULT_MAX_LINE - 64);
    assert_string_equal(captured() + len - 15, "q[truncated]\"}\n");
    assert_ptr_equal(strchr(captured(), '\n'), captured() + len - 1); /* exactly one line */
}

/* ---- levels and environment ---- */

static void levels_below_the_minimum_are_dropped(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_WARN, 0);
    assert_false(lr_log_enabled(LR_LOG_INFO));
    assert_true(lr_log_enabled(LR_LOG_WARN));
    assert_true(lr_log_enabled(LR_LOG_FATAL));
    lr_log(LR_LOG_DEBUG, "no");
    lr_log(LR_LOG_INFO, "no");
    lr_log(LR_LOG_WARN, "w");
    lr_log(LR_LOG_FATAL, "f");
    assert_string_equal(captured(), TS "\tundefined\tWARN\tw\n" TS "\tundefined\tFATAL\tf\n");
}

static void level_and_format_names_parse_exactly_as_lambda_spells_them(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
        enum lr_log_level want;
    } levels[] = {
        {"TRACE", true, LR_LOG_TRACE},
        {"DEBUG", true, LR_LOG_DEBUG},
        {"INFO", true, LR_LOG_INFO},
        {"WARN", true, LR_LOG_WARN},
        {"ERROR", true, LR_LOG_ERROR},
        {"FATAL", true, LR_LOG_FATAL},
        {"debug", true, LR_LOG_DEBUG},
        {"Info", true, LR_LOG_INFO},
        {"WARNING", false, 0},
        {"", false, 0},
        {" INFO", false, 0},
        {"INFO ", false, 0},
        {"INF", false, 0},
    };
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        enum lr_log_level got = LR_LOG_ERROR;
        assert_int_equal(lr_log_parse_level(levels[i].s, &got), levels[i].ok);
        assert_int_equal(got, levels[i].ok ? levels[i].want : LR_LOG_ERROR);
    }
    enum lr_log_format f = LR_LOG_FORMAT_TEXT;
    assert_true(lr_log_parse_format("JSON", &f));
    assert_int_equal(f, LR_LOG_FORMAT_JSON);
    assert_true(lr_log_parse_format("Text", &f));
    assert_int_equal(f, LR_LOG_FORMAT_TEXT);
    assert_true(lr_log_parse_format("json", &f));
    assert_int_equal(f, LR_LOG_FORMAT_JSON);
    assert_true(lr_log_parse_format("TEXT", &f));
    assert_int_equal(f, LR_LOG_FORMAT_TEXT);
    f = LR_LOG_FORMAT_JSON;
    assert_false(lr_log_parse_format("yaml", &f));
    assert_false(lr_log_parse_format(NULL, &f));
    assert_int_equal(f, LR_LOG_FORMAT_JSON);
    assert_string_equal(lr_log_level_name(LR_LOG_WARN), "WARN");
    assert_string_equal(lr_log_level_name(LR_LOG_TRACE), "TRACE");
}

static void environment_selects_format_and_level(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, 0);
    setenv("AWS_LAMBDA_LOG_FORMAT", "JSON", 1);
    setenv("AWS_LAMBDA_LOG_LEVEL", "DEBUG", 1);
    lr_log_init_from_env();
    lr_log(LR_LOG_TRACE, "no");
    lr_log(LR_LOG_DEBUG, "d");
    setenv("AWS_LAMBDA_LOG_FORMAT", "Text", 1);
    setenv("AWS_LAMBDA_LOG_LEVEL", "", 1); /* empty is unset: INFO, no warning */
    lr_log_init_from_env();
    lr_log(LR_LOG_DEBUG, "no");
    lr_log(LR_LOG_INFO, "i");
    unsetenv("AWS_LAMBDA_LOG_FORMAT");
    unsetenv("AWS_LAMBDA_LOG_LEVEL");
    lr_log_init_from_env();
    lr_log(LR_LOG_DEBUG, "no");
    lr_log(LR_LOG_INFO, "j");
    assert_string_equal(captured(),
                        "{\"timestamp\":\"" TS "\",\"level\":\"DEBUG\",\"message\":\"d\"}\n" TS
                        "\tundefined\tINFO\ti\n" TS "\tundefined\tINFO\tj\n");
}

static void values_lambda_never_sets_warn_and_fall_back(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_JSON, LR_LOG_TRACE, 0);
    setenv("AWS_LAMBDA_LOG_FORMAT", "XML", 1);
    setenv("AWS_LAMBDA_LOG_LEVEL", "LOUD", 1);
    lr_log_init_from_env();
    lr_log(LR_LOG_DEBUG, "no");                 /* INFO is in force */
    setenv("AWS_LAMBDA_LOG_FORMAT", "jSoN", 1); /* any case is fine */
    unsetenv("AWS_LAMBDA_LOG_LEVEL");
    lr_log_init_from_env();
    lr_log(LR_LOG_INFO, "json");
    unsetenv("AWS_LAMBDA_LOG_FORMAT");
    assert_string_equal(captured(),
                        TS "\tundefined\tWARN\tAWS_LAMBDA_LOG_FORMAT=XML is neither JSON "
                           "nor Text; using Text\n" TS
                           "\tundefined\tWARN\tAWS_LAMBDA_LOG_LEVEL=LOUD is not one of "
                           "TRACE, DEBUG, INFO, WARN, ERROR, FATAL; using INFO\n"
                           "{\"timestamp\":\"" TS "\",\"level\":\"INFO\",\"message\":"
                           "\"json\"}\n");
}

/* ---- raw JSON lines ---- */

static void raw_json_lines_are_written_or_refused(void **state)
{
    (void)state;
    capture(LR_LOG_FORMAT_TEXT, LR_LOG_FATAL, 64);
    static const char emf[] = "{\"_aws\":{\"Timestamp\":1}}";
    assert_int_equal(lr_log_raw_json_line(emf, sizeof(emf) - 1), LR_OK);
    assert_int_equal(lr_log_raw_json_line("{\"a\":\n1}", 8), LR_E_INVALID_ARG);
    assert_int_equal(lr_log_raw_json_line("{\"a\":\r1}", 8), LR_E_INVALID_ARG);
    assert_int_equal(lr_log_raw_json_line("", 0), LR_E_INVALID_ARG);
    assert_int_equal(lr_log_raw_json_line(NULL, 0), LR_E_INVALID_ARG);
    char big[80];
    memset(big, ' ', sizeof(big));
    assert_int_equal(lr_log_raw_json_line(big, sizeof(big)), LR_E_TOO_LARGE);
    assert_string_equal(captured(), "{\"_aws\":{\"Timestamp\":1}}\n");
    /* Any byte below 0x20 at any place of the words the check reads, and none of the bytes
     * above it (space, DEL, UTF-8), which may be in a document's strings. */
    char doc[21];
    for (size_t at = 0; at < sizeof(doc); at++)
        for (unsigned c = 0; c < 256; c++) {
            memset(doc, 'a', sizeof(doc));
            doc[at] = (char)c;
            assert_int_equal(lr_log_raw_json_line(doc, sizeof(doc)),
                             c < 0x20 ? LR_E_INVALID_ARG : LR_OK);
        }
}

/* lr_json_int() writes what printf's %lld does: the ends of the range, each power of ten and
 * its neighbours, both signs. */
static void json_int_matches_printf(void **state)
{
    (void)state;
    int64_t cases[3 * 19 * 2 + 4] = {0, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    size_t n = 4;
    for (int64_t p = 1, i = 0; i < 19; i++, p = p <= INT64_MAX / 10 ? p * 10 : p)
        for (int64_t d = -1; d <= 1; d++) {
            cases[n++] = p + d;
            cases[n++] = -(p + d);
        }
    for (size_t i = 0; i < n; i++) {
        char want[32], got[LR_JSON_INT_MAX + 1];
        snprintf(want, sizeof(want), "%lld", (long long)cases[i]);
        size_t len = lr_json_int(got, cases[i]);
        got[len] = '\0';
        assert_string_equal(got, want);
    }
}

static void clock_formats_rfc3339_milliseconds(void **state)
{
    (void)state;
    char ts[LR_CLOCK_RFC3339_LEN + 1];
    lr_clock_format_rfc3339(FIXED_MS, ts);
    assert_string_equal(ts, TS);
    lr_clock_format_rfc3339(0, ts);
    assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
    lr_clock_format_rfc3339(INT64_C(951782400005), ts); /* leap day */
    assert_string_equal(ts, "2000-02-29T00:00:00.005Z");
    assert_int_equal(lr_clock_now_ms(), FIXED_MS);
}

/* ---- concurrent workers: per-thread request ids, whole lines ---- */

#define WRITERS 8
#define LINES_PER_WRITER 200
#define LONG_LINE 100000 /* far over PIPE_BUF (4096) and stdio's buffer: several writes unlocked */

static char pad[LONG_LINE + 1]; /* 'x's, filled before the writers start */

struct pipe_reader {
    int fd;
    char *data;
    size_t len, cap;
};

static void *read_all(void *arg)
{
    struct pipe_reader *r = arg;
    for (;;) {
        if (r->cap - r->len < 65536) {
            r->cap = r->cap * 2 + 65536;
            r->data = realloc(r->data, r->cap);
            assert_non_null(r->data);
        }
        ssize_t n = read(r->fd, r->data + r->len, r->cap - r->len);
        if (n <= 0)
            return NULL;
        r->len += (size_t)n;
    }
}

static void *write_lines(void *arg)
{
    int id = (int)(intptr_t)arg;
    char rid[16];
    int rid_len = snprintf(rid, sizeof(rid), "rid-%d", id);
    lr_log_set_request_id(rid, (size_t)rid_len);
    for (int j = 0; j < LINES_PER_WRITER; j++) {
        int pad_len = j % 50 == 0 ? LONG_LINE : j % 7;
        lr_log(LR_LOG_INFO, "writer %d line %d %.*s", id, j, pad_len, pad);
    }
    lr_log_set_request_id(NULL, 0);
    return NULL;
}

/* Checks one Text line: its request id column names the writer its message names. */
static void check_line(const char *line, size_t len, int seen[WRITERS][LINES_PER_WRITER])
{
    int a = -1, b = -1, j = -1;
    char tail[8];
    assert_true(len > sizeof(TS));
    assert_int_equal(
        sscanf(line + sizeof(TS), "rid-%d\tINFO\twriter %d line %d%1[ \n]", &a, &b, &j, tail), 4);
    assert_int_equal(a, b);
    assert_true(a >= 0 && a < WRITERS && j >= 0 && j < LINES_PER_WRITER);
    size_t want = j % 50 == 0 ? LONG_LINE : (size_t)(j % 7);
    assert_int_equal(len - (size_t)(strchr(line, '\n') - line), 1); /* one line, no split */
    assert_int_equal(len, strlen(TS "\trid-0\tINFO\twriter 0 line ") +
                              (size_t)snprintf(NULL, 0, "%d", j) + 1 + want + 1);
    seen[a][j]++;
}

static void concurrent_lines_are_whole_and_carry_their_request_id(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    FILE *out = fdopen(fds[1], "w");
    assert_non_null(out);
    lr_log_configure(LR_LOG_FORMAT_TEXT, LR_LOG_INFO, out, 2 * LONG_LINE);
    memset(pad, 'x', LONG_LINE);
    struct pipe_reader r = {fds[0], NULL, 0, 0};
    pthread_t reader, writers[WRITERS];
    assert_int_equal(pthread_create(&reader, NULL, read_all, &r), 0);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&writers[i], NULL, write_lines, (void *)(intptr_t)i), 0);
    for (int i = 0; i < WRITERS; i++)
        pthread_join(writers[i], NULL);
    fclose(out);
    pthread_join(reader, NULL);
    close(fds[0]);

    static int seen[WRITERS][LINES_PER_WRITER];
    memset(seen, 0, sizeof(seen));
    size_t lines = 0;
    for (size_t at = 0; at < r.len; lines++) {
        const char *nl = memchr(r.data + at, '\n', r.len - at);
        assert_non_null(nl);
        check_line(r.data + at, (size_t)(nl - (r.data + at)) + 1, seen);
        at = (size_t)(nl - r.data) + 1;
    }
    assert_int_equal(lines, WRITERS * LINES_PER_WRITER);
    for (int i = 0; i < WRITERS; i++)
        for (int j = 0; j < LINES_PER_WRITER; j++)
            assert_int_equal(seen[i][j], 1);
    free(r.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(text_line_is_exact, setup, teardown),
        cmocka_unit_test(json_int_matches_printf),
        cmocka_unit_test_setup_teardown(text_without_request_id_says_undefined, setup, teardown),
        cmocka_unit_test_setup_teardown(json_line_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(json_without_request_id_has_no_member, setup, teardown),
        cmocka_unit_test_setup_teardown(text_fields_are_bare_or_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(json_fields_follow_the_message, setup, teardown),
        cmocka_unit_test_setup_teardown(json_field_with_raw_newline_becomes_a_string, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(odd_keys_are_sanitised, setup, teardown),
        cmocka_unit_test_setup_teardown(request_id_is_escaped_and_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(text_message_escapes_line_breakers, setup, teardown),
        cmocka_unit_test_setup_teardown(json_message_keeps_valid_utf8_and_replaces_invalid, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(nul_bytes_are_escaped, setup, teardown),
        cmocka_unit_test_setup_teardown(escape_reports_needed_size_and_never_cuts_inside, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(escape_finds_specials_at_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(escape_cut_falls_between_characters_at_every_cap, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(escape_matches_the_per_character_contract_on_random_input,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(json_field_check_finds_specials_at_every_offset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(checked_json_field_is_written_like_an_unchecked_one, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(long_json_message_is_cut_with_a_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(long_text_message_is_cut_with_a_mark, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_never_splits_a_utf8_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(truncation_never_splits_an_escape, setup, teardown),
        cmocka_unit_test_setup_teardown(long_field_is_cut_and_line_stays_json, setup, teardown),
        cmocka_unit_test_setup_teardown(default_cap_applies_to_huge_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(levels_below_the_minimum_are_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(level_and_format_names_parse_exactly_as_lambda_spells_them,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(environment_selects_format_and_level, setup, teardown),
        cmocka_unit_test_setup_teardown(values_lambda_never_sets_warn_and_fall_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(raw_json_lines_are_written_or_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(clock_formats_rfc3339_milliseconds, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_lines_are_whole_and_carry_their_request_id,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
