/* DynamoDB numbers: exact decimal strings. Parsed into significant digits plus a scientific
 * exponent, which is all the grammar, range and conversion checks need. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lr/ddb.h"

#define MAX_SIG 38
#define MIN_EXP (-130)
#define MAX_EXP 125
#define EXP_SATURATE 1000000000L /* beyond this the value is out of range anyway */

/* value = (neg ? -1 : 1) * 0.d1d2..dn * 10^(exp + 1), i.e. d1.d2..dn * 10^exp; zero has n == 0. */
struct decimal {
    bool neg;
    char sig[MAX_SIG];
    size_t n;
    long exp;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Mantissa digits, optionally with one '.'. Records first/last non-zero digit positions. */
static size_t scan_mantissa(const char *t, size_t len, size_t i, size_t *int_digits, size_t *total)
{
    size_t count = 0, ints = 0;
    bool dot = false;
    for (; i < len; i++) {
        if (is_digit(t[i])) {
            count++;
            if (!dot)
                ints++;
        } else if (t[i] == '.' && !dot) {
            dot = true;
        } else {
            break;
        }
    }
    *int_digits = ints;
    *total = count;
    return i;
}

static enum lr_status scan_exponent(const char *t, size_t len, size_t i, long *exp)
{
    *exp = 0;
    if (i == len)
        return LR_OK;
    if (t[i] != 'e' && t[i] != 'E')
        return LR_E_BAD_NUMBER;
    i++;
    bool neg = i < len && t[i] == '-';
    if (i < len && (t[i] == '-' || t[i] == '+'))
        i++;
    if (i == len)
        return LR_E_BAD_NUMBER;
    for (; i < len; i++) {
        if (!is_digit(t[i]))
            return LR_E_BAD_NUMBER;
        if (*exp < EXP_SATURATE)
            *exp = *exp * 10 + (t[i] - '0');
    }
    if (neg)
        *exp = -*exp;
    return LR_OK;
}

/* Collects the significant digits (between the first and last non-zero digit). */
static enum lr_status collect(const char *t, size_t from, size_t to, struct decimal *d,
                              long *first_pos)
{
    size_t k = 0, last_nz = 0;
    bool seen = false;
    d->n = 0;
    for (size_t i = from; i < to; i++) {
        if (t[i] == '.')
            continue;
        if (t[i] != '0') {
            if (!seen)
                *first_pos = (long)k;
            seen = true;
            last_nz = k;
        }
        k++;
    }
    if (!seen)
        return LR_OK;
    size_t count = last_nz - (size_t)*first_pos + 1;
    if (count > MAX_SIG)
        return LR_E_NUMBER_PRECISION;
    k = 0;
    for (size_t i = from; i < to && d->n < count; i++) {
        if (t[i] == '.')
            continue;
        if ((long)k >= *first_pos)
            d->sig[d->n++] = t[i];
        k++;
    }
    return LR_OK;
}

static enum lr_status parse_decimal(const char *t, size_t len, struct decimal *d)
{
    memset(d, 0, sizeof(*d));
    size_t i = 0, ints, total;
    if (!t)
        return LR_E_BAD_NUMBER;
    if (i < len && t[i] == '-') {
        d->neg = true;
        i++;
    }
    size_t start = i;
    size_t end = scan_mantissa(t, len, i, &ints, &total);
    if (total == 0)
        return LR_E_BAD_NUMBER;
    long exp;
    enum lr_status st = scan_exponent(t, len, end, &exp);
    if (st != LR_OK)
        return st;
    long first = 0;
    st = collect(t, start, end, d, &first);
    if (st != LR_OK || d->n == 0)
        return st;
    if (ints > (size_t)EXP_SATURATE)
        return LR_E_NUMBER_RANGE;
    d->exp = (long)ints - 1 - first + exp;
    if (d->exp > MAX_EXP || d->exp < MIN_EXP)
        return LR_E_NUMBER_RANGE;
    return LR_OK;
}

/* Whether t[0..len) is an optional '-' and 1..MAX_SIG digits with at most one '.': most numbers
 * are. Such a number always passes parse_decimal: it has at most MAX_SIG significant digits, and
 * its exponent, -(MAX_SIG)..MAX_SIG-1, is far inside MIN_EXP..MAX_EXP. */
static bool plain_short(const char *t, size_t len)
{
    if (!t || len == 0)
        return false;
    size_t digits = 0, dots = 0;
    for (size_t i = t[0] == '-'; i < len; i++) {
        if (is_digit(t[i]))
            digits++;
        else if (t[i] == '.')
            dots++;
        else
            return false;
    }
    return dots <= 1 && digits >= 1 && digits <= MAX_SIG;
}

enum lr_status ddb_number_validate(const char *text, size_t len)
{
    if (plain_short(text, len)) /* the common case, without building the decimal */
        return LR_OK;
    struct decimal d;
    return parse_decimal(text, len, &d);
}

/* Whether t[0..len) is an optional '-' and 1..18 digits (the usual SizeBytes); *out is then its
 * value, which cannot overflow (10^18 - 1 < INT64_MAX). */
static bool plain_int(const char *t, size_t len, int64_t *out)
{
    if (!t || len == 0)
        return false;
    bool neg = t[0] == '-';
    if (len - neg < 1 || len - neg > 18)
        return false;
    int64_t v = 0;
    for (size_t i = neg; i < len; i++) {
        if (!is_digit(t[i]))
            return false;
        v = v * 10 + (t[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

enum lr_status ddb_number_to_int64(struct lr_str n, int64_t *out)
{
    if (plain_int(n.ptr, n.len, out)) /* the common case, without building the decimal */
        return LR_OK;
    struct decimal d;
    enum lr_status st = parse_decimal(n.ptr, n.len, &d);
    if (st != LR_OK)
        return st;
    if (d.n == 0) {
        *out = 0;
        return LR_OK;
    }
    if (d.exp < 0 || (long)d.n - 1 > d.exp)
        return LR_E_NUMBER_INEXACT;
    if (d.exp > 18)
        return LR_E_NUMBER_RANGE;
    uint64_t mag = 0;
    for (long k = 0; k <= d.exp; k++)
        mag = mag * 10 + (uint64_t)((size_t)k < d.n ? d.sig[k] - '0' : 0);
    uint64_t limit = d.neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (mag > limit)
        return LR_E_NUMBER_RANGE;
    *out = d.neg ? (mag == limit ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return LR_OK;
}

/* Significant digits and exponent of a printed "%.*e" double, to compare with the input. */
static bool same_digits(const char *printed, const struct decimal *d)
{
    char sig[64];
    size_t n = 0;
    const char *p = printed;
    if (*p == '-')
        p++;
    for (; *p && *p != 'e' && n < sizeof(sig); p++)
        if (is_digit(*p))
            sig[n++] = *p;
    while (n > 0 && sig[n - 1] == '0')
        n--;
    if (*p != 'e')
        return false;
    long exp = strtol(p + 1, NULL, 10); /* from our own snprintf output, always well-formed */
    return n == d->n && memcmp(sig, d->sig, n) == 0 && exp == d->exp;
}

enum lr_status ddb_number_to_double(struct lr_str n, double *out)
{
    struct decimal d;
    enum lr_status st = parse_decimal(n.ptr, n.len, &d);
    if (st != LR_OK)
        return st;
    if (d.n == 0) {
        *out = d.neg ? -0.0 : 0.0;
        return LR_OK;
    }
    /* Integer mantissa and exponent: no decimal point, so strtod's locale does not matter. */
    char text[80];
    snprintf(text, sizeof(text), "%s%.*se%ld", d.neg ? "-" : "", (int)d.n, d.sig,
             d.exp - (long)d.n + 1);
    errno = 0;
    double v = strtod(text, NULL);
    if (isinf(v) || v == 0.0)
        return LR_E_NUMBER_RANGE;
    *out = v;
    char printed[80];
    snprintf(printed, sizeof(printed), "%.*e", (int)d.n - 1, v);
    return same_digits(printed, &d) ? LR_OK : LR_E_NUMBER_INEXACT;
}
