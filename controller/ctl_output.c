/* What the operator reads: the progress of a wait (per group have/want and the instances
 * still missing), and a plan rendered as text or as a JSON document. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ctl_plan.h"
#include "jsonutil.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

/* The instances of a that the wait still waits for, "id state" each (at most a few). */
static void stragglers(struct buf *b, const struct ctl_group *g, enum ctl_wait_for what)
{
	const struct asg_group *a = g->asg;
	unsigned shown = 0, more = 0;

	for (size_t k = 0; k < a->n_instances; k++) {
		const char *l = a->instances[k].lifecycle;
		const char *h = g->instances ? g->instances[k].health : NULL;
		bool missing;

		if (streq(l, "Terminated"))
			continue;
		switch (what) {
		case WAIT_LIVE:
			missing = !g->instances || !g->instances[k].serving;
			break;
		case WAIT_STANDBY:
			missing = !streq(l, "Standby");
			break;
		case WAIT_SETTLED:
			missing = startswith(l, "Pending") || streq(l, "EnteringStandby") ||
			          startswith(l, "Terminating") || startswith(l, "Detaching");
			break;
		default:
			missing = true;
		}
		if (!missing)
			continue;
		if (shown++ >= 3) {
			more++;
			continue;
		}
		(void)buf_printf(b, "%s%s %s", shown > 1 ? ", " : " (", a->instances[k].id, l);
		if (what == WAIT_LIVE && h && !streq(h, "healthy") && !streq(h, "n/a"))
			(void)buf_printf(b, " %s", h);
		if (what == WAIT_LIVE && h && g->instances[k].reason)
			(void)buf_printf(b, " (%s)", g->instances[k].reason);
	}
	if (more)
		(void)buf_printf(b, ", %u more", more);
	if (shown)
		(void)buf_puts(b, ")");
}

/* "web-green 1/2 (i-1 Pending), api-green 1/1": per group what it has and wants. */
static char *wait_line(const struct ctl_set *set, enum ctl_wait_for what)
{
	_cleanup_(buf_free) struct buf b;

	buf_init(&b, 0);
	for (size_t i = 0; i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];
		const struct asg_group *a = g->asg;
		unsigned have = 0, want = 0;

		for (size_t k = 0; k < a->n_instances; k++) {
			const char *l = a->instances[k].lifecycle;

			if (streq(l, "Terminated"))
				continue;
			want++;
			have += what == WAIT_STANDBY && streq(l, "Standby");
		}
		if (what == WAIT_LIVE) {
			have = g->serving;
			want = a->desired;
		}
		(void)buf_printf(&b, "%s%s ", i ? ", " : "", a->name);
		if (what == WAIT_GONE || what == WAIT_SETTLED)
			(void)buf_printf(&b, "%u left", want);
		else
			(void)buf_printf(&b, "%u/%u %s", have, want,
			                 what == WAIT_LIVE ? "healthy" : "standby");
		stragglers(&b, g, what);
	}
	return buf_steal(&b);
}

/* The progress line shown on a terminal, cleared before anything else is written. */
static bool progress_shown;

void ctl_progress_clear(void)
{
	if (!progress_shown)
		return;
	(void)fputs("\r\033[K", stderr);
	(void)fflush(stderr);
	progress_shown = false;
}

#define HEARTBEAT_S 15.0

static bool fancy_terminal(void)
{
	const char *term = getenv("TERM");

	return isatty(STDERR_FILENO) && term && *term && !streq(term, "dumb");
}

/* A progress line: rewritten in place on a terminal; elsewhere printed with a timestamp when
 * it changed, and every HEARTBEAT_S anyway so that a CI log shows that the run is alive. */
static void progress_show(struct ctl_context *ctx, const char *text, bool changed, double elapsed,
                          double *last_at)
{
	if (ctx->o->quiet)
		return;
	if (fancy_terminal()) {
		(void)fprintf(stderr, "\r\033[K%s", text);
		(void)fflush(stderr);
		progress_shown = true;
	} else if (changed || elapsed - *last_at >= HEARTBEAT_S) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;

		(void)strftime(stamp, sizeof(stamp), "%H:%M:%S", gmtime_r(&now, &tm));
		(void)fprintf(stderr, "%s %s\n", stamp, text);
		*last_at = elapsed;
	}
}

void ctl_progress(struct ctl_context *ctx, const struct ctl_set *set, int k, enum ctl_wait_for what,
                  double elapsed, double left, char **last, double *last_at)
{
	_cleanup_free_ char *line = wait_line(set, what), *text = NULL;

	if (!line)
		return;
	if (asprintf(&text, "waiting for %s: %s; %.0f s, %.0f s left", ctl_set_name(k), line,
	             elapsed, left > 0 ? left : 0) >= 0)
		progress_show(ctx, text, !*last || !streq(*last, line), elapsed, last_at);
	/* Kept under --quiet too: a timeout names the stragglers. */
	free(*last);
	*last = TAKE_PTR(line);
}

