/*
 * Logging for the programs (common/ library code never logs): one line per event on stderr,
 * "PROGRAM: LEVEL: message", or structured journal entries when systemd started us with
 * stderr connected to the journal (JOURNAL_STREAM).
 */
#ifndef ASGSWAP_LOG_H
#define ASGSWAP_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

void log_setup(const char *program);
void log_set_max_level(int level); /* LOG_ERR .. LOG_DEBUG */
int log_get_max_level(void);
void log_set_color(bool on);
/* Called before a line goes to stderr: a program clears its progress line there. */
void log_set_before_write(void (*fn)(void));

/* Returns -abs(error) (or -EIO when error is 0) so callers can `return log_error_errno(r, ...)`. */
int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *fmt, ...) _printf_(6, 7);
/* As log_internal, with extra journal fields "KEY=value" (NULL-terminated); stderr gets only
 * the message. */
int log_fields(int level, int error, char *const *fields, const char *fmt, ...) _printf_(4, 5);

#define log_full_errno(level, error, ...) \
	log_internal(level, error, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_error_errno(error, ...)   log_full_errno(LOG_ERR, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error(...)                (void)log_full_errno(LOG_ERR, 0, __VA_ARGS__)
#define log_warning(...)              (void)log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_notice(...)               (void)log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_info(...)                 (void)log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_debug(...)                (void)log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)

#endif
