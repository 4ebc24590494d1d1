/*
 * Release strategies as values: the --steps option, and the records that say which
 * strategy a release follows and where it is (asgswap:strategy, asgswap:step,
 * asgswap:alarms...). Tag values are read back from AWS, so they are parsed strictly:
 * anything this file did not write is refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "strutil.h"
#include "banned.h"

#define TAG_VALUE_MAX 256

static int parse_uint_range(const char *s, unsigned lo, unsigned hi, unsigned *ret)
{
	unsigned v;

	if (safe_atou(s, &v) < 0 || v < lo || v > hi)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Whole steps list "P1,P2,...,100" into st; 0 or -EINVAL. */
static int steps_from(const char *s, struct ctl_strategy *st)
{
	_cleanup_free_ char *copy = strdup(s);
	unsigned n = 0, prev = 0;
	char *p, *comma;

	if (!copy)
		return -ENOMEM;
	if (!*copy)
		return -EINVAL;
	for (p = copy;; p = comma + 1) {
		unsigned v;

		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (n == CTL_MAX_STEPS || parse_uint_range(p, 1, 100, &v) < 0 || v <= prev)
			return -EINVAL;
		st->steps[n++] = prev = v;
		if (!comma)
			break;
	}
	if (prev != 100)
		return -EINVAL;
	st->n_steps = n;
	return 0;
}

int ctl_steps_parse(const char *s, struct ctl_strategy *ret, char **ret_why)
{
	struct ctl_strategy st = *ret;
	int r = steps_from(s, &st);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return set_errorf(ret_why, -EINVAL,
		                  "--steps '%s': expected at most %d percentages 1..100, strictly "
		                  "rising and ending at 100 (for example 10,50,100)",
		                  s, CTL_MAX_STEPS);
	*ret = st;
	return 0;
}

unsigned ctl_strategy_steps(const struct ctl_strategy *st)
{
	return st->n_steps ? st->n_steps : 1;
}

unsigned ctl_strategy_percent(const struct ctl_strategy *st, unsigned step)
{
	if (!st->n_steps || step == 0 || step > st->n_steps)
		return 100;
	return st->steps[step - 1];
}

unsigned ctl_step_size(unsigned percent, unsigned desired)
{
	unsigned long long n = ((unsigned long long)percent * desired + 99) / 100;

	if (desired == 0)
		return 0;
	return n < 1 ? 1 : (unsigned)n;
}

bool ctl_strategy_is_default(const struct ctl_strategy *st)
{
	return ctl_strategy_steps(st) == 1 && !st->bake_s && !st->bake_after_s && !st->pause &&
	       !st->no_auto_rollback && !st->ignore_alarm_state && !st->alarms;
}

void ctl_strategy_done(struct ctl_strategy *st)
{
	if (!st)
		return;
	strv_free(st->alarms);
	*st = (struct ctl_strategy){ 0 };
}

int ctl_strategy_copy(const struct ctl_strategy *st, struct ctl_strategy *ret)
{
	struct ctl_strategy c = *st;

	c.alarms = NULL;
	STRV_FOREACH(a, st->alarms)
		if (strv_extend(&c.alarms, *a) < 0) {
			ctl_strategy_done(&c);
			return -ENOMEM;
		}
	*ret = c;
	return 0;
}

int ctl_strategy_format(const struct ctl_strategy *st, char **ret)
{
	_cleanup_(buf_free) struct buf b;

	buf_init(&b, TAG_VALUE_MAX);
	(void)buf_puts(&b, "steps=");
	for (unsigned i = 0; i < ctl_strategy_steps(st); i++)
		(void)buf_printf(&b, "%s%u", i ? "," : "", ctl_strategy_percent(st, i + 1));
	if (st->bake_s)
		(void)buf_printf(&b, " bake=%u", st->bake_s);
	if (st->bake_after_s)
		(void)buf_printf(&b, " bake-after=%u", st->bake_after_s);
	if (st->pause)
		(void)buf_puts(&b, " pause");
	if (st->no_auto_rollback)
		(void)buf_puts(&b, " no-auto-rollback");
	if (st->ignore_alarm_state)
		(void)buf_puts(&b, " ignore-alarm-state");
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}