void ctl_progress_text(struct ctl_context *ctx, const char *line, const char *key, double elapsed,
                       char **last, double *last_at)
{
	char *copy = strdup(key);

	progress_show(ctx, line, !*last || !streq(*last, key), elapsed, last_at);
	if (copy) {
		free(*last);
		*last = copy;
	}
}

const char *ctl_wait_word(enum ctl_wait_for what)
{
	switch (what) {
	case WAIT_LIVE:
		return "live";
	case WAIT_STANDBY:
		return "in Standby";
	case WAIT_GONE:
		return "gone";
	case WAIT_SETTLED:
		return "settled";
	}
	return "?";
}

int ctl_print_plan(struct ctl_context *ctx, const struct plan *p)
{
	_cleanup_free_ char *out = NULL;
	const char *term = getenv("TERM");
	bool color = ctx->o->color && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") && term &&
	             !streq(term, "dumb");
	int r = ctx->o->json ? plan_render_json(p, &out) : plan_render_text(p, color, &out);

	if (r < 0)
		return r;
	(void)fputs(out, stdout);
	if (ctx->o->json)
		(void)fputc('\n', stdout);
	(void)fflush(stdout);
	return 0;
}

static const char *wait_name(enum ctl_wait_for w)
{
	switch (w) {
	case WAIT_LIVE:
		return "live";
	case WAIT_STANDBY:
		return "standby";
	case WAIT_GONE:
		return "gone";
	case WAIT_SETTLED:
		return "settled";
	}
	return "?";
}

static void counts(const struct plan *p, unsigned *calls, unsigned *waits, unsigned *moves,
                   unsigned *terminate)
{
	*calls = *waits = *moves = *terminate = 0;
	for (size_t i = 0; i < p->n_phases; i++)
		for (size_t k = 0; k < p->phases[i].n; k++) {
			const struct step *st = &p->phases[i].steps[k];

			*calls += st->kind == STEP_CALL;
			*waits += st->kind == STEP_WAIT;
			*moves += st->kind == STEP_MOVE_SCALING;
			*terminate += st->terminates;
		}
}

int plan_render_text(const struct plan *p, bool color, char **ret)
{
	_cleanup_(buf_free) struct buf b;
	unsigned calls, waits, moves, terminate;
	const char *bold = color ? "\033[1m" : "", *red = color ? "\033[31m" : "",
	           *off = color ? "\033[0m" : "";

	buf_init(&b, 0);
	(void)buf_printf(&b, "%s%s %s%s", bold, p->command, p->image, off);
	if (p->from >= 0 && p->to >= 0)
		(void)buf_printf(&b, ": %s (%s, %u instances) -> %s (%s, %u instances)",
		                 ctl_set_name(p->from), p->from_version ? p->from_version : "none",
		                 p->from_instances, ctl_set_name(p->to),
		                 p->to_version ? p->to_version : "none", p->to_instances);
	(void)buf_puts(&b, "\n");
	if (plan_steps(p) == 0 && p->note)
		(void)buf_printf(&b, "%s\n", p->note);
	for (size_t i = 0; i < p->n_phases; i++) {
		const struct phase *ph = &p->phases[i];

		if (ph->n == 0)
			continue;
		if (ph->number)
			(void)buf_printf(&b, "%s[%u/%u] %s%s\n", bold, ph->number, ph->of,
			                 ph->title, off);
		else
			(void)buf_printf(&b, "%s%s%s\n", bold, ph->title, off);
		for (size_t k = 0; k < ph->n; k++) {
			const struct step *st = &ph->steps[k];

			if (st->destructive)
				(void)buf_printf(&b, "  %s! %s (destructive)%s\n", red, st->text,
				                 off);
			else if (st->kind == STEP_WAIT)
				(void)buf_printf(&b, "    wait %s\n", st->text);
			else
				(void)buf_printf(&b, "    %s\n", st->text);
		}
	}
	counts(p, &calls, &waits, &moves, &terminate);
	(void)buf_printf(&b, "Plan: %u calls, %u waits, %u instances to terminate", calls, waits,
	                 terminate);
	if (moves)
		(void)buf_printf(&b,
		                 " (and %u scaling move%s: a call for each policy, scheduled "
		                 "action and alarm found then)",
		                 moves, moves == 1 ? "" : "s");
	(void)buf_puts(&b, "\n");
	*ret = buf_steal(&b);
	return *ret ? 0 : -ENOMEM;
}

