/* Drives common/http.c for the integration tests: one request, several side by side, or the
 * same one repeated on one client; prints one result line per request. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "strutil.h"
#include "banned.h"

static int print_line(void *userdata, const char *line, size_t len)
{
	(void)userdata;
	printf("line: %.*s\n", (int)len, line);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "method", required_argument, NULL, 'X' },
		{ "header", required_argument, NULL, 'H' },
		{ "data", required_argument, NULL, 'd' },
		{ "unix-socket", required_argument, NULL, 'u' },
		{ "max", required_argument, NULL, 'm' },
		{ "timeout", required_argument, NULL, 't' },
		{ "connect-timeout", required_argument, NULL, 'c' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "lines", no_argument, NULL, 'l' },
		{ "body", no_argument, NULL, 'b' },
		{ "no-proxy", no_argument, NULL, 'n' },
		{ "many", no_argument, NULL, 'M' },
		{},
	};
	_cleanup_(http_client_freep) struct http_client *client = NULL;
	_cleanup_strv_free_ char **headers = NULL;
	struct http_request req = { 0 };
	unsigned repeat = 1, u;
	bool body = false, many = false;
	int c, r, failed = 0;

	while ((c = getopt_long(argc, argv, "X:H:d:", opts, NULL)) >= 0) {
		switch (c) {
		case 'X':
			req.method = optarg;
			break;
		case 'H':
			if (strv_extend(&headers, optarg) < 0)
				return 1;
			break;
		case 'd':
			req.body = optarg;
			req.body_len = strlen(optarg);
			break;
		case 'u':
			req.unix_socket = optarg;
			break;
		case 'm':
		case 't':
		case 'c':
		case 'r':
			if (safe_atou(optarg, &u) < 0) {
				fprintf(stderr, "httpcli: bad number '%s'\n", optarg);
				return 2;
			}
			if (c == 'm')
				req.max_response = u;
			else if (c == 't')
				req.timeout_ms = u;
			else if (c == 'c')
				req.connect_timeout_ms = u;
			else
				repeat = u;
			break;
		case 'l':
			req.on_line = print_line;
			break;
		case 'b':
			body = true;
			break;
		case 'n':
			req.no_proxy = true;
			break;
		case 'M':
			many = true;
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: httpcli [options] URL...\n");
		return 2;
	}
	req.headers = headers;
	if (http_client_new(&client) < 0)
		return 1;

	if (many) {
		size_t n = (size_t)(argc - optind);
		_cleanup_free_ struct http_request *reqs = calloc(n, sizeof(*reqs));
		_cleanup_free_ struct http_response *rets = calloc(n, sizeof(*rets));
		_cleanup_free_ int *results = calloc(n, sizeof(*results));

		if (!reqs || !rets || !results)
			return 1;
		for (size_t i = 0; i < n; i++) {
			reqs[i] = req;
			reqs[i].url = argv[optind + (int)i];
		}
		r = http_request_many(client, reqs, rets, results, n);
		if (r < 0) {
			fprintf(stderr, "httpcli: batch: %s\n", strerror(-r));
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			printf("%zu status=%ld len=%zu result=%d ms=%ld\n", i, rets[i].status,
			       rets[i].body.len, results[i], rets[i].elapsed_ms);
			failed += results[i] < 0;
			http_response_done(&rets[i]);
		}
		return failed ? 1 : 0;
	}

	req.url = argv[optind];
	for (unsigned i = 0; i < repeat; i++) {
		struct http_response resp;

		r = http_request(client, &req, &resp);
		if (r < 0) {
			printf("error: %s: %s\n", strerror(-r), resp.error);
			failed++;
		} else {
			const char *ct = http_response_header(&resp, "Content-Type");

			printf("status=%ld len=%zu ms=%ld content-type=%s\n", resp.status,
			       resp.body.len, resp.elapsed_ms, ct ? ct : "-");
			if (body && resp.body.data)
				fwrite(resp.body.data, 1, resp.body.len, stdout);
		}
		http_response_done(&resp);
	}
	return failed ? 1 : 0;
}
