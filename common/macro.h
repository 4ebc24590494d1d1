/* Small macros shared by every file: cleanup attributes, ownership transfer, sizes. */
#ifndef ASGSWAP_MACRO_H
#define ASGSWAP_MACRO_H

#include <stdlib.h>

#define _cleanup_(f)         __attribute__((cleanup(f)))
#define _unused_             __attribute__((unused))
#define _printf_(a, b)       __attribute__((format(printf, a, b)))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand a pointer to the caller and leave NULL behind, so the cleanup does nothing. */
#define TAKE_PTR(p)                         \
	({                                  \
		__typeof__(p) _take_ = (p); \
		(p) = NULL;                 \
		_take_;                     \
	})

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Defines `static inline void funcp(type **p)` calling func(*p) when non-NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			func(*p);               \
	}

/* As above, for a destructor that returns NULL (systemd style). */
#define DEFINE_POINTER_CLEANUP_FUNC(type, func) \
	static inline void func##p(type **p)    \
	{                                       \
		if (*p)                         \
			*p = func(*p);          \
	}

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
