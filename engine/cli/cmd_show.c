/* dacc show: one digit and its AlignMNIST transformations as ASCII art, side
 * by side, from a given file or from the default generated sets. */
#include "cli.h"
#include "flags.h"
#include "commands.h"
#include "dacc/align.h"
#include "dacc/alignmnist.h"
#include "dacc/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const flag_use show_flags[] = {
    {F_INDEX, NULL, NULL, NULL, 0},
    {F_SPLIT, NULL, NULL, NULL, 0},
    {F_FILE, NULL, NULL, NULL, 0},
    {F_BLOCKS, "transformations to show (at most what the file has)", NULL, "B", 0},
    {F_DATA, "MNIST IDX files from DIR instead of the cache", NULL, NULL, 0},
    {F_SEED, "sampling seed of the generated set", NULL, NULL, 0},
    {F_SCALE, "sample scale of the generated set", NULL, NULL, 0},
    {F_FULL, NULL, NULL, NULL, 0},
    {F_HELP, NULL, NULL, NULL, 0},
};

static const flag_command show_cmd = {
    "show",
    "usage: dacc show [--index I] [--split train|test] [--file alignmnist.npz]\n"
    "                 [--blocks B] [--data DIR] [--seed S] [--scale s] [--full]",
    "Prints digit I of an AlignMNIST-layout file and its transformations (blocks\n"
    "1..B) side by side as ASCII art (plain text, 10 grey levels \" .:-=+*#%@\").\n"
    "Without --file, the default generated set of --split is used (made first if\n"
    "it is not in the cache, as `dacc align` would, with --seed and --scale).\n",
    show_flags, sizeof show_flags / sizeof show_flags[0],
    "exit codes: 0 ok, 1 runtime error, 2 usage error\n", 0, NULL};

static const char RAMP[] = " .:-=+*#%@";

/* The rows and columns with ink in any of the shown images, plus a margin
 * of one; everything when there is no ink. */
static void ink_box(const uint8_t *img, int shown, int R, int C, int box[4]) {
    int c0 = C, c1 = -1, r0 = R, r1 = -1;
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
    box[0] = r0 > 0 ? r0 - 1 : 0;
    box[1] = r1 < R - 1 ? r1 + 1 : R - 1;
    box[2] = c0 > 0 ? c0 - 1 : 0;
    box[3] = c1 < C - 1 ? c1 + 1 : C - 1;
}

/* The shown images side by side, rows box[0]..box[1], columns box[2]..box[3],
 * under a header naming each. */
static void draw(const uint8_t *img, int shown, int R, int C, const int box[4]) {
    int w = box[3] - box[2] + 1;
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
    for (int r = box[0]; r <= box[1]; r++) {
        k = 0;
        for (int b = 0; b < shown; b++) {
            for (int c = box[2]; c <= box[3] && k + 3 < sizeof line; c++)
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
}

/* Reads image index of blocks 0..blocks of path and draws them. */
static int show_file(const char *path, const dacc_images *base, const flag_values *v, dacc_err *e) {
    long index = (long)v->i[F_INDEX], blocks = (long)v->i[F_BLOCKS];
    int split = (int)v->i[F_SPLIT];
    dacc_alignmnist *a = NULL;
    if (dacc_alignmnist_open(path, base, &a, e)) return -1;
    int nb = dacc_alignmnist_blocks(a), R = dacc_alignmnist_rows(a), C = dacc_alignmnist_cols(a);
    if (blocks > nb - 1) blocks = nb - 1;
    int shown = (int)blocks + 1, rc = -1;
    uint8_t *img = malloc((size_t)shown * R * C), label = 0;
    if (!img) dacc_fail(e, "out of memory");
    for (int b = 0; img && b < shown; b++)
        if (dacc_alignmnist_read(a, b, index, 1, img + (size_t)b * R * C, &label, e)) goto out;
    if (img) {
        int box[4] = {0, R - 1, 0, C - 1};
        if (!v->set[F_FULL]) ink_box(img, shown, R, C, box);
        printf("%s: %s image %ld, label %d; block 0 = original, then blocks 1..%d\n", path,
               split ? "test" : "train", index, label, shown - 1);
        draw(img, shown, R, C, box);
        dacc_disp_stats ds;
        dacc_err e2;
        int have = dacc_alignmnist_displacement(a, &ds, &e2);
        if (have < 0) fprintf(stderr, "dacc show: %s\n", e2.msg);
        if (have == 0) dacc_disp_stats_print(&ds, "");
        if (have == 1)
            printf("(no recorded displacement statistics; dacc align --measure %s estimates them)\n", path);
        rc = 0;
    }
out:
    free(img);
    dacc_alignmnist_close(a);
    return rc;
}

int cmd_show(int argc, char **argv) {
    flag_values v;
    int code = flags_parse(&show_cmd, argc, argv, &v);
    if (code >= 0) return code;
    int split = (int)v.i[F_SPLIT];
    dacc_align_options o;
    dacc_align_options_default(&o);
    o.seed = (uint64_t)v.i[F_SEED];
    o.scale = v.r[F_SCALE];
    dacc_images train = {0}, test = {0};
    char mnist[4096], path[4096];
    dacc_err e;
    if (cli_load_mnist(v.s[F_DATA], &train, &test, mnist, sizeof mnist, &e)) return cli_error("show", 1, &e);
    const dacc_images *base = split ? &test : &train;
    if (v.i[F_INDEX] >= base->n) {
        code = flags_usage_error(&show_cmd, "--index: %lld is out of range (expected below %lld, the size of the %s split)",
                                 v.i[F_INDEX], (long long)base->n, split ? "test" : "train");
    } else if (v.s[F_FILE]) {
        snprintf(path, sizeof path, "%s", v.s[F_FILE]);
    } else {
        if (v.i[F_BLOCKS] > o.blocks) o.blocks = (int)v.i[F_BLOCKS];
        if (dacc_alignmnist_ensure(&o, &train, &test, split ? NULL : path, split ? path : NULL, sizeof path, &e))
            code = cli_error("show", 1, &e);
    }
    if (code < 0) code = show_file(path, base, &v, &e) ? cli_error("show", 1, &e) : 0;
    dacc_images_free(&train);
    dacc_images_free(&test);
    return code;
}
