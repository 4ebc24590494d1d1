/*
 * The shared config file parser. Every expectation marked "botocore:" was cross-checked
 * with botocore 1.43.11 on Python 3.11 (configloader.raw_config_parse); a differential run
 * of 84,000 generated files (odd blanks, CR/LF mixes, nesting, duplicates, headers) found
 * no difference apart from the documented one: only ASCII letters in keys are folded.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "ini.h"
#include "strutil.h"
#include "unit_files.h"
#include "banned.h"

static struct ini *parse_ok(const char *text)
{
	struct ini *ini = NULL;
	struct ini_error e = { 0 };
	int r = ini_parse(text, strlen(text), &ini, &e);

	if (r < 0)
		fail_msg("parse failed: %d at line %u: %s", r, e.line, e.reason);
	assert_non_null(ini);
	return ini;
}

/* The error and its line, with the output parameter left alone. */
static void parse_fails(const char *text, size_t len, int want, unsigned line)
{
	struct ini *sentinel = (struct ini *)&sentinel, *ini = sentinel;
	struct ini_error e = { 0 };

	assert_int_equal(ini_parse(text, len, &ini, &e), want);
	assert_ptr_equal(ini, sentinel);
	assert_int_equal(e.line, line);
	assert_non_null(e.reason);
}

#define PARSE_FAILS(text, want, line) parse_fails(text, strlen(text), want, line)

static void test_basic(void **state)
{
	_cleanup_(ini_freep) struct ini *ini = parse_ok("[default]\n"
	                                                "region = us-east-1\n"
	                                                "output=json\n"
	                                                "aws_access_key_id   =   AKIA   \n"
	                                                "indented=a\n"
	                                                "  continued = b  \n"
	                                                "Mixed_Case = 1\n"
	                                                "colon: yes\n"
	                                                "url = http://h:1/x?a=b\n"
	                                                "both = a:b=c\n"
	                                                "empty =\n"
	                                                "[profile dev]\n"
	                                                "region = eu-west-1\n");

	(void)state;
	assert_int_equal(ini_section_count(ini), 2);
	assert_string_equal(ini_section_name(ini, 0), "default");
	assert_string_equal(ini_section_name(ini, 1), "profile dev");
	assert_null(ini_section_name(ini, 2));
	assert_true(ini_has_section(ini, "default"));
	assert_true(ini_has_section(ini, "profile dev"));
	assert_false(ini_has_section(ini, "dev"));
	assert_string_equal(ini_get(ini, "default", "region"), "us-east-1");
	assert_string_equal(ini_get(ini, "default", "output"), "json");
	assert_string_equal(ini_get(ini, "default", "aws_access_key_id"), "AKIA");
	/* botocore: a deeper-indented line continues the value, even one with '=' */
	assert_string_equal(ini_get(ini, "default", "indented"), "a\ncontinued = b");
	assert_null(ini_get(ini, "default", "continued"));
	/* botocore: RawConfigParser folds keys to lower case; lookups are exact */
	assert_string_equal(ini_get(ini, "default", "mixed_case"), "1");
	assert_null(ini_get(ini, "default", "Mixed_Case"));
	/* botocore: ':' is a delimiter too, and the first of '=' and ':' splits */
	assert_string_equal(ini_get(ini, "default", "colon"), "yes");
	assert_string_equal(ini_get(ini, "default", "url"), "http://h:1/x?a=b");
	assert_string_equal(ini_get(ini, "default", "both"), "a:b=c");
	assert_string_equal(ini_get(ini, "default", "empty"), "");
	assert_string_equal(ini_get(ini, "profile dev", "region"), "eu-west-1");
	assert_null(ini_get(ini, "profile dev", "output"));
	assert_null(ini_get(ini, "nope", "region"));
	assert_null(ini_get(ini, "default", "nope"));
	assert_int_equal(ini_section_size(ini, "default"), 9);
	assert_int_equal(ini_section_size(ini, "nope"), 0);
}

static void test_comments(void **state)
{
	_cleanup_(ini_freep) struct ini *ini = parse_ok("# leading comment\n"
	                                                "; another\n"
	                                                "[a]\n"
	                                                "   # indented comment\n"
	                                                "\t; indented too\n"
	                                                "k = v # not a comment\n"
	                                                "j = v ; not one either\n"
	                                                "h = #value\n"
	                                                "i = v#x\n");

	(void)state;
	/* botocore: no inline comment prefixes, so the text stays in the value */
	assert_string_equal(ini_get(ini, "a", "k"), "v # not a comment");
	assert_string_equal(ini_get(ini, "a", "j"), "v ; not one either");
	assert_string_equal(ini_get(ini, "a", "h"), "#value");
	assert_string_equal(ini_get(ini, "a", "i"), "v#x");
	assert_int_equal(ini_section_size(ini, "a"), 4);
}

