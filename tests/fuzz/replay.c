/*
 * Replays a fuzz target's corpus and regression inputs without libFuzzer, so that `make
 * check` (gcc, valgrind, sanitizers) runs every input ever kept. Without arguments it reads
 * tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME under $ASGSWAP_TOP (or here).
 * Usage: test_fuzz_NAME [DIR...]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "strutil.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int read_file(const char *path, struct buf *b)
{
	char chunk[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		r = n < 0 ? -errno : buf_append(b, chunk, (size_t)n);
		if (r < 0)
			break;
	}
	close(fd);
	return r;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static unsigned replay_dir(const char *dir, unsigned *bad)
{
	struct dirent **list = NULL;
	int count = scandir(dir, &list, NULL, by_name);
	unsigned n = 0;

	for (int j = 0; j < count; j++) {
		_cleanup_free_ char *path = NULL;
		struct buf b;

		if (list[j]->d_name[0] != '.' &&
		    asprintf(&path, "%s/%s", dir, list[j]->d_name) >= 0) {
			buf_init(&b, (size_t)64 << 20);
			if (read_file(path, &b) == 0) {
				LLVMFuzzerTestOneInput((const uint8_t *)(b.data ? b.data : ""),
				                       b.len);
				n++;
			} else {
				(void)fprintf(stderr, "%s: unreadable\n", path);
				(*bad)++;
			}
			buf_free(&b);
		}
		free(list[j]);
	}
	free(list);
	return n;
}

int main(int argc, char **argv)
{
	const char *top = getenv("ASGSWAP_TOP");
	unsigned n = 0, bad = 0;

	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			n += replay_dir(argv[i], &bad);
	} else {
		static const char *const kinds[] = { "corpus", "regressions" };

		for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
			_cleanup_free_ char *dir = NULL;

			if (asprintf(&dir, "%s/tests/fuzz/%s/%s", top ? top : ".", kinds[i],
			             FUZZ_NAME) < 0)
				return 1;
			n += replay_dir(dir, &bad);
		}
	}
	/* One check per target: every kept input ran without a crash or a sanitizer report. */
	printf("1..1\n%s 1 - %s: %u inputs replayed\n", n && !bad ? "ok" : "not ok", FUZZ_NAME, n);
	return n && !bad ? 0 : 1;
}