int ctl_strategy_parse(const char *s, struct ctl_strategy *ret)
{
	_cleanup_free_ char *copy = NULL;
	struct ctl_strategy st = { 0 };
	bool have_steps = false;
	char *p, *sp;

	if (strlen(s) > TAG_VALUE_MAX)
		return -EINVAL;
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	for (p = copy;; p = sp + 1) {
		const char *v;
		int r = 0;

		sp = strchr(p, ' ');
		if (sp)
			*sp = '\0';
		if ((v = startswith(p, "steps=")) && !have_steps) {
			r = steps_from(v, &st);
			have_steps = true;
		} else if ((v = startswith(p, "bake=")) && !st.bake_s)
			r = parse_uint_range(v, 1, CTL_MAX_BAKE_S, &st.bake_s);
		else if ((v = startswith(p, "bake-after=")) && !st.bake_after_s)
			r = parse_uint_range(v, 1, CTL_MAX_BAKE_S, &st.bake_after_s);
		else if (streq(p, "pause") && !st.pause)
			st.pause = true;
		else if (streq(p, "no-auto-rollback") && !st.no_auto_rollback)
			st.no_auto_rollback = true;
		else if (streq(p, "ignore-alarm-state") && !st.ignore_alarm_state)
			st.ignore_alarm_state = true;
		else
			r = -EINVAL;
		if (r < 0)
			return r;
		if (!sp)
			break;
	}
	if (!have_steps)
		return -EINVAL;
	if (st.n_steps == 1)
		st.n_steps = 0;
	*ret = st;
	return 0;
}

/* Tag values take letters, digits, spaces and _ . : / = + - @ only: an alarm name keeps
 * those but '+' and ' ', the rest of its bytes become +XX; names are separated by spaces. */
static bool name_char_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_.:/=-@", c);
}

static int alarm_encode(struct buf *b, const char *name)
{
	for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
		int r = name_char_plain(*c) ? buf_append(b, c, 1) : buf_printf(b, "+%02X", *c);

		if (r < 0)
			return r;
	}
	return 0;
}

const char *ctl_alarms_tag_key(unsigned i, char buf[static 32])
{
	if (i == 0)
		return TAG_ALARMS;
	(void)snprintf(buf, 32, "%s:%u", TAG_ALARMS, i + 1);
	return buf;
}

int ctl_alarms_format(char *const *names, char ***ret)
{
	_cleanup_strv_free_ char **v = NULL;
	_cleanup_(buf_free) struct buf cur;

	buf_init(&cur, TAG_VALUE_MAX);
	STRV_FOREACH(n, names) {
		_cleanup_(buf_free) struct buf one;

		buf_init(&one, 0);
		if (alarm_encode(&one, *n) < 0 || buf_puts(&one, "") < 0)
			return -ENOMEM;
		if (one.len > TAG_VALUE_MAX)
			return -E2BIG;
		if (cur.len && cur.len + 1 + one.len > TAG_VALUE_MAX) {
			if (strv_push(&v, buf_steal(&cur)) < 0)
				return -ENOMEM;
			buf_init(&cur, TAG_VALUE_MAX);
		}
		if ((cur.len && buf_puts(&cur, " ") < 0) || buf_append(&cur, one.data, one.len) < 0)
			return -ENOMEM;
	}
	if (cur.len && strv_push(&v, buf_steal(&cur)) < 0)
		return -ENOMEM;
	if (strv_length(v) > CTL_ALARM_TAGS)
		return -E2BIG;
	*ret = TAKE_PTR(v);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ctl_alarms_parse(char *const *values, char ***ret)
{
	_cleanup_strv_free_ char **v = NULL;

	STRV_FOREACH(val, values) {
		const char *p = *val;

		if (!*p || strlen(p) > TAG_VALUE_MAX)
			return -EINVAL;
		while (*p) {
			_cleanup_(buf_free) struct buf name;

			buf_init(&name, TAG_VALUE_MAX);
			for (; *p && *p != ' '; p++) {
				unsigned char c = (unsigned char)*p;

				if (c == '+') {
					int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);

					if (lo < 0)
						return -EINVAL;
					c = (unsigned char)(hi * 16 + lo);
					/* Only what the encoder writes: no NUL, no plain char. */
					if (!c || name_char_plain(c))
						return -EINVAL;
					p += 2;
				} else if (!name_char_plain(c)) {
					return -EINVAL;
				}
				if (buf_append(&name, &c, 1) < 0)
					return -EINVAL;
			}
			if (name.len == 0 || name.len > 255 || buf_puts(&name, "") < 0)
				return -EINVAL;
			if (strv_push(&v, buf_steal(&name)) < 0)
				return -ENOMEM;
			if (*p == ' ' && !*++p)
				return -EINVAL;
		}
	}
	*ret = TAKE_PTR(v);
	return 0;
}

