/* asgswap: blue/green releases of Docker services on EC2 Auto Scaling Groups. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "creds.h"
#include "ctl.h"
#include "ctl_events.h"
#include "dynamodb.h"
#include "log.h"
#include "retry.h"
#include "strutil.h"
#include "trace.h"
#include "banned.h"

/* With a third of the calls failing, 3 attempts lose about 1 call in 20; 10 lose 1 in
 * 20000. */
#define CTL_MAX_ATTEMPTS_DEFAULT 10U

enum {
	CMD_NEEDS_AWS = 1 << 0,
	CMD_NEEDS_VERSION = 1 << 1, /* the second argument is a VERSION */
	CMD_TABLE_ARG = 1 << 2,     /* the argument is a table name, not an IMAGE */
};

/* The options of the commands (the global ones are in usage_head), for `help COMMAND`. */
enum {
	CO_PREFIX = 1 << 0,
	CO_TIMEOUT = 1 << 1,
	CO_POLL = 1 << 2,
	CO_FINALIZE_FIRST = 1 << 3,
	CO_FORCE = 1 << 4,
	CO_LIMIT = 1 << 5,
	CO_STRATEGY = 1 << 6,
};

static const struct {
	unsigned bit;
	const char *synopsis, *help;
} command_options[] = {
	{ CO_PREFIX, "--prefix P", "only the groups whose name starts with P" },
	{ CO_TIMEOUT, "--timeout S", "seconds to wait before giving up (900; exit 5)" },
	{ CO_POLL, "--poll S", "seconds between two observations while waiting (1)" },
	{ CO_FINALIZE_FIRST, "--finalize-first",
	  "finalize the previous release when the idle set holds Standby instances" },
	{ CO_FORCE, "--force",
	  "deploy: even when the live set already runs VERSION; unlock: even an unexpired lock" },
	{ CO_LIMIT, "--limit N", "at most N releases, newest first (20)" },
	{ CO_STRATEGY, "--steps P1,...,100",
	  "canary steps: percentages of the live set's desired, rising to 100 (100)" },
	{ CO_STRATEGY, "--bake S",
	  "seconds to watch alarms and health after each step but the last" },
	{ CO_STRATEGY, "--bake-after S",
	  "seconds to watch them after the switch, the old set in Standby" },
	{ CO_STRATEGY, "--alarm NAME", "a CloudWatch alarm to watch during bakes (repeatable)" },
	{ CO_STRATEGY, "--alarm-prefix P", "every alarm whose name starts with P" },
	{ CO_STRATEGY, "--pause",
	  "stop after each step's bake: 'promote' goes on, 'abort' undoes" },
	{ CO_STRATEGY, "--no-auto-rollback",
	  "a failed bake stops (exit 1) and leaves everything as it is" },
	{ CO_STRATEGY, "--ignore-alarm-state", "start even when an alarm is in ALARM already" },
};

struct cmd_entry {
	const char *name;
	int (*fn)(struct ctl_context *ctx);
	unsigned flags;
	unsigned min_args, max_args;
	const char *usage;
	const char *summary;
	unsigned options; /* CO_* */
};

static int cmd_help(struct ctl_context *ctx);

/* --verbose's trace, plus a count of throttled attempts for the wait's poll interval. */
static void ctl_trace(void *userdata, const struct aws_trace *t)
{
	if (t->error_code && retry_is_throttle_code(t->error_code))
		ctl_throttled++;
	aws_trace_to_log(userdata, t);
}

