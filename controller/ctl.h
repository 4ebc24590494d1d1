/* The controller's shared types: options, the observed service, plans and their steps. */
#ifndef ASGSWAP_CTL_H
#define ASGSWAP_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "autoscaling.h"
#include "aws.h"
#include "elb.h"

/* Exit codes (docs/DESIGN.md, "Exit codes"). */
enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_UNDONE = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_STATE = 3,
	CTL_EXIT_AWS = 4,
	CTL_EXIT_STOPPED = 5,
};

#define TAG_IMAGE         "docker:image:name"
#define TAG_VERSION       "docker:image:version"
#define TAG_SAVED         "asgswap:saved"
#define TAG_RELEASE       "asgswap:release"
#define TAG_LOCK          "asgswap:lock"
#define TAG_ROLLED_BACK   "asgswap:rolled-back"
#define TAG_SUSPENDED     "asgswap:suspended"
#define TAG_STANDBY_SINCE "asgswap:standby-since"
/* A release with a strategy (docs/DESIGN.md, "Release strategies"): its steps, bakes and
 * flags; where it is (K/N[:BAKE_END]); the alarms it watches; why it failed. */
#define TAG_STRATEGY "asgswap:strategy"
#define TAG_STEP     "asgswap:step"
#define TAG_ALARMS   "asgswap:alarms"
#define TAG_FAILED   "asgswap:failed"

#define CTL_MAX_STEPS  20
#define CTL_ALARM_TAGS 8      /* asgswap:alarms, asgswap:alarms:2 ... :8 */
#define CTL_MAX_BAKE_S 172800 /* as Instance Refresh's bake time */

struct ctl_strategy {
	unsigned steps[CTL_MAX_STEPS]; /* percent of the live set's desired, rising to 100 */
	unsigned n_steps;              /* 0: one step of 100 */
	unsigned bake_s, bake_after_s;
	bool pause, no_auto_rollback, ignore_alarm_state;
	char **alarms; /* the alarm names watched during bakes (strv) */
};

struct ctl_options {
	const char *region, *profile, *endpoint_url;
	bool json, dry_run, verbose, quiet, color;
	const char *events; /* --events: the bus of release events; NULL: the profile's */
	const char *prefix;
	double timeout_s; /* < 0: the command's default */
	double poll_s;
	bool finalize_first, force;
	/* The DynamoDB lock table (--lock-table, ASGSWAP_LOCK_TABLE, lock_table): NULL for the
	 * tag lock. */
	const char *lock_table;
	unsigned limit;               /* history --limit; 0: the default */
	struct ctl_strategy strategy; /* deploy's --steps, --bake, ... (alarms resolved later) */
	char **alarm_names;           /* --alarm, as given (strv) */
	const char *alarm_prefix;
	bool strategy_given; /* any strategy option on the command line */
	char **args;         /* positional arguments after the command (strv) */
};

/* Sees the answer of a call that succeeded; what names the call, for messages. */
typedef int (*ctl_reply_fn)(void *userdata, const char *what, xmlDoc *doc);

/* Calls collected to run side by side (the groups of a set), see ctl_batch_begin(). */
struct ctl_batch_entry {
	struct query *q;
	char *what; /* for the error message */
	ctl_reply_fn reply;
	void *userdata;
};
struct ctl_batch {
	struct ctl_batch_entry *v;
	size_t n;
};

struct ctl_context {
	struct ctl_options *o;
	struct ctl_batch *batch; /* while non-NULL, ctl_send() and the calls on it queue */
	struct aws_client *aws;
	const char *command;
	char *lock_nonce;   /* set once we hold the lock */
	time_t lock_expiry; /* in AWS's clock */
	char **tg_names;    /* target group ARN, name, ARN, name...: asked once a command */
	double started;     /* ctl_now() when the command began: "done in N s" counts from it */
	struct ctl_events *events; /* NULL: release events are not published */
	char *outcome; /* how the release ended, when more than the exit code says (ctl_outcome) */
	struct ctl_history *history; /* with a lock table: the release's record (ctl_history.c) */
	char *gate_failure; /* why a bake failed (the alarm or the instance), set with -ECANCELED */
};

enum ctl_state {
	CTL_IDLE,
	CTL_LAUNCHING,
	CTL_LIVE,
	CTL_STANDBY,
	CTL_MOVING,
	CTL_MIXED,
};
const char *ctl_state_name(enum ctl_state s);

enum { SET_BLUE, SET_GREEN, _SET_MAX };
const char *ctl_set_name(int set);

