/*
 * Drives common/lifecycle.c for the integration tests:
 *   asglifecycle group INSTANCE            -> group=NAME state=STATE
 *   asglifecycle tags GROUP [KEY]...       -> KEY=VALUE (propagate) per tag
 *   asglifecycle hooks GROUP               -> NAME TRANSITION HEARTBEAT DEFAULT per hook
 *   asglifecycle complete GROUP HOOK INSTANCE RESULT
 *   asglifecycle heartbeat GROUP HOOK INSTANCE
 *   asglifecycle health INSTANCE Healthy|Unhealthy
 * Prints "done" or "not-active" for complete/heartbeat. Exit 0, 3 for -ENOENT, 4 on error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lifecycle.h"
#include "log.h"
#include "strutil.h"
#include "banned.h"

static int run(struct aws_client *c, int argc, char **argv, struct aws_error *err)
{
	const char *cmd = argv[1];
	int r;

	if (streq(cmd, "group") && argc == 3) {
		_cleanup_free_ char *group = NULL, *state = NULL;

		r = asg_describe_instance_group(c, argv[2], &group, &state, err);
		if (r == 0)
			printf("group=%s\nstate=%s\n", group, state ? state : "");
		return r;
	}
	if (streq(cmd, "tags") && argc >= 3) {
		_cleanup_asg_tags_ struct asg_tags t = { 0 };

		r = asg_describe_group_tags(c, argv[2], argc > 3 ? argv + 3 : NULL, &t, err);
		for (size_t i = 0; r == 0 && i < t.n; i++)
			printf("%s=%s (%s)\n", t.tags[i].key, t.tags[i].value,
			       t.tags[i].propagate_at_launch ? "propagate" : "group only");
		return r;
	}
	if (streq(cmd, "hooks") && argc == 3) {
		_cleanup_asg_lifecycle_hooks_ struct asg_lifecycle_hooks h = { 0 };

		r = asg_describe_lifecycle_hooks(c, argv[2], &h, err);
		for (size_t i = 0; r == 0 && i < h.n; i++)
			printf("%s %s %u %s %s\n", h.hooks[i].name, h.hooks[i].transition,
			       h.hooks[i].heartbeat_timeout, h.hooks[i].default_result,
			       h.hooks[i].group);
		return r;
	}
	if ((streq(cmd, "complete") && argc == 6) || (streq(cmd, "heartbeat") && argc == 5)) {
		r = streq(cmd, "complete")
		            ? asg_complete_lifecycle_action(c, argv[2], argv[3], argv[4], argv[5],
		                                            err)
		            : asg_record_lifecycle_heartbeat(c, argv[2], argv[3], argv[4], err);
		if (r >= 0)
			puts(r == ASG_ACTION_NOT_ACTIVE ? "not-active" : "done");
		return r < 0 ? r : 0;
	}
	if (streq(cmd, "health") && argc == 4)
		return asg_set_instance_health(c, argv[2], streq(argv[3], "Healthy"), false, err);
	return -EINVAL;
}

int main(int argc, char **argv)
{
	struct aws_client_options o = { 0 };
	_cleanup_(aws_client_freep) struct aws_client *c = NULL;
	struct aws_error err = { 0 };
	int r;

	log_setup("asglifecycle");
	if (argc < 3) {
		log_error("usage: asglifecycle group|tags|hooks|complete|heartbeat|health ARGS...");
		return 2;
	}
	r = aws_client_new(&o, &c, &err);
	if (r == 0)
		r = run(c, argc, argv, &err);
	if (r == -EINVAL && !err.message) {
		log_error("bad arguments");
		return 2;
	}
	if (r < 0)
		log_error("%s: %s%s%s", argv[1], err.code ? err.code : "", err.code ? ": " : "",
		          err.message ? err.message : strerror(-r));
	aws_error_clear(&err);
	return r == 0 ? 0 : r == -ENOENT ? 3 : 4;
}
