/* Observing a service: its groups by tag, their sets, instance health, and set states. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "elb.h"
#include "imageref.h"
#include "lifecycle.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

static const char *const state_names[] = {
	[CTL_IDLE] = "idle",       [CTL_LAUNCHING] = "launching", [CTL_LIVE] = "live",
	[CTL_STANDBY] = "standby", [CTL_MOVING] = "moving",       [CTL_MIXED] = "mixed",
};

const char *ctl_state_name(enum ctl_state s)
{
	return state_names[s];
}

const char *ctl_set_name(int set)
{
	return set == SET_BLUE ? "blue" : "green";
}

bool ctl_version_valid(const char *v)
{
	return imageref_version_is_valid(v);
}

int ctl_aws_failed(int r, struct aws_error *err, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;

	va_start(ap, fmt);
	what = strdup_vprintf(fmt, ap);
	va_end(ap);
	if (err && err->code)
		log_error("%s: %s: %s (HTTP %ld, %u attempts, request id %s)", what ? what : "",
		          err->code, err->message ? err->message : "", err->http_status,
		          err->attempts, err->request_id ? err->request_id : "-");
	else
		log_error("%s: %s", what ? what : "",
		          err && err->message ? err->message : strerror(-r));
	aws_error_clear(err);
	/* A call that timed out failed at AWS (exit 4); -ETIMEDOUT means the command's own
	 * wait ran out (exit 5). */
	return r < 0 && r != -ETIMEDOUT ? r : -EIO;
}

int ctl_parse_saved(const char *s, unsigned *min, unsigned *max, unsigned *desired)
{
	_cleanup_free_ char *copy = strdup(s);
	char *a, *b, *c2;

	if (!copy)
		return -ENOMEM;
	a = copy;
	b = strchr(a, ',');
	if (!b)
		return -EINVAL;
	*b++ = '\0';
	c2 = strchr(b, ',');
	if (!c2)
		return -EINVAL;
	*c2++ = '\0';
	if (safe_atou(a, min) < 0 || safe_atou(b, max) < 0 || safe_atou(c2, desired) < 0)
		return -EINVAL;
	return 0;
}

static int set_of_name(const char *s)
{
	if (streq(s, "blue"))
		return SET_BLUE;
	if (streq(s, "green"))
		return SET_GREEN;
	return -1;
}

/* "blue>green:VERSION:PHASE" */
static int parse_release(const char *s, struct ctl_release *ret)
{
	_cleanup_free_ char *copy = strdup(s);
	char *gt, *c1, *c2;
	int from, to;

	if (!copy)
		return -ENOMEM;
	gt = strchr(copy, '>');
	c1 = gt ? strchr(gt, ':') : NULL;
	/* The phase has no ':', a pinned version (sha256:HEX) does. */
	c2 = c1 ? strrchr(c1 + 1, ':') : NULL;
	if (!c2)
		return -EINVAL;
	*gt = *c1 = *c2 = '\0';
	from = set_of_name(copy);
	to = set_of_name(gt + 1);
	if (from < 0 || to < 0 || from == to || !ctl_version_valid(c1 + 1))
		return -EINVAL;
	ret->from = from;
	ret->to = to;
	ret->version = strdup(c1 + 1);
	ret->phase = strdup(c2 + 1);
	if (!ret->version || !ret->phase)
		return -ENOMEM;
	return 0;
}

void ctl_service_done(struct ctl_service *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct ctl_group *g = &s->groups[i];

		for (size_t k = 0; g->instances && k < g->asg->n_instances; k++) {
			free(g->instances[k].health);
			free(g->instances[k].reason);
		}
		free(g->instances);
		free(g->base);
		strv_free(g->tg_names);
	}
	free(s->groups);
	for (int k = 0; k < _SET_MAX; k++)
		free(s->sets[k].groups);
	free(s->release.version);
	free(s->release.phase);
	free(s->release.failed);
	ctl_strategy_done(&s->release.strategy);
	free(s->release_error);
	free(s->image);
	asg_groups_done(&s->asg);
	*s = (struct ctl_service){ 0 };
}