static void test_line_ends(void **state)
{
	_cleanup_(ini_freep) struct ini *crlf = parse_ok("[a]\r\nk = v\r\n\r\nj=w\r\n");
	_cleanup_(ini_freep) struct ini *cr = parse_ok("[a]\rk = v\rj=w");
	_cleanup_(ini_freep) struct ini *mixed = parse_ok("[a]\r\nk = v\n\rj=w\r\r\n");
	_cleanup_(ini_freep) struct ini *noeol = parse_ok("[a]\nk = v");
	_cleanup_(ini_freep) struct ini *empty = parse_ok("");
	_cleanup_(ini_freep) struct ini *blank = parse_ok("\n\n  \n\t\n# only comments\n");

	(void)state;
	assert_string_equal(ini_get(crlf, "a", "k"), "v");
	assert_string_equal(ini_get(crlf, "a", "j"), "w");
	/* botocore: Python's universal newlines make a lone CR a line end */
	assert_string_equal(ini_get(cr, "a", "k"), "v");
	assert_string_equal(ini_get(cr, "a", "j"), "w");
	assert_string_equal(ini_get(mixed, "a", "j"), "w");
	assert_string_equal(ini_get(noeol, "a", "k"), "v");
	assert_int_equal(ini_section_count(empty), 0);
	assert_int_equal(ini_section_count(blank), 0);
}

static void test_headers(void **state)
{
	_cleanup_(ini_freep) struct ini *ini = parse_ok("  [indented]\n"
	                                                "k=1\n"
	                                                "[ spaced ]\n"
	                                                "k=2\n"
	                                                "[tail] ; comment\n"
	                                                "k=3\n"
	                                                "[a]b]\n"
	                                                "k=4\n"
	                                                "[]]\n"
	                                                "k=5\n");

	(void)state;
	/* botocore: the name runs to the last ']' and is not trimmed; the rest is ignored */
	assert_string_equal(ini_get(ini, "indented", "k"), "1");
	assert_string_equal(ini_get(ini, " spaced ", "k"), "2");
	assert_false(ini_has_section(ini, "spaced"));
	assert_string_equal(ini_get(ini, "tail", "k"), "3");
	assert_string_equal(ini_get(ini, "a]b", "k"), "4");
	assert_string_equal(ini_get(ini, "]", "k"), "5");
	/* "[]" is no header, and "[" with '=' is a key */
	PARSE_FAILS("[]\nk=1\n", -EINVAL, 1);
	{
		_cleanup_(ini_freep) struct ini *odd = parse_ok("[a]\n[x = 1\n");

		assert_string_equal(ini_get(odd, "a", "[x"), "1");
	}
}

static void test_blanks(void **state)
{
	/* U+00A0 and U+3000 are blanks to Python's strip(), as are \v, \f and \x1c-\x1f */
	_cleanup_(ini_freep) struct ini *ini = parse_ok("[a]\n"
	                                                "k\xc2\xa0=\xe3\x80\x80v\xc2\xa0\n"
	                                                "[b]\n"
	                                                "\x0bj\x0c=\x1f w \x1c\n"
	                                                "\x0b\x0ck = cont\n"
	                                                "x = caf\xc3\xa9 \xe2\x82\xac\n");

	(void)state;
	assert_string_equal(ini_get(ini, "a", "k"), "v");
	/* botocore: \v indents, so the second line continues the first */
	assert_string_equal(ini_get(ini, "b", "j"), "w\nk = cont");
	assert_string_equal(ini_get(ini, "b", "x"), "caf\xc3\xa9 \xe2\x82\xac");
}

