/* asgswap status: each set, its groups, sizes, instances and health, as a table or JSON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "ctl.h"
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

static cJSON *strv_json(char *const *v)
{
	cJSON *a = cJSON_CreateArray();

	STRV_FOREACH(s, v)
		cJSON_AddItemToArray(a, cJSON_CreateString(*s));
	return a;
}

/* One service's document: printed, or added to `into` (an array) when given. */
static int status_json(const struct ctl_service *s, cJSON *into)
{
	cJSON *root = cJSON_CreateObject(), *sets, *rel;
	int live = live_set(s);
	char *out;

	if (!root)
		return -ENOMEM;
	cJSON_AddStringToObject(root, "image", s->image);
	cJSON_AddStringToObject(root, "prefix", s->prefix);
	if (live >= 0)
		cJSON_AddStringToObject(root, "live", ctl_set_name(live));
	else
		cJSON_AddNullToObject(root, "live");
	if (s->have_release) {
		rel = cJSON_AddObjectToObject(root, "release");
		cJSON_AddStringToObject(rel, "from", ctl_set_name(s->release.from));
		cJSON_AddStringToObject(rel, "to", ctl_set_name(s->release.to));
		cJSON_AddStringToObject(rel, "version", s->release.version);
		cJSON_AddStringToObject(rel, "phase", s->release.phase);
	} else {
		cJSON_AddNullToObject(root, "release");
	}
	sets = cJSON_AddObjectToObject(root, "sets");
	for (int k = 0; k < _SET_MAX; k++) {
		const struct ctl_set *set = &s->sets[k];
		cJSON *js = cJSON_AddObjectToObject(sets, ctl_set_name(k)), *groups;
		time_t when;
		struct tm tm;
		char iso[32];

		cJSON_AddStringToObject(js, "state", ctl_state_name(set->state));
		if (set->version)
			cJSON_AddStringToObject(js, "version", set->version);
		else
			cJSON_AddNullToObject(js, "version");
		/* The time comes from a tag: one that does not print is no time at all. */
		if (standby_since(set, &when) && gmtime_r(&when, &tm) &&
		    strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0) {
			cJSON_AddStringToObject(js, "standby_since", iso);
		} else {
			cJSON_AddNullToObject(js, "standby_since");
		}
		groups = cJSON_AddArrayToObject(js, "groups");
		for (size_t i = 0; i < set->n; i++) {
			const struct ctl_group *g = set->groups[i];
			const struct asg_group *a = g->asg;
			cJSON *jg = cJSON_CreateObject(), *ins;
			const char *v = asg_group_tag(a, TAG_VERSION);

			cJSON_AddItemToArray(groups, jg);
			cJSON_AddStringToObject(jg, "name", a->name);
			cJSON_AddNumberToObject(jg, "min", a->min);
			cJSON_AddNumberToObject(jg, "max", a->max);
			cJSON_AddNumberToObject(jg, "desired", a->desired);
			if (v)
				cJSON_AddStringToObject(jg, "version", v);
			else
				cJSON_AddNullToObject(jg, "version");
			ins = cJSON_AddArrayToObject(jg, "instances");
			for (size_t j = 0; j < a->n_instances; j++) {
				cJSON *ji = cJSON_CreateObject();

				cJSON_AddItemToArray(ins, ji);
				cJSON_AddStringToObject(ji, "id", a->instances[j].id);
				cJSON_AddStringToObject(ji, "lifecycle", a->instances[j].lifecycle);
				cJSON_AddStringToObject(ji, "health", g->instances[j].health);
			}
			cJSON_AddItemToObject(jg, "load_balancers", strv_json(a->load_balancers));
			cJSON_AddItemToObject(jg, "target_groups", strv_json(a->target_groups));
		}
	}
	if (into) {
		cJSON_AddItemToArray(into, root);
		return 0;
	}
	out = cJSON_Print(root);
	cJSON_Delete(root);
	if (!out)
		return -ENOMEM;
	puts(out);
	free(out);
	return 0;
}

static void print_duration(long long s)
{
	if (s >= 86400)
		printf("%lld d %lld h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		printf("%lld h %lld min", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		printf("%lld min", s / 60);
	else
		printf("%lld s", s);
}

static void status_text(const struct ctl_service *s, time_t now)
{
	int live = live_set(s);

	printf("image %s%s%s%s, live: %s\n", s->image, *s->prefix ? ", prefix '" : "", s->prefix,
	       *s->prefix ? "'" : "", live >= 0 ? ctl_set_name(live) : "none");
	if (s->have_release)
		printf("release in flight: %s>%s %s (%s)\n", ctl_set_name(s->release.from),
		       ctl_set_name(s->release.to), s->release.version, s->release.phase);
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

			printf("%-6s %-9s %-14s %-28s %4u %4u %4u  ", i ? "" : ctl_set_name(k),
			       i ? "" : ctl_state_name(set->state), v ? v : "-", a->name, a->min,
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
				(void)fputs("  (standby for ", stdout);
				print_duration(age);
				(void)fputs(", billed)", stdout);
			}
			putchar('\n');
		}
	}
}

static int status_one(struct ctl_context *ctx, const char *image, cJSON *into)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	int r;

	r = ctl_observe(ctx, image, true, &s);
	if (r < 0)
		return r;
	if (ctx->o->json)
		return status_json(&s, into);
	status_text(&s, ctl_aws_now(ctx));
	return 0;
}

/* Without IMAGE: every service, one per docker:image:name value. */
static int status_all(struct ctl_context *ctx)
{
	_cleanup_(asg_groups_done) struct asg_groups all = { 0 };
	_cleanup_strv_free_ char **images = NULL;
	struct aws_error err = { 0 };
	cJSON *root = NULL, *list = NULL;
	int r;

	r = asg_describe_groups_by_tag(ctx->aws, TAG_IMAGE, NULL, &all, &err);
	if (r < 0)
		return ctl_exit_code(ctl_aws_failed(r, &err, "DescribeAutoScalingGroups"));
	for (size_t i = 0; i < all.n; i++) {
		const char *img = asg_group_tag(&all.v[i], TAG_IMAGE);
		bool seen = false;

		if (!startswith(all.v[i].name, ctx->o->prefix))
			continue;
		STRV_FOREACH(x, images)
			if (streq(*x, img))
				seen = true;
		if (!seen && strv_extend(&images, img) < 0)
			return CTL_EXIT_AWS;
	}
	if (!images) {
		log_error("no Auto Scaling group carries %s%s%s%s", TAG_IMAGE,
		          *ctx->o->prefix ? " with a name starting with '" : "", ctx->o->prefix,
		          *ctx->o->prefix ? "'" : "");
		return CTL_EXIT_STATE;
	}
	if (ctx->o->json) {
		root = cJSON_CreateObject();
		list = cJSON_AddArrayToObject(root, "services");
	}
	STRV_FOREACH(img, images) {
		r = status_one(ctx, *img, list);
		if (r < 0)
			break;
		if (!ctx->o->json && img[1])
			putchar('\n');
	}
	if (root) {
		char *out = r < 0 ? NULL : cJSON_Print(root);

		if (out)
			puts(out);
		free(out);
		cJSON_Delete(root);
	}
	return ctl_exit_code(r);
}

int ctl_status(struct ctl_context *ctx)
{
	if (!ctx->o->args || !ctx->o->args[0])
		return status_all(ctx);
	return ctl_exit_code(status_one(ctx, ctx->o->args[0], NULL));
}