static cJSON *set_json(int set, const char *version, unsigned instances)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "set", ctl_set_name(set));
	if (version)
		cJSON_AddStringToObject(o, "version", version);
	else
		cJSON_AddNullToObject(o, "version");
	cJSON_AddNumberToObject(o, "instances", instances);
	return o;
}

static cJSON *step_json(const struct step *st)
{
	cJSON *o = cJSON_CreateObject();
	static const char *const kinds[] = { "call", "wait", "move-scaling", "gate" };

	cJSON_AddStringToObject(o, "kind", kinds[st->kind]);
	cJSON_AddNumberToObject(o, "round", st->round);
	cJSON_AddStringToObject(o, "text", st->text);
	cJSON_AddItemToObject(o, "groups", json_from_strv(st->groups));
	if (st->kind == STEP_CALL) {
		const struct aws_service_info *info = aws_service_info(st->service);
		cJSON *params = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "service", info ? info->name : "?");
		cJSON_AddStringToObject(o, "action", st->action);
		for (size_t i = 0; st->params && st->params[i] && st->params[i + 1]; i += 2)
			cJSON_AddStringToObject(params, st->params[i], st->params[i + 1]);
		cJSON_AddItemToObject(o, "parameters", params);
		cJSON_AddBoolToObject(o, "destructive", st->destructive);
		if (st->instances)
			cJSON_AddItemToObject(o, "instances", json_from_strv(st->instances));
	} else if (st->kind == STEP_WAIT) {
		cJSON_AddStringToObject(o, "condition", wait_name(st->what));
		cJSON_AddStringToObject(o, "set", ctl_set_name(st->set));
		cJSON_AddItemToObject(o, "instances", json_from_strv(st->instances));
		cJSON_AddNumberToObject(o, "timeout_s", st->timeout_s);
	} else if (st->kind == STEP_MOVE_SCALING) {
		cJSON_AddStringToObject(o, "from", ctl_set_name(st->set));
		cJSON_AddStringToObject(o, "to", ctl_set_name(!st->set));
	}
	return o;
}

int plan_render_json(const struct plan *p, char **ret)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *phases = cJSON_CreateArray(), *summary = cJSON_CreateObject();
	unsigned calls, waits, moves, terminate;

	if (!doc || !phases || !summary) {
		cJSON_Delete(doc);
		cJSON_Delete(phases);
		cJSON_Delete(summary);
		return -ENOMEM;
	}
	cJSON_AddStringToObject(doc, "command", p->command);
	cJSON_AddStringToObject(doc, "image", p->image);
	if (p->from >= 0 && p->to >= 0) {
		cJSON_AddItemToObject(doc, "from",
		                      set_json(p->from, p->from_version, p->from_instances));
		cJSON_AddItemToObject(doc, "to", set_json(p->to, p->to_version, p->to_instances));
	}
	if (p->note && plan_steps(p) == 0)
		cJSON_AddStringToObject(doc, "note", p->note);
	for (size_t i = 0; i < p->n_phases; i++) {
		const struct phase *ph = &p->phases[i];
		cJSON *o, *steps;

		if (ph->n == 0)
			continue;
		o = cJSON_CreateObject();
		steps = cJSON_CreateArray();
		if (ph->number) {
			cJSON_AddNumberToObject(o, "number", ph->number);
			cJSON_AddNumberToObject(o, "of", ph->of);
		}
		cJSON_AddStringToObject(o, "title", ph->title);
		for (size_t k = 0; k < ph->n; k++)
			cJSON_AddItemToArray(steps, step_json(&ph->steps[k]));
		cJSON_AddItemToObject(o, "steps", steps);
		cJSON_AddItemToArray(phases, o);
	}
	cJSON_AddItemToObject(doc, "phases", phases);
	counts(p, &calls, &waits, &moves, &terminate);
	cJSON_AddNumberToObject(summary, "calls", calls);
	cJSON_AddNumberToObject(summary, "waits", waits);
	cJSON_AddNumberToObject(summary, "scaling_moves", moves);
	cJSON_AddNumberToObject(summary, "instances_to_terminate", terminate);
	cJSON_AddItemToObject(doc, "summary", summary);
	*ret = cJSON_Print(doc);
	cJSON_Delete(doc);
	return *ret ? 0 : -ENOMEM;
}

int ctl_print_json(const cJSON *doc)
{
	_cleanup_free_ char *out = doc ? cJSON_Print(doc) : NULL;

	if (!out)
		return log_error_errno(-ENOMEM, "out of memory");
	puts(out);
	return 0;
}
