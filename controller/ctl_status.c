/* asgswap status: each set, its groups, sizes, instances and health, the lock, the release in
 * flight and what to run next, as a table or JSON; and why a mixed set is mixed. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cloudwatch.h"
#include "ctl.h"
#include "imageref.h"
#include "jsonutil.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

/* When the set went to Standby (asgswap:standby-since on its groups, in AWS's clock). */
static bool standby_since(const struct ctl_set *set, time_t *ret_when)
{
	for (size_t i = 0; i < set->n; i++) {
		const char *v = asg_group_tag(set->groups[i]->asg, TAG_STANDBY_SINCE);
		uint64_t t;

		if (v && safe_atou64(v, &t) == 0 && t <= INT64_MAX) {
			*ret_when = (time_t)t;
			return true;
		}
	}
	return false;
}

static int live_set(const struct ctl_service *s)
{
	for (int k = 0; k < _SET_MAX; k++)
		if (s->sets[k].state == CTL_LIVE)
			return k;
	return -1;
}

/* Duration in words ("4 min", "2 h 5 min"), into buf. */
static const char *duration(long long sec, char *buf, size_t n)
{
	if (sec >= 86400)
		(void)snprintf(buf, n, "%lld d %lld h", sec / 86400, sec % 86400 / 3600);
	else if (sec >= 3600)
		(void)snprintf(buf, n, "%lld h %lld min", sec / 3600, sec % 3600 / 60);
	else if (sec >= 60)
		(void)snprintf(buf, n, "%lld min", sec / 60);
	else
		(void)snprintf(buf, n, "%lld s", sec);
	return buf;
}

/* ISO 8601 for JSON, or for a person ("2026-12-06 21:30:05 UTC"). */
bool ctl_iso_time(time_t when, char *buf, size_t n, bool human)
{
	struct tm tm;

	if (!gmtime_r(&when, &tm))
		return false;
	return (human ? strftime(buf, n, "%Y-%m-%d %H:%M:%S UTC", &tm)
	              : strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm)) > 0;
}

/* A tag value shown to a person: bytes outside printable ASCII as \xNN. */
char *ctl_printable(const char *s)
{
	_cleanup_buf_ struct buf b = { 0 };

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char hex[5];

		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (buf_append(&b, (const char *)p, 1) < 0)
				break;
			continue;
		}
		(void)snprintf(hex, sizeof(hex), "\\x%02x", *p);
		if (buf_append(&b, hex, 4) < 0)
			break;
	}
	return buf_steal(&b);
}

/* s as one shell word: as is when it holds only characters the shell leaves alone. */
static int shell_word(struct buf *b, const char *s)
{
	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	                    "@%+=:,./_-") == strlen(s))
		return buf_append(b, s, strlen(s));
	if (buf_append(b, "'", 1) < 0)
		return -ENOMEM;
	for (const char *p = s; *p; p++)
		if ((*p == '\'' ? buf_append(b, "'\\''", 4) : buf_append(b, p, 1)) < 0)
			return -ENOMEM;
	return buf_append(b, "'", 1);
}