struct ctl_group *ctl_group_by_name(struct ctl_service *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (streq(s->groups[i].asg->name, name))
			return &s->groups[i];
	return NULL;
}

struct ctl_group *ctl_pair(struct ctl_service *s, const struct ctl_group *g)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->groups[i].set != g->set && streq(s->groups[i].base, g->base))
			return &s->groups[i];
	return NULL;
}

bool ctl_group_has_health_signal(const struct ctl_group *g)
{
	return g->asg->load_balancers || g->asg->target_groups || g->launch_hook;
}

static bool startswith_any(const char *s, const char *a, const char *b)
{
	return startswith(s, a) || (b && startswith(s, b));
}

static const char *lb_word(const char *state, bool classic)
{
	if (!state)
		return "unregistered";
	if (classic)
		return streq(state, "InService")      ? "healthy"
		       : streq(state, "OutOfService") ? "unhealthy"
		                                      : "unknown";
	return state;
}

/* Health of every instance of g: from each of its load balancers (lbs: classic ELBs then
 * target groups, as in the group), else Auto Scaling. */
static int group_health(struct ctl_group *g, bool ask_lbs, struct lb_targets *const *lbs)
{
	struct asg_group *a = g->asg;
	size_t n_clb = strv_length(a->load_balancers), n_tg = strv_length(a->target_groups);
	int r = 0;

	if (a->n_instances) {
		g->instances = calloc(a->n_instances, sizeof(*g->instances));
		if (!g->instances)
			return -ENOMEM;
	}
	g->serving = 0;
	for (size_t k = 0; r >= 0 && k < a->n_instances; k++) {
		struct ctl_instance *in = &g->instances[k];
		const char *h = "healthy";
		bool in_service = streq(a->instances[k].lifecycle, "InService");

		in->asg = &a->instances[k];
		if (!streq(a->instances[k].health, "Healthy"))
			h = "unhealthy";
		else if (n_clb + n_tg == 0)
			h = g->launch_hook ? "healthy" : "n/a";
		else if (!ask_lbs)
			h = "unknown";
		else
			for (size_t i = 0; i < n_clb + n_tg; i++) {
				const char *w =
				        lb_word(lb_targets_state(lbs[i], in->asg->id), i < n_clb);

				if (!streq(w, "healthy")) {
					h = w;
					in->reason = strdup_or_null(
					        lb_targets_reason(lbs[i], in->asg->id));
					break;
				}
			}
		in->health = strdup(h);
		if (!in->health)
			r = -ENOMEM;
		/* Without a load balancer, InService is the signal: the launch hook holds an
		 * instance in Pending:Wait until the agent has it running. */
		in->serving = in_service &&
		              (streq(h, "healthy") || streq(h, "n/a") || streq(h, "unknown"));
		if (in->serving)
			g->serving++;
	}
	return r;
}

/* A load balancer asked about once per observation, however many groups share it. */
struct lb_ask {
	const char *name; /* classic ELB name or target group ARN */
	bool classic;
};

static size_t lb_ask_find(const struct lb_ask *v, size_t n, const char *name, bool classic)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].classic == classic && streq(v[i].name, name))
			return i;
	return n;
}

/* The health of every distinct load balancer of the groups, all asked side by side (blue
 * and green often share a target group: it is asked once); then each group's instances. */
