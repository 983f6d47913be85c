/* Memory of the master's own that fork() leaves out of every worker. */
#ifndef PREFORKD_UNFORKED_H
#define PREFORKD_UNFORKED_H

#include <stddef.h>

/*
 * Zeroed memory for size bytes that only the master uses, or NULL (errno
 * set).  A page the master writes after a fork() is copied for it, and the
 * workers forked before keep the old page, one copy per generation of
 * writes: state the master writes once per spawn, allocated the usual way,
 * would leave a private page in every worker.  A worker has no such
 * mapping, so it cannot read it either.
 */
void *unforked_alloc(size_t size);
void unforked_free(void *p, size_t size);

#endif
