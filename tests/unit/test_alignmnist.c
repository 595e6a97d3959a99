/* AlignMNIST reader on small hand-built files (base set of 100 images):
 * good files (uint8 stored, float32 deflated), block reads, and each broken
 * structure with an error that says what and where. */
#include "dacc/alignmnist.h"
#include "dacc/npz.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>

enum { BASE = 100, PIX = 28 * 28 };

static const char *tpath(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

/* x: blocks of images (block 0 = base unless mutated by the caller), y f8. */
static int write_set(const char *path, const char *xdtype, int compress, const uint8_t *x,
                     int64_t n, int rows, const double *y, int64_t ny) {
    dacc_err e = {{0}};
    dacc_npz_writer *w;
    if (dacc_npz_writer_open(path, compress, &w, &e)) return -1;
    int64_t sx[3] = {n, rows, 28}, sy[1] = {ny};
    int rc;
    if (!strcmp(xdtype, "<f4")) {
        float *f = malloc((size_t)(n * rows * 28) * sizeof *f);
        for (int64_t i = 0; i < n * rows * 28; i++) f[i] = x[i];
        rc = dacc_npz_writer_add(w, "x", "<f4", 3, sx, f, &e);
        free(f);
    } else {
        rc = dacc_npz_writer_add(w, "x", "|u1", 3, sx, x, &e);
    }
    if (rc || dacc_npz_writer_add(w, "y", "<f8", 1, sy, y, &e)) {
        fprintf(stderr, "write_set: %s\n", e.msg);
        dacc_npz_writer_abort(w);
        return -1;
    }
    return dacc_npz_writer_close(w, &e);
}

static void expect_error(const char *path, const dacc_images *base, const char *w1,
                         const char *w2) {
    dacc_err e = {{0}};
    dacc_alignmnist *a = (dacc_alignmnist *)1;
    int rc = dacc_alignmnist_open(path, base, &a, &e);
    CHECK(rc == -1 && a == NULL, "%s: expected an error", path);
    CHECK(strstr(e.msg, strrchr(path, '/') + 1) != NULL, "error does not name the file: %s",
          e.msg);
    CHECK(strstr(e.msg, w1) != NULL, "error lacks '%s': %s", w1, e.msg);
    CHECK(!w2 || strstr(e.msg, w2) != NULL, "error lacks '%s': %s", w2, e.msg);
    if (rc == 0) dacc_alignmnist_close(a);
}

int main(void) {
    uint64_t rng = test_seed();
    dacc_err e = {{0}};
    const int B = 4; /* blocks including block 0 */
    static uint8_t basepx[BASE * PIX], baselb[BASE];
    for (int i = 0; i < BASE * PIX; i++) basepx[i] = (uint8_t)test_rand_u64(&rng);
    for (int i = 0; i < BASE; i++) baselb[i] = (uint8_t)(test_rand_u64(&rng) % 10);
    dacc_images base = {basepx, baselb, BASE, 28, 28};

    int64_t n = (int64_t)B * BASE;
    uint8_t *x = malloc((size_t)(n * PIX));
    double *y = calloc((size_t)n + 64, sizeof *y); /* slack for the 27-row case */
    memcpy(x, basepx, sizeof basepx);
    for (int64_t i = BASE * PIX; i < n * PIX; i++) x[i] = (uint8_t)test_rand_u64(&rng);
    for (int64_t k = 0; k < n; k++) y[k] = baselb[k % BASE];

    /* good files */
    for (int variant = 0; variant < 2; variant++) {
        const char *p = tpath(variant ? "good-f4-deflate.npz" : "good-u8.npz");
        CHECK(write_set(p, variant ? "<f4" : "|u1", variant, x, n, 28, y, n) == 0, "write");
        dacc_alignmnist *a;
        CHECK(dacc_alignmnist_open(p, &base, &a, &e) == 0, "open %s: %s", p, e.msg);
        if (!a) continue;
        CHECK(dacc_alignmnist_blocks(a) == B && dacc_alignmnist_base(a) == BASE, "blocks %d",
              dacc_alignmnist_blocks(a));
        uint8_t px[10 * PIX], lb[10];
        for (int b = B - 1; b >= 0; b--) {
            CHECK(dacc_alignmnist_read(a, b, 90, 10, px, lb, &e) == 0, "read b%d: %s", b, e.msg);
            CHECK(!memcmp(px, x + ((int64_t)b * BASE + 90) * PIX, sizeof px), "block %d pixels",
                  b);
            CHECK(!memcmp(lb, baselb + 90, 10), "block %d labels", b);
        }
        CHECK(dacc_alignmnist_read(a, B, 0, 1, px, lb, &e) == -1 && strstr(e.msg, "block 4"),
              "block out of range: %s", e.msg);
        CHECK(dacc_alignmnist_read(a, 1, 95, 10, px, lb, &e) == -1 && strstr(e.msg, "out of range"),
              "images out of range: %s", e.msg);
        dacc_alignmnist_close(a);
    }
    /* without a base set the base count is 60000: 400 images is not a multiple */
    expect_error(tpath("good-u8.npz"), NULL, "not a multiple", "60000");

    /* block 0 differs from MNIST at image 37, pixel (3, 5) */
    x[37 * PIX + 3 * 28 + 5] ^= 0x11;
    write_set(tpath("block0.npz"), "|u1", 0, x, n, 28, y, n);
    expect_error(tpath("block0.npz"), &base, "image 37", "row 3, col 5");
    x[37 * PIX + 3 * 28 + 5] ^= 0x11;

    /* labels do not repeat in block 2, index 5 */
    y[2 * BASE + 5] = (baselb[5] + 1) % 10;
    write_set(tpath("labels.npz"), "|u1", 1, x, n, 28, y, n);
    expect_error(tpath("labels.npz"), &base, "block 2, index 5", "do not repeat");
    y[2 * BASE + 5] = baselb[5];

    /* block 0 label differs from MNIST */
    y[7] = (baselb[7] + 3) % 10;
    for (int b = 1; b < B; b++) y[b * BASE + 7] = y[7];
    write_set(tpath("label0.npz"), "|u1", 0, x, n, 28, y, n);
    expect_error(tpath("label0.npz"), &base, "index 7", "MNIST label");
    for (int b = 0; b < B; b++) y[b * BASE + 7] = baselb[7];

    /* label out of range, non-integral label */
    y[3] = 10;
    write_set(tpath("label10.npz"), "|u1", 0, x, n, 28, y, n);
    expect_error(tpath("label10.npz"), NULL, "not a multiple", NULL);
    expect_error(tpath("label10.npz"), &base, "y[3]", "0..9");
    y[3] = 2.5;
    write_set(tpath("label-frac.npz"), "|u1", 0, x, n, 28, y, n);
    expect_error(tpath("label-frac.npz"), &base, "not an integer", "labels y");
    y[3] = baselb[3];

    /* N not a multiple of the base */
    write_set(tpath("multiple.npz"), "|u1", 0, x, 250, 28, y, 250);
    expect_error(tpath("multiple.npz"), &base, "250 images", "not a multiple");
    /* y shorter than x */
    write_set(tpath("ylen.npz"), "|u1", 0, x, n, 28, y, n - 1);
    expect_error(tpath("ylen.npz"), &base, "399 labels", NULL);
    /* wrong image shape */
    write_set(tpath("shape.npz"), "|u1", 0, x, n * 28 / 27, 27, y, n * 28 / 27);
    expect_error(tpath("shape.npz"), &base, "expected (N, 28, 28)", NULL);
    /* missing y */
    {
        dacc_npz_writer *w;
        int64_t sx[3] = {BASE, 28, 28};
        dacc_npz_writer_open(tpath("noy.npz"), 0, &w, &e);
        dacc_npz_writer_add(w, "x", "|u1", 3, sx, x, &e);
        dacc_npz_writer_close(w, &e);
        expect_error(tpath("noy.npz"), &base, "no array 'y'", NULL);
    }
    /* a pixel that is not an integer in a float file, in block 3: reported lazily on read */
    {
        float *f = malloc((size_t)(n * PIX) * sizeof *f);
        for (int64_t i = 0; i < n * PIX; i++) f[i] = x[i];
        f[(3 * BASE + 42) * PIX + 10] = 300.0f;
        dacc_npz_writer *w;
        int64_t sx[3] = {n, 28, 28}, sy[1] = {n};
        dacc_npz_writer_open(tpath("pixel.npz"), 1, &w, &e);
        dacc_npz_writer_add(w, "x", "<f4", 3, sx, f, &e);
        dacc_npz_writer_add(w, "y", "<f8", 1, sy, y, &e);
        CHECK(dacc_npz_writer_close(w, &e) == 0, "write pixel.npz: %s", e.msg);
        free(f);
        dacc_alignmnist *a;
        CHECK(dacc_alignmnist_open(tpath("pixel.npz"), &base, &a, &e) == 0, "open: %s", e.msg);
        if (a) {
            uint8_t px[BASE * PIX];
            CHECK(dacc_alignmnist_read(a, 2, 0, BASE, px, NULL, &e) == 0, "block 2 fine");
            CHECK(dacc_alignmnist_read(a, 3, 40, 5, px, NULL, &e) == -1 &&
                      strstr(e.msg, "block 3") && strstr(e.msg, "300"),
                  "bad pixel reported: %s", e.msg);
            dacc_alignmnist_close(a);
        }
    }
    expect_error(tpath("missing.npz"), &base, "cannot open", NULL);
    free(x);
    free(y);
    return test_finish();
}