static int all_health(struct ctl_context *ctx, struct ctl_service *s, bool ask)
{
	_cleanup_free_ struct query **qs = NULL;
	_cleanup_free_ struct query *q = NULL;
	_cleanup_free_ xmlDoc **docs = NULL;
	_cleanup_free_ struct aws_error *errs = NULL;
	_cleanup_free_ int *results = NULL;
	_cleanup_free_ struct lb_targets *lbs = NULL;
	_cleanup_free_ struct lb_ask *asks = NULL;
	_cleanup_free_ struct lb_targets **per_group = NULL;
	size_t n_max = 0, n = 0, n_per = 0;
	int r = 0;

	for (size_t i = 0; ask && i < s->n; i++)
		n_max += strv_length(s->groups[i].asg->load_balancers) +
		         strv_length(s->groups[i].asg->target_groups);
	qs = calloc(n_max + 1, sizeof(*qs));
	q = calloc(n_max + 1, sizeof(*q));
	docs = calloc(n_max + 1, sizeof(*docs));
	errs = calloc(n_max + 1, sizeof(*errs));
	results = calloc(n_max + 1, sizeof(*results));
	lbs = calloc(n_max + 1, sizeof(*lbs));
	asks = calloc(n_max + 1, sizeof(*asks));
	per_group = calloc(n_max + 1, sizeof(*per_group));
	if (!qs || !q || !docs || !errs || !results || !lbs || !asks || !per_group)
		return -ENOMEM;
	for (size_t i = 0; ask && i < s->n && r == 0; i++) {
		const struct asg_group *a = s->groups[i].asg;
		size_t n_clb = strv_length(a->load_balancers), n_tg = strv_length(a->target_groups);

		for (size_t j = 0; j < n_clb + n_tg && r == 0; j++) {
			bool classic = j < n_clb;
			const char *name =
			        classic ? a->load_balancers[j] : a->target_groups[j - n_clb];
			size_t k = lb_ask_find(asks, n, name, classic);

			if (k == n) {
				asks[n] = (struct lb_ask){ name, classic };
				qs[n] = &q[n];
				r = classic ? elb_query_instance_health(&q[n], name)
				            : elbv2_query_target_health(&q[n], name);
				n++;
			}
			per_group[n_per++] = &lbs[k];
		}
	}
	if (r == 0 && n)
		r = aws_query_many(ctx->aws, qs, n, docs, errs, results);
	for (size_t k = 0; r == 0 && k < n; k++) {
		if (results[k] < 0)
			r = ctl_aws_failed(results[k], &errs[k], "%s '%s'", q[k].action,
			                   asks[k].name);
		else
			r = (asks[k].classic ? elb_instance_health_parse
			                     : elbv2_target_health_parse)(docs[k], &lbs[k]);
	}
	n_per = 0;
	for (size_t i = 0; r == 0 && i < s->n; i++) {
		struct asg_group *a = s->groups[i].asg;

		r = group_health(&s->groups[i], ask, &per_group[n_per]);
		if (ask)
			n_per += strv_length(a->load_balancers) + strv_length(a->target_groups);
	}
	for (size_t i = 0; i < n; i++) {
		lb_targets_done(&lbs[i]);
		if (docs[i])
			xmlFreeDoc(docs[i]);
		aws_error_clear(&errs[i]);
		query_done(&q[i]);
	}
	return r;
}

static enum ctl_state set_state(const struct ctl_set *set)
{
	bool all_zero = true, all_pos = true, all_live = true, any = false, all_standby = true;
	bool transitional = false, odd = false;

	for (size_t i = 0; i < set->n; i++) {
		const struct ctl_group *g = set->groups[i];
		const struct asg_group *a = g->asg;

		if (a->desired)
			all_zero = false;
		else
			all_pos = false;
		if (g->serving < a->desired || !a->desired)
			all_live = false;
		for (size_t k = 0; k < a->n_instances; k++) {
			const char *l = a->instances[k].lifecycle;

			if (streq(l, "Terminated"))
				continue;
			any = true;
			if (!streq(l, "Standby"))
				all_standby = false;
			if (startswith_any(l, "Pending", NULL) || streq(l, "EnteringStandby") ||
			    startswith_any(l, "Terminating", "Detaching"))
				transitional = true;
			else if (!streq(l, "InService") && !streq(l, "Standby"))
				odd = true;
		}
	}
	if (set->n == 0)
		return CTL_IDLE;
	if (all_zero && !any)
		return CTL_IDLE;
	if (all_pos && all_live)
		return CTL_LIVE;
	if (all_zero && any && all_standby)
		return CTL_STANDBY;
	if (!all_zero && !odd) {
		bool standbyish = false;

		for (size_t i = 0; i < set->n; i++)
			for (size_t k = 0; k < set->groups[i]->asg->n_instances; k++) {
				const char *l = set->groups[i]->asg->instances[k].lifecycle;

				if (streq(l, "Standby") || streq(l, "EnteringStandby") ||
				    startswith_any(l, "Terminating", "Detaching"))
					standbyish = true;
			}
		if (!standbyish && all_pos)
			return CTL_LAUNCHING;
	}
	if (transitional)
		return CTL_MOVING;
	return CTL_MIXED;
}