static const struct cmd_entry commands[] = {
	{ "status", ctl_status, CMD_NEEDS_AWS, 0, 1, "status   [IMAGE] [--prefix P]",
	  "Shows each set of IMAGE (every service without it): state, version, groups,\n"
	  "instances, the lock, the release in flight and the command that finishes it.",
	  CO_PREFIX },
	{ "deploy", ctl_deploy, CMD_NEEDS_AWS | CMD_NEEDS_VERSION, 2, 2,
	  "deploy   IMAGE VERSION [--prefix P] [--timeout S] [--poll S] [--finalize-first] "
	  "[--force]\n"
	  "           [--steps P1,...,100] [--bake S] [--bake-after S] [--alarm NAME]...\n"
	  "           [--alarm-prefix P] [--pause] [--no-auto-rollback] [--ignore-alarm-state]",
	  "Releases VERSION to the idle set and moves the live set to Standby. With --steps\n"
	  "the new set is launched in shares of the live set's size (which keeps its size and\n"
	  "policies until the switch), each baked while --alarm and its health are watched;\n"
	  "a failed bake undoes the release (exit 1). Example:\n"
	  "  asgswap deploy web 2.0 --steps 10,50,100 --bake 300 --bake-after 600 \\\n"
	  "      --alarm web-5xx --alarm-prefix web-latency-",
	  CO_PREFIX | CO_TIMEOUT | CO_POLL | CO_FINALIZE_FIRST | CO_FORCE | CO_STRATEGY },
	{ "promote", ctl_promote, CMD_NEEDS_AWS, 1, 1,
	  "promote  IMAGE [--prefix P] [--timeout S] [--poll S]",
	  "Continues a release paused by --pause (or stopped by --no-auto-rollback) with the\n"
	  "strategy and alarms it recorded.",
	  CO_PREFIX | CO_TIMEOUT | CO_POLL },
	{ "abort", ctl_abort, CMD_NEEDS_AWS, 1, 1,
	  "abort    IMAGE [--prefix P] [--timeout S] [--poll S]",
	  "Undoes the release in flight as rollback does (exit 3 when there is none).",
	  CO_PREFIX | CO_TIMEOUT | CO_POLL },
	{ "rollback", ctl_rollback, CMD_NEEDS_AWS, 1, 1,
	  "rollback IMAGE [--prefix P] [--timeout S] [--poll S]",
	  "Brings the standby set back into service and empties the other set.",
	  CO_PREFIX | CO_TIMEOUT | CO_POLL },
	{ "finalize", ctl_finalize, CMD_NEEDS_AWS, 1, 1,
	  "finalize IMAGE [--prefix P] [--timeout S]",
	  "Terminates the standby set's instances and clears the records.",
	  CO_PREFIX | CO_TIMEOUT },
	{ "unlock", ctl_unlock, CMD_NEEDS_AWS, 1, 1, "unlock   IMAGE [--prefix P] [--force]",
	  "Removes the lock left by a run that crashed (an unexpired one only with --force).",
	  CO_PREFIX | CO_FORCE },
	{ "history", ctl_history, CMD_NEEDS_AWS, 1, 1, "history  IMAGE [--prefix P] [--limit N]",
	  "Lists the releases of IMAGE recorded in the lock table, newest first: command,\n"
	  "sets, versions, outcome, who ran it (--output json: with every phase and its time).",
	  CO_PREFIX | CO_LIMIT },
	{ "init-table", ctl_init_table, CMD_NEEDS_AWS | CMD_TABLE_ARG, 1, 1,
	  "init-table NAME [--timeout S]",
	  "Creates the DynamoDB table for the lock and the release history (on demand),\n"
	  "waits until it is ACTIVE and turns TTL on; a table that exists already is fine.",
	  CO_TIMEOUT },
	{ "help", cmd_help, 0, 0, 1, "help     [COMMAND]",
	  "Prints the usage of every command, or the options of one.", 0 },
};

static const char usage_head[] =
        "usage: asgswap [--region R] [--profile P] [--endpoint-url URL] [--output text|json]\n"
        "               [--lock-table NAME] [--dry-run] [--verbose] [--quiet] [--no-color]\n"
        "               [--events[=BUS]] COMMAND ...\n"
        "\n"
        "commands:\n";