struct ctl_instance {
	const struct asg_instance *asg;
	char *health; /* healthy, unhealthy, initial, draining, unregistered, unknown, n/a */
	char *reason; /* the load balancer's reason code for that health, or NULL */
	bool serving; /* InService, ASG-healthy, healthy in every load balancer */
};

struct ctl_group {
	struct asg_group *asg;
	char *base; /* name without "-blue"/"-green" */
	int set;
	bool launch_hook;
	struct ctl_instance *instances; /* parallel to asg->instances */
	char **tg_names;                /* display names of asg->target_groups */
	unsigned serving;               /* instances serving */
};

struct ctl_set {
	enum ctl_state state;
	const char *version; /* the version tag of its groups, NULL when they differ or none */
	struct ctl_group **groups;
	size_t n;
};

struct ctl_release {
	int from, to;
	char *version;
	char *phase;
	/* From the strategy records; a record without them is one step of 100. */
	unsigned step, n_steps; /* 1..n_steps */
	time_t bake_end;        /* AWS's clock; 0: not baking */
	struct ctl_strategy strategy;
	char *failed; /* why it failed (phase failed), or NULL */
};

struct ctl_service {
	char *image;
	const char *prefix;
	struct asg_groups asg;
	struct ctl_group *groups;
	size_t n;
	struct ctl_set sets[_SET_MAX];
	struct asg_group *canonical; /* first blue group by name */
	bool have_release;
	struct ctl_release release;
	char *release_error; /* a strategy record that does not parse: every command refuses */
};

/* ctl_observe.c: the service as observed (groups, sets, health, records read) */
int ctl_observe(struct ctl_context *ctx, const char *image, bool health, struct ctl_service *ret);
/* ctl_observe() on groups already described (they move into *ret, or are freed). A problem
 * with the groups' naming is not logged but stored in *ret_why (NULL without memory); AWS
 * failures are logged. */
int ctl_observe_groups(struct ctl_context *ctx, const char *image, struct asg_groups *groups,
                       bool health, struct ctl_service *ret, char **ret_why);
/* Logs what ctl_observe_groups() failed with, as ctl_observe() does (with a guess at the
 * image meant when no group matched, and the naming rule). */
void ctl_log_observe_error(struct ctl_context *ctx, const char *image, int r, const char *why);
void ctl_service_done(struct ctl_service *s);
/* The parts of an observation that call nothing: s->asg (filled) into groups, sets and
 * pairs; then, once health is known, states, versions and the release record. */
int ctl_service_index(const char *image, const char *prefix, struct ctl_service *s, char **ret_why);
void ctl_service_settle(struct ctl_service *s);
/* The health of g's instances from the answers of its load balancers (lbs: one answer a
 * load balancer, classic ELBs then target groups, as in the group), as an observation
 * computes it. */
int ctl_group_health(struct ctl_group *g, struct lb_targets *const *lbs);
struct ctl_group *ctl_pair(struct ctl_service *s, const struct ctl_group *g);
struct ctl_group *ctl_group_by_name(struct ctl_service *s, const char *name);
bool ctl_group_has_health_signal(const struct ctl_group *g);
int ctl_parse_saved(const char *s, unsigned *min, unsigned *max, unsigned *desired);
int ctl_aws_failed(int r, struct aws_error *err, const char *what, ...) _printf_(3, 4);
bool ctl_version_valid(const char *v);
/* The exit code for a failure already logged: -EINTR/-ETIMEDOUT 5, -EBUSY/-ESTALE/-ENOENT
 * (wrong state) 3, -EINVAL 2, anything else (AWS) 4. */
int ctl_exit_code(int r);

/* ctl_status.c */
/* Why set k of s is mixed: which instances (or groups) make it so and the commands that
 * settle it, in one sentence (*ret; NULL when the set is not mixed). */
int ctl_explain_set(const struct ctl_service *s, int k, char **ret);
/* A value from AWS shown to a person: bytes outside printable ASCII as \xNN (NULL: no
 * memory). */
char *ctl_printable(const char *s);
/* "2026-12-06 21:35:04 UTC" (human) or "2026-12-06T21:35:04Z". */
bool ctl_iso_time(time_t when, char *buf, size_t n, bool human);