static const char *tg_name_cached(const struct ctl_context *ctx, const char *arn)
{
	for (char *const *a = ctx->tg_names; a && a[0] && a[1]; a += 2)
		if (streq(a[0], arn))
			return a[1];
	return NULL;
}

static bool strv_has(char *const *v, const char *s)
{
	STRV_FOREACH(p, v)
		if (streq(*p, s))
			return true;
	return false;
}

/* Display names of the target groups of every group. A target group's name never changes,
 * so the names are kept in the context: one DescribeTargetGroups a command, asked again
 * only for an ARN not seen before. */
static int target_group_names(struct ctl_context *ctx, struct ctl_service *s)
{
	_cleanup_(elbv2_target_groups_done) struct elbv2_target_groups tgs = { 0 };
	_cleanup_strv_free_ char **arns = NULL;
	struct aws_error err = { 0 };
	int r;

	for (size_t i = 0; i < s->n; i++)
		STRV_FOREACH(a, s->groups[i].asg->target_groups)
			if (!tg_name_cached(ctx, *a) && !strv_has(arns, *a) &&
			    strv_extend(&arns, *a) < 0)
				return -ENOMEM;
	if (arns) {
		r = elbv2_describe_target_groups(ctx->aws, arns, &tgs, &err);
		if (r < 0)
			return ctl_aws_failed(r, &err, "DescribeTargetGroups");
		/* An ARN DescribeTargetGroups did not name is shown as itself. */
		STRV_FOREACH(a, arns) {
			const char *name = *a;

			for (size_t k = 0; k < tgs.n; k++)
				if (streq(tgs.v[k].arn, *a))
					name = tgs.v[k].name;
			if (strv_extend(&ctx->tg_names, *a) < 0 ||
			    strv_extend(&ctx->tg_names, name) < 0)
				return -ENOMEM;
		}
	}
	for (size_t i = 0; i < s->n; i++)
		STRV_FOREACH(a, s->groups[i].asg->target_groups)
			if (strv_extend(&s->groups[i].tg_names, tg_name_cached(ctx, *a)) < 0)
				return -ENOMEM;
	return 0;
}

int ctl_group_health(struct ctl_group *g, struct lb_targets *const *lbs)
{
	return group_health(g, true, lbs);
}

