/* Shared pieces of the subcommands: loading MNIST the same way everywhere
 * and printing runtime errors. Flags are parsed by flags.h. */
#ifndef DACC_CLI_H
#define DACC_CLI_H
#include "dacc/align.h"
#include "dacc/data.h"
#include "dacc/err.h"
#include <stddef.h>

/* MNIST from --data DIR or the cache (fetching it when missing). */
int cli_load_mnist(const char *data_dir, dacc_images *train, dacc_images *test, char *dir_out,
                   size_t dir_len, dacc_err *e);
/* The class model of augment=align, found as the AlignMNIST generator finds
 * it (dacc_align_model_ensure: model_file if not NULL, else the cache, the
 * shipped model if it matches train, else a fit, cached). path gets its file. */
int cli_augment_model(const char *model_file, const dacc_images *train, int threads, dacc_align_model *m,
                      char *path, size_t path_len, dacc_err *e);
/* Prints "dacc <cmd>: <message>" to stderr and returns code. */
int cli_error(const char *cmd, int code, const dacc_err *e);

#endif
