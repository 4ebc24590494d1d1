/*
 * A release as a value: phases of steps, computed by a pure planner from the observed
 * service and run (or printed, under --dry-run) by the one executor in ctl_exec.c.
 */
#ifndef ASGSWAP_CTL_PLAN_H
#define ASGSWAP_CTL_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "ctl.h"

enum step_kind {
	STEP_CALL,         /* one AWS call: service, action, parameters */
	STEP_WAIT,         /* re-observe until a set reaches a state, with a deadline */
	STEP_MOVE_SCALING, /* policies, scheduled actions and alarms: expanded when run */
	STEP_GATE,         /* a bake: alarms and the set's health watched until a time */
};

struct step {
	enum step_kind kind;
	unsigned round;    /* steps of a phase with the same round go side by side */
	char *text;        /* one line: what --verbose and --dry-run show */
	char **groups;     /* the groups it changes or watches (strv) */
	const char *where; /* a literal: overrides the phase's where */
	bool destructive;
	unsigned terminates; /* instances it terminates */
	/* STEP_CALL */
	enum aws_service service;
	const char *action;
	char **params;  /* key, value, key, value, ... (strv) */
	unsigned items; /* tags carried by a CreateOrUpdateTags or DeleteTags call */
	/* STEP_WAIT; STEP_MOVE_SCALING uses set as the source */
	int set;
	enum ctl_wait_for what;
	double timeout_s;
	bool resync;
	char **instances; /* STEP_WAIT: the instances it waits for (strv) */
	/* STEP_GATE: watches set until `until` (AWS's clock) */
	time_t until;
	unsigned bake_s; /* the whole bake, for the progress line */
	char **alarms;   /* strv */
	char *label;     /* "at step 1 of 3 (10 %)", "after the switch" */
	const char *version;
};

struct phase {
	char *title;
	unsigned number; /* 1..of in the command's numbered phases; 0: a preliminary phase */
	unsigned of;
	const char *where; /* for "interrupted WHERE": a literal */
	struct step *steps;
	size_t n;
	unsigned round; /* the round new steps join */
	unsigned step;  /* the canary step it belongs to, 1..n_steps; 0: a release of one step */
};

struct plan {
	char *command, *image;
	/* The header of --dry-run: live set -> target set. */
	int from, to;
	char *from_version, *to_version;
	unsigned from_instances, to_instances;
	struct phase *phases;
	size_t n_phases;
	char *note;             /* said when the plan has no step: why there is nothing to do */
	char *done;             /* the closing sentence, what to do next */
	int error;              /* the first failure of a builder */
	bool sets_release;      /* a step writes the release record */
	unsigned step, n_steps; /* the canary step new phases belong to (0: none), of n_steps */
	char *strategy;  /* a deploy's strategy as its record writes it ("steps=10,100 bake=60") */
	char **recorded; /* key, value, ...: the records a step writes on the canonical group */
	bool paused;     /* ends at a pause: the closing sentence alone (no "done in N s"), outcome
	                    paused */
};

struct plan *plan_new(const char *command, const char *image);
struct plan *plan_free(struct plan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct plan *, plan_free)

/* Builders: failures are latched in p->error, so planners check once at the end. */
void plan_phase(struct plan *p, unsigned number, unsigned of, const char *where, const char *fmt,
                ...) _printf_(5, 6);
/* The steps added next go after those before (not side by side with them). */
void plan_then(struct plan *p);
void plan_note(struct plan *p, const char *fmt, ...) _printf_(2, 3);
void plan_done(struct plan *p, const char *fmt, ...) _printf_(2, 3);
size_t plan_steps(const struct plan *p);
bool plan_mutates(const struct plan *p);

/* One call on group (NULL: none) with parameters added by plan_param(). */
struct step *plan_call(struct plan *p, enum aws_service service, const char *action,
                       const char *group, const char *fmt, ...) _printf_(5, 6);
void plan_param(struct plan *p, struct step *st, const char *key, const char *value);
void plan_paramf(struct plan *p, struct step *st, const char *value, const char *keyfmt, ...)
        _printf_(4, 5);

/* The autoscaling calls the planners use. Sizes < 0 are left out. */
void plan_update(struct plan *p, const struct ctl_group *g, long min, long max, long desired);
/* Tags set (or deleted) in one round share one call per at most PLAN_TAGS_PER_CALL tags,
 * whatever group they are on. */
#define PLAN_TAGS_PER_CALL 50
void plan_tag(struct plan *p, const struct ctl_group *g, const char *key, const char *value,
              bool propagate);
void plan_untag(struct plan *p, const struct ctl_group *g, const char *key);
/* The keys (NULL-terminated) that g carries. */
void plan_untag_keys(struct plan *p, const struct ctl_group *g, const char *const *keys);
/* action on ids[i] of each group i of set, calls of at most ASG_MAX_INSTANCE_IDS: the k-th
 * call of every group side by side, the calls of one group one after another. flag_key
 * (may be NULL) = flag. */
void plan_instances(struct plan *p, const struct ctl_set *set, char **const *ids,
                    const char *action, const char *flag_key, bool flag, bool destructive);
void plan_processes(struct plan *p, const struct ctl_group *g, const char *action,
                    char *const *processes);