static void usage(FILE *f)
{
	(void)fputs(usage_head, f);
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		(void)fprintf(f, "  %s\n", commands[i].usage);
	(void)fputs("\n'asgswap help COMMAND' or 'asgswap COMMAND -h' lists a command's options.\n"
	            "exit codes: 0 done, 1 release failed and undone, 2 usage, 3 wrong state,\n"
	            "4 AWS call failed, 5 interrupted or timed out\n",
	            f);
}

/* The usage line without the padding that aligns the command table. */
static const char *usage_args(const struct cmd_entry *c)
{
	const char *a = c->usage + strlen(c->name);

	return a + strspn(a, " ");
}

static void command_usage(const struct cmd_entry *c)
{
	printf("usage: asgswap %s %s\n\n%s\n", c->name, usage_args(c), c->summary);
	if (c->options) {
		printf("\noptions:\n");
		for (size_t i = 0; i < ELEMENTSOF(command_options); i++)
			if (c->options & command_options[i].bit)
				printf("  %-18s %s\n", command_options[i].synopsis,
				       command_options[i].help);
	}
	if (c->flags & CMD_NEEDS_AWS)
		printf("\nand the global options of 'asgswap --help' (--region, --profile, "
		       "--endpoint-url,\n--output, --lock-table, --dry-run, --verbose, --quiet, "
		       "--no-color, --events)\n");
}