int ctl_service_index(const char *image, const char *prefix, struct ctl_service *s, char **ret_why)
{
	s->image = strdup(image);
	if (!s->image)
		return -ENOMEM;
	s->prefix = prefix;
	s->groups = calloc(s->asg.n ? s->asg.n : 1, sizeof(*s->groups));
	if (!s->groups)
		return -ENOMEM;
	for (size_t i = 0; i < s->asg.n; i++) {
		struct asg_group *a = &s->asg.v[i];
		const char *dash = strrchr(a->name, '-');
		struct ctl_group *g;
		int set;

		if (!startswith(a->name, prefix))
			continue;
		set = dash ? set_of_name(dash + 1) : -1;
		if (set < 0)
			return set_errorf(ret_why, -ESTALE,
			                  "group '%s' of image '%s' has no colour suffix (-blue or "
			                  "-green)",
			                  a->name, image);
		g = &s->groups[s->n++];
		g->asg = a;
		g->set = set;
		g->base = strndup(a->name, (size_t)(dash - a->name));
		if (!g->base)
			return -ENOMEM;
	}
	if (s->n == 0)
		return set_errorf(ret_why, -ENOENT, "no Auto Scaling group carries %s=%s%s%s%s",
		                  TAG_IMAGE, image, *prefix ? " with a name starting with '" : "",
		                  prefix, *prefix ? "'" : "");
	for (size_t i = 0; i < s->n; i++) {
		struct ctl_group *g = &s->groups[i];
		struct ctl_set *set = &s->sets[g->set];
		struct ctl_group **v;

		if (!ctl_pair(s, g))
			return set_errorf(ret_why, -ESTALE, "group '%s' has no %s pair '%s-%s'",
			                  g->asg->name, ctl_set_name(!g->set), g->base,
			                  ctl_set_name(!g->set));
		v = realloc(set->groups, (set->n + 1) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		set->groups = v;
		v[set->n++] = g;
		if (g->set == SET_BLUE && !s->canonical)
			s->canonical = g->asg;
	}
	return 0;
}

void ctl_service_settle(struct ctl_service *s)
{
	for (int k = 0; k < _SET_MAX; k++) {
		struct ctl_set *set = &s->sets[k];

		set->state = set_state(set);
		for (size_t i = 0; i < set->n; i++) {
			const char *v = asg_group_tag(set->groups[i]->asg, TAG_VERSION);

			if (i == 0)
				set->version = v;
			else if (!streq_ptr(set->version, v))
				set->version = NULL;
		}
	}
	if (s->canonical) {
		const char *rel = asg_group_tag(s->canonical, TAG_RELEASE);

		if (rel && *rel) {
			if (parse_release(rel, &s->release) < 0)
				log_warning("ignoring malformed %s tag '%s' on '%s'", TAG_RELEASE,
				            rel, s->canonical->name);
			else {
				s->have_release = true;
				s->release.step = s->release.n_steps = 1;
				if (ctl_release_read(s->canonical, &s->release, &s->release_error) <
				            0 &&
				    !s->release_error)
					s->release_error = strdup("out of memory");
			}
		}
	}
}

int ctl_observe_groups(struct ctl_context *ctx, const char *image, struct asg_groups *groups,
                       bool health, struct ctl_service *ret, char **ret_why)
{
	_cleanup_(ctl_service_done) struct ctl_service s = { 0 };
	struct aws_error err = { 0 };
	int r;

	s.asg = *groups;
	*groups = (struct asg_groups){ 0 };
	r = ctl_service_index(image, ctx->o->prefix, &s, ret_why);
	if (r < 0)
		return r;
	for (size_t i = 0; health && i < s.n; i++) {
		struct ctl_group *g = &s.groups[i];

		if (!g->asg->load_balancers && !g->asg->target_groups) {
			_cleanup_(
			        asg_lifecycle_hooks_done) struct asg_lifecycle_hooks hooks = { 0 };

			r = asg_describe_lifecycle_hooks(ctx->aws, g->asg->name, &hooks, &err);
			if (r < 0)
				return ctl_aws_failed(r, &err, "DescribeLifecycleHooks '%s'",
				                      g->asg->name);
			for (size_t k = 0; k < hooks.n; k++)
				if (streq(hooks.hooks[k].transition, ASG_TRANSITION_LAUNCHING))
					g->launch_hook = true;
		}
	}
	r = all_health(ctx, &s, health);
	if (r < 0)
		return r;
	if (health) {
		r = target_group_names(ctx, &s);
		if (r < 0)
			return r;
	}
	ctl_service_settle(&s);
	*ret = s;
	s = (struct ctl_service){ 0 };
	/* The sets point into groups, which moved with the struct: nothing to fix up, the
	 * arrays themselves did not move. */
	return 0;
}

/* Tag values are anyone's to write: only plain printable ones are repeated in a message. */
static bool plain(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x21 || (unsigned char)s[n] > 0x7e || s[n] == '\'')
			return false;
	return n > 0 && n <= 255;
}

/* A guess at what was meant by an image that no group carries: the image of the groups named
 * IMAGE-blue/-green (a group name typed for the image), a close spelling, or an image ending
 * in /IMAGE. *ret_prefix is set when the guess needs a prefix to take only those groups. */