static void test_nested(void **state)
{
	_cleanup_(ini_freep) struct ini *ini = parse_ok("[profile dev]\n"
	                                                "s3 =\n"
	                                                "    addressing_style = path\n"
	                                                "\n"
	                                                "    # a comment inside\n"
	                                                "    Signature_Version=s3v4\n"
	                                                "    addressing_style = virtual\n"
	                                                "    novalue =\n"
	                                                "region = us-east-1\n"
	                                                "multi = first\n"
	                                                "  second = line\n"
	                                                "\n"
	                                                "  third\n"
	                                                "\n"
	                                                "after = 1\n"
	                                                "blank_only =\n"
	                                                "\n"
	                                                "\n");

	(void)state;
	assert_null(ini_get(ini, "profile dev", "s3"));
	assert_true(ini_has_key(ini, "profile dev", "s3"));
	/* botocore: a later sub-key wins; sub-keys keep their case */
	assert_string_equal(ini_get_sub(ini, "profile dev", "s3", "addressing_style"), "virtual");
	assert_string_equal(ini_get_sub(ini, "profile dev", "s3", "Signature_Version"), "s3v4");
	assert_null(ini_get_sub(ini, "profile dev", "s3", "signature_version"));
	assert_string_equal(ini_get_sub(ini, "profile dev", "s3", "novalue"), "");
	assert_null(ini_get_sub(ini, "profile dev", "s3", "nope"));
	assert_string_equal(ini_get(ini, "profile dev", "region"), "us-east-1");
	/* botocore: a value with text on its first line stays one string, blank lines kept
	 * inside and dropped at the end */
	assert_string_equal(ini_get(ini, "profile dev", "multi"), "first\nsecond = line\n\nthird");
	assert_null(ini_get_sub(ini, "profile dev", "multi", "second"));
	assert_string_equal(ini_get(ini, "profile dev", "after"), "1");
	assert_string_equal(ini_get(ini, "profile dev", "blank_only"), "");
	assert_int_equal(ini_section_size(ini, "profile dev"), 5);
}

static void test_nested_indent(void **state)
{
	/* Continuation is by indentation relative to the key line, counted in characters
	 * (botocore: a tab counts one, like a space) */
	_cleanup_(ini_freep) struct ini *ini = parse_ok("[a]\n"
	                                                "  k = v\n"
	                                                "  j = w\n"
	                                                "   more\n"
	                                                "\tl = x\n"
	                                                "s =\n"
	                                                "\xc2\xa0x = 1\n"
	                                                "[b]\n");

	(void)state;
	assert_string_equal(ini_get(ini, "a", "k"), "v");
	assert_string_equal(ini_get(ini, "a", "j"), "w\nmore");
	assert_string_equal(ini_get(ini, "a", "l"), "x");
	assert_string_equal(ini_get_sub(ini, "a", "s", "x"), "1");
	assert_true(ini_has_section(ini, "b"));
	/* botocore: an indented "[b]" after a key continues the value instead, here a
	 * sub-section line without '=' */
	PARSE_FAILS("[a]\ns =\n  x = 1\n  [b]\n", -EINVAL, 2);
	{
		_cleanup_(ini_freep) struct ini *v = parse_ok("[a]\ns = 1\n  [b]\n");

		assert_false(ini_has_section(v, "b"));
		assert_string_equal(ini_get(v, "a", "s"), "1\n[b]");
	}
	/* botocore: sub-section lines without '=' make the whole file unparsable ('=' only,
	 * ':' does not split them) */
	PARSE_FAILS("[a]\ns3 =\n  addressing_style: path\n", -EINVAL, 2);
	PARSE_FAILS("[a]\nx = 1\ns3 =\n  a = b\n  junk\ny = 2\n", -EINVAL, 3);
	{
		/* str.splitlines() inside a sub-section also breaks at \v, \f, \x1c-\x1e,
		 * U+0085, U+2028 and U+2029 */
		_cleanup_(ini_freep) struct ini *v =
		        parse_ok("[a]\ns =\n  x = 1\x0by = 2\xe2\x80\xa8z = 3\n");

		assert_string_equal(ini_get_sub(v, "a", "s", "x"), "1");
		assert_string_equal(ini_get_sub(v, "a", "s", "y"), "2");
		assert_string_equal(ini_get_sub(v, "a", "s", "z"), "3");
	}
}

