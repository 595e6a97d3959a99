/* AlignMNIST reader: validates the block structure of an npz (x, y) against
 * the MNIST set it was made from, then serves blocks of images as uint8.
 * Labels are kept for one block only (they repeat); images are streamed. */
#include "dacc/alignmnist.h"
#include "dacc/npz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_IMAGES 2048
#define LABEL_CHUNK 65536

struct dacc_alignmnist {
    dacc_npz *z;
    const dacc_npy_array *x, *y;
    int64_t base, n;
    int blocks, rows, cols;
    uint8_t *labels; /* base entries, the labels of every block */
};

int dacc_alignmnist_blocks(const dacc_alignmnist *a) { return a ? a->blocks : 0; }
int64_t dacc_alignmnist_base(const dacc_alignmnist *a) { return a ? a->base : 0; }
int dacc_alignmnist_rows(const dacc_alignmnist *a) { return a ? a->rows : 0; }
int dacc_alignmnist_cols(const dacc_alignmnist *a) { return a ? a->cols : 0; }

void dacc_alignmnist_close(dacc_alignmnist *a) {
    if (!a) return;
    dacc_npz_close(a->z);
    free(a->labels);
    free(a);
}

static int check_labels(dacc_alignmnist *a, const char *path, const dacc_images *base,
                        dacc_err *e) {
    int64_t *buf = malloc(LABEL_CHUNK * sizeof *buf);
    a->labels = malloc((size_t)a->base);
    if (!buf || !a->labels) {
        free(buf);
        return dacc_fail(e, "%s: out of memory", path);
    }
    for (int64_t k0 = 0; k0 < a->n; k0 += LABEL_CHUNK) {
        int64_t cnt = a->n - k0 < LABEL_CHUNK ? a->n - k0 : LABEL_CHUNK;
        if (dacc_npz_read_i64(a->z, a->y, k0, cnt, buf, e)) {
            free(buf);
            return dacc_fail_wrap(e, "%s: labels y", path);
        }
        for (int64_t j = 0; j < cnt; j++) {
            int64_t k = k0 + j, v = buf[j];
            int64_t blk = k / a->base, idx = k % a->base;
            if (blk == 0) {
                if (v < 0 || v > 9) {
                    free(buf);
                    return dacc_fail(e, "%s: y[%lld] (block 0, index %lld) is %lld, expected "
                                        "0..9",
                                     path, (long long)k, (long long)idx, (long long)v);
                }
                if (base && base->labels[idx] != v) {
                    free(buf);
                    return dacc_fail(e, "%s: y[%lld] (block 0, index %lld) is %lld but the MNIST "
                                        "label is %d",
                                     path, (long long)k, (long long)idx, (long long)v,
                                     base->labels[idx]);
                }
                a->labels[idx] = (uint8_t)v;
            } else if (v != a->labels[idx]) {
                free(buf);
                return dacc_fail(e, "%s: labels do not repeat: y[%lld] (block %lld, index %lld) "
                                    "is %lld but block 0 has %d at index %lld",
                                 path, (long long)k, (long long)blk, (long long)idx,
                                 (long long)v, a->labels[idx], (long long)idx);
            }
        }
    }
    free(buf);
    return 0;
}

