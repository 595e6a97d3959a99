/* dacc show: one digit and its AlignMNIST transformations as ASCII art, side
 * by side, from a given file or from the default generated sets. */
#include "cli.h"
#include "commands.h"
#include "dacc/align.h"
#include "dacc/alignmnist.h"
#include "dacc/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void show_help(FILE *f) {
    fprintf(f,
            "usage: dacc show [--index I] [--split train|test] [--file alignmnist.npz]\n"
            "                 [--blocks B] [--data DIR] [--seed S] [--scale s] [--full]\n"
            "\n"
            "Prints digit I of an AlignMNIST-layout file and its transformations (blocks\n"
            "1..B) side by side as ASCII art (plain text, 10 grey levels \" .:-=+*#%%@\").\n"
            "Without --file, the default generated set of --split is used (made first if\n"
            "it is not in the cache, as `dacc align` would, with --seed and --scale).\n"
            "\n"
            "options:\n"
            "  --index I      image index within the split (default 0)\n"
            "  --split S      train (60000 images, default) or test (10000)\n"
            "  --file F       an AlignMNIST-layout npz (the released alignmnist.npz, or one\n"
            "                 made by dacc align); block 0 is checked against MNIST --split\n"
            "  --blocks B     transformations to show (default 5, at most what the file has)\n"
            "  --data DIR     MNIST IDX files from DIR instead of the cache\n"
            "  --seed S       sampling seed of the generated set (default 1)\n"
            "  --scale s      sample scale of the generated set (default 1)\n"
            "  --full         all 28 columns (default: crop to the columns with ink)\n"
            "  -h, --help     this text\n"
            "\n"
            "exit codes: 0 ok, 1 runtime error, 2 usage error\n");
}

static const char RAMP[] = " .:-=+*#%@";

