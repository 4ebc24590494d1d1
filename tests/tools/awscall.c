/*
 * Drives the AWS layer of common/ for the integration tests: one Query call (or every page
 * of one) through the whole client — config, credentials chain, SigV4, retries, XML.
 *   awscall [--region R] [--profile P] [--endpoint-url URL] [--verbose]
 *           [--paginate PARAM:ELEMENT] [--print NAME]... [--whoami] [--repeat N]
 *           [--deadline-ms MS] SERVICE ACTION [K=V]...
 * Exit codes as the controller's: 0 done, 2 usage or configuration, 4 AWS call failed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

#include "aws.h"
#include "creds.h"
#include "log.h"
#include "query.h"
#include "strutil.h"
#include "trace.h"
#include "banned.h"

struct printer {
	char **names;
};

static void print_named(const xmlNode *n, char *const *names)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		STRV_FOREACH(name, names)
			if (streq((const char *)c->name, *name)) {
				_cleanup_free_ char *t = xml_text(c);
				printf("%s=%s\n", *name, t ? t : "");
			}
		print_named(c, names);
	}
}

static int on_page(xmlDoc *doc, void *userdata)
{
	struct printer *p = userdata;

	if (p->names) {
		print_named(xmlDocGetRootElement(doc), p->names);
	} else {
		xmlChar *out = NULL;
		int len = 0;

		xmlDocDumpMemory(doc, &out, &len);
		if (out)
			fwrite(out, 1, (size_t)len, stdout);
		xmlFree(out);
	}
	return 0;
}

static int run(struct aws_client *client, struct query *q, const char *paginate,
               struct printer *printer, struct aws_error *err)
{
	_cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
	_cleanup_free_ char *param = NULL;
	char *colon;
	int r;

	if (!paginate) {
		r = aws_query(client, q, &doc, err);
		return r < 0 ? r : on_page(doc, printer);
	}
	param = strdup(paginate);
	colon = param ? strchr(param, ':') : NULL;
	if (!colon)
		return -EINVAL;
	*colon = '\0';
	return aws_query_pages(client, q, param, colon + 1, 0, on_page, printer, err);
}

static int service_by_name(const char *name, enum aws_service *ret)
{
	for (int s = 0; s < _AWS_SVC_MAX; s++)
		if (streq(aws_service_info((enum aws_service)s)->name, name)) {
			*ret = (enum aws_service)s;
			return 0;
		}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "region", required_argument, NULL, 'r' },
		{ "profile", required_argument, NULL, 'p' },
		{ "endpoint-url", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "paginate", required_argument, NULL, 'P' },
		{ "print", required_argument, NULL, 'n' },
		{ "whoami", no_argument, NULL, 'w' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "deadline-ms", required_argument, NULL, 'D' },
		{},
	};
	struct aws_client_options o = { .trace = aws_trace_to_log };
	_cleanup_(aws_client_freep) struct aws_client *client = NULL;
	_cleanup_strv_free_ char **names = NULL;
	struct aws_error err = { 0 };
	struct printer printer = { 0 };
	struct query q = { 0 };
	_cleanup_query_ struct query *qp = &q;
	enum aws_service svc;
	char *paginate = NULL;
	bool whoami = false;
	unsigned repeat = 1, deadline_ms = 0;
	int c, r = 0;

	log_setup("awscall");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'r':
			o.region = optarg;
			break;
		case 'p':
			o.profile = optarg;
			break;
		case 'e':
			o.endpoint_url = optarg;
			break;
		case 'v':
			log_set_max_level(LOG_DEBUG);
			break;
		case 'P':
			paginate = optarg;
			break;
		case 'n':
			if (strv_extend(&names, optarg) < 0)
				return 1;
			break;
		case 'w':
			whoami = true;
			break;
		case 'R':
			if (safe_atou(optarg, &repeat) < 0 || repeat == 0)
				return 2;
			break;
		case 'D':
			if (safe_atou(optarg, &deadline_ms) < 0)
				return 2;
			break;
		default:
			return 2;
		}
	}
	r = aws_client_new(&o, &client, &err);
	if (r < 0) {
		log_error("%s", err.message ? err.message : strerror(-r));
		aws_error_clear(&err);
		return 2;
	}
	if (whoami) {
		const struct aws_credentials *cr;

		r = aws_client_credentials(client, &cr, &err);
		if (r < 0) {
			log_error("credentials: %s", err.message ? err.message : strerror(-r));
			aws_error_clear(&err);
			return aws_config_error(r) ? 2 : 4;
		}
		printf("source=%s\naccess_key_id=%s\nsession=%s\n", cr->source, cr->access_key_id,
		       cr->session_token ? "yes" : "no");
		if (optind >= argc)
			return 0;
	}
	if (argc - optind < 2 || service_by_name(argv[optind], &svc) < 0) {
		log_error("usage: awscall [options] SERVICE ACTION [KEY=VALUE]...");
		return 2;
	}
	if (query_init(&q, svc, argv[optind + 1]) < 0)
		return 1;
	for (int i = optind + 2; i < argc; i++) {
		_cleanup_free_ char *key = strdup(argv[i]);
		char *eq = key ? strchr(key, '=') : NULL;

		if (!eq) {
			log_error("parameter '%s' is not KEY=VALUE", argv[i]);
			return 2;
		}
		*eq = '\0';
		query_add(&q, key, eq + 1);
	}
	q.deadline_ms = deadline_ms;
	printer.names = names;
	for (unsigned i = 0; i < repeat && r >= 0; i++)
		r = run(client, &q, paginate, &printer, &err);
	if (r < 0) {
		if (err.code)
			log_error("%s: %s: %s (HTTP %ld, %u attempts, request id %s)", q.action,
			          err.code, err.message ? err.message : "", err.http_status,
			          err.attempts, err.request_id ? err.request_id : "-");
		else
			log_error("%s: %s", q.action, err.message ? err.message : strerror(-r));
		aws_error_clear(&err);
		return aws_config_error(r) ? 2 : 4;
	}
	aws_error_clear(&err);
	return 0;
}
