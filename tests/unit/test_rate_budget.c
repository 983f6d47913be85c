/* limit.c: rate budgets (log_data_rate, refusal_log_rate, udp_rate) and
 * the per-source table of udp_rate. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "addr.h"
#include "limit.h"
#include "unit.h"

/* How many of n items of cost taken 1 ms apart from start pass. */
static unsigned
passed(struct rate_budget *b, unsigned long long limit, long long start,
    unsigned n, unsigned long long cost)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += limit_rate_take(b, limit, start + i, cost) == RATE_TAKE;
	return ok;
}

static void
budget_periods(void)
{
	struct rate_budget b = { .start = 0 };
	struct rate_tally t = { .items = 0 };
	unsigned cuts = 0;

	CHECK(passed(&b, 0, 5000, 100000, 1) == 100000 &&
	          !limit_rate_report(&b, 5000, &t),
	    "limit 0: no bound, nothing to report");
	memset(&b, 0, sizeof(b));
	CHECK(passed(&b, 10, 5000, 500, 1) == 10,
	    "10 a second: 10 of 500 items in half a second");
	CHECK(limit_rate_report(&b, 5600, &t) && t.items == 490 &&
	          t.units == 490 && t.seconds == 1,
	    "the report counts the 490 refused, over 1 s");
	CHECK(!limit_rate_report(&b, 5600, &t), "... once");
	CHECK(limit_rate_take(&b, 10, 5999, 1) == RATE_DROP,
	    "still the same period: refused quietly, the cut was said");
	CHECK(limit_rate_take(&b, 10, 6000, 1) == RATE_TAKE,
	    "a period later the budget is full again");
	memset(&b, 0, sizeof(b));
	for (long long now = 10000; now < 20000; now++)
		cuts += limit_rate_take(&b, 5, now, 1) == RATE_CUT;
	CHECK(cuts == 10, "ten seconds of flood: one cut a second");
	CHECK(limit_rate_report(&b, 20000, &t) && t.items == 10000 - 50 &&
	          t.seconds == 10,
	    "... 50 taken, the rest in one report over 10 s");
	memset(&b, 0, sizeof(b));
	CHECK(passed(&b, 4096, 30000, 100, 1024) == 4,
	    "bytes: 4 lines of 1024 in a budget of 4096");
	memset(&b, 0, sizeof(b));
	CHECK(passed(&b, 1000, 30000, 10, 4000) == 1,
	    "an item over the whole budget still passes once a period");
	CHECK(limit_rate_report(&b, 31000, &t) && t.units == 9 * 4000,
	    "... and the units refused are counted");
	memset(&b, 0, sizeof(b));
	CHECK(limit_rate_take(&b, 1, 3000, 1) == RATE_TAKE &&
	          limit_rate_take(&b, 1, 2000, 1) == RATE_TAKE,
	    "a clock that went back starts a period, never a wedge");
}

static struct addr_source
ipv4(uint32_t host)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct addr_source s;

	sin.sin_addr.s_addr = htonl(host);
	addr_source_of((const struct sockaddr *)&sin, 64, &s);
	return s;
}

static void
source_table(void)
{
	static struct rate_sources t; /* 20 KiB: not on the stack */
	struct addr_source a = ipv4(0x7f000001), none = { .family = 0 };
	struct rate_budget *first, *again;
	unsigned ok = 0, survived = 1;

	memset(&t, 0, sizeof(t));
	t.seed = 12345;
	CHECK(limit_source_budget(&t, &none) == NULL,
	    "a sender with no address has no budget");
	first = limit_source_budget(&t, &a);
	again = limit_source_budget(&t, &a);
	CHECK(first != NULL && first == again, "one source, one budget");
	for (int i = 0; i < 1000; i++)
		ok += limit_rate_take(limit_source_budget(&t, &a), 200,
		          2000 + i, 1) == RATE_TAKE;
	CHECK(ok == 200, "udp_rate 200: 200 of 1000 in one second");
	/* A flood of other sources, with a between each two: a stays the
	 * most recently seen of its set, so it keeps its budget. */
	for (uint32_t i = 0; i < 100000; i++) {
		struct addr_source other = ipv4(0x0a000000 + i);
		limit_source_budget(&t, &other);
		survived &= limit_rate_take(limit_source_budget(&t, &a), 200,
		                2500, 1) != RATE_TAKE;
	}
	CHECK(survived, "100000 other sources do not refill a busy source");
	CHECK(limit_rate_take(limit_source_budget(&t, &a), 200, 3000, 1) ==
	          RATE_TAKE,
	    "... and a second later it is served again");
}

void
test_rate_budget(void)
{
	budget_periods();
	source_table();
}