static int check_block0(dacc_alignmnist *a, const char *path, const dacc_images *base,
                        dacc_err *e) {
    int64_t per = (int64_t)a->rows * a->cols;
    uint8_t *buf = malloc((size_t)(CHUNK_IMAGES * per));
    if (!buf) return dacc_fail(e, "%s: out of memory", path);
    for (int64_t i0 = 0; i0 < a->base; i0 += CHUNK_IMAGES) {
        int64_t cnt = a->base - i0 < CHUNK_IMAGES ? a->base - i0 : CHUNK_IMAGES;
        if (dacc_npz_read_u8(a->z, a->x, i0 * per, cnt * per, buf, e)) {
            free(buf);
            return dacc_fail_wrap(e, "%s: block 0, images [%lld, %lld)", path, (long long)i0,
                                  (long long)(i0 + cnt));
        }
        const uint8_t *ref = base->pixels + i0 * per;
        if (memcmp(buf, ref, (size_t)(cnt * per))) {
            int64_t p = 0;
            while (buf[p] == ref[p]) p++;
            int64_t img = i0 + p / per, pix = p % per;
            int have = buf[p], want = ref[p];
            free(buf);
            return dacc_fail(e, "%s: block 0 is not the given MNIST set: image %lld differs at "
                                "pixel (row %lld, col %lld): %d in the file, %d in MNIST",
                             path, (long long)img, (long long)(pix / a->cols),
                             (long long)(pix % a->cols), have, want);
        }
    }
    free(buf);
    return 0;
}

int dacc_alignmnist_open(const char *path, const dacc_images *base, dacc_alignmnist **out,
                         dacc_err *e) {
    *out = NULL;
    dacc_alignmnist *a = calloc(1, sizeof *a);
    if (!a) return dacc_fail(e, "%s: out of memory", path);
    if (dacc_npz_open(path, &a->z, e)) {
        free(a);
        return -1;
    }
    a->x = dacc_npz_find(a->z, "x");
    a->y = dacc_npz_find(a->z, "y");
    if (!a->x || !a->y) {
        dacc_fail(e, "%s: not an AlignMNIST file: no array '%s'", path, a->x ? "y" : "x");
        goto fail;
    }
    const dacc_npy_array *x = a->x, *y = a->y;
    int want_r = base ? base->rows : 28, want_c = base ? base->cols : 28;
    if (x->ndim != 3 || x->shape[1] != want_r || x->shape[2] != want_c) {
        char sh[128] = "";
        int k = 0;
        for (int i = 0; i < x->ndim && k < 100; i++)
            k += snprintf(sh + k, sizeof sh - (size_t)k, "%s%lld", i ? ", " : "",
                          (long long)x->shape[i]);
        dacc_fail(e, "%s: x has shape (%s), expected (N, %d, %d)", path, sh, want_r, want_c);
        goto fail;
    }
    if (!((x->dtype[1] == 'u' && x->dtype[2] == '1') ||
          (x->dtype[1] == 'f' && (x->dtype[2] == '4' || x->dtype[2] == '8')))) {
        dacc_fail(e, "%s: x has dtype %s, expected uint8, float32 or float64", path, x->dtype);
        goto fail;
    }
    if (y->dtype[1] != 'u' && y->dtype[1] != 'i' && y->dtype[1] != 'f') {
        dacc_fail(e, "%s: y has dtype %s, expected integers or floats", path, y->dtype);
        goto fail;
    }
    a->n = x->shape[0];
    a->rows = want_r;
    a->cols = want_c;
    a->base = base ? base->n : 60000;
    if (y->count != a->n) {
        dacc_fail(e, "%s: x has %lld images but y has %lld labels", path, (long long)a->n,
                  (long long)y->count);
        goto fail;
    }
    if (a->base <= 0 || a->n < a->base || a->n % a->base) {
        dacc_fail(e, "%s: x has %lld images, not a multiple of the base set's %lld%s", path,
                  (long long)a->n, (long long)a->base,
                  base ? "" : " (MNIST training images; pass the base set for other sizes)");
        goto fail;
    }
    if (a->n / a->base > 1000000) {
        dacc_fail(e, "%s: %lld blocks is implausible", path, (long long)(a->n / a->base));
        goto fail;
    }
    a->blocks = (int)(a->n / a->base);
    if (check_labels(a, path, base, e)) goto fail;
    if (base && check_block0(a, path, base, e)) goto fail;
    *out = a;
    return 0;
fail:
    dacc_alignmnist_close(a);
    return -1;
}

