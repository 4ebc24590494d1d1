/* Runs a command and writes its wait status and peak RSS to a file, for the integration
 * tests (tests/fixtures/bed.py run_measured):
 *
 *     maxrss OUTFILE PROGRAM [ARG...]   ->  OUTFILE: "status=WSTATUS maxrss_kib=N\n"
 *
 * ru_maxrss of a child forked from Python would count Python's own pages from before the
 * exec; a child forked from this small program counts only its own. Exits with the
 * child's exit code, or 128 + the signal that ended it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "banned.h"

int main(int argc, char **argv)
{
	struct rusage ru;
	FILE *out;
	pid_t pid;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: maxrss OUTFILE PROGRAM [ARG...]\n");
		return 2;
	}
	pid = fork();
	if (pid < 0) {
		perror("maxrss: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "maxrss: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("maxrss: wait4");
			return 2;
		}
	out = fopen(argv[1], "we");
	if (!out || fprintf(out, "status=%d maxrss_kib=%ld\n", status, ru.ru_maxrss) < 0 ||
	    fclose(out) != 0) {
		perror("maxrss: writing the result");
		return 2;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
