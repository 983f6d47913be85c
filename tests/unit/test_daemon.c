/* daemon.c: who the workers run as (daemon_worker_ids, daemon_worker_user),
 * with what it logs read back from a temporary log file. */
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "unit.h"

static char log_path[] = "/tmp/preforkd-unit-daemon.XXXXXX";

/* Whether the log has said text since the last call, which empties it. */
static bool
logged(const char *text)
{
	char buf[4096];
	FILE *f = fopen(log_path, "r");
	size_t n = f != NULL ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f != NULL)
		fclose(f);
	buf[n] = '\0';
	if (truncate(log_path, 0) == -1)
		return false;
	return strstr(buf, text) != NULL;
}

static void
test_as_root(void)
{
	struct passwd *nobody = getpwnam(DAEMON_DEFAULT_USER);
	struct group *daemon_group = getgrnam("daemon");
	char notice[160];
	bool change = false;
	uid_t uid = 1;
	gid_t gid = 1;

	if (nobody == NULL || daemon_group == NULL) {
		CHECK(true, "# SKIP no user nobody or group daemon");
		return;
	}
	snprintf(notice, sizeof(notice),
	    "user is not set: workers run as nobody (uid %ld, gid %ld); "
	    "user = \"root\" keeps them root",
	    (long)nobody->pw_uid, (long)nobody->pw_gid);
	CHECK(daemon_worker_ids(NULL, NULL, &change, &uid, &gid) == 0 &&
	          change && uid == nobody->pw_uid && gid == nobody->pw_gid,
	    "worker ids: user not set, a root master's workers are nobody");
	CHECK(!logged("user is not set"),
	    "worker ids: said only once they are taken, not while deciding");
	daemon_worker_ids_log(NULL, change, uid, gid);
	CHECK(logged(notice), "worker ids: and then said, at start and at "
	                      "each reload");
	CHECK(daemon_worker_ids("root", "daemon", &change, &uid, &gid) == 0 &&
	          change && uid == 0 && gid == daemon_group->gr_gid,
	    "worker ids: user = root is honoured, with its group");
	daemon_worker_ids_log("root", change, uid, gid);
	CHECK(!logged("user is not set"), "worker ids: no notice then");
	CHECK(daemon_worker_ids("no-such-user-pf", NULL, &change, &uid, &gid) ==
	              -1 &&
	          logged("user \"no-such-user-pf\": no such user"),
	    "worker ids: an unknown user is named");
	CHECK(daemon_worker_user(NULL, "no-such-group-pf", &uid, &gid) == -1 &&
	          logged("group \"no-such-group-pf\": no such group"),
	    "worker user: an unknown group is named");
}

static void
test_not_root(void)
{
	bool change = true;
	uid_t uid = 1;
	gid_t gid = 1;

	CHECK(daemon_worker_ids("root", "daemon", &change, &uid, &gid) == 0 &&
	          !change && uid == 0 && gid == 0,
	    "worker ids: not root, the workers keep the master's identity");
	CHECK(logged("not started as root: ignoring user root and group "
	             "daemon"),
	    "worker ids: and user and group are said to be ignored");
}

void
test_daemon(void)
{
	int fd = mkstemp(log_path);

	if (fd == -1) {
		CHECK(false, "temporary log file");
		return;
	}
	close(fd);
	if (log_open(log_path, LOG_LEVEL_NOTICE) == -1) {
		CHECK(false, "log to the temporary file");
		unlink(log_path);
		return;
	}
	if (getuid() == 0)
		test_as_root();
	else
		test_not_root();
	log_close();
	unlink(log_path);
}
