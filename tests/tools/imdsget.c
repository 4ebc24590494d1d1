/* Drives common/imds.c for the integration tests: GETs each path in turn on one client
 * (so token reuse and renewal show), printing "PATH: BODY" or "PATH: error: REASON". */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "imds.h"
#include "banned.h"

int main(int argc, char **argv)
{
	_cleanup_(http_client_freep) struct http_client *http = NULL;
	_cleanup_(imds_client_freep) struct imds_client *imds = NULL;
	int failed = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: imdsget PATH...\n");
		return 2;
	}
	if (http_client_new(&http) < 0 || imds_client_new(http, &imds) < 0)
		return 1;
	for (int i = 1; i < argc; i++) {
		_cleanup_free_ char *body = NULL;
		int r = imds_get(imds, argv[i], &body);

		if (r < 0) {
			printf("%s: error: %s\n", argv[i], strerror(-r));
			failed++;
		} else {
			printf("%s: %s\n", argv[i], body);
		}
	}
	return failed ? 1 : 0;
}
