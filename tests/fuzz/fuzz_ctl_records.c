/*
 * The release strategy's records as read back from tag values (controller/ctl_strategy.c):
 * the first byte picks the parser, the rest is the value (for the alarms, one tag value a
 * line). What parses is formatted again and must parse to the same.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "strutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void strategy(const char *s)
{
	struct ctl_strategy st = { 0 }, back = { 0 };
	_cleanup_free_ char *v = NULL, *again = NULL;

	if (ctl_strategy_parse(s, &st) < 0 || ctl_strategy_format(&st, &v) < 0)
		return;
	if (ctl_strategy_parse(v, &back) < 0 || ctl_strategy_format(&back, &again) < 0 ||
	    strcmp(v, again) != 0)
		abort();
}

static void alarms(const char *s)
{
	_cleanup_strv_free_ char **values = NULL, **names = NULL, **again = NULL;
	_cleanup_free_ char *copy = strdup(s);

	if (!copy)
		return;
	for (char *line = copy, *nl; line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = '\0';
		if (strv_extend(&values, line) < 0)
			return;
	}
	if (ctl_alarms_parse(values, &names) < 0)
		return;
	if (ctl_alarms_format(names, &again) == 0) {
		_cleanup_strv_free_ char **back = NULL;

		if (ctl_alarms_parse(again, &back) < 0 || strv_length(back) != strv_length(names))
			abort();
		for (size_t i = 0; names && names[i]; i++)
			if (strcmp(back[i], names[i]) != 0)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	_cleanup_free_ char *s = NULL;
	struct ctl_strategy st = { 0 };
	unsigned k, n;
	time_t end;
	char *why = NULL;

	if (size < 1 || size > 4096)
		return 0;
	s = strndup((const char *)data + 1, size - 1);
	if (!s)
		return 0;
	switch (data[0] % 4) {
	case 0:
		strategy(s);
		break;
	case 1:
		(void)ctl_step_record_parse(s, &k, &n, &end);
		break;
	case 2:
		alarms(s);
		break;
	default:
		(void)ctl_steps_parse(s, &st, &why);
		free(why);
		break;
	}
	return 0;
}
