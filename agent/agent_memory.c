/* What the agent gives back once the boot is done and only supervision is left (the
 * memory budget of a supervising agent). */
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"
#include "banned.h"

/* GnuTLS is in the process only because Debian's libcurl links librtmp, which links it; curl
 * itself uses OpenSSL and the agent allows no protocol but http and https. Its library
 * constructor would still initialise it (ASN.1 trees, random generator, priority strings:
 * about 1 MiB of touched pages) unless this weak hook of libgnutls (global.c, the override
 * GnuTLS's own tests/global-init-override.c exercises) says to skip that. */
int _gnutls_global_init_skip(void);
int _gnutls_global_init_skip(void)
{
	return 1;
}

struct range {
	uintptr_t start, end;
};

struct release {
	uintptr_t page;
	struct range *ranges;
	size_t n, allocated;
};

static bool has_text_relocations(const struct dl_phdr_info *info)
{
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_DYNAMIC)
			continue;
		for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + ph->p_vaddr);
		     d->d_tag != DT_NULL; d++)
			if (d->d_tag == DT_TEXTREL ||
			    (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL)))
				return true;
	}
	return false;
}

/* Collects the read-only segments of a loaded object. Those pages are never written
 * (relocations write only to PF_W segments, RELRO included; objects with text relocations
 * are skipped), so MADV_DONTNEED on them gives back exactly the file's contents. Rounding is
 * inward: no page of a neighbouring writable segment is included. */
static int collect_object(struct dl_phdr_info *info, size_t size, void *userdata)
{
	struct release *rel = userdata;

	(void)size;
	if (info->dlpi_name && strstr(info->dlpi_name, "linux-vdso"))
		return 0;
	if (has_text_relocations(info))
		return 0;
	for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t start, end;

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
			continue;
		start = (info->dlpi_addr + ph->p_vaddr + rel->page - 1) & ~(rel->page - 1);
		end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz) & ~(rel->page - 1);
		if (end <= start)
			continue;
		if (rel->n == rel->allocated) {
			size_t k = rel->allocated ? rel->allocated * 2 : 64;
			struct range *n = reallocarray(rel->ranges, k, sizeof(*n));

			if (!n)
				return 1; /* out of memory: what was collected is released */
			rel->ranges = n;
			rel->allocated = k;
		}
		rel->ranges[rel->n++] = (struct range){ start, end };
	}
	return 0;
}

static size_t dontneed(uintptr_t start, uintptr_t end)
{
	if (end <= start || madvise((void *)start, end - start, MADV_DONTNEED) < 0)
		return 0;
	return end - start;
}

#define PAGEMAP_PRESENT (1ULL << 63)
#define PAGEMAP_FILE    (1ULL << 61) /* or shared anonymous */
#define PAGEMAP_CHUNK   512          /* entries per read */

/* Releases [start, end) but for its private anonymous pages: a page of a read-only segment
 * that is no longer the file's (a debugger's breakpoint, a uprobe) is never thrown away.
 * Stops at the first page whose state cannot be read. */
static size_t release_range(int pagemap, uintptr_t page, uintptr_t start, uintptr_t end)
{
	uint64_t e[PAGEMAP_CHUNK];
	uintptr_t run = start, a = start;
	size_t bytes = 0;

	while (a < end) {
		size_t want = (end - a) / page < PAGEMAP_CHUNK ? (end - a) / page : PAGEMAP_CHUNK;
		ssize_t n =
		        pread(pagemap, e, want * sizeof(e[0]), (off_t)(a / page * sizeof(e[0])));

		if (n <= 0 || n % (ssize_t)sizeof(e[0]) != 0)
			return bytes + dontneed(run, a);
		for (size_t i = 0; i < (size_t)n / sizeof(e[0]); i++, a += page)
			if ((e[i] & PAGEMAP_PRESENT) && !(e[i] & PAGEMAP_FILE)) {
				bytes += dontneed(run, a);
				run = a + page;
			}
	}
	return bytes + dontneed(run, end);
}

size_t agent_release_boot_memory(void)
{
	long page = sysconf(_SC_PAGESIZE);
	struct release rel = { .page = page > 0 ? (uintptr_t)page : 4096 };
	size_t bytes = 0;
	int pagemap;

	(void)dl_iterate_phdr(collect_object, &rel);
	/* Released only once every program header has been read: reading one after its page
	 * went would fault it (and its neighbours) straight back in. */
	pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pagemap >= 0) {
		for (size_t i = 0; i < rel.n; i++)
			bytes += release_range(pagemap, rel.page, rel.ranges[i].start,
			                       rel.ranges[i].end);
		close(pagemap);
	}
	free(rel.ranges);
	/* The heap's free pages: the boot's parsed documents, regex and transfer buffers. */
	(void)malloc_trim(0);
	return bytes;
}
