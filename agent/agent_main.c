/* asgswap-agent: boots an instance into the Docker image version its group names. */
#include <stdio.h>
#include <string.h>

#include "strutil.h"
#include "banned.h"

static const char usage[] =
        "usage: asgswap-agent [--config FILE] [--once] [--verbose] | --help | --version\n";

int main(int argc, char **argv)
{
	if (argc == 2 && streq(argv[1], "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 2 && streq(argv[1], "--version")) {
		printf("asgswap-agent %s\n", ASGSWAP_VERSION);
		return 0;
	}
	fputs(usage, stderr);
	fprintf(stderr, "asgswap-agent: error: not implemented yet\n");
	return 2;
}
