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

int cli_augment_model(const char *model_file, const dacc_images *train, int threads, dacc_align_model *m,
                      char *path, size_t path_len, dacc_err *e) {
    dacc_align_options o;
    dacc_align_options_default(&o);
    o.class_model = model_file;
    o.threads = threads;
    o.verbose = 1;
    if (dacc_align_model_ensure(&o, train, m, path, path_len, e))
        return dacc_fail_wrap(e, "augment=align: class model");
    if (m->rows != 28 || m->cols != 28) {
        dacc_align_model_free(m);
        return dacc_fail(e, "augment=align: %s is a class model for %dx%d images, MNIST is 28x28", path,
                         m->rows, m->cols);
    }
    return 0;
}