/* ctl_lock.c */
struct ctl_lock_info {
	char *nonce;
	time_t expiry; /* AWS's clock */
	char *holder;  /* user@host pid command; NULL when the lock does not name one */
};
/* Parses an `asgswap:lock` value (NONCE:EXPIRY[:HOLDER]); -EINVAL when it is not one. */
int ctl_lock_parse(const char *value, struct ctl_lock_info *ret);
void ctl_lock_info_done(struct ctl_lock_info *l);
int ctl_lock_take(struct ctl_context *ctx, struct ctl_service *s);
int ctl_lock_check(struct ctl_context *ctx, struct ctl_service *s);
void ctl_lock_release(struct ctl_context *ctx, struct ctl_service *s);
/* The end of a command that could not finish `where`: the message, the lock, the exit code. */
int ctl_stopped(struct ctl_context *ctx, struct ctl_service *s, int r, const char *where);
time_t ctl_lock_ttl(void);
/* Shared by the two backends of the lock (tags here, the table in ctl_lock_table.c). */
char *ctl_lock_holder(struct ctl_context *ctx);
int ctl_lock_new_nonce(struct ctl_context *ctx);
int ctl_lock_refuse(struct ctl_context *ctx, struct ctl_service *s, const struct ctl_lock_info *l);
void ctl_lock_describe(struct ctl_context *ctx, const struct ctl_lock_info *l, char *buf,
                       size_t size);
void ctl_format_span(long long s, char *buf, size_t size);
void ctl_format_when(time_t t, char *buf, size_t size);

/* ctl_lock_table.c: the lock as an item of a DynamoDB table, taken with a conditional PutItem,
 * renewed with a conditional UpdateItem, released with a conditional DeleteItem. */
/* The key of a service in the table: IMAGE, or "IMAGE PREFIX" (IMAGE has no blank). */
char *ctl_service_key(const char *image, const char *prefix);
int ctl_lock_table_take(struct ctl_context *ctx, struct ctl_service *s);
int ctl_lock_table_check(struct ctl_context *ctx, struct ctl_service *s);
void ctl_lock_table_release(struct ctl_context *ctx, struct ctl_service *s);
/* The lock item as found: 1 with *ret filled (and *ret_release the history key it names, or
 * NULL), 0 when there is none, or a failure (logged). */
int ctl_lock_table_read(struct ctl_context *ctx, const char *image, struct ctl_lock_info *ret,
                        char **ret_release);
/* Deletes the lock item if it still holds nonce: 0, -EEXIST when it changed meanwhile. */
int ctl_lock_table_remove(struct ctl_context *ctx, const char *image, const char *nonce);
/* The command `init-table NAME`. */
int ctl_init_table(struct ctl_context *ctx);

/* ctl_history.c: with a lock table, one item a release (command, sets, versions, phases with
 * their AWS time, outcome, caller, asgswap's version), and `asgswap history`. A failure to
 * write it is a warning. */
struct plan;
/* The key (a decimal sort key, AWS time in microseconds) the release will be recorded
 * under, chosen on first use; NULL without memory. */
const char *ctl_history_key(struct ctl_context *ctx);
/* The lock is ours: the record is written (outcome "running"), with the caller's ARN. */
void ctl_history_begin(struct ctl_context *ctx, struct ctl_service *s);
/* The executor printed the line of a phase of plan p. */
void ctl_history_phase(struct ctl_context *ctx, const struct plan *p, const char *title);
/* The release ended: its record gets the outcome and the end time. */
void ctl_history_end(struct ctl_context *ctx);
void ctl_history_free(struct ctl_context *ctx);
int ctl_history(struct ctl_context *ctx);
/* Seconds between writing the lock and reading it back (ASGSWAP_LOCK_SETTLE, default 2). */
double ctl_lock_settle(void);
/* Now in AWS's clock, which every run shares: this machine's clock may be off (the skew
 * comes from the Date header of the latest answer). */
time_t ctl_aws_now(struct ctl_context *ctx);

/* ctl_exec.c: step lines, waits, interruption (the executor: ctl_plan.h) */
extern volatile int ctl_interrupted;
extern unsigned ctl_throttled; /* throttled AWS attempts so far (the poll backs off) */
void ctl_signals_setup(void);
/* Clears the progress line of a wait, if one is on the terminal (before any other output). */
void ctl_progress_clear(void);
/* ctl_output.c: prints doc (NULL: it could not be built) as --output json does; -ENOMEM
 * logged. */
struct cJSON;
int ctl_print_json(const struct cJSON *doc);
bool ctl_stop_requested(void);
/* Whether AWS calls in flight end now (a signal came and is not being handled yet); after
 * ctl_stop_handled() the clean-up's calls go out, until another signal. */
bool ctl_abort_calls(void);
void ctl_stop_handled(void);
int ctl_step(struct ctl_context *ctx, const char *fmt, ...) _printf_(2, 3);
enum ctl_wait_for {
	WAIT_LIVE,
	WAIT_STANDBY,
	WAIT_GONE,
	WAIT_SETTLED, /* no longer moving: whatever it settles to */
};
/* Re-observes the service until set reaches what; 0, -ETIMEDOUT, -EINTR, or an error.
 * resync: keep each group of `set` pinned at its pair's desired (deploy step 3). */
