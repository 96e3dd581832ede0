/* Unit tests of the word-at-a-time byte classes (base/lr_bytes.h): for every byte value at every
 * position among plain neighbours, each class's mask is nonzero exactly when the byte belongs to the
 * class, and the first flagged byte is the one at that position; the block of string stops flags
 * exactly its bytes; and LR_BYTES_PORTABLE really takes the byte-loop path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/lr_bytes.h"

static void check_class(uint64_t (*cls)(uint64_t), int (*member)(unsigned c), unsigned filler)
{
    for (unsigned c = 0; c < 256; c++) {
        for (size_t at = 0; at < 8; at++) {
            unsigned char b[8];
            for (size_t k = 0; k < 8; k++)
                b[k] = (unsigned char)filler;
            b[at] = (unsigned char)c;
            uint64_t m = cls(lr_bytes_load(b));
            assert_int_equal(m != 0, member(c));
            if (m)
                assert_int_equal(lr_bytes_first(m), LR_BYTES_HAS_INDEX ? at : 8);
        }
    }
}

static uint64_t quote(uint64_t w)
{
    return lr_bytes_equal(w, '"');
}
static int is_quote(unsigned c)
{
    return c == '"';
}
static int is_control(unsigned c)
{
    return c < 0x20;
}
static int is_control_or_high(unsigned c)
{
    return c < 0x20 || c >= 0x80;
}
static int is_not_printable(unsigned c)
{
    return c < 0x20 || c >= 0x7F;
}

static void classes_are_exact_at_every_position(void **state)
{
    (void)state;
    check_class(quote, is_quote, 'a');
    check_class(lr_bytes_control, is_control, 'a');
    check_class(lr_bytes_control_or_high, is_control_or_high, 'a');
    check_class(lr_bytes_not_printable, is_not_printable, ' ');
}

static void a_real_byte_below_a_false_flag_is_the_first(void **state)
{
    (void)state;
    /* 0x00 then 0x01: x - 1 borrows out of the zero byte and flags the 0x01 above it wrongly. */
    unsigned char b[8] = {'a', '"', 0x01 ^ '"', 'a', 'a', 'a', 'a', 'a'};
    uint64_t m = lr_bytes_equal(lr_bytes_load(b), '"');
    assert_true(m != 0);
    if (lr_bytes_first(m) < 8)
        assert_int_equal(lr_bytes_first(m), 1);
}

static int is_string_stop(unsigned c)
{
    return c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
}

/* Every byte value at every position of a block, among plain bytes and among bytes next to the
 * classes' edges: exactly its own bit is set when it is a stop. */
static void string_stops_are_exact_in_a_block(void **state)
{
    (void)state;
    static const unsigned char fillers[] = {'a', ' ', '!', '#', 0x7F, '[', ']'};
    for (size_t f = 0; f < sizeof(fillers); f++) {
        for (unsigned c = 0; c < 256; c++) {
            for (unsigned at = 0; at < LR_BYTES_BLOCK; at++) {
                unsigned char b[LR_BYTES_BLOCK];
                for (size_t k = 0; k < LR_BYTES_BLOCK; k++)
                    b[k] = fillers[f];
                b[at] = (unsigned char)c;
                unsigned want = is_string_stop(c) ? 1u << at : 0;
                assert_int_equal(lr_bytes_block_string_stops(b), want);
            }
        }
    }
}

static void portable_switch_takes_the_byte_loop(void **state)
{
    (void)state;
#ifdef LR_BYTES_PORTABLE
    assert_int_equal(LR_BYTES_HAS_INDEX, 0);
    assert_int_equal(lr_bytes_first(LR_BYTES_HIGHS), 8);
#else
    assert_int_equal(lr_bytes_first((uint64_t)0x80 << 24), 3);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classes_are_exact_at_every_position),
        cmocka_unit_test(a_real_byte_below_a_false_flag_is_the_first),
        cmocka_unit_test(portable_switch_takes_the_byte_loop),
        cmocka_unit_test(string_stops_are_exact_in_a_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
