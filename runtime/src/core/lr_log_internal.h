/* Internal extras of the logging module used by the run loop. No pointers are returned. */
#ifndef LR_CORE_LOG_INTERNAL_H
#define LR_CORE_LOG_INTERNAL_H

#include <stdbool.h>

/* True once lr_log_configure() or lr_log_init_from_env() ran (lr_run_handler() then leaves the
 * configuration alone; otherwise it reads the environment itself). */
bool lr_log_is_configured(void);

/* Longest request id the log keeps; longer ids are cut (real ids are 36-byte UUIDs). */
#define LR_LOG_MAX_REQUEST_ID 256

/* Appended inside a value that was cut to respect the line cap. */
#define LR_LOG_TRUNCATION_MARK "[truncated]"

#endif
