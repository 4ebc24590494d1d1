/* asgswap-agent: boots an instance into the Docker image version its group names. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "notify.h"
#include "strutil.h"
#include "banned.h"

static const char usage[] =
        "usage: asgswap-agent [--config FILE] [--once] [--verbose] | --help | --version\n"
        "\n"
        "Finds this instance's Auto Scaling group, reads the group's image name and version\n"
        "tags, pulls and runs that image, waits until it is healthy and reports readiness\n"
        "(systemd and the group's launch lifecycle hook).\n"
        "\n"
        "  --config FILE  configuration file (default " AGENT_CONFIG_DEFAULT ")\n"
        "  --once         exit 0 once the container is ready instead of supervising it\n"
        "  --verbose      log every AWS call and Docker step\n"
        "\n"
        "Exit codes: 0 ready (--once) or clean stop, 1 failed, 2 usage or configuration,\n"
        "3 the tags never appeared within tag_timeout.\n";

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "once", no_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      {},
	};
	_cleanup_free_ char *error = NULL;
	const char *config = AGENT_CONFIG_DEFAULT;
	bool explicit_config = false, once = false, verbose = false;
	struct agent_config *cfg = NULL;
	struct agent a;
	int c, r;

	log_setup("asgswap-agent");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) >= 0) {
		switch (c) {
		case 'c':
			config = optarg;
			explicit_config = true;
			break;
		case 'o':
			once = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			(void)fputs(usage, stdout);
			return 0;
		case 'V':
			printf("asgswap-agent %s\n", ASGSWAP_VERSION);
			return 0;
		default:
			(void)fputs(usage, stderr);
			return AGENT_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		(void)fputs(usage, stderr);
		return AGENT_EXIT_USAGE;
	}
	if (verbose)
		log_set_max_level(LOG_DEBUG);

	r = agent_config_load(config, explicit_config, &cfg, &error);
	if (r < 0) {
		if (r == -ENOMEM)
			log_error("out of memory");
		else
			log_error("configuration: %s", error ? error : strerror(-r));
		(void)notify_sendf("STATUS=configuration error\nERRNO=%d", -r);
		return AGENT_EXIT_USAGE;
	}
	r = agent_init(&a, cfg, once, verbose);
	if (r < 0) {
		agent_config_free(cfg);
		(void)notify_sendf("STATUS=failed to start\nERRNO=%d", -r);
		return AGENT_EXIT_USAGE;
	}
	r = agent_run(&a);
	agent_done(&a);
	return r;
}
