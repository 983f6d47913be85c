/* Cheap random numbers for jitter and lengths: not for secrets. */
#ifndef PREFORKD_RAND_H
#define PREFORKD_RAND_H

#include <stdint.h>

/*
 * The next number of a small generator (xorshift32) whose state the
 * caller keeps, 0 to begin with: it is then seeded from getrandom(), or
 * from the clock and pid before the kernel has entropy.  The caller picks
 * where the state lives: the master's in memory fork() leaves out (a
 * write per spawn would otherwise copy a page into every worker), a
 * worker's in its own, zero after fork(), so that workers forked from one
 * master do not all draw the same numbers.  Never fails.  Predictable to
 * anyone who sees a few outputs: never use it for a secret.
 */
uint32_t rand_u32(uint32_t *state);

#endif