static void test_duplicates(void **state)
{
	(void)state;
	/* botocore: strict mode; a duplicate key or section is a ConfigParseError, not a
	 * silent overwrite or merge */
	PARSE_FAILS("[a]\nk = 1\nk = 2\n", -EINVAL, 3);
	PARSE_FAILS("[a]\nRegion = 1\nregion = 2\n", -EINVAL, 3);
	PARSE_FAILS("[a]\nk = 1\n[b]\nk = 1\n[a]\nj = 2\n", -EINVAL, 5);
	PARSE_FAILS("[a]\n[b]\n[c]\n[b]\n[a]\n", -EINVAL, 4);
	PARSE_FAILS("[DEFAULT]\nk = 1\n[DEFAULT]\nk = 2\n", -EINVAL, 4);
	{
		/* one key per section is fine; [DEFAULT] may come back; sub-keys may repeat */
		_cleanup_(ini_freep) struct ini *ini =
		        parse_ok("[a]\nk = 1\n[b]\nk = 2\n"
		                 "[DEFAULT]\nx = 1\n[DEFAULT]\ny = 2\n"
		                 "[c]\ns =\n  z = 1\n  z = 2\n");

		assert_string_equal(ini_get(ini, "a", "k"), "1");
		assert_string_equal(ini_get(ini, "b", "k"), "2");
		assert_string_equal(ini_get_sub(ini, "c", "s", "z"), "2");
	}
	{
		/* [default] and [profile default] are two sections to the parser */
		_cleanup_(ini_freep) struct ini *ini =
		        parse_ok("[default]\nregion = a\n[profile default]\nregion = b\n");

		assert_string_equal(ini_get(ini, "default", "region"), "a");
		assert_string_equal(ini_get(ini, "profile default", "region"), "b");
	}
}

static void test_default_section(void **state)
{
	_cleanup_(ini_freep) struct ini *ini = parse_ok("[DEFAULT]\n"
	                                                "region = from-default\n"
	                                                "x = 1\n"
	                                                "s =\n"
	                                                "  k = v\n"
	                                                "[a]\n"
	                                                "region = own\n"
	                                                "[b]\n"
	                                                "[default]\n"
	                                                "x = 2\n");

	(void)state;
	/* botocore: [DEFAULT] is RawConfigParser's default section, seen in every section */
	assert_false(ini_has_section(ini, "DEFAULT"));
	assert_int_equal(ini_section_count(ini), 3);
	assert_null(ini_get(ini, "DEFAULT", "x"));
	assert_string_equal(ini_get(ini, "a", "region"), "own");
	assert_string_equal(ini_get(ini, "b", "region"), "from-default");
	assert_string_equal(ini_get(ini, "default", "x"), "2");
	assert_string_equal(ini_get(ini, "a", "x"), "1");
	assert_string_equal(ini_get_sub(ini, "b", "s", "k"), "v");
	assert_int_equal(ini_section_size(ini, "a"), 3);
	assert_int_equal(ini_section_size(ini, "default"), 3);
	/* botocore: a broken sub-section in [DEFAULT] fails only when a section inherits it */
	PARSE_FAILS("[DEFAULT]\ns =\n  junk\n[a]\n", -EINVAL, 2);
	{
		_cleanup_(ini_freep) struct ini *v = parse_ok("[DEFAULT]\ns =\n  junk\n");
		_cleanup_(ini_freep) struct ini *w =
		        parse_ok("[DEFAULT]\ns =\n  junk\n[a]\ns = 1\n");

		assert_int_equal(ini_section_count(v), 0);
		assert_string_equal(ini_get(w, "a", "s"), "1");
	}
}

static void test_syntax_errors(void **state)
{
	static const char nul[] = "[a]\nk = v\0w\n";

	(void)state;
	/* botocore: MissingSectionHeaderError, ParsingError */
	PARSE_FAILS("k = v\n[a]\n", -EINVAL, 1);
	PARSE_FAILS("\n\n  k = v\n", -EINVAL, 3);
	PARSE_FAILS("[a]\njunk\n", -EINVAL, 2);
	PARSE_FAILS("[a]\nk = 1\n\njunk line\n", -EINVAL, 4);
	PARSE_FAILS("[a]\n= v\n", -EINVAL, 2);
	PARSE_FAILS("[a]\n  : v\n", -EINVAL, 2);
	PARSE_FAILS("[a\nk = v\n", -EINVAL, 1);
	/* botocore: a UTF-8 byte-order mark is part of the first line, so no header */
	PARSE_FAILS("\xef\xbb\xbf[a]\nk = v\n", -EINVAL, 1);
	/* botocore: UnicodeDecodeError becomes ConfigParseError */
	PARSE_FAILS("[a]\nk = \xff\n", -EINVAL, 2);
	PARSE_FAILS("[a]\r\n\r\nk = \xc3\n", -EINVAL, 3);
	PARSE_FAILS("[a]\nk = \xc0\xaf\n", -EINVAL, 2);         /* overlong '/' */
	PARSE_FAILS("[a]\nk = \xed\xa0\x80\n", -EINVAL, 2);     /* surrogate */
	PARSE_FAILS("[a]\nk = \xf4\x90\x80\x80\n", -EINVAL, 2); /* past U+10FFFF */
	/* NUL cannot live in a C string (botocore would keep it) */
	parse_fails(nul, sizeof(nul) - 1, -EINVAL, 2);
}