int ctl_step_record_parse(const char *s, unsigned *ret_step, unsigned *ret_n, time_t *ret_end)
{
	_cleanup_free_ char *copy = strdup(s);
	char *slash, *colon;
	unsigned k, n;
	uint64_t end = 0;

	if (!copy)
		return -ENOMEM;
	slash = strchr(copy, '/');
	if (!slash)
		return -EINVAL;
	*slash++ = '\0';
	colon = strchr(slash, ':');
	if (colon) {
		*colon++ = '\0';
		/* Seconds since the epoch, before the year 10000. */
		if (safe_atou64(colon, &end) < 0 || end == 0 || end > 253402300799ULL)
			return -EINVAL;
	}
	if (parse_uint_range(copy, 1, CTL_MAX_STEPS, &k) < 0 ||
	    parse_uint_range(slash, 1, CTL_MAX_STEPS, &n) < 0 || k > n)
		return -EINVAL;
	*ret_step = k;
	*ret_n = n;
	*ret_end = (time_t)end;
	return 0;
}

int ctl_release_read(const struct asg_group *canonical, struct ctl_release *r, char **ret_why)
{
	const char *strategy = asg_group_tag(canonical, TAG_STRATEGY);
	const char *step = asg_group_tag(canonical, TAG_STEP);
	const char *failed = asg_group_tag(canonical, TAG_FAILED);
	_cleanup_strv_free_ char **values = NULL;
	struct ctl_strategy st = { 0 };
	unsigned k = 1, n = 1;
	time_t end = 0;
	int e;

	if (strategy && (e = ctl_strategy_parse(strategy, &st)) < 0)
		return e == -ENOMEM ? e
		                    : set_errorf(ret_why, -EINVAL,
		                                 "malformed %s tag '%s' on '%s': not a record this "
		                                 "version wrote",
		                                 TAG_STRATEGY, strategy, canonical->name);
	if (step && (e = ctl_step_record_parse(step, &k, &n, &end)) < 0)
		return e == -ENOMEM
		               ? e
		               : set_errorf(ret_why, -EINVAL,
		                            "malformed %s tag '%s' on '%s': expected STEP/STEPS "
		                            "or STEP/STEPS:BAKE_END",
		                            TAG_STEP, step, canonical->name);
	if (n != ctl_strategy_steps(&st))
		return set_errorf(ret_why, -EINVAL, "%s tag '%s' on '%s' does not match %s '%s'",
		                  TAG_STEP, step ? step : "", canonical->name, TAG_STRATEGY,
		                  strategy ? strategy : "");
	for (unsigned i = 0; i < CTL_ALARM_TAGS; i++) {
		char key[32];
		const char *v = asg_group_tag(canonical, ctl_alarms_tag_key(i, key));

		if (!v)
			break;
		if (strv_extend(&values, v) < 0)
			return -ENOMEM;
	}
	if (values && (e = ctl_alarms_parse(values, &st.alarms)) < 0)
		return e == -ENOMEM ? e
		                    : set_errorf(ret_why, -EINVAL, "malformed %s tags on '%s'",
		                                 TAG_ALARMS, canonical->name);
	r->step = k;
	r->n_steps = n;
	r->bake_end = end;
	r->strategy = st;
	if (failed) {
		r->failed = strdup(failed);
		if (!r->failed)
			return -ENOMEM;
	}
	return 0;
}

bool ctl_release_switched(const struct ctl_release *r)
{
	if (streq(r->phase, "standby"))
		return true;
	return (streq(r->phase, "baking") || streq(r->phase, "failed")) && r->step >= r->n_steps;
}

char *ctl_tag_text(const char *s)
{
	size_t n = MIN(strlen(s), (size_t)TAG_VALUE_MAX);
	char *t = strndup(s, n);

	for (size_t i = 0; t && i < n; i++)
		if (!name_char_plain((unsigned char)t[i]) && t[i] != ' ' && t[i] != '+')
			t[i] = '_';
	return t;
}