static const struct cmd_entry *find_command(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (streq(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* "unknown command 'X'", with the command X is likely a typo of. */
static void unknown_command(const char *name)
{
	char *names[ELEMENTSOF(commands) + 1] = { 0 };
	const char *close;

	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		names[i] = (char *)commands[i].name;
	close = strv_closest(names, name);
	if (close)
		log_error("unknown command '%s': did you mean '%s'? (see asgswap --help)", name,
		          close);
	else
		log_error("unknown command '%s' (see asgswap --help)", name);
}

static int cmd_help(struct ctl_context *ctx)
{
	const struct cmd_entry *c;

	if (!ctx->o->args || !ctx->o->args[0]) {
		usage(stdout);
		return 0;
	}
	c = find_command(ctx->o->args[0]);
	if (!c) {
		unknown_command(ctx->o->args[0]);
		return CTL_EXIT_USAGE;
	}
	command_usage(c);
	return 0;
}

/* "unknown option '--X'", with the option --X is likely a typo of. */
static void unknown_option(const struct option *opts, const char *arg)
{
	_cleanup_free_ char *name = strndup(arg, strcspn(arg, "="));
	char *names[32] = { 0 };
	const char *close = NULL;
	size_t n = 0;

	for (const struct option *o = opts; o->name && n < ELEMENTSOF(names) - 1; o++)
		names[n++] = (char *)o->name;
	if (name && startswith(name, "--"))
		close = strv_closest(names, name + 2);
	if (close)
		log_error("unknown option '%s': did you mean '--%s'? (see asgswap --help)", name,
		          close);
	else
		log_error("unknown option '%s' (see asgswap --help)", name ? name : arg);
}

/* Seconds as a decimal number: 0 < s <= 1 day. */
static int parse_seconds(const char *opt, const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > 86400) {
		log_error("%s '%s': expected seconds between 0 and 86400", opt, s);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* Whole seconds of a bake: 1 <= s <= CTL_MAX_BAKE_S. */
static int parse_bake(const char *opt, const char *s, unsigned *ret)
{
	unsigned v;

	if (safe_atou(s, &v) < 0 || v < 1 || v > CTL_MAX_BAKE_S) {
		log_error("%s '%s': expected whole seconds between 1 and %d", opt, s,
		          CTL_MAX_BAKE_S);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/*
 * The lock table: --lock-table, then ASGSWAP_LOCK_TABLE, then lock_table in the profile's
 * section of the config file (the SDKs' order: option, environment, file). An empty value
 * set nowhere else means none. 0, or a usage error (logged).
 */
static int resolve_lock_table(struct ctl_options *o, const struct aws_client *client)
{
	const char *v = o->lock_table, *from = "--lock-table";
	_cleanup_free_ char *shown = NULL;

	if (!v) {
		v = getenv("ASGSWAP_LOCK_TABLE");
		from = "ASGSWAP_LOCK_TABLE";
	}
	if (!v) {
		v = aws_config_profile_get(aws_client_config(client), "lock_table");
		from = "lock_table in the config file";
	}
	if (!v || (!*v && !streq(from, "--lock-table"))) {
		o->lock_table = NULL;
		return 0;
	}
	if (ddb_table_name_is_valid(v)) {
		o->lock_table = v;
		return 0;
	}
	shown = ctl_printable(v);
	log_error("%s '%s' is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)", from,
	          shown ? shown : "?");
	return -EINVAL;
}

/* A count 1..max. */
static int parse_count(const char *opt, const char *s, unsigned max, unsigned *ret)
{
	unsigned v;

	if (safe_atou(s, &v) < 0 || v == 0 || v > max) {
		log_error("%s '%s': expected a whole number between 1 and %u", opt, s, max);
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/*
 * Region and credentials before the first call: what is missing or wrong there is the
 * operator's configuration (exit 2), not a failed call; STS or a credentials endpoint that
 * cannot be reached or refuses is a failed call (exit 4).
 */
static int resolve_aws(struct aws_client *client)
{
	const struct aws_credentials *creds;
	struct aws_error err = { 0 };
	const char *region;
	int r;

	r = aws_client_region(client, &region, &err);
	if (r >= 0)
		r = aws_client_credentials(client, &creds, &err);
	if (r >= 0)
		return 0;
	if (r == -EINTR) {
		aws_error_clear(&err);
		log_error("interrupted");
		return CTL_EXIT_STOPPED;
	}
	if (aws_config_error(r)) {
		log_error("%s", err.message ? err.message : strerror(-r));
		aws_error_clear(&err);
		return CTL_EXIT_USAGE;
	}
	(void)ctl_aws_failed(r, &err, "resolving credentials");
	return CTL_EXIT_AWS;
}

int main(int argc, char **argv)
{
	enum {
		OPT_REGION = 0x100,
		OPT_PROFILE,
		OPT_ENDPOINT,
		OPT_OUTPUT,
		OPT_DRY_RUN,
		OPT_VERBOSE,
		OPT_QUIET,
		OPT_NO_COLOR,
		OPT_EVENTS,
		OPT_PREFIX,
		OPT_TIMEOUT,
		OPT_POLL,
		OPT_FINALIZE_FIRST,
		OPT_FORCE,
		OPT_LOCK_TABLE,
		OPT_LIMIT,
		OPT_STEPS,
		OPT_BAKE,
		OPT_BAKE_AFTER,
		OPT_ALARM,
		OPT_ALARM_PREFIX,
		OPT_PAUSE,
		OPT_NO_AUTO_ROLLBACK,
		OPT_IGNORE_ALARM_STATE,
		OPT_HELP,
		OPT_VERSION,
	};
	static const struct option opts[] = {
		{ "region", required_argument, NULL, OPT_REGION },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "endpoint-url", required_argument, NULL, OPT_ENDPOINT },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "no-color", no_argument, NULL, OPT_NO_COLOR },
		{ "events", optional_argument, NULL, OPT_EVENTS },
		{ "prefix", required_argument, NULL, OPT_PREFIX },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "poll", required_argument, NULL, OPT_POLL },
		{ "finalize-first", no_argument, NULL, OPT_FINALIZE_FIRST },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "lock-table", required_argument, NULL, OPT_LOCK_TABLE },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "steps", required_argument, NULL, OPT_STEPS },
		{ "bake", required_argument, NULL, OPT_BAKE },
		{ "bake-after", required_argument, NULL, OPT_BAKE_AFTER },
		{ "alarm", required_argument, NULL, OPT_ALARM },
		{ "alarm-prefix", required_argument, NULL, OPT_ALARM_PREFIX },
		{ "pause", no_argument, NULL, OPT_PAUSE },
		{ "no-auto-rollback", no_argument, NULL, OPT_NO_AUTO_ROLLBACK },
		{ "ignore-alarm-state", no_argument, NULL, OPT_IGNORE_ALARM_STATE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "version", no_argument, NULL, OPT_VERSION },
		{},
	};
	struct ctl_options o = { .prefix = "", .timeout_s = -1, .poll_s = 1.0, .color = true };
	_cleanup_(aws_client_freep) struct aws_client *client = NULL;
	_cleanup_strv_free_ char **args = NULL, **alarm_names = NULL;
	_cleanup_free_ char *why = NULL;
	struct ctl_context ctx = { .o = &o };
	const struct cmd_entry *cmd;
	bool help = false;
	int c, r;

	log_setup("asgswap");
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) >= 0) {
		switch (c) {
		case OPT_REGION:
			o.region = optarg;
			break;
		case OPT_PROFILE:
			o.profile = optarg;
			break;
		case OPT_ENDPOINT:
			o.endpoint_url = optarg;
			break;
		case OPT_OUTPUT:
			if (!streq(optarg, "text") && !streq(optarg, "json")) {
				log_error("--output '%s': expected text or json", optarg);
				return CTL_EXIT_USAGE;
			}
			o.json = streq(optarg, "json");
			break;
		case OPT_DRY_RUN:
			o.dry_run = true;
			break;
		case OPT_VERBOSE:
			o.verbose = true;
			log_set_max_level(LOG_DEBUG);
			break;
		case OPT_QUIET:
			o.quiet = true;
			log_set_max_level(LOG_WARNING);
			break;
		case OPT_NO_COLOR:
			o.color = false;
			log_set_color(false);
			break;
		case OPT_EVENTS:
			o.events = optarg ? optarg : "default";
			break;
		case OPT_PREFIX:
			o.prefix = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_seconds("--timeout", optarg, &o.timeout_s) < 0)
				return CTL_EXIT_USAGE;
			break;
		case OPT_POLL:
			if (parse_seconds("--poll", optarg, &o.poll_s) < 0)
				return CTL_EXIT_USAGE;
			break;
		case OPT_FINALIZE_FIRST:
			o.finalize_first = true;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_LOCK_TABLE:
			o.lock_table = optarg;
			break;
		case OPT_LIMIT:
			if (parse_count("--limit", optarg, DDB_MAX_ITEMS, &o.limit) < 0)
				return CTL_EXIT_USAGE;
			break;
		case OPT_STEPS:
			if (ctl_steps_parse(optarg, &o.strategy, &why) < 0) {
				log_error("%s", why ? why : "out of memory");
				return CTL_EXIT_USAGE;
			}
			o.strategy_given = true;
			break;
		case OPT_BAKE:
		case OPT_BAKE_AFTER:
			if (parse_bake(c == OPT_BAKE ? "--bake" : "--bake-after", optarg,
			               c == OPT_BAKE ? &o.strategy.bake_s
			                             : &o.strategy.bake_after_s) < 0)
				return CTL_EXIT_USAGE;
			o.strategy_given = true;
			break;
		case OPT_ALARM:
			if (!*optarg || strlen(optarg) > 255) {
				log_error("--alarm '%s': an alarm name is 1 to 255 characters",
				          optarg);
				return CTL_EXIT_USAGE;
			}
			if (strv_extend(&alarm_names, optarg) < 0)
				return log_error_errno(-ENOMEM, "out of memory"), 1;
			o.alarm_names = alarm_names;
			o.strategy_given = true;
			break;
		case OPT_ALARM_PREFIX:
			if (!*optarg || strlen(optarg) > 255) {
				log_error("--alarm-prefix '%s': expected 1 to 255 characters",
				          optarg);
				return CTL_EXIT_USAGE;
			}
			o.alarm_prefix = optarg;
			o.strategy_given = true;
			break;
		case OPT_PAUSE:
			o.strategy.pause = o.strategy_given = true;
			break;
		case OPT_NO_AUTO_ROLLBACK:
			o.strategy.no_auto_rollback = o.strategy_given = true;
			break;
		case OPT_IGNORE_ALARM_STATE:
			o.strategy.ignore_alarm_state = o.strategy_given = true;
			break;
		case 'h':
		case OPT_HELP:
			help = true;
			break;
		case OPT_VERSION:
			printf("asgswap %s\n", ASGSWAP_VERSION);
			return 0;
		case ':':
			log_error("option '%s' needs a value", argv[optind - 1]);
			return CTL_EXIT_USAGE;
		default:
			if (optopt)
				log_error("unknown option '-%c' (see asgswap --help)", optopt);
			else
				unknown_option(opts, argv[optind - 1]);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		if (help) {
			usage(stdout);
			return 0;
		}
		usage(stderr);
		log_error("no command given");
		return CTL_EXIT_USAGE;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		unknown_command(argv[optind]);
		return CTL_EXIT_USAGE;
	}
	for (int i = optind + 1; i < argc; i++)
		if (strv_extend(&args, argv[i]) < 0)
			return log_error_errno(-ENOMEM, "out of memory"), 1;
	o.args = args;
	ctx.command = cmd->name;
	if (help) {
		command_usage(cmd);
		return 0;
	}
	if (o.strategy_given && !(cmd->options & CO_STRATEGY)) {
		log_error("the strategy options (--steps, --bake, --alarm, ...) are deploy's: "
		          "'%s' follows the release record",
		          cmd->name);
		return CTL_EXIT_USAGE;
	}
	if (strv_length(args) < cmd->min_args || strv_length(args) > cmd->max_args) {
		log_error("usage: asgswap %s %s", cmd->name, usage_args(cmd));
		return CTL_EXIT_USAGE;
	}
	if (args && args[0] && cmd->flags & CMD_NEEDS_AWS && !(cmd->flags & CMD_TABLE_ARG) &&
	    (!*args[0] || strlen(args[0]) > 255 || strpbrk(args[0], " \t\r\n"))) {
		log_error("image name '%s' is not a valid image name", args[0]);
		return CTL_EXIT_USAGE;
	}
	if (cmd->flags & CMD_NEEDS_VERSION && !ctl_version_valid(args[1])) {
		log_error("version '%s' is not a valid Docker tag "
		          "([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}), "
		          "sha256:<64 hex> or TAG@sha256:<64 hex>",
		          args[1]);
		return CTL_EXIT_USAGE;
	}
	if (cmd->flags & CMD_NEEDS_AWS) {
		struct aws_client_options ao = {
			.region = o.region,
			.profile = o.profile,
			.endpoint_url = o.endpoint_url,
			.trace = ctl_trace,
			.stop = ctl_abort_calls,
			/* A release makes hundreds of calls: it must outlast a throttled API
			 * (docs/DESIGN.md, retries). */
			.retry_mode_default = AWS_RETRY_ADAPTIVE,
			.max_attempts_default = CTL_MAX_ATTEMPTS_DEFAULT,
		};
		struct aws_error err = { 0 };

		r = aws_client_new(&ao, &client, &err);
		if (r < 0) {
			log_error("%s", err.message ? err.message : strerror(-r));
			aws_error_clear(&err);
			return CTL_EXIT_USAGE;
		}
		ctx.aws = client;
		if (resolve_lock_table(&o, client) < 0)
			return CTL_EXIT_USAGE;
		ctl_signals_setup();
		r = resolve_aws(client);
		if (r != 0)
			return r;
		if (ctl_events_setup(&ctx) < 0)
			return CTL_EXIT_USAGE;
	}
	ctx.started = ctl_now();
	r = cmd->fn(&ctx);
	ctl_events_end(&ctx, r);
	free(ctx.lock_nonce);
	free(ctx.outcome);
	ctl_history_free(&ctx);
	free(ctx.gate_failure);
	strv_free(ctx.tg_names);
	(void)fflush(stdout);
	return r;
}