int ctl_wait(struct ctl_context *ctx, struct ctl_service *s, int set, enum ctl_wait_for what,
             double timeout_s, bool resync);
double ctl_now(void);
/* How the release ends, in the words the history and the release events both use: "done",
 * "rolled back", "paused", "undone by alarm NAME", "undone: REASON", "interrupted: WHERE",
 * "failed: REASON". The last one said holds. */
void ctl_outcome(struct ctl_context *ctx, const char *fmt, ...) _printf_(2, 3);
/* The outcome said, or the one exit_code implies. */
const char *ctl_outcome_of(const struct ctl_context *ctx, int exit_code);

/* ctl_move.c: policies, scheduled actions and alarms from every group of from_set to its
 * pair, the groups side by side; nothing is deleted before everything is created. */
int ctl_move_scaling(struct ctl_context *ctx, struct ctl_service *s, int from_set);

/* ctl_records.c */
int ctl_untag(struct ctl_context *ctx, const struct ctl_group *g, const char *key);
/* Between begin and end, ctl_send() (and ctl_untag, which uses it) queues its call; end sends them
 * side by side (at most 50 at a time) and returns the first failure, logged once. Only calls
 * independent of each other share a batch. */
void ctl_batch_begin(struct ctl_context *ctx);
int ctl_batch_end(struct ctl_context *ctx);
/* ctl_batch_end(), returning r instead when r is a failure (of queuing the calls). */
int ctl_batch_end_after(struct ctl_context *ctx, int r);
/* Sends q (query_init'ed; consumed) now, or queues it in the open batch. A failure is
 * logged as "WHAT: CODE: message (...)", WHAT from fmt; reply (may be NULL) sees the answer
 * of a call that succeeded. */
int ctl_send(struct ctl_context *ctx, struct query *q, ctl_reply_fn reply, void *userdata,
             const char *fmt, ...) _printf_(5, 6);
/* Commands. */
int ctl_status(struct ctl_context *ctx);
int ctl_deploy(struct ctl_context *ctx);
int ctl_rollback(struct ctl_context *ctx);
int ctl_finalize(struct ctl_context *ctx);
int ctl_unlock(struct ctl_context *ctx);
int ctl_promote(struct ctl_context *ctx);
/* ctl_rollback.c: -ESTALE (logged) when a Standby instance of set no longer runs in EC2. */
int ctl_standby_running(struct ctl_context *ctx, struct ctl_service *s, int set);
int ctl_abort(struct ctl_context *ctx);

/* ctl_strategy.c: the strategy's options and records (pure, unit-tested) */
/* "--steps 10,50,100": rising integers 1..100 ending at 100; -EINVAL with *ret_why. */
int ctl_steps_parse(const char *s, struct ctl_strategy *ret, char **ret_why);
unsigned ctl_strategy_steps(const struct ctl_strategy *st);
unsigned ctl_strategy_percent(const struct ctl_strategy *st, unsigned step);
/* ceil(percent x desired), at least 1 (0 for an empty group). */
unsigned ctl_step_size(unsigned percent, unsigned desired);
bool ctl_strategy_is_default(const struct ctl_strategy *st);
void ctl_strategy_done(struct ctl_strategy *st);
int ctl_strategy_copy(const struct ctl_strategy *st, struct ctl_strategy *ret);
/* The asgswap:strategy value, and its parse (-EINVAL: malformed). */
int ctl_strategy_format(const struct ctl_strategy *st, char **ret);
int ctl_strategy_parse(const char *s, struct ctl_strategy *ret);
/* Alarm names into at most CTL_ALARM_TAGS tag values of 256 characters (NULL-terminated
 * strv; -E2BIG when they do not fit), and back. */
int ctl_alarms_format(char *const *names, char ***ret);
int ctl_alarms_parse(char *const *values, char ***ret);
const char *ctl_alarms_tag_key(unsigned i, char buf[static 32]);
/* "K/N" or "K/N:END". */
int ctl_step_record_parse(const char *s, unsigned *ret_step, unsigned *ret_n, time_t *ret_end);
/* Reads the strategy records of the canonical group into r (NULL tags: defaults);
 * -EINVAL with *ret_why naming the tag. */
int ctl_release_read(const struct asg_group *canonical, struct ctl_release *r, char **ret_why);
/* Whether the release has switched traffic: the old set is (going) into Standby. */
bool ctl_release_switched(const struct ctl_release *r);
/* A reason as a tag value: characters tags refuse become '_', at most 256. */
char *ctl_tag_text(const char *s);

#endif
