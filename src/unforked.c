/* Memory of the master's own that fork() leaves out of every worker. */
#include <sys/mman.h>

#include "unforked.h"

void *
unforked_alloc(size_t size)
{
	void *p;

	if (size == 0)
		size = 1;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Only fails for mappings it does not apply to: not this one. */
	(void)madvise(p, size, MADV_DONTFORK);
	return p;
}

void
unforked_free(void *p, size_t size)
{
	if (p != NULL)
		munmap(p, size == 0 ? 1 : size);
}