static const char *guess_image(const struct asg_groups *all, char **images, const char *image,
                               bool *ret_prefix)
{
	const char *close;

	*ret_prefix = false;
	for (size_t i = 0; i < all->n; i++) {
		const char *name = all->v[i].name, *dash = strrchr(name, '-');
		const char *img = asg_group_tag(&all->v[i], TAG_IMAGE);

		if (!img || !plain(img) || !dash || set_of_name(dash + 1) < 0 ||
		    strlen(image) != (size_t)(dash - name) ||
		    strncmp(name, image, strlen(image)) != 0)
			continue;
		/* Other groups carry that image too: the prefix keeps only these. */
		for (size_t k = 0; k < all->n; k++)
			if (streq_ptr(asg_group_tag(&all->v[k], TAG_IMAGE), img) &&
			    (!startswith(all->v[k].name, image) ||
			     all->v[k].name[strlen(image)] != '-'))
				*ret_prefix = true;
		return img;
	}
	close = strv_closest(images, image);
	if (close)
		return close;
	STRV_FOREACH(x, images) {
		const char *slash = strrchr(*x, '/');

		if (slash && streq(slash + 1, image))
			return *x;
	}
	return NULL;
}

/* The no-match error, with a guess or the images that do exist, and the naming rule. */
static void log_no_match(struct ctl_context *ctx, const char *image, const char *why)
{
	_cleanup_(asg_groups_done) struct asg_groups all = { 0 };
	_cleanup_strv_free_ char **images = NULL;
	struct aws_error err = { 0 };
	const char *guess;
	bool need_prefix;

	/* Only to help: a failure here leaves the plain message. */
	if (asg_describe_groups_by_tag(ctx->aws, TAG_IMAGE, NULL, &all, &err) < 0)
		aws_error_clear(&err);
	for (size_t i = 0; i < all.n; i++) {
		const char *img = asg_group_tag(&all.v[i], TAG_IMAGE);
		bool seen = false;

		if (!img || !plain(img) || !startswith(all.v[i].name, ctx->o->prefix))
			continue;
		STRV_FOREACH(x, images)
			seen = seen || streq(*x, img);
		if (!seen && strv_extend(&images, img) < 0)
			break;
	}
	guess = guess_image(&all, images, image, &need_prefix);
	if (guess && need_prefix)
		log_error("%s: did you mean '%s --prefix %s-'?", why, guess, image);
	else if (guess)
		log_error("%s: did you mean '%s'?", why, guess);
	else if (images && strv_length(images) <= 5) {
		_cleanup_free_ char *list = NULL;

		STRV_FOREACH(x, images) {
			char *l = NULL;

			if (asprintf(&l, "%s%s'%s'", list ? list : "", list ? ", " : "", *x) < 0)
				break;
			free(list);
			list = l;
		}
		log_error("%s; the images here are %s", why, list ? list : "");
	} else if (images)
		log_error("%s; 'asgswap status' lists the %zu images here", why,
		          strv_length(images));
	else
		log_error("%s", why);
	log_info("a service is a pair of groups NAME-blue and NAME-green that carry %s=IMAGE, "
	         "e.g. web-blue and web-green with %s=registry.example/web",
	         TAG_IMAGE, TAG_IMAGE);
}

void ctl_log_observe_error(struct ctl_context *ctx, const char *image, int r, const char *why)
{
	if (r == -ENOENT && why)
		log_no_match(ctx, image, why);
	else if (why)
		log_error("%s", why);
	else if (r == -ENOMEM)
		log_error("out of memory");
}

int ctl_observe(struct ctl_context *ctx, const char *image, bool health, struct ctl_service *ret)
{
	_cleanup_(asg_groups_done) struct asg_groups groups = { 0 };
	_cleanup_free_ char *why = NULL;
	struct aws_error err = { 0 };
	int r;

	r = asg_describe_groups_by_tag(ctx->aws, TAG_IMAGE, image, &groups, &err);
	if (r < 0)
		return ctl_aws_failed(r, &err, "DescribeAutoScalingGroups");
	r = ctl_observe_groups(ctx, image, &groups, health, ret, &why);
	if (r < 0)
		ctl_log_observe_error(ctx, image, r, why);
	return r;
}

int ctl_exit_code(int r)
{
	switch (r) {
	case 0:
		return CTL_EXIT_OK;
	case -EINTR:
	case -ETIMEDOUT:
		return CTL_EXIT_STOPPED;
	case -EBUSY:
	case -ESTALE:
	case -ENOENT:
		return CTL_EXIT_STATE;
	case -EINVAL:
		return CTL_EXIT_USAGE;
	default:
		return CTL_EXIT_AWS;
	}
}
