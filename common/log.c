#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "buf.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

static const char *log_program = "asgswap";
static int log_max_level = LOG_INFO;
static bool log_color;
static bool log_journal;
static void (*log_before_write)(void);

/* systemd sets JOURNAL_STREAM=DEV:INODE of the stream it connected stderr to; only when
 * stderr is still that stream do we talk to the journal directly (sd_journal_print(3)). */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	/* NOLINTNEXTLINE(cert-err34-c): an overflow only fails the st_dev/st_ino match */
	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_setup(const char *program)
{
	log_program = program;
	log_journal = stderr_is_journal();
	log_color = !log_journal && isatty(STDERR_FILENO) && !getenv("NO_COLOR");
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

void log_set_before_write(void (*fn)(void))
{
	log_before_write = fn;
}

void log_set_color(bool on)
{
	log_color = on;
}

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error";
	case LOG_WARNING:
		return "warning";
	case LOG_DEBUG:
		return "debug";
	default:
		return NULL;
	}
}

/* Control characters from hostile input never reach the terminal or split a log line. */
static void sanitize_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void log_emit(int level, int error, const char *file, int line, const char *func,
                     char *const *fields, char *msg)
{
	const char *name = level_name(level);

	sanitize_line(msg);
	if (log_journal) {
		struct iovec iov[16];
		char *owned[16];
		size_t n = 0, o = 0;

#define ADD(...)                                                              \
	do {                                                                  \
		char *_s = NULL;                                              \
		if (asprintf(&_s, __VA_ARGS__) >= 0 && n < ELEMENTSOF(iov)) { \
			owned[o++] = _s;                                      \
			iov[n++] = (struct iovec){ _s, strlen(_s) };          \
		} else {                                                      \
			free(_s);                                             \
		}                                                             \
	} while (0)
		ADD("MESSAGE=%s", msg);
		ADD("PRIORITY=%d", level);
		ADD("SYSLOG_IDENTIFIER=%s", log_program);
		if (error)
			ADD("ERRNO=%d", error < 0 ? -error : error);
		if (file) {
			ADD("CODE_FILE=%s", file);
			ADD("CODE_LINE=%d", line);
			ADD("CODE_FUNC=%s", func);
		}
		STRV_FOREACH(f, fields)
			if (n < ELEMENTSOF(iov))
				iov[n++] = (struct iovec){ *f, strlen(*f) };
#undef ADD
		if (sd_journal_sendv(iov, (int)n) >= 0) {
			while (o)
				free(owned[--o]);
			return;
		}
		while (o)
			free(owned[--o]);
	}
	if (log_before_write)
		log_before_write();
	if (name && log_color)
		(void)fprintf(stderr, "%s: \033[%sm%s:\033[0m %s\n", log_program,
		              level <= LOG_ERR       ? "1;31"
		              : level == LOG_WARNING ? "1;33"
		                                     : "2",
		              name, msg);
	else if (name)
		(void)fprintf(stderr, "%s: %s: %s\n", log_program, name, msg);
	else
		(void)fprintf(stderr, "%s: %s\n", log_program, msg);
}

static int log_return(int error)
{
	if (error == 0)
		return -EIO;
	return error < 0 ? error : -error;
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *fmt, ...)
{
	int saved = errno;
	char *msg = NULL;
	va_list ap;

	if (level > log_max_level)
		return log_return(error);
	errno = error < 0 ? -error : error;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg)
		log_emit(level, error, file, line, func, NULL, msg);
	free(msg);
	errno = saved;
	return log_return(error);
}

int log_fields(int level, int error, char *const *fields, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	if (level > log_max_level)
		return log_return(error);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg)
		log_emit(level, error, NULL, 0, NULL, fields, msg);
	free(msg);
	return log_return(error);
}
