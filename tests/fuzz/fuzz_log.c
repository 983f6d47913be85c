/*
 * libFuzzer target for log_escape: the first two bytes are the output size,
 * the rest the client bytes.  The output is a buffer of exactly that size,
 * so AddressSanitizer sees any write past it; it must end in a NUL and hold
 * nothing a terminal or a log reader could take for a control byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t outsize, used, n;
	char *out;

	if (size < 2)
		return 0;
	outsize = (size_t)data[0] << 8 | data[1];
	data += 2;
	size -= 2;
	if ((out = malloc(outsize == 0 ? 1 : outsize)) == NULL)
		return 0;
	used = log_escape(data, size, out, outsize);
	if (used > size)
		abort();
	if (outsize == 0) {
		free(out);
		return 0;
	}
	if ((n = strnlen(out, outsize)) == outsize)
		abort(); /* not NUL-terminated */
	for (size_t i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			abort();
	/* Every byte escapes to at most 4, so a big enough buffer takes all. */
	if (outsize > 4 * size && used != size)
		abort();
	free(out);
	return 0;
}
