/*
 * libFuzzer target for the config file: the input is a whole file, read
 * through the path preforkd -t takes (config_text_read, the comments blanked
 * by config_text_strip_comments, config_scan's structural checks, then
 * libconfuse and the validators), and released with config_free, so a leak
 * anywhere on the way is a finding.  The file lives in a memfd, reached by
 * /proc/self/fd/N: nothing touches the disk.
 *
 * A file that loads must also print (-T) to text that loads again and prints
 * the same: config_print promises output that config_load reads back to the
 * same values.  But for the "# from FILE" line before a service an include
 * brought in (an input may include a file of the machine's): the text
 * printed has no include, so its print has no such line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct memfile {
	int fd;
	char path[64];
};

/* A fresh memfd holding len bytes of data; exits when the system fails. */
static void
memfile_write(struct memfile *f, const void *data, size_t len)
{
	const char *p = data;

	if ((f->fd = memfd_create("preforkd.conf", MFD_CLOEXEC)) == -1) {
		perror("memfd_create");
		exit(2);
	}
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
	while (len > 0) {
		ssize_t n = write(f->fd, p, len);
		if (n <= 0) {
			perror("write memfd");
			exit(2);
		}
		p += n;
		len -= (size_t)n;
	}
}

/* What config_print makes of the file f: a malloc'd string, or NULL. */
static char *
print_of(const struct memfile *f, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);
	int rc;

	if (out == NULL)
		exit(2);
	rc = config_print(f->path, out);
	fclose(out);
	if (rc == -1) {
		free(text);
		return NULL;
	}
	return text;
}

/* Drop the "# from FILE" lines of text, in place; its new length. */
static size_t
drop_origins(char *text, size_t len)
{
	static const char from[] = "# from ";
	size_t in = 0, out = 0;

	while (in < len) {
		char *nl = memchr(text + in, '\n', len - in);
		size_t n =
		    nl != NULL ? (size_t)(nl - (text + in)) + 1 : len - in;
		if (n < sizeof(from) - 1 ||
		    memcmp(text + in, from, sizeof(from) - 1) != 0) {
			memmove(text + out, text + in, n);
			out += n;
		}
		in += n;
	}
	return out;
}

/* print(load(print(file))) must be print(file). */
static void
check_round_trip(const struct memfile *f)
{
	struct memfile again;
	size_t len1, len2;
	char *first = print_of(f, &len1), *second;

	if (first == NULL)
		abort(); /* config_load took it, config_print did not */
	len1 = drop_origins(first, len1);
	memfile_write(&again, first, len1);
	if ((second = print_of(&again, &len2)) == NULL) {
		fprintf(stderr, "printed config rejected:\n%s\n", first);
		abort();
	}
	if (len1 != len2 || memcmp(first, second, len1) != 0) {
		fprintf(stderr, "printed twice, differs:\n%s\n---\n%s\n", first,
		    second);
		abort();
	}
	close(again.fd);
	free(first);
	free(second);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init();
	/* Every message is still formatted, then dropped. */
	if (log_open("/dev/null", LOG_LEVEL_DEBUG) == -1) {
		perror("/dev/null");
		exit(2);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memfile f;
	struct config *conf;

	memfile_write(&f, data, size);
	if ((conf = config_load(f.path)) != NULL) {
		config_slots_needed(conf);
		for (size_t i = 0; i < conf->nservices; i++)
			if (config_service(conf, conf->services[i].name) !=
			    &conf->services[i])
				abort(); /* two services of one name */
		config_free(conf);
		check_round_trip(&f);
	}
	close(f.fd);
	return 0;
}