int dacc_alignmnist_read(dacc_alignmnist *a, int block, int64_t first, int64_t count,
                         uint8_t *pixels, uint8_t *labels, dacc_err *e) {
    if (!a) return dacc_fail(e, "alignmnist: NULL reader");
    const char *path = dacc_npz_path(a->z);
    if (block < 0 || block >= a->blocks)
        return dacc_fail(e, "%s: block %d out of range (the file has blocks 0..%d)", path, block,
                         a->blocks - 1);
    if (first < 0 || count < 0 || first > a->base || count > a->base - first)
        return dacc_fail(e, "%s: block %d: images [%lld, %lld) out of range (0..%lld)", path,
                         block, (long long)first, (long long)(first + count),
                         (long long)a->base);
    int64_t per = (int64_t)a->rows * a->cols;
    if (pixels && count &&
        dacc_npz_read_u8(a->z, a->x, ((int64_t)block * a->base + first) * per, count * per,
                         pixels, e))
        return dacc_fail_wrap(e, "%s: block %d, images [%lld, %lld)", path, block,
                              (long long)first, (long long)(first + count));
    if (labels) memcpy(labels, a->labels + first, (size_t)count);
    return 0;
}

/* ---- the displacement statistics member (written by engine/align/alignmnist_gen.c) ---- */
enum { DISP_COLS = 5 };

void dacc_disp_stats_pack(const dacc_disp_stats *s, double *v) {
    for (int k = 0; k < DACC_DISP_ROWS; k++) {
        double *r = v + DISP_COLS * k;
        r[0] = s->count[k];
        r[1] = s->mean[k];
        r[2] = s->median[k];
        r[3] = s->p95[k];
        r[4] = s->max[k];
    }
}

int dacc_alignmnist_displacement(dacc_alignmnist *a, dacc_disp_stats *s, dacc_err *e) {
    memset(s, 0, sizeof *s);
    const dacc_npy_array *m = dacc_npz_find(a->z, DACC_DISP_MEMBER);
    if (!m) return 1;
    const char *path = dacc_npz_path(a->z);
    if (m->ndim != 2 || m->shape[0] != DACC_DISP_ROWS || m->shape[1] != DISP_COLS)
        return dacc_fail(e, "%s: member %s: expected shape (%d, %d)", path, DACC_DISP_MEMBER,
                         DACC_DISP_ROWS, DISP_COLS);
    double v[DACC_DISP_ROWS * DISP_COLS];
    if (dacc_npz_read_f64(a->z, m, 0, DACC_DISP_ROWS * DISP_COLS, v, e))
        return dacc_fail_wrap(e, "%s: member %s", path, DACC_DISP_MEMBER);
    for (int k = 0; k < DACC_DISP_ROWS; k++) {
        const double *r = v + DISP_COLS * k;
        for (int j = 0; j < DISP_COLS; j++)
            if (!(r[j] >= 0 && r[j] < 1e15))
                return dacc_fail(e, "%s: member %s: row %d column %d is %g (expected >= 0)", path,
                                 DACC_DISP_MEMBER, k, j, r[j]);
        s->count[k] = r[0];
        s->mean[k] = r[1];
        s->median[k] = r[2];
        s->p95[k] = r[3];
        s->max[k] = r[4];
    }
    return 0;
}

void dacc_disp_stats_print(const dacc_disp_stats *s, const char *indent) {
    printf("%sdisplacement of ink pixels (>= %d), px:\n", indent, DACC_DISP_INK);
    printf("%s  class      pixels    mean  median     p95     max\n", indent);
    for (int k = 0; k < DACC_DISP_ROWS; k++) {
        if (s->count[k] <= 0) continue;
        char name[12]; /* "%d" of any int */
        if (k < DACC_DISP_ROWS - 1)
            snprintf(name, sizeof name, "%d", k);
        else
            snprintf(name, sizeof name, "all");
        printf("%s  %5s %11.0f %7.3f %7.3f %7.3f %7.3f\n", indent, name, s->count[k], s->mean[k],
               s->median[k], s->p95[k], s->max[k]);
    }
}