int cmd_show(int argc, char **argv) {
    long index = 0, blocks = 5;
    int split = 0, full = 0;
    const char *file = NULL, *data_dir = NULL;
    dacc_align_options o;
    dacc_align_options_default(&o);
    dacc_err e = {{0}};
    for (int i = 1; i < argc; i++) {
        int missing = 0;
        const char *v;
        long n;
        double x;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            show_help(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--full")) {
            full = 1;
        } else if ((v = cli_value(argc, argv, &i, "--index", &missing))) {
            if (cli_int("--index", v, 0, 59999, &index, &e)) return cli_error("show", 2, &e);
        } else if ((v = cli_value(argc, argv, &i, "--blocks", &missing))) {
            if (cli_int("--blocks", v, 1, 75, &blocks, &e)) return cli_error("show", 2, &e);
        } else if ((v = cli_value(argc, argv, &i, "--split", &missing))) {
            if (!strcmp(v, "train")) split = 0;
            else if (!strcmp(v, "test")) split = 1;
            else {
                fprintf(stderr, "dacc show: --split %s: expected train or test\n", v);
                return 2;
            }
        } else if ((v = cli_value(argc, argv, &i, "--file", &missing))) {
            file = v;
        } else if ((v = cli_value(argc, argv, &i, "--data", &missing))) {
            data_dir = v;
        } else if ((v = cli_value(argc, argv, &i, "--seed", &missing))) {
            if (cli_int("--seed", v, 0, 2147483647L, &n, &e)) return cli_error("show", 2, &e);
            o.seed = (uint64_t)n;
        } else if ((v = cli_value(argc, argv, &i, "--scale", &missing))) {
            if (cli_double("--scale", v, 0, 10, &x, &e)) return cli_error("show", 2, &e);
            o.scale = x;
        } else if (missing) {
            fprintf(stderr, "dacc show: %s needs a value (try dacc show --help)\n", argv[i]);
            return 2;
        } else {
            fprintf(stderr, "dacc show: unknown option '%s' (try dacc show --help)\n", argv[i]);
            return 2;
        }
    }

    dacc_images train = {0}, test = {0};
    char mnist[4096], path[4096];
    int rc = 1;
    dacc_alignmnist *a = NULL;
    uint8_t *img = NULL;
    if (cli_load_mnist(data_dir, &train, &test, mnist, sizeof mnist, &e)) return cli_error("show", 1, &e);
    const dacc_images *base = split ? &test : &train;
    if (index >= base->n) {
        fprintf(stderr, "dacc show: --index %ld: the %s split has %lld images\n", index,
                split ? "test" : "train", (long long)base->n);
        rc = 2;
        goto out;
    }
    if (file) {
        snprintf(path, sizeof path, "%s", file);
    } else {
        if (blocks > o.blocks) o.blocks = (int)blocks;
        if (dacc_alignmnist_ensure(&o, &train, &test, split ? NULL : path, split ? path : NULL,
                                   sizeof path, &e)) {
            rc = cli_error("show", 1, &e);
            goto out;
        }
    }
    if (dacc_alignmnist_open(path, base, &a, &e)) {
        rc = cli_error("show", 1, &e);
        goto out;
    }
    int nb = dacc_alignmnist_blocks(a), R = dacc_alignmnist_rows(a), C = dacc_alignmnist_cols(a);
    if (blocks > nb - 1) blocks = nb - 1;
    int shown = (int)blocks + 1;
    img = malloc((size_t)shown * R * C);
    uint8_t label = 0;
    if (!img) {
        fprintf(stderr, "dacc show: out of memory\n");
        goto out;
    }
    for (int b = 0; b < shown; b++)
        if (dacc_alignmnist_read(a, b, index, 1, img + (size_t)b * R * C, &label, &e)) {
            rc = cli_error("show", 1, &e);
            goto out;
        }
    /* crop to the columns and rows with ink in any of the images, plus a margin */
    int c0 = 0, c1 = C - 1, r0 = 0, r1 = R - 1;
    if (!full) {
        c0 = C, c1 = -1, r0 = R, r1 = -1;
        for (int b = 0; b < shown; b++)
            for (int r = 0; r < R; r++)
                for (int c = 0; c < C; c++)
                    if (img[((size_t)b * R + r) * C + c] >= 26) {
                        if (c < c0) c0 = c;
                        if (c > c1) c1 = c;
                        if (r < r0) r0 = r;
                        if (r > r1) r1 = r;
                    }
        if (c1 < 0) c0 = 0, c1 = C - 1, r0 = 0, r1 = R - 1;
        c0 = c0 > 0 ? c0 - 1 : 0;
        c1 = c1 < C - 1 ? c1 + 1 : C - 1;
        r0 = r0 > 0 ? r0 - 1 : 0;
        r1 = r1 < R - 1 ? r1 + 1 : R - 1;
    }
    int w = c1 - c0 + 1;
    printf("%s: %s image %ld, label %d; block 0 = original, then blocks 1..%d\n", path,
           split ? "test" : "train", index, label, shown - 1);
    {
        char line[2048];
        size_t k = 0;
        for (int b = 0; b < shown && k + w + 3 < sizeof line; b++) {
            char head[32];
            snprintf(head, sizeof head, b ? "block %d" : "original", b);
            k += (size_t)snprintf(line + k, sizeof line - k, "%-*s  ", w, head);
        }
        while (k > 0 && line[k - 1] == ' ') k--;
        line[k] = 0;
        printf("%s\n", line);
    }
    for (int r = r0; r <= r1; r++) {
        char line[2048];
        size_t k = 0;
        for (int b = 0; b < shown; b++) {
            for (int c = c0; c <= c1 && k + 3 < sizeof line; c++)
                line[k++] = RAMP[img[((size_t)b * R + r) * C + c] * 10 / 256];
            if (b + 1 < shown && k + 3 < sizeof line) {
                line[k++] = ' ';
                line[k++] = ' ';
            }
        }
        while (k > 0 && line[k - 1] == ' ') k--;
        line[k] = 0;
        printf("%s\n", line);
    }
    {
        dacc_disp_stats ds;
        int have = dacc_alignmnist_displacement(a, &ds, &e);
        if (have < 0) fprintf(stderr, "dacc show: %s\n", e.msg);
        if (have == 0) dacc_disp_stats_print(&ds, "");
        if (have == 1) printf("(no recorded displacement statistics; estimate them with dacc align --measure %s)\n", path);
    }
    rc = 0;
out:
    free(img);
    dacc_alignmnist_close(a);
    dacc_images_free(&train);
    dacc_images_free(&test);
    return rc;
}
