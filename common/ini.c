#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "ini.h"
#include "strutil.h"
#include "banned.h"

#define NO_SECTION      SIZE_MAX       /* before the first header */
#define DEFAULT_SECTION (SIZE_MAX - 1) /* [DEFAULT], shared by every section */
#define NO_PARENT       SIZE_MAX

struct ini_section {
	char *name;
	unsigned line;
	size_t n_keys; /* its own and those it sees in [DEFAULT] */
};

struct ini_entry {
	size_t section; /* index in ini->sections, or DEFAULT_SECTION */
	size_t parent;  /* NO_PARENT, or the index of the sub-section key this belongs to */
	char *key;
	char *value;       /* NULL for a sub-section key */
	size_t n_children; /* sub-section members, stored right after their key */
	unsigned line;
	bool bad_sub; /* a [DEFAULT] sub-section with a line lacking '=' */
};

struct ini {
	struct ini_section *sections;
	size_t n_sections, cap_sections;
	struct ini_entry *entries;
	size_t n_entries, cap_entries;
};

struct span {
	const char *p;
	size_t n;
};

/* The lines of the value being read: pointers into the text, so no secret is copied. */
struct pieces {
	struct span *v;
	size_t n, cap;
	size_t entry; /* its entry, or NO_PARENT when no key is open */
};

static int fail(struct ini_error *error, int r, unsigned line, const char *reason)
{
	if (error)
		*error = (struct ini_error){ .line = line, .reason = reason };
	return r;
}

/* Grow an array of n elements to hold one more; *cap is in elements. */
static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t c;
	void *p;

	if (n < *cap)
		return 0;
	c = *cap ? *cap : 16;
	if (c > SIZE_MAX / 2 / size)
		return -ENOMEM;
	c *= 2;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/*
 * Length of the blank at p, as Python's str.isspace() (which configparser's strip() and
 * \s use): ASCII \t \n \v \f \r \x1c-\x1f and space, and U+0085, U+00A0, U+1680,
 * U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. The text is valid UTF-8.
 */
static size_t space_len(const char *s, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = (size_t)(end - s);

	if (n == 0)
		return 0;
	if (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r') || (p[0] >= 0x1c && p[0] <= 0x1f))
		return 1;
	if (p[0] == 0xc2 && n >= 2 && (p[1] == 0x85 || p[1] == 0xa0))
		return 2;
	if (n < 3)
		return 0;
	if (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x80 &&
	    ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9 || p[2] == 0xaf))
		return 3;
	if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
		return 3;
	if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
		return 3;
	return 0;
}

/* Length of the blank that ends at end, 0 when none. Lead bytes never occur as
 * continuation bytes, so looking back 1, 2 or 3 bytes is unambiguous. */
static size_t space_len_before(const char *start, const char *end)
{
	for (size_t k = 1; k <= 3 && k <= (size_t)(end - start); k++)
		if (space_len(end - k, end) == k)
			return k;
	return 0;
}

/* Trim Python blanks from both ends of [*p, *p + *n). */
static void strip_span(const char **p, size_t *n)
{
	const char *s = *p, *e = *p + *n;
	size_t k;

	while ((k = space_len(s, e)))
		s += k;
	while (e > s && (k = space_len_before(s, e)))
		e -= k;
	*p = s;
	*n = (size_t)(e - s);
}

/* Length of the line break at p as str.splitlines() sees one, 0 when none. */
static size_t linebreak_len(const char *s, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = (size_t)(end - s);

	if (n == 0)
		return 0;
	if (p[0] == '\r')
		return n >= 2 && p[1] == '\n' ? 2 : 1;
	if ((p[0] >= '\n' && p[0] <= '\f') || (p[0] >= 0x1c && p[0] <= 0x1e))
		return 1;
	if (n >= 2 && p[0] == 0xc2 && p[1] == 0x85)
		return 2;
	if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
		return 3;
	return 0;
}

