/* Memory of the master's own that fork() leaves out of every worker, and
 * the statics a worker writes, gathered on a page of their own. */
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

/*
 * A static a worker writes after fork() (or may write: its role, its
 * listeners, its flags, its caches of the time and of its client).  A page
 * a worker writes becomes its own copy, so statics spread over .data and
 * .bss cost a private page in every worker for each page they fall on;
 * gathered in one section (src/worker_data.ld puts it on pages of its
 * own, after .data) they cost one.  A static only the master writes may
 * be here too, at no cost to the workers: they copy the page anyway.
 * Large buffers stay out, and so do statics only one protocol's workers
 * write, or the page would not hold the rest.
 */
#define WORKER_DATA __attribute__((section("preforkd_worker")))

#endif
