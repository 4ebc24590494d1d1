/* Release events: one PutEvents entry per phase line and one at the end of the command. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctl_events.h"
#include "events.h"
#include "jsonutil.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

/* The whole call, its one retry included: a bus that does not answer costs a release one
 * such wait, once (publishing stops after the first failure). */
#define EVENTS_DEADLINE_MS  5000L
#define EVENTS_MAX_ATTEMPTS 2U

struct ctl_events {
	char *bus;
	char *image, *version, *phase;
	int from, to;
	long step;      /* < 0: none */
	bool published; /* a phase event went out: the end follows it */
	bool stopped;   /* a publication failed: nothing more is sent */
};

static struct ctl_events *events_free(struct ctl_events *e)
{
	if (e) {
		free(e->bus);
		free(e->image);
		free(e->version);
		free(e->phase);
		free(e);
	}
	return NULL;
}

int ctl_events_setup(struct ctl_context *ctx)
{
	const struct aws_config *cfg = aws_client_config(ctx->aws);
	const char *bus = ctx->o->events;
	struct ctl_events *e;

	if (!bus && cfg)
		bus = aws_config_profile_get(cfg, "events");
	if (!bus)
		return 0;
	if (!events_bus_valid(bus)) {
		if (ctx->o->events)
			log_error("--events '%s': expected an event bus name or ARN, such as "
			          "'default'",
			          bus);
		else
			log_error("events '%s' in profile '%s': expected an event bus name or ARN, "
			          "such as 'default'",
			          bus, cfg->profile);
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->bus = strdup(bus))) {
		free(e);
		return log_error_errno(-ENOMEM, "out of memory");
	}
	e->from = e->to = -1;
	e->step = -1;
	ctx->events = e;
	return 0;
}

static bool add_string(cJSON *d, const char *key, const char *v)
{
	return v ? cJSON_AddStringToObject(d, key, v) != NULL
	         : cJSON_AddNullToObject(d, key) != NULL;
}

static char *detail(const struct ctl_events *e, const char *command, const char *outcome)
{
	_cleanup_json_ cJSON *d = cJSON_CreateObject();
	bool ok;

	ok = d && add_string(d, "image", e->image) && add_string(d, "command", command) &&
	     add_string(d, "from", e->from >= 0 ? ctl_set_name(e->from) : NULL) &&
	     add_string(d, "to", e->to >= 0 ? ctl_set_name(e->to) : NULL) &&
	     add_string(d, "version", e->version) &&
	     (e->step >= 0 ? cJSON_AddNumberToObject(d, "step", (double)e->step) != NULL
	                   : cJSON_AddNullToObject(d, "step") != NULL) &&
	     add_string(d, "phase", e->phase) && add_string(d, "outcome", outcome);
	return ok ? cJSON_PrintUnformatted(d) : NULL;
}

static void publish(struct ctl_context *ctx, struct ctl_events *e, const char *outcome)
{
	_cleanup_free_ char *text = NULL;
	struct aws_error err = { 0 };
	int r;

	if (e->stopped)
		return;
	text = detail(e, ctx->command, outcome);
	if (!text) {
		r = -ENOMEM;
	} else {
		struct events_entry entry = {
			.source = CTL_EVENTS_SOURCE,
			.detail_type = CTL_EVENTS_DETAIL_TYPE,
			.detail = text,
			.bus = e->bus,
		};

		r = events_put(ctx->aws, &entry, 1, EVENTS_DEADLINE_MS, EVENTS_MAX_ATTEMPTS, &err);
	}
	if (r < 0) {
		e->stopped = true;
		if (err.code)
			log_warning("publishing a release event to event bus '%s' failed: %s: %s; "
			            "this run sends no more events",
			            e->bus, err.code, err.message ? err.message : "no message");
		else
			log_warning("publishing a release event to event bus '%s' failed: %s; this "
			            "run sends no more events",
			            e->bus, err.message ? err.message : strerror(-r));
	}
	aws_error_clear(&err);
}

static int replace(char **dst, const char *src)
{
	char *copy = NULL;

	if (src && !(copy = strdup(src)))
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

void ctl_events_phase(struct ctl_context *ctx, const struct plan *p, const struct phase *ph)
{
	struct ctl_events *e = ctx->events;

	if (!e || e->stopped)
		return;
	if (replace(&e->image, p->image) < 0 || replace(&e->phase, ph->title) < 0 ||
	    (p->from >= 0 && p->to >= 0 && replace(&e->version, p->to_version) < 0)) {
		log_warning("publishing release events: out of memory; this run sends no more "
		            "events");
		e->stopped = true;
		return;
	}
	if (p->from >= 0 && p->to >= 0) {
		e->from = p->from;
		e->to = p->to;
	}
	/* A release of one step has no step number: null in the event. */
	e->step = ph->step ? (long)ph->step : -1;
	e->published = true;
	publish(ctx, e, NULL);
}

void ctl_events_end(struct ctl_context *ctx, int exit_code)
{
	struct ctl_events *e = ctx->events;

	if (!e)
		return;
	if (e->published) {
		/* The last event is part of the clean-up after a signal: it goes out. */
		if (ctl_stop_requested())
			ctl_stop_handled();
		publish(ctx, e, ctl_outcome_of(ctx, exit_code));
	}
	ctx->events = events_free(e);
}
