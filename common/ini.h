/*
 * The AWS shared config and credentials file format, read as botocore reads it
 * (configloader.raw_config_parse on Python's configparser.RawConfigParser, strict mode):
 *
 * - `[name]` starts a section; the name is everything between the first '[' and the last
 *   ']' of the line, not trimmed (`[ a ]` is " a "), and text after that ']' is ignored.
 *   `[DEFAULT]` is not a section: its keys show through in every section that lacks them.
 * - `key = value` or `key: value`, split at the first '=' or ':'. Keys are folded to lower
 *   case (ASCII letters only) and lookups compare exactly; values are trimmed.
 * - Only whole-line comments: a line whose first non-blank character is '#' or ';'. An
 *   inline `# x` or `; x` after a value is part of the value.
 * - A line indented deeper than the key line before it continues that value (joined with
 *   "\n"). A key with an empty value followed by such lines is a sub-section of
 *   `name = value` lines (`s3 =` then `  addressing_style = path`), read with
 *   ini_get_sub(); its sub-keys keep their case and a later one wins.
 * - A duplicate section or a duplicate key in one section is an error, as is any line that
 *   is neither blank, comment, header nor key (including one before the first header).
 * - Lines end in LF, CRLF or a lone CR; blanks are what Python's str.isspace() accepts. The
 *   text must be UTF-8 without NUL bytes; a byte-order mark is an error (as in botocore).
 */
#ifndef ASGSWAP_INI_H
#define ASGSWAP_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

#define INI_FILE_MAX ((size_t)1 << 20) /* larger files fail with -E2BIG */
#define INI_LINE_MAX ((size_t)64 << 10)

struct ini;

/* Why a parse failed; the reason is static text without any of the file's contents. */
struct ini_error {
	unsigned line; /* 1-based; 0 when the problem is not on one line */
	const char *reason;
};

/* -EINVAL for a syntax error, -E2BIG past a ceiling; *error (may be NULL) says where. */
int ini_parse(const char *text, size_t len, struct ini **ret, struct ini_error *error);
/* As ini_parse; -ENOENT when path is missing or not a regular file (botocore skips those). */
int ini_load(const char *path, struct ini **ret, struct ini_error *error);
/* Wipes every value (secrets live here) before freeing. Accepts NULL; returns NULL. */
struct ini *ini_free(struct ini *ini);
DEFINE_POINTER_CLEANUP_FUNC(struct ini, ini_free)

/* Sections in file order, [DEFAULT] not counted. */
size_t ini_section_count(const struct ini *ini);
const char *ini_section_name(const struct ini *ini, size_t i);
bool ini_has_section(const struct ini *ini, const char *section);
/* Keys visible in section, [DEFAULT]'s included; 0 when there is no such section. */
size_t ini_section_size(const struct ini *ini, const char *section);

/* Whether key is set in section (or [DEFAULT]), as a plain value or a sub-section. */
bool ini_has_key(const struct ini *ini, const char *section, const char *key);
/* A plain value; NULL when unset or when key is a sub-section. */
const char *ini_get(const struct ini *ini, const char *section, const char *key);
/* A value inside the sub-section key; NULL when unset or key is a plain value. */
const char *ini_get_sub(const struct ini *ini, const char *section, const char *key,
                        const char *subkey);

#endif
