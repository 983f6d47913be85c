/*
 * libFuzzer target for addr_parse and addr_cidr_parse: the bytes as a C
 * string.  Never a crash, a reason with every refusal, and an address that
 * parses prints as a spec that parses back to the same address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addr(const char *spec)
{
	char err[128] = "", name[ADDR_NAMELEN];
	struct addr a, b;

	if (addr_parse(spec, &a, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	addr_name(&a, name, sizeof(name));
	if (addr_parse(name, &b, err, sizeof(err)) != 0 || !addr_equal(&a, &b))
		abort();
}

static void
check_cidr(const char *spec)
{
	char err[128] = "";
	struct cidr c;

	if (addr_cidr_parse(spec, &c, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			abort();
		return;
	}
	if (!(c.family == AF_INET && c.prefix <= 32) &&
	    !(c.family == AF_INET6 && c.prefix <= 128))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec;

	/* An exact-size copy: AddressSanitizer sees a read past the NUL. */
	if ((spec = malloc(size + 1)) == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	check_addr(spec);
	check_cidr(spec);
	free(spec);
	return 0;
}