void plan_terminate(struct plan *p, const struct ctl_group *g, const char *id);
/* The release record on the canonical group, unless it says that already. */
void plan_release(struct plan *p, const struct ctl_service *s, int from, int to,
                  const char *version, const char *phase);
/* The same with the strategy's records: where the release is (step k of st, bake end or 0)
 * and, with strategy set (the first write), the strategy and its alarms. */
void plan_release_step(struct plan *p, const struct ctl_service *s, int from, int to,
                       const char *version, const char *phase, const struct ctl_strategy *st,
                       unsigned k, time_t bake_end, bool strategy);
/* key=value on the canonical group unless it says that already (cleared with the release). */
void plan_record(struct plan *p, const struct ctl_service *s, const char *key, const char *value);
/* The release record and the strategy's records deleted. */
void plan_clear_release(struct plan *p, const struct ctl_service *s);
/* A bake of set until `until` (AWS's clock), watching alarms and the set's health. */
struct step *plan_gate(struct plan *p, const struct ctl_service *s, int set, time_t until,
                       unsigned bake_s, char *const *alarms, const char *version,
                       const char *label);
struct step *plan_wait(struct plan *p, const struct ctl_service *s, int set, enum ctl_wait_for what,
                       double timeout_s, bool resync, const char *fmt, ...) _printf_(7, 8);
void plan_move_scaling(struct plan *p, const struct ctl_service *s, int from_set);

/* Scale-in protection cleared on every instance of set that has it. */
void plan_clear_protection(struct plan *p, const struct ctl_set *set);

/* The planners: pure functions of the observed service and the options. A refusal is a
 * negative errno with the message in *ret_why; a plan without steps has a note. */
struct deploy_args {
	const char *version;
	double timeout_s;
	bool force, finalize_first;
	time_t now; /* in AWS's clock, for asgswap:standby-since and bake ends */
	/* The strategy of a new release (a release in flight follows its record). */
	const struct ctl_strategy *strategy;
	bool promote; /* continue a paused (or failed) release past its bake */
};
int plan_deploy(const struct ctl_service *s, const struct deploy_args *a, struct plan **ret,
                char **ret_why);
/* The undo of a launching (or moving) release: scaling back, the set back to 0, records
 * cleared. */
int plan_abort_launch(const struct ctl_service *s, struct plan **ret, char **ret_why);
/* The set a rollback brings back, or -1. */
int plan_rollback_standby(const struct ctl_service *s);
int plan_rollback(const struct ctl_service *s, double timeout_s, struct plan **ret, char **ret_why);
int plan_finalize(const struct ctl_service *s, double timeout_s, struct plan **ret, char **ret_why);
/* The finalize phases for set, added to p (deploy --finalize-first). */
void plan_finalize_set(struct plan *p, const struct ctl_service *s, int set, double timeout_s,
                       unsigned number, unsigned of, const char *where);
/* The processes asgswap suspended on set resumed, then its records cleared (the saved
 * sizes last). */
void plan_clear_standby_records(struct plan *p, const struct ctl_set *set);
bool plan_is_standby_set(const struct ctl_set *set);
bool plan_has_leftovers(const struct ctl_set *set);

/* A refusal (r, the message in *ret_why) that names a mixed set also says which instances
 * make it so and how to settle it; returns r. */
int plan_explain_mixed(const struct ctl_service *s, int r, char **ret_why);

/* ctl_output.c: the --dry-run text and the --output json document of a plan; printing
 * it as --output asks; the progress line of a wait (per group have/want, the instances
 * still missing with state, health and the load balancer's reason). */
int plan_render_text(const struct plan *p, bool color, char **ret);
int plan_render_json(const struct plan *p, char **ret);
int ctl_print_plan(struct ctl_context *ctx, const struct plan *p);
void ctl_progress(struct ctl_context *ctx, const struct ctl_set *set, int k, enum ctl_wait_for what,
                  double elapsed, double left, char **last, double *last_at);
const char *ctl_wait_word(enum ctl_wait_for what);
/* A progress line: rewritten in place on a terminal; else printed with a time stamp when
 * key changed, and at least every 15 s. */
void ctl_progress_text(struct ctl_context *ctx, const char *line, const char *key, double elapsed,
                       char **last, double *last_at);

/* ctl_exec.c: runs the plans of planner until one ends without a wait, re-planning from a
 * fresh observation after every wait; the lock is taken before the first mutating step
 * (the command releases it).
 * Under --dry-run the first plan is printed instead. On failure *ret_where says where it
 * stopped and *ret_wait which wait timed out (-1: none). */
typedef int (*plan_fn)(const struct ctl_service *s, const void *args, struct plan **ret,
                       char **ret_why);
int ctl_exec(struct ctl_context *ctx, struct ctl_service *s, plan_fn planner, const void *args,
             const char **ret_where, int *ret_wait);

/* ctl_gate.c: runs a bake; 0 when it ended well, -ECANCELED (ctx->gate_failure says why,
 * logged) when an alarm fired or an instance of the set stopped serving, -EINTR. */
int ctl_gate(struct ctl_context *ctx, struct ctl_service *s, const struct step *st);
/* The strategy a command follows: the release record's, else the one given. */
const struct ctl_strategy *plan_strategy(const struct ctl_service *s,
                                         const struct ctl_strategy *given);

#endif
