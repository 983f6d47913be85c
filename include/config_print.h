/* Printing a parsed configuration (-T); for the config room only. */
#ifndef PREFORKD_CONFIG_PRINT_H
#define PREFORKD_CONFIG_PRINT_H

#include <confuse.h>
#include <stdio.h>

/* Print every option of cfg, defaults included, in the config file's own
 * syntax, strings escaped so that the output parses back to the same.  A
 * service whose from[i] (i < nfrom) is not the main file is preceded by a
 * comment naming the file it was read from. */
void config_print_tree(cfg_t *cfg, FILE *out, const char *const *from,
    size_t nfrom, const char *main);

#endif