/* Strict UTF-8 as Python decodes it: no overlong forms, surrogates or code points past
 * U+10FFFF. Returns the offset of the first bad byte, or len when all is well; NUL bytes
 * count as bad since C strings cannot hold them. */
static size_t utf8_check(const char *text, size_t len)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t n;
		unsigned char lo = 0x80, hi = 0xbf;

		if (c == 0)
			return i;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 2;
		else if (c >= 0xe0 && c <= 0xef)
			n = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 4;
		else
			return i;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (len - i < n || p[i + 1] < lo || p[i + 1] > hi)
			return i;
		for (size_t k = 2; k < n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return i;
		i += n;
	}
	return len;
}

static unsigned line_of(const char *text, size_t off)
{
	unsigned line = 1;

	for (size_t i = 0; i < off; i++)
		if (text[i] == '\n' || (text[i] == '\r' && (i + 1 >= off || text[i + 1] != '\n')))
			line++;
	return line;
}

static char *lower_dup(const char *p, size_t n)
{
	char *s = strndup(p, n);

	if (s)
		for (char *c = s; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
	return s;
}

static int add_entry(struct ini *ini, size_t section, size_t parent, char *key, char *value,
                     unsigned line)
{
	int r = grow((void **)&ini->entries, &ini->cap_entries, ini->n_entries,
	             sizeof(struct ini_entry));

	if (r < 0) {
		free(key);
		secret_free(value);
		return r;
	}
	ini->entries[ini->n_entries++] = (struct ini_entry){
		.section = section,
		.parent = parent,
		.key = key,
		.value = value,
		.line = line,
	};
	return 0;
}

/*
 * Read one sub-section line set (botocore _parse_nested): the value is split as
 * str.splitlines() does, each line trimmed, blank ones skipped, the rest split at the
 * first '='. Returns 0, -EINVAL for a line without '=', or -ENOMEM.
 */
static int add_children(struct ini *ini, size_t parent, const struct pieces *pc)
{
	struct ini_entry *e = &ini->entries[parent];
	size_t section = e->section;
	unsigned line = e->line;

	for (size_t i = 1; i < pc->n; i++) {
		const char *p = pc->v[i].p, *end = p + pc->v[i].n;

		while (p < end) {
			const char *q = p, *k, *v, *eq;
			size_t kn, vn, br = 0;
			char *key, *value;
			int r;

			while (q < end && !(br = linebreak_len(q, end)))
				q++;
			k = p;
			kn = (size_t)(q - p);
			p = q + br;
			strip_span(&k, &kn);
			if (kn == 0)
				continue;
			eq = memchr(k, '=', kn);
			if (!eq)
				return -EINVAL;
			v = eq + 1;
			vn = kn - (size_t)(v - k);
			kn = (size_t)(eq - k);
			strip_span(&k, &kn);
			strip_span(&v, &vn);
			key = strndup(k, kn);
			value = strndup(v, vn);
			if (!key || !value) {
				free(key);
				secret_free(value);
				return -ENOMEM;
			}
			r = add_entry(ini, section, parent, key, value, line);
			if (r < 0)
				return r;
			ini->entries[parent].n_children++;
		}
	}
	return 0;
}

/* Close the open key: join its lines with "\n" and drop trailing blank lines (Python's
 * rstrip()); a value that then starts with "\n" is a sub-section. */
static int finish_value(struct ini *ini, struct pieces *pc, struct ini_error *error)
{
	size_t idx = pc->entry, total = 0;
	char *value, *w;
	int r;

	if (idx == NO_PARENT)
		return 0;
	pc->entry = NO_PARENT;
	while (pc->n > 1 && pc->v[pc->n - 1].n == 0)
		pc->n--;
	if (pc->n > 1 && pc->v[0].n == 0) {
		r = add_children(ini, idx, pc);
		if (r == -EINVAL && ini->entries[idx].section == DEFAULT_SECTION) {
			/* botocore reads [DEFAULT] only through the sections that lack the key,
			 * so whether this is an error is known only at the end */
			ini->entries[idx].bad_sub = true;
			return 0;
		}
		if (r == -EINVAL)
			return fail(error, r, ini->entries[idx].line,
			            "sub-section line without '='");
		return r;
	}
	for (size_t i = 0; i < pc->n; i++)
		total += pc->v[i].n + 1;
	value = malloc(total);
	if (!value)
		return -ENOMEM;
	w = value;
	for (size_t i = 0; i < pc->n; i++) {
		if (i > 0)
			*w++ = '\n';
		memcpy(w, pc->v[i].p, pc->v[i].n);
		w += pc->v[i].n;
	}
	*w = '\0';
	ini->entries[idx].value = value;
	return 0;
}

static int piece_add(struct pieces *pc, const char *p, size_t n)
{
	int r = grow((void **)&pc->v, &pc->cap, pc->n, sizeof(struct span));

	if (r < 0)
		return r;
	pc->v[pc->n++] = (struct span){ p, n };
	return 0;
}

/* Sorted through pointers, so that no comparison needs a context. */
static int cmp_section(const void *a, const void *b)
{
	const struct ini_section *x = *(const struct ini_section *const *)a;
	const struct ini_section *y = *(const struct ini_section *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ini_entry *x = *(const struct ini_entry *const *)a;
	const struct ini_entry *y = *(const struct ini_entry *const *)b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	if (x->section != y->section)
		return x->section < y->section ? -1 : 1;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * The checks configparser's strict mode makes while reading, done once at the end in
 * O(n log n) so that a hostile file cannot make them quadratic: no section twice, no key
 * twice in one section, and no broken [DEFAULT] sub-section that some section inherits.
 * Reports the earliest offending line. Also counts the keys each section sees.
 */
static int check_duplicates(struct ini *ini, struct ini_error *error)
{
	_cleanup_free_ const struct ini_section **sec = NULL;
	_cleanup_free_ const struct ini_entry **ent = NULL;
	unsigned bad = 0;
	const char *reason = NULL;
	size_t n = 0, n_default = 0;

	if (ini->n_sections) {
		sec = calloc(ini->n_sections, sizeof(*sec));
		if (!sec)
			return -ENOMEM;
	}
	for (size_t i = 0; i < ini->n_sections; i++)
		sec[i] = &ini->sections[i];
	if (sec)
		qsort(sec, ini->n_sections, sizeof(*sec), cmp_section);
	for (size_t i = 1; i < ini->n_sections; i++)
		if (streq(sec[i]->name, sec[i - 1]->name) && (!bad || sec[i]->line < bad)) {
			bad = sec[i]->line;
			reason = "duplicate section";
		}

	if (ini->n_entries) {
		ent = calloc(ini->n_entries, sizeof(*ent));
		if (!ent)
			return -ENOMEM;
	}
	for (size_t i = 0; i < ini->n_entries; i++) {
		struct ini_entry *e = &ini->entries[i];

		if (e->parent != NO_PARENT)
			continue;
		ent[n++] = e;
		if (e->section == DEFAULT_SECTION)
			n_default++;
		else
			ini->sections[e->section].n_keys++;
	}
	if (n)
		qsort(ent, n, sizeof(*ent), cmp_entry);
	for (size_t i = 0; i < n;) {
		const struct ini_entry *bad_default = NULL;
		size_t j = i + 1, own = 0;
		bool in_default;

		for (; j < n && streq(ent[j]->key, ent[i]->key); j++)
			;
		/* DEFAULT_SECTION sorts last within the key */
		in_default = ent[j - 1]->section == DEFAULT_SECTION;
		for (size_t k = i; k < j; k++) {
			bool same = k > i && ent[k]->section == ent[k - 1]->section;

			if (same && (!bad || ent[k]->line < bad)) {
				bad = ent[k]->line;
				reason = "duplicate key";
			}
			if (ent[k]->section == DEFAULT_SECTION) {
				if (ent[k]->bad_sub)
					bad_default = ent[k];
			} else if (!same) {
				own++;
				/* a section's own key hides [DEFAULT]'s, counted once */
				ini->sections[ent[k]->section].n_keys -= in_default;
			}
		}
		if (bad_default && own < ini->n_sections && (!bad || bad_default->line < bad)) {
			bad = bad_default->line;
			reason = "sub-section line without '='";
		}
		i = j;
	}
	for (size_t i = 0; i < ini->n_sections; i++)
		ini->sections[i].n_keys += n_default;
	return bad ? fail(error, -EINVAL, bad, reason) : 0;
}

/* One line (configparser RawConfigParser._read), without its terminator. */
static int parse_line(struct ini *ini, struct pieces *pc, size_t *section, size_t *indent_level,
                      const char *line, size_t n, unsigned lineno, struct ini_error *error)
{
	const char *s = line, *end = line + n, *delim, *v;
	size_t sn = n, indent = 0, k, vn;
	char *key;
	int r;

	strip_span(&s, &sn);
	if (sn == 0) {
		/* a blank line belongs to an open value; trailing ones are dropped later */
		return pc->entry != NO_PARENT ? piece_add(pc, s, 0) : 0;
	}
	if (s[0] == '#' || s[0] == ';')
		return 0;
	for (const char *p = line; (k = space_len(p, end)); p += k)
		indent++;
	if (pc->entry != NO_PARENT && indent > *indent_level)
		return piece_add(pc, s, sn);

	r = finish_value(ini, pc, error);
	if (r < 0)
		return r;
	*indent_level = indent;
	if (s[0] == '[') {
		/* `\[(?P<header>.+)\]` matched at the start: up to the last ']' */
		const char *close = NULL;

		for (const char *p = s + 2; p < s + sn; p++)
			if (*p == ']')
				close = p;
		if (close) {
			size_t hn = (size_t)(close - s - 1);

			if (hn == strlen("DEFAULT") && memcmp(s + 1, "DEFAULT", hn) == 0) {
				*section = DEFAULT_SECTION;
				return 0;
			}
			r = grow((void **)&ini->sections, &ini->cap_sections, ini->n_sections,
			         sizeof(struct ini_section));
			if (r < 0)
				return r;
			key = strndup(s + 1, hn);
			if (!key)
				return -ENOMEM;
			ini->sections[ini->n_sections] =
			        (struct ini_section){ .name = key, .line = lineno };
			*section = ini->n_sections++;
			return 0;
		}
	}
	if (*section == NO_SECTION)
		return fail(error, -EINVAL, lineno, "text before the first section header");

	for (delim = s; delim < s + sn && *delim != '=' && *delim != ':'; delim++)
		;
	if (delim == s + sn)
		return fail(error, -EINVAL, lineno, "line is not 'key = value'");
	k = (size_t)(delim - s);
	strip_span(&s, &k);
	if (k == 0)
		return fail(error, -EINVAL, lineno, "empty key");
	v = delim + 1;
	vn = sn - (size_t)(v - s);
	strip_span(&v, &vn);
	key = lower_dup(s, k);
	if (!key)
		return -ENOMEM;
	r = add_entry(ini, *section, NO_PARENT, key, NULL, lineno);
	if (r < 0)
		return r;
	pc->entry = ini->n_entries - 1;
	pc->n = 0;
	return piece_add(pc, v, vn);
}

int ini_parse(const char *text, size_t len, struct ini **ret, struct ini_error *error)
{
	_cleanup_(ini_freep) struct ini *ini = NULL;
	struct pieces pc = { .entry = NO_PARENT };
	size_t section = NO_SECTION, indent_level = 0, bad;
	unsigned lineno = 0;
	int r = 0;

	if (len > INI_FILE_MAX)
		return fail(error, -E2BIG, 0, "file too large");
	bad = utf8_check(text, len);
	if (bad < len)
		return fail(error, -EINVAL, line_of(text, bad),
		            text[bad] ? "invalid UTF-8" : "NUL byte");
	ini = calloc(1, sizeof(*ini));
	if (!ini)
		return -ENOMEM;

	for (size_t i = 0; i < len && r >= 0;) {
		size_t j = i;

		while (j < len && text[j] != '\n' && text[j] != '\r')
			j++;
		lineno++;
		if (j - i > INI_LINE_MAX)
			r = fail(error, -E2BIG, lineno, "line too long");
		else
			r = parse_line(ini, &pc, &section, &indent_level, text + i, j - i, lineno,
			               error);
		i = j;
		if (i < len)
			i += text[i] == '\r' && i + 1 < len && text[i + 1] == '\n' ? 2 : 1;
	}
	if (r >= 0)
		r = finish_value(ini, &pc, error);
	free(pc.v);
	if (r >= 0)
		r = check_duplicates(ini, error);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(ini);
	return 0;
}

int ini_load(const char *path, struct ini **ret, struct ini_error *error)
{
	_cleanup_buf_ struct buf text = { 0 };
	int r;

	r = read_small_file(path, INI_FILE_MAX, READ_FILE_SECRET | READ_FILE_REGULAR, &text);
	/* botocore: os.path.isfile() is false for a directory, a FIFO or a device: "no file" */
	if (r == -ENOTDIR || r == -EISDIR || r == -EINVAL)
		return -ENOENT;
	if (r == -E2BIG)
		return fail(error, r, 0, "file too large");
	if (r < 0)
		return r;
	return ini_parse(text.data, text.len, ret, error);
}

struct ini *ini_free(struct ini *ini)
{
	if (!ini)
		return NULL;
	for (size_t i = 0; i < ini->n_sections; i++)
		free(ini->sections[i].name);
	for (size_t i = 0; i < ini->n_entries; i++) {
		free(ini->entries[i].key);
		secret_free(ini->entries[i].value);
	}
	free(ini->sections);
	free(ini->entries);
	free(ini);
	return NULL;
}

size_t ini_section_count(const struct ini *ini)
{
	return ini ? ini->n_sections : 0;
}

const char *ini_section_name(const struct ini *ini, size_t i)
{
	return ini && i < ini->n_sections ? ini->sections[i].name : NULL;
}

static size_t find_section(const struct ini *ini, const char *section)
{
	if (ini && section)
		for (size_t i = 0; i < ini->n_sections; i++)
			if (streq(ini->sections[i].name, section))
				return i;
	return NO_SECTION;
}

bool ini_has_section(const struct ini *ini, const char *section)
{
	return find_section(ini, section) != NO_SECTION;
}

static const struct ini_entry *find_own(const struct ini *ini, size_t section, const char *key)
{
	for (size_t i = 0; i < ini->n_entries; i++) {
		const struct ini_entry *e = &ini->entries[i];

		if (e->section == section && e->parent == NO_PARENT && streq(e->key, key))
			return e;
	}
	return NULL;
}

static const struct ini_entry *find_key(const struct ini *ini, const char *section, const char *key)
{
	size_t s = find_section(ini, section);
	const struct ini_entry *e;

	if (s == NO_SECTION || !key)
		return NULL;
	e = find_own(ini, s, key);
	return e ? e : find_own(ini, DEFAULT_SECTION, key);
}

size_t ini_section_size(const struct ini *ini, const char *section)
{
	size_t s = find_section(ini, section);

	return s == NO_SECTION ? 0 : ini->sections[s].n_keys;
}

bool ini_has_key(const struct ini *ini, const char *section, const char *key)
{
	return find_key(ini, section, key) != NULL;
}

const char *ini_get(const struct ini *ini, const char *section, const char *key)
{
	const struct ini_entry *e = find_key(ini, section, key);

	return e ? e->value : NULL;
}

const char *ini_get_sub(const struct ini *ini, const char *section, const char *key,
                        const char *subkey)
{
	const struct ini_entry *e = find_key(ini, section, key);
	const char *found = NULL;

	if (!e || e->value || !subkey)
		return NULL;
	/* a later duplicate wins, as in the dict botocore builds */
	for (size_t i = 1; i <= e->n_children; i++)
		if (streq(e[i].key, subkey))
			found = e[i].value;
	return found;
}
