/*
 * Release events on EventBridge: with --events[=BUS] or `events = BUS` in the profile of the
 * shared config, every phase line of a release and the end of the command go out as
 * PutEvents entries (source "asgswap", detail type "asgswap release"). Publishing is best
 * effort: the first failure is one warning and ends publishing for the command, so a bus
 * that cannot be reached costs a release at most one short call.
 */
#ifndef ASGSWAP_CTL_EVENTS_H
#define ASGSWAP_CTL_EVENTS_H

#include "ctl_plan.h"

#define CTL_EVENTS_SOURCE      "asgswap"
#define CTL_EVENTS_DETAIL_TYPE "asgswap release"

/* Reads the bus from --events or the profile's `events` key and checks it; logs and
 * returns -EINVAL for a value that names no bus. Without either, nothing is ever sent. */
int ctl_events_setup(struct ctl_context *ctx);
/* A phase line of plan p was printed (or would have been, under --quiet). */
void ctl_events_phase(struct ctl_context *ctx, const struct plan *p, const struct phase *ph);
/* The end of the command with its exit code: published when a phase was. Frees the state. */
void ctl_events_end(struct ctl_context *ctx, int exit_code);

#endif
