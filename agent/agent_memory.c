/* The agent's memory: what it keeps from being dirtied at all, and what it gives back once
 * the boot is done and only supervision is left. Clean pages of the libraries are left to
 * the kernel, which reclaims them by itself under pressure: dropping them would lower a
 * reading of RSS, not the machine's memory use. */
#include <malloc.h>

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

void agent_release_boot_memory(void)
{
	/* The heap's free pages (the boot's parsed documents, regex and transfer buffers) are
	 * dirty memory that nothing else would return. */
	(void)malloc_trim(0);
}
