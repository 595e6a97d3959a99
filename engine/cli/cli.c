/* Shared subcommand helpers (see cli.h). */
#include "cli.h"
#include <stdio.h>

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
