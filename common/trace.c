#include <stdio.h>
#include <string.h>

#include "log.h"
#include "trace.h"
#include "banned.h"

void aws_trace_to_log(void *userdata, const struct aws_trace *t)
{
	char status[32], retry[48], f[7][160];
	char *const fields[] = { f[0], f[1], f[2], f[3], f[4], f[5], f[6], NULL };

	(void)userdata;
	if (LOG_DEBUG > log_get_max_level())
		return;
	if (t->transport_error)
		(void)snprintf(status, sizeof(status), "%s", strerror(-t->transport_error));
	else
		(void)snprintf(status, sizeof(status), "HTTP %ld", t->status);
	if (t->retry_in_ms >= 0)
		(void)snprintf(retry, sizeof(retry), ", retry in %ld ms", t->retry_in_ms);
	else
		retry[0] = '\0';
	(void)snprintf(f[0], sizeof(f[0]), "AWS_SERVICE=%s", t->service);
	(void)snprintf(f[1], sizeof(f[1]), "AWS_ACTION=%s", t->action);
	(void)snprintf(f[2], sizeof(f[2]), "AWS_STATUS=%ld", t->status);
	(void)snprintf(f[3], sizeof(f[3]), "AWS_MS=%ld", t->ms);
	(void)snprintf(f[4], sizeof(f[4]), "AWS_REQUEST_ID=%s", t->request_id ? t->request_id : "");
	(void)snprintf(f[5], sizeof(f[5]), "AWS_ERROR_CODE=%s", t->error_code ? t->error_code : "");
	(void)snprintf(f[6], sizeof(f[6]), "AWS_ATTEMPT=%u", t->attempt);
	log_fields(LOG_DEBUG, 0, fields, "%s %s: %s%s%s, %ld ms, attempt %u, request id %s%s",
	           t->service, t->action, status, t->error_code ? " " : "",
	           t->error_code ? t->error_code : "", t->ms, t->attempt,
	           t->request_id ? t->request_id : "-", retry);
}
