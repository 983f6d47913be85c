/*
 * The one small random number generator (xorshift32): max_requests'
 * jitter in the master, the length of a chargen datagram in a worker.
 * Not for secrets.
 */
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "rand.h"

uint32_t
rand_u32(uint32_t *state)
{
	uint32_t x = *state;

	if (x == 0 && getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
		x = (uint32_t)clock_ms() ^ (uint32_t)getpid() << 16;
	if (x == 0)
		x = 1; /* from 0, xorshift would stay at 0 */
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}