/* "asgswap COMMAND IMAGE [VERSION] [--prefix P]", ready to paste. */
static char *command_line(const struct ctl_service *s, const char *command, const char *version)
{
	struct buf b = { 0 };
	int r;

	r = buf_append(&b, "asgswap ", 8);
	if (r >= 0)
		r = buf_append(&b, command, strlen(command));
	if (r >= 0)
		r = buf_append(&b, " ", 1);
	if (r >= 0)
		r = shell_word(&b, s->image);
	if (r >= 0 && version) {
		r = buf_append(&b, " ", 1);
		if (r >= 0)
			r = shell_word(&b, version);
	}
	if (r >= 0 && *s->prefix) {
		r = buf_append(&b, " --prefix ", 10);
		if (r >= 0)
			r = shell_word(&b, s->prefix);
	}
	if (r < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

/* What to run next, as pairs (what, command) in a strv: the release in flight finished or
 * undone, a standby set rolled back to or finalized. */
static int next_steps(const struct ctl_service *s, char ***ret)
{
	_cleanup_strv_free_ char **v = NULL;
	const char *what[2] = { 0 }, *cmd[2] = { 0 }, *ver[2] = { 0 };
	int live = live_set(s);

	if (s->have_release) {
		const char *ph = s->release.phase;

		if (streq(ph, "launching") || streq(ph, "moving") || streq(ph, "standby")) {
			what[0] = "finish", cmd[0] = "deploy", ver[0] = s->release.version;
			what[1] = "undo", cmd[1] = "rollback";
		} else if (streq(ph, "baking")) {
			what[0] = "continue", cmd[0] = "deploy", ver[0] = s->release.version;
			what[1] = "undo", cmd[1] = "abort";
		} else if (streq(ph, "paused") || streq(ph, "failed")) {
			what[0] = "continue", cmd[0] = "promote";
			what[1] = "undo", cmd[1] = "abort";
		} else if (streq(ph, "rollback")) {
			what[0] = "finish", cmd[0] = "rollback";
		}
	} else if (live >= 0 && s->sets[!live].state == CTL_STANDBY) {
		what[0] = "roll back", cmd[0] = "rollback";
		what[1] = "finalize", cmd[1] = "finalize";
	}
	for (int i = 0; i < 2 && what[i]; i++) {
		char *c = command_line(s, cmd[i], ver[i]);

		if (!c || strv_extend(&v, what[i]) < 0 || strv_push(&v, c) < 0)
			return -ENOMEM;
	}
	*ret = v;
	v = NULL;
	return 0;
}

/* The lock as found: 1 with *ret filled, 0 when there is none, -EINVAL when malformed. */
static int service_lock(const struct ctl_service *s, struct ctl_lock_info *ret)
{
	const char *v = s->canonical ? asg_group_tag(s->canonical, TAG_LOCK) : NULL;
	int r;

	if (!v || !*v)
		return 0;
	r = ctl_lock_parse(v, ret);
	return r < 0 ? r : 1;
}

static const char *rolled_back_from(const struct ctl_set *set)
{
	for (size_t i = 0; i < set->n; i++) {
		const char *v = asg_group_tag(set->groups[i]->asg, TAG_ROLLED_BACK);

		if (v && *v)
			return v;
	}
	return NULL;
}

/* The instances of g that keep set from what it should be: Standby when want_standby, else
 * InService. */
static bool off_state(const struct asg_instance *in, bool want_standby)
{
	if (streq(in->lifecycle, "Terminated"))
		return false;
	return !streq(in->lifecycle, want_standby ? "Standby" : "InService");
}

int ctl_explain_set(const struct ctl_service *s, int k, char **ret)
{
	const struct ctl_set *set = &s->sets[k];
	/* Beside a live set this one is the old one, kept in Standby; else it should serve. */
	bool want_standby = s->sets[!k].state == CTL_LIVE;
	const char *movable = want_standby ? "InService" : "Standby";
	_cleanup_buf_ struct buf b = { 0 }, fix = { 0 };
	unsigned listed = 0;
	bool odd = false, unhealthy = false;
	int r;

	*ret = NULL;
	if (set->state != CTL_MIXED)
		return 0;
	r = buf_printf(&b, "%s is mixed (it should be %s):", ctl_set_name(k),
	               want_standby ? "in Standby, as the other set is live" : "live");
	for (size_t i = 0; r >= 0 && i < set->n; i++) {
		const struct asg_group *a = set->groups[i]->asg;
		bool fixing = false;

		for (size_t j = 0; r >= 0 && j < a->n_instances; j++) {
			const struct asg_instance *in = &a->instances[j];
			const struct ctl_instance *ci = &set->groups[i]->instances[j];

			/* In service but not serving keeps a set from being live too. */
			if (!want_standby && streq(in->lifecycle, "InService") && !ci->serving) {
				if (listed++ < 10)
					r = buf_printf(&b, "%s %s InService in %s but %s",
					               listed > 1 ? "," : "", in->id, a->name,
					               ci->health);
				unhealthy = true;
				continue;
			}
			if (!off_state(in, want_standby))
				continue;
			if (listed++ < 10)
				r = buf_printf(&b, "%s %s %s in %s", listed > 1 ? "," : "", in->id,
				               in->lifecycle, a->name);
			/* Standby and InService are what asgswap moves between; anything else
			 * (Detached, Warmed, a lifecycle hook's wait) is someone else's doing. */
			if (!streq(in->lifecycle, movable)) {
				odd = true;
				continue;
			}
			if (r >= 0 && !fixing)
				r = buf_printf(
				        &fix,
				        "%s'aws autoscaling %s --auto-scaling-group-name %s%s "
				        "--instance-ids",
				        fix.len ? ", " : "",
				        want_standby ? "enter-standby" : "exit-standby", a->name,
				        want_standby ? " --should-decrement-desired-capacity" : "");
			fixing = true;
			if (r >= 0)
				r = buf_printf(&fix, " %s", in->id);
		}
		if (r >= 0 && fixing)
			r = buf_puts(&fix, "'");
		if (r >= 0 && !want_standby && a->desired == 0) {
			r = buf_printf(&b, "%s %s has desired capacity 0", listed++ ? "," : "",
			               a->name);
			if (r >= 0)
				r = buf_printf(
				        &fix,
				        "%s'aws autoscaling update-auto-scaling-group "
				        "--auto-scaling-group-name %s --min-size N "
				        "--desired-capacity N' (N as in the set's other groups)",
				        fix.len ? ", " : "", a->name);
		}
	}
	if (r >= 0 && listed > 10)
		r = buf_printf(&b, " and %u more", listed - 10);
	if (r >= 0 && fix.len)
		r = buf_printf(&b, "; settle it with %s", fix.data);
	if (r >= 0 && unhealthy)
		r = buf_puts(&b, "; an instance in service that is not healthy needs its health "
		                 "checks to pass, or replacing with 'aws autoscaling "
		                 "terminate-instance-in-auto-scaling-group --instance-id ID "
		                 "--no-should-decrement-desired-capacity'");
	if (r >= 0 && odd)
		r = buf_puts(&b, "; InService and Standby are the states asgswap moves instances "
		                 "between: finish or undo what put the others where they are");
	if (r >= 0 && s->have_release) {
		_cleanup_strv_free_ char **next = NULL;

		r = next_steps(s, &next);
		if (r >= 0 && next)
			r = buf_printf(&b, "; then %s the release with '%s'", next[0], next[1]);
	}
	if (r < 0)
		return -ENOMEM;
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}

/* One service as observed, or why it could not be. */
struct report {
	char *image; /* printable */
	char *error; /* why it could not be read; NULL when it was */
	int code;    /* its exit code */
	struct ctl_service s;
	int lock; /* 1: lock_info filled, 0: no lock, -EINVAL: a value that is no lock */
	struct ctl_lock_info lock_info;
	char **next; /* (what, command) pairs */
	char *explain[_SET_MAX];
	struct cw_alarms alarms; /* of the release in flight, asked once */
	bool alarms_failed;
};

static void report_done(struct report *p)
{
	free(p->image);
	free(p->error);
	ctl_service_done(&p->s);
	ctl_lock_info_done(&p->lock_info);
	strv_free(p->next);
	for (int k = 0; k < _SET_MAX; k++)
		free(p->explain[k]);
	cw_alarms_done(&p->alarms);
	*p = (struct report){ 0 };
}

/* Fills p from the service observed (r from ctl_observe_groups(), why its message). */
static int report_fill(struct report *p, const char *image, int r, const char *why)
{
	p->image = ctl_printable(image);
	if (!p->image)
		return -ENOMEM;
	if (r < 0) {
		p->code = ctl_exit_code(r);
		p->error = why ? strdup(why)
		               : strdup(r == -ENOMEM ? "out of memory"
		                                     : "an AWS call failed (the error is above)");
		return p->error ? 0 : -ENOMEM;
	}
	p->lock = service_lock(&p->s, &p->lock_info);
	if (p->lock == -ENOMEM)
		return -ENOMEM;
	r = next_steps(&p->s, &p->next);
	for (int k = 0; r >= 0 && k < _SET_MAX; k++)
		r = ctl_explain_set(&p->s, k, &p->explain[k]);
	return r;
}

/* "at step 1 of 3 (10 %): 3 min 20 s left, 3 alarms OK" for a release with a strategy. */
static char *release_words(const struct report *p, time_t now)
{
	const struct ctl_release *r = &p->s.release;
	const struct ctl_strategy *st = &r->strategy;
	_cleanup_(buf_free) struct buf b;
	char d[64];

	buf_init(&b, 0);
	(void)buf_puts(&b, r->phase);
	if (r->n_steps > 1 || st->bake_after_s) {
		if (r->step < r->n_steps)
			(void)buf_printf(&b, " at step %u of %u (%u %%)", r->step, r->n_steps,
			                 ctl_strategy_percent(st, r->step));
		else if (streq(r->phase, "baking") || streq(r->phase, "failed"))
			(void)buf_puts(&b, " after the switch");
	}
	if (streq(r->phase, "baking") && r->bake_end)
		(void)buf_printf(&b, ": %s left",
		                 duration(r->bake_end > now ? r->bake_end - now : 0, d, sizeof(d)));
	if (st->alarms) {
		unsigned ok = 0, firing = 0, other = 0;

		STRV_FOREACH(a, st->alarms) {
			const struct cw_alarm *al = cw_alarms_find(&p->alarms, *a);

			if (al && streq(al->state, "OK"))
				ok++;
			else if (al && streq(al->state, "ALARM"))
				firing++;
			else
				other++;
		}
		if (p->alarms_failed)
			(void)buf_printf(&b, ", %zu alarms (DescribeAlarms failed)",
			                 strv_length(st->alarms));
		else {
			(void)buf_printf(&b, ", %u alarm%s OK", ok, ok == 1 ? "" : "s");
			if (firing)
				(void)buf_printf(&b, ", %u in ALARM", firing);
			if (other)
				(void)buf_printf(&b, ", %u without data or missing", other);
		}
	}
	if (r->failed)
		(void)buf_printf(&b, ": %s", r->failed);
	return buf_steal(&b);
}

static void json_string_or_null(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* One service's document, the same keys whether or not it could be read. */
static void status_json(const struct report *p, const char *prefix, time_t now, cJSON *into)
{
	const struct ctl_service *s = &p->s;
	cJSON *root = cJSON_CreateObject(), *sets, *rel, *next;
	int live = p->error ? -1 : live_set(s);
	char iso[32];

	if (!root)
		return;
	cJSON_AddItemToArray(into, root);
	cJSON_AddStringToObject(root, "image", p->error ? p->image : s->image);
	cJSON_AddStringToObject(root, "prefix", prefix);
	json_string_or_null(root, "error", p->error);
	json_string_or_null(root, "live", live >= 0 ? ctl_set_name(live) : NULL);
	if (p->lock) {
		cJSON *l = cJSON_AddObjectToObject(root, "lock");
		bool ok = p->lock > 0;

		json_string_or_null(l, "holder", ok ? p->lock_info.holder : NULL);
		json_string_or_null(l, "expires",
		                    ok && ctl_iso_time(p->lock_info.expiry, iso, sizeof(iso), false)
		                            ? iso
		                            : NULL);
		if (ok)
			cJSON_AddBoolToObject(l, "expired", p->lock_info.expiry <= now);
		else
			cJSON_AddNullToObject(l, "expired");
		json_string_or_null(l, "value", asg_group_tag(s->canonical, TAG_LOCK));
	} else {
		cJSON_AddNullToObject(root, "lock");
	}
	if (s->have_release) {
		rel = cJSON_AddObjectToObject(root, "release");
		cJSON_AddStringToObject(rel, "from", ctl_set_name(s->release.from));
		cJSON_AddStringToObject(rel, "to", ctl_set_name(s->release.to));
		cJSON_AddStringToObject(rel, "version", s->release.version);
		cJSON_AddStringToObject(rel, "phase", s->release.phase);
		/* A release without a strategy keeps the document it always had. */
		if (asg_group_tag(s->canonical, TAG_STRATEGY)) {
			const struct ctl_release *r = &s->release;
			_cleanup_free_ char *strategy = NULL;
			cJSON *al;

			cJSON_AddNumberToObject(rel, "step", r->step);
			cJSON_AddNumberToObject(rel, "steps", r->n_steps);
			if (ctl_strategy_format(&r->strategy, &strategy) >= 0)
				cJSON_AddStringToObject(rel, "strategy", strategy);
			if (r->bake_end && ctl_iso_time(r->bake_end, iso, sizeof(iso), false)) {
				cJSON_AddStringToObject(rel, "bake_end", iso);
				cJSON_AddNumberToObject(rel, "bake_left_s",
				                        streq(r->phase, "baking") &&
				                                        r->bake_end > now
				                                ? (double)(r->bake_end - now)
				                                : 0);
			} else {
				cJSON_AddNullToObject(rel, "bake_end");
				cJSON_AddNullToObject(rel, "bake_left_s");
			}
			al = cJSON_AddArrayToObject(rel, "alarms");
			STRV_FOREACH(a, r->strategy.alarms) {
				const struct cw_alarm *c = cw_alarms_find(&p->alarms, *a);
				cJSON *ja = cJSON_CreateObject();

				cJSON_AddItemToArray(al, ja);
				cJSON_AddStringToObject(ja, "name", *a);
				json_string_or_null(ja, "state",
				                    c                  ? c->state
				                    : p->alarms_failed ? NULL
				                                       : "missing");
			}
			json_string_or_null(rel, "failed", r->failed);
		}
	} else {
		cJSON_AddNullToObject(root, "release");
	}
	next = cJSON_AddArrayToObject(root, "next");
	for (char **n = p->next; n && n[0] && n[1]; n += 2) {
		cJSON *jn = cJSON_CreateObject();

		cJSON_AddItemToArray(next, jn);
		cJSON_AddStringToObject(jn, "action", n[0]);
		cJSON_AddStringToObject(jn, "command", n[1]);
	}
	if (p->error) {
		cJSON_AddNullToObject(root, "sets");
		return;
	}
	sets = cJSON_AddObjectToObject(root, "sets");
	for (int k = 0; k < _SET_MAX; k++) {
		const struct ctl_set *set = &s->sets[k];
		cJSON *js = cJSON_AddObjectToObject(sets, ctl_set_name(k)), *groups;
		time_t when;

		cJSON_AddStringToObject(js, "state", ctl_state_name(set->state));
		json_string_or_null(js, "version", set->version);
		/* The time comes from a tag: one that does not print is no time at all. */
		json_string_or_null(js, "standby_since",
		                    standby_since(set, &when) &&
		                                    ctl_iso_time(when, iso, sizeof(iso), false)
		                            ? iso
		                            : NULL);
		json_string_or_null(js, "rolled_back_from", rolled_back_from(set));
		json_string_or_null(js, "explain", p->explain[k]);
		groups = cJSON_AddArrayToObject(js, "groups");
		for (size_t i = 0; i < set->n; i++) {
			const struct ctl_group *g = set->groups[i];
			const struct asg_group *a = g->asg;
			cJSON *jg = cJSON_CreateObject(), *ins;

			cJSON_AddItemToArray(groups, jg);
			cJSON_AddStringToObject(jg, "name", a->name);
			cJSON_AddNumberToObject(jg, "min", a->min);
			cJSON_AddNumberToObject(jg, "max", a->max);
			cJSON_AddNumberToObject(jg, "desired", a->desired);
			json_string_or_null(jg, "version", asg_group_tag(a, TAG_VERSION));
			ins = cJSON_AddArrayToObject(jg, "instances");
			for (size_t j = 0; j < a->n_instances; j++) {
				cJSON *ji = cJSON_CreateObject();

				cJSON_AddItemToArray(ins, ji);
				cJSON_AddStringToObject(ji, "id", a->instances[j].id);
				cJSON_AddStringToObject(ji, "lifecycle", a->instances[j].lifecycle);
				cJSON_AddStringToObject(ji, "health", g->instances[j].health);
			}
			cJSON_AddItemToObject(jg, "load_balancers",
			                      json_from_strv(a->load_balancers));
			cJSON_AddItemToObject(jg, "target_groups",
			                      json_from_strv(a->target_groups));
		}
	}
}

/* "held by HOLDER until TIME (N left)", "expired at TIME (N ago)", or why it is no lock. */
static char *lock_words(const struct report *p, time_t now)
{
	_cleanup_free_ char *holder = NULL, *raw = NULL;
	char when[40], d[32];
	char *v = NULL;

	if (p->lock < 0) {
		raw = ctl_printable(asg_group_tag(p->s.canonical, TAG_LOCK));
		return asprintf(&v, "%s holds '%s', which is no lock (NONCE:EXPIRY:HOLDER)",
		                TAG_LOCK, raw ? raw : "") < 0
		               ? NULL
		               : v;
	}
	holder = ctl_printable(p->lock_info.holder ? p->lock_info.holder : "an unnamed holder");
	if (!holder || !ctl_iso_time(p->lock_info.expiry, when, sizeof(when), true))
		return NULL;
	if (p->lock_info.expiry > now)
		return asprintf(&v, "held by %s until %s (%s left)", holder, when,
		                duration((long long)(p->lock_info.expiry - now), d, sizeof(d))) < 0
		               ? NULL
		               : v;
	return asprintf(&v, "taken by %s, expired at %s (%s ago); the next command takes it over",
	                holder, when,
	                duration((long long)(now - p->lock_info.expiry), d, sizeof(d))) < 0
	               ? NULL
	               : v;
}

static void print_next(const struct report *p, const char *lead)
{
	for (char **n = p->next; n && n[0] && n[1]; n += 2)
		printf("%s%s with '%s'", n == p->next ? lead : ", ", n[0], n[1]);
}

static void status_text(const struct report *p, time_t now)
{
	const struct ctl_service *s = &p->s;
	int live = live_set(s);

	printf("image %s%s%s%s, live: %s\n", s->image, *s->prefix ? ", prefix '" : "", s->prefix,
	       *s->prefix ? "'" : "", live >= 0 ? ctl_set_name(live) : "none");
	if (p->lock) {
		_cleanup_free_ char *l = lock_words(p, now);

		printf("lock: %s\n", l ? l : "?");
	}
	if (s->have_release) {
		_cleanup_free_ char *w = release_words(p, now);

		printf("release in flight: %s>%s %s (%s)\n", ctl_set_name(s->release.from),
		       ctl_set_name(s->release.to), s->release.version, w ? w : s->release.phase);
	}
	for (int k = 0; k < _SET_MAX; k++) {
		const char *rb = rolled_back_from(&s->sets[k]);
		_cleanup_free_ char *v = rb ? ctl_printable(rb) : NULL;

		if (v)
			printf("%s: rolled back from %s\n", ctl_set_name(k), v);
	}
	printf("%-6s %-9s %-14s %-28s %4s %4s %4s  %s\n", "SET", "STATE", "VERSION", "GROUP", "MIN",
	       "MAX", "DES", "INSTANCES");
	for (int k = 0; k < _SET_MAX; k++) {
		const struct ctl_set *set = &s->sets[k];
		time_t when;
		long long age = standby_since(set, &when) ? (long long)(now - when) : -1;

		for (size_t i = 0; i < set->n; i++) {
			const struct ctl_group *g = set->groups[i];
			const struct asg_group *a = g->asg;
			const char *v = asg_group_tag(a, TAG_VERSION);
			_cleanup_free_ char *pv = v ? ctl_printable(v) : NULL;

			printf("%-6s %-9s %-14s %-28s %4u %4u %4u  ", i ? "" : ctl_set_name(k),
			       i ? "" : ctl_state_name(set->state), pv ? pv : "-", a->name, a->min,
			       a->max, a->desired);
			if (!a->n_instances)
				(void)fputs("-", stdout);
			/* One count per lifecycle state and health, in order of appearance. */
			for (size_t j = 0; j < a->n_instances; j++) {
				unsigned n = 0;
				bool seen = false;

				for (size_t x = 0; x < j; x++)
					if (streq(a->instances[x].lifecycle,
					          a->instances[j].lifecycle) &&
					    streq(g->instances[x].health, g->instances[j].health))
						seen = true;
				if (seen)
					continue;
				for (size_t x = j; x < a->n_instances; x++)
					if (streq(a->instances[x].lifecycle,
					          a->instances[j].lifecycle) &&
					    streq(g->instances[x].health, g->instances[j].health))
						n++;
				printf("%s%u %s/%s", j ? ", " : "", n, a->instances[j].lifecycle,
				       g->instances[j].health);
			}
			if (i == 0 && set->state == CTL_STANDBY && age >= 0) {
				char d[32];

				printf("  (standby for %s, billed)", duration(age, d, sizeof(d)));
			}
			putchar('\n');
		}
	}
	for (int k = 0; k < _SET_MAX; k++)
		if (p->explain[k])
			printf("%s\n", p->explain[k]);
	if (p->next) {
		print_next(p, "next: ");
		putchar('\n');
	}
}

/* A set in one cell: "live 1.0", "idle (rolled back from 2.0)". */
static char *set_cell(const struct report *p, int k)
{
	const struct ctl_set *set = &p->s.sets[k];
	const char *rb = rolled_back_from(set);
	_cleanup_free_ char *v = set->version ? ctl_printable(set->version) : NULL,
	                    *b = rb ? ctl_printable(rb) : NULL;
	char *c = NULL;

	if (p->error)
		return strdup("-");
	/* An emptied set keeps the version tag it was rolled back from: say it once. */
	if (v && b && streq(v, b)) {
		free(v);
		v = NULL;
	}
	if (asprintf(&c, "%s%s%s%s%s%s", ctl_state_name(set->state), v ? " " : "", v ? v : "",
	             b ? " (rolled back from " : "", b ? b : "", b ? ")" : "") < 0)
		return NULL;
	return c;
}

/* Every service, one row each: the sets, then what stands out and what to run next. */
static void status_rows(const struct report *v, size_t n, time_t now)
{
	_cleanup_strv_free_ char **cells = NULL;
	int wi = 5, wb = 4, wg = 5;

	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < _SET_MAX; k++) {
			char *c = set_cell(&v[i], k);

			if (!c || strv_push(&cells, c) < 0) {
				log_error("out of memory");
				return;
			}
		}
	for (size_t i = 0; i < n; i++) {
		wi = MAX(wi, (int)strlen(v[i].image));
		wb = MAX(wb, (int)strlen(cells[2 * i]));
		wg = MAX(wg, (int)strlen(cells[2 * i + 1]));
	}
	printf("%-*s %-5s %-*s %-*s %s\n", wi, "IMAGE", "LIVE", wb, "BLUE", wg, "GREEN", "NOTES");
	for (size_t i = 0; i < n; i++) {
		const struct report *p = &v[i];
		const struct ctl_service *s = &p->s;
		int live = p->error ? -1 : live_set(s);
		const char *sep = "";

		printf("%-*s %-5s %-*s %-*s ", wi, p->image, live >= 0 ? ctl_set_name(live) : "-",
		       wb, cells[2 * i], wg, cells[2 * i + 1]);
		if (p->error) {
			printf("cannot read it: %s\n", p->error);
			continue;
		}
		if (p->lock) {
			_cleanup_free_ char *l = lock_words(p, now);

			printf("lock %s", l ? l : "?");
			sep = "; ";
		}
		if (s->have_release) {
			printf("%srelease %s>%s %s in flight (%s)", sep,
			       ctl_set_name(s->release.from), ctl_set_name(s->release.to),
			       s->release.version, s->release.phase);
			sep = "; ";
		}
		for (int k = 0; k < _SET_MAX; k++)
			if (p->explain[k]) {
				_cleanup_free_ char *cmd = command_line(s, "status", NULL);

				printf("%s%s is mixed: '%s' says why", sep, ctl_set_name(k),
				       cmd ? cmd : "asgswap status");
				sep = "; ";
			}
		if (p->next)
			print_next(p, sep);
		if (!p->lock && !s->have_release && !p->next && !p->explain[0] && !p->explain[1])
			(void)fputs("-", stdout);
		putchar('\n');
	}
}

/* The reports of every service under the prefix, from one (paginated) describe call. */
static int observe_all(struct ctl_context *ctx, struct report **ret, size_t *ret_n)
{
	_cleanup_(asg_groups_done) struct asg_groups all = { 0 };
	_cleanup_strv_free_ char **images = NULL;
	struct aws_error err = { 0 };
	struct report *v;
	size_t n = 0;
	int r;

	r = asg_describe_groups_by_tag(ctx->aws, TAG_IMAGE, NULL, &all, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribeAutoScalingGroups");
	for (size_t i = 0; i < all.n; i++) {
		const char *img = asg_group_tag(&all.v[i], TAG_IMAGE);
		bool seen = false;

		if (!img || !startswith(all.v[i].name, ctx->o->prefix))
			continue;
		STRV_FOREACH(x, images)
			seen = seen || streq(*x, img);
		if (!seen && strv_extend(&images, img) < 0)
			return -ENOMEM;
	}
	if (!images) {
		log_error("no Auto Scaling group carries %s%s%s%s", TAG_IMAGE,
		          *ctx->o->prefix ? " with a name starting with '" : "", ctx->o->prefix,
		          *ctx->o->prefix ? "'" : "");
		return -ENOENT;
	}
	v = calloc(strv_length(images), sizeof(*v));
	if (!v)
		return -ENOMEM;
	*ret = v;
	STRV_FOREACH(img, images) {
		struct asg_groups mine = { 0 };
		_cleanup_free_ char *why = NULL;
		const char *bad = NULL;
		struct imageref ref = { 0 };

		/* A tag value anyone could write: it must be an image name to be a service. */
		if (imageref_build(NULL, *img, "latest", &ref, &bad) < 0) {
			r = asprintf(&why, "%s is not an image name (%s)", TAG_IMAGE,
			             bad ? bad : "too long");
			r = r < 0 ? -ENOMEM : report_fill(&v[n], *img, -ESTALE, why);
			n++;
			if (r < 0)
				break;
			continue;
		}
		imageref_done(&ref);
		mine.v = calloc(all.n, sizeof(*mine.v));
		if (!mine.v) {
			r = -ENOMEM;
			break;
		}
		/* The groups move to the service observed; the rest stay in `all`. */
		for (size_t i = 0; i < all.n; i++)
			if (streq_ptr(asg_group_tag(&all.v[i], TAG_IMAGE), *img) &&
			    startswith(all.v[i].name, ctx->o->prefix)) {
				mine.v[mine.n++] = all.v[i];
				all.v[i] = (struct asg_group){ 0 };
			}
		r = ctl_observe_groups(ctx, *img, &mine, true, &v[n].s, &why);
		asg_groups_done(&mine);
		r = report_fill(&v[n++], *img, r, why);
		if (r < 0)
			break;
	}
	*ret_n = n;
	return r < 0 ? r : 0;
}

static int observe_one(struct ctl_context *ctx, const char *image, struct report **ret,
                       size_t *ret_n)
{
	_cleanup_(asg_groups_done) struct asg_groups groups = { 0 };
	_cleanup_free_ char *why = NULL;
	struct aws_error err = { 0 };
	struct report *v;
	int r;

	r = asg_describe_groups_by_tag(ctx->aws, TAG_IMAGE, image, &groups, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribeAutoScalingGroups");
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	*ret = v;
	*ret_n = 1;
	r = ctl_observe_groups(ctx, image, &groups, true, &v->s, &why);
	if (r < 0)
		ctl_log_observe_error(ctx, image, r, why);
	return report_fill(v, image, r, why);
}

int ctl_status(struct ctl_context *ctx)
{
	bool one = ctx->o->args && ctx->o->args[0];
	struct report *v = NULL;
	size_t n = 0, failed = 0;
	int r, code = 0;
	time_t now;

	r = one ? observe_one(ctx, ctx->o->args[0], &v, &n) : observe_all(ctx, &v, &n);
	/* With a lock table the lock is its item, shown as the tag lock would be. */
	for (size_t i = 0; r >= 0 && ctx->o->lock_table && i < n; i++)
		if (!v[i].error) {
			ctl_lock_info_done(&v[i].lock_info);
			v[i].lock = ctl_lock_table_read(ctx, v[i].s.image, &v[i].lock_info, NULL);
			if (v[i].lock < 0)
				r = v[i].lock;
		}
	/* The alarms of a release in flight: one DescribeAlarms (100 names a call). */
	for (size_t i = 0; r >= 0 && i < n; i++)
		if (!v[i].error && v[i].s.have_release && v[i].s.release.strategy.alarms) {
			struct aws_error err = { 0 };
			int e = cw_describe_alarms(ctx->aws, v[i].s.release.strategy.alarms, NULL,
			                           &v[i].alarms, &err);

			if (e < 0) {
				(void)ctl_aws_failed(e, &err, "DescribeAlarms");
				v[i].alarms_failed = true;
			}
		}
	now = ctl_aws_now(ctx);
	if (r >= 0 && ctx->o->json) {
		cJSON *root = cJSON_CreateObject();
		cJSON *list = root ? cJSON_AddArrayToObject(root, "services") : NULL;

		for (size_t i = 0; list && i < n; i++)
			status_json(&v[i], ctx->o->prefix, now, list);
		r = ctl_print_json(list ? root : NULL);
		cJSON_Delete(root);
	} else if (r >= 0 && one) {
		if (!v[0].error)
			status_text(&v[0], now);
	} else if (r >= 0) {
		status_rows(v, n, now);
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].error) {
			failed++;
			if (!code)
				code = v[i].code;
		}
		report_done(&v[i]);
	}
	free(v);
	if (r < 0)
		return ctl_exit_code(r);
	if (failed && !one)
		log_error("%zu of %zu services could not be read", failed, n);
	return code;
}
