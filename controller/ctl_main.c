/* asgswap: blue/green releases of Docker services on EC2 Auto Scaling Groups. */
#include <stdio.h>
#include <string.h>

#include "strutil.h"
#include "banned.h"

static const char usage[] =
        "usage: asgswap [--region R] [--profile P] [--endpoint-url URL] [--output text|json]\n"
        "               [--dry-run] [--verbose] [--quiet] [--no-color] COMMAND ...\n"
        "\n"
        "commands:\n"
        "  status   [IMAGE] [--prefix P]\n"
        "  deploy   IMAGE VERSION [--prefix P] [--timeout S] [--poll S] [--finalize-first] "
        "[--force]\n"
        "  rollback IMAGE [--prefix P] [--timeout S] [--poll S]\n"
        "  finalize IMAGE [--prefix P] [--timeout S]\n"
        "  unlock   IMAGE [--prefix P]\n"
        "  help [COMMAND]\n";

int main(int argc, char **argv)
{
	if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "help"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc == 2 && streq(argv[1], "--version")) {
		printf("asgswap %s\n", ASGSWAP_VERSION);
		return 0;
	}
	fputs(usage, stderr);
	fprintf(stderr, "asgswap: error: commands are not implemented yet\n");
	return 2;
}
