/* Shared pieces of the subcommands: option value parsing with errors that
 * name the flag, and loading MNIST the same way everywhere. */
#ifndef DACC_CLI_H
#define DACC_CLI_H
#include "dacc/data.h"
#include "dacc/err.h"
#include <stdint.h>

/* Parse helpers: return 0 or -1 with a message naming flag and value. */
int cli_int(const char *flag, const char *val, long lo, long hi, long *out, dacc_err *e);
int cli_double(const char *flag, const char *val, double lo, double hi, double *out, dacc_err *e);
/* Fetch the value of a flag taking an argument: "--x V" or "--x=V". Returns
 * the value and advances *i, or NULL if argv[*i] is not this flag. Sets
 * *missing when the flag is there without its value. */
const char *cli_value(int argc, char **argv, int *i, const char *flag, int *missing);
/* MNIST from --data DIR or the cache (fetching it when missing). */
int cli_load_mnist(const char *data_dir, dacc_images *train, dacc_images *test, char *dir_out,
                   size_t dir_len, dacc_err *e);
/* Prints "dacc <cmd>: <message>" to stderr and returns code. */
int cli_error(const char *cmd, int code, const dacc_err *e);

#endif
