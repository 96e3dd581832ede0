/* Shared vocabulary of the lambda_ddb runtime: borrowed string views and attributes. */
#ifndef LR_COMMON_H
#define LR_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LR_NODISCARD __attribute__((warn_unused_result))
#define LR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define LR_NODISCARD
#define LR_PRINTF(fmt, args)
#endif

/* A borrowed, non-owning view of bytes: NOT necessarily NUL-terminated, may hold NUL bytes.
 * Whoever hands one out says how long it stays valid; never free ptr. */
struct lr_str {
    const char *ptr;
    size_t len;
};

#define LR_STR_LIT(s) ((struct lr_str){(s), sizeof(s) - 1})

#ifdef __cplusplus
}
#endif
#endif