static void test_limits(void **state)
{
	size_t n = INI_FILE_MAX + 1;
	_cleanup_free_ char *big = malloc(n + 1);
	_cleanup_free_ char *line = malloc(INI_LINE_MAX + 16);
	struct ini *ini = NULL;

	(void)state;
	assert_non_null(big);
	assert_non_null(line);
	for (size_t i = 0; i < n; i++)
		big[i] = i % 64 == 63 ? '\n' : '#';
	big[n] = '\0';
	parse_fails(big, n, -E2BIG, 0);
	/* exactly at the ceiling is fine */
	assert_int_equal(ini_parse(big, INI_FILE_MAX, &ini, NULL), 0);
	ini = ini_free(ini);
	assert_null(ini);

	memcpy(line, "[a]\nk=", 6);
	memset(line + 6, 'x', INI_LINE_MAX);
	line[6 + INI_LINE_MAX] = '\0';
	PARSE_FAILS(line, -E2BIG, 2);
	line[6 + INI_LINE_MAX - 2] = '\0';
	ini = parse_ok(line);
	assert_int_equal(strlen(ini_get(ini, "a", "k")), INI_LINE_MAX - 2);
	ini = ini_free(ini);
}

/* Many keys and sections: the strict duplicate checks must not be quadratic. */
static void test_many(void **state)
{
	struct buf b;
	clock_t start = clock();
	struct ini *ini;
	unsigned lines;

	(void)state;
	buf_init(&b, INI_FILE_MAX);
	assert_int_equal(buf_puts(&b, "[a]\n"), 0);
	for (unsigned i = 0; b.len < INI_FILE_MAX / 2; i++)
		assert_int_equal(buf_printf(&b, "k%u=v\n", i), 0);
	for (unsigned i = 0; b.len < INI_FILE_MAX - 64; i++)
		assert_int_equal(buf_printf(&b, "[s%u]\n", i), 0);
	ini = parse_ok(b.data);
	assert_string_equal(ini_get(ini, "a", "k12345"), "v");
	assert_true(ini_has_section(ini, "s999"));
	ini_free(ini);
	assert_true((clock() - start) / CLOCKS_PER_SEC < 5);

	/* a duplicate at the very end is still found */
	assert_int_equal(buf_puts(&b, "[s0]\n"), 0);
	lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += b.data[i] == '\n';
	parse_fails(b.data, b.len, -EINVAL, lines);

	/* many [DEFAULT] keys, half of them hidden by a section's own */
	buf_reset(&b);
	assert_int_equal(buf_puts(&b, "[DEFAULT]\n"), 0);
	for (unsigned i = 0; i < 40000; i++)
		assert_int_equal(buf_printf(&b, "d%u=v\n", i), 0);
	assert_int_equal(buf_puts(&b, "[a]\n"), 0);
	for (unsigned i = 0; i < 40000; i += 2)
		assert_int_equal(buf_printf(&b, "d%u=own\n", i), 0);
	assert_int_equal(buf_puts(&b, "extra=1\n[b]\n"), 0);
	ini = parse_ok(b.data);
	assert_int_equal(ini_section_size(ini, "a"), 40001);
	assert_int_equal(ini_section_size(ini, "b"), 40000);
	assert_string_equal(ini_get(ini, "a", "d2"), "own");
	assert_string_equal(ini_get(ini, "a", "d3"), "v");
	ini_free(ini);
	assert_true((clock() - start) / CLOCKS_PER_SEC < 10);
	buf_free(&b);
}

/* Random and mutated input must never crash (run under ASan and valgrind). */
static void test_hostile(void **state)
{
	static const char *const seeds[] = {
		"[a]\nk = v\ns3 =\n  x = 1\n",
		"[DEFAULT]\ns =\n  x\n[b]\n",
		"[profile \"x y\"]\r\nk:v\r\n\t#c\r\n",
		"[a]\n\xc2\xa0k=\xe2\x80\xa8\n \xc2\x85x=1\n",
	};
	unsigned seed = 12345;
	char text[256];

	(void)state;
	for (unsigned round = 0; round < 20000; round++) {
		const char *s = seeds[round % ELEMENTSOF(seeds)];
		size_t n = strlen(s);
		struct ini *ini = NULL;
		int r;

		memcpy(text, s, n);
		for (unsigned k = 0; k < 1 + round % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			if (round % 5 == 0 && n < sizeof(text))
				text[n++] = (char)(seed >> 16);
			else
				text[(seed >> 8) % n] = (char)(seed >> 16);
		}
		r = ini_parse(text, n, &ini, NULL);
		assert_true(r == 0 || r == -EINVAL);
		if (r == 0) {
			for (size_t i = 0; i < ini_section_count(ini); i++) {
				const char *sec = ini_section_name(ini, i);

				(void)ini_get(ini, sec, "k");
				(void)ini_get_sub(ini, sec, "s3", "x");
				(void)ini_section_size(ini, sec);
			}
		}
		ini_free(ini);
	}
}

