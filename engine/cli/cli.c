/* Shared subcommand helpers (see cli.h). */
#include "cli.h"
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_int(const char *flag, const char *val, long lo, long hi, long *out, dacc_err *e) {
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < lo || v > hi)
        return dacc_fail(e, "%s %s: expected an integer from %ld to %ld", flag, val, lo, hi);
    *out = v;
    return 0;
}

int cli_double(const char *flag, const char *val, double lo, double hi, double *out, dacc_err *e) {
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(v) || v < lo || v > hi)
        return dacc_fail(e, "%s %s: expected a number from %g to %g", flag, val, lo, hi);
    *out = v;
    return 0;
}

const char *cli_value(int argc, char **argv, int *i, const char *flag, int *missing) {
    size_t n = strlen(flag);
    const char *a = argv[*i];
    if (strncmp(a, flag, n)) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n]) return NULL;
    if (*i + 1 >= argc) {
        *missing = 1;
        return NULL;
    }
    return argv[++*i];
}

int cli_load_mnist(const char *data_dir, dacc_images *train, dacc_images *test, char *dir_out,
                   size_t dir_len, dacc_err *e) {
    char dir[4096];
    if (dacc_data_resolve(data_dir, 1, dir, sizeof dir, e)) return -1;
    if (dir_out) snprintf(dir_out, dir_len, "%s", dir);
    return dacc_mnist_load(dir, train, test, e);
}

int cli_error(const char *cmd, int code, const dacc_err *e) {
    fprintf(stderr, "dacc %s: %s\n", cmd, e->msg);
    return code;
}