static void test_load(void **state)
{
	_cleanup_free_ char *path = WRITE_TEMP("[default]\r\naws_secret_access_key = s3cr3t\r\n");
	char dir[] = "/tmp/test_ini.d.XXXXXX";
	struct ini *sentinel = (struct ini *)&sentinel, *ini = sentinel;
	struct ini_error e = { 0 };

	(void)state;
	assert_int_equal(ini_load(path, &ini, &e), 0);
	assert_string_equal(ini_get(ini, "default", "aws_secret_access_key"), "s3cr3t");
	ini = ini_free(ini);
	assert_int_equal(unlink(path), 0);

	ini = sentinel;
	assert_int_equal(ini_load(path, &ini, &e), -ENOENT);
	assert_int_equal(ini_load("/nonexistent/dir/config", &ini, &e), -ENOENT);
	assert_int_equal(ini_load("/etc/passwd/x", &ini, &e), -ENOENT);
	/* botocore: os.path.isfile() is false for a directory or a FIFO, so "no file" (and
	 * opening the FIFO must not block) */
	assert_non_null(mkdtemp(dir));
	assert_int_equal(ini_load(dir, &ini, &e), -ENOENT);
	assert_int_equal(ini_load("/dev/null", &ini, &e), -ENOENT);
	{
		_cleanup_free_ char *fifo = NULL;

		assert_true(asprintf(&fifo, "%s/fifo", dir) > 0);
		assert_int_equal(mkfifo(fifo, 0600), 0);
		assert_int_equal(ini_load(fifo, &ini, &e), -ENOENT);
		assert_int_equal(unlink(fifo), 0);
	}
	assert_int_equal(rmdir(dir), 0);
	assert_ptr_equal(ini, sentinel);
}

static void test_load_errors(void **state)
{
	size_t n = INI_FILE_MAX + 10;
	_cleanup_free_ char *big = malloc(n);
	_cleanup_free_ char *bad = WRITE_TEMP("[a]\nk = 1\nk = 2\n");
	_cleanup_free_ char *huge = NULL;
	struct ini *ini = NULL;
	struct ini_error e = { 0 };

	(void)state;
	assert_int_equal(ini_load(bad, &ini, &e), -EINVAL);
	assert_int_equal(e.line, 3);
	assert_string_equal(e.reason, "duplicate key");
	assert_null(ini);
	unlink(bad);

	assert_non_null(big);
	memset(big, '\n', n);
	huge = write_temp(big, n);
	assert_int_equal(ini_load(huge, &ini, &e), -E2BIG);
	assert_null(ini);
	unlink(huge);
	/* /proc files claim size 0; the read itself keeps the ceiling */
	if (access("/proc/self/status", R_OK) == 0) {
		assert_int_equal(ini_load("/proc/self/status", &ini, &e), -EINVAL);
		assert_null(ini);
	}
}

static void test_free_null(void **state)
{
	(void)state;
	assert_null(ini_free(NULL));
	assert_int_equal(ini_section_count(NULL), 0);
	assert_null(ini_section_name(NULL, 0));
	assert_false(ini_has_section(NULL, "a"));
	assert_false(ini_has_key(NULL, "a", "b"));
	assert_null(ini_get(NULL, "a", "b"));
	assert_null(ini_get_sub(NULL, "a", "b", "c"));
	assert_int_equal(ini_section_size(NULL, "a"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),           cmocka_unit_test(test_comments),
		cmocka_unit_test(test_line_ends),       cmocka_unit_test(test_headers),
		cmocka_unit_test(test_blanks),          cmocka_unit_test(test_nested),
		cmocka_unit_test(test_nested_indent),   cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_default_section), cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_limits),          cmocka_unit_test(test_many),
		cmocka_unit_test(test_hostile),         cmocka_unit_test(test_load),
		cmocka_unit_test(test_load_errors),     cmocka_unit_test(test_free_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
