/* IDX reader (the MNIST file format), raw or gzip through zlib's gz* calls,
 * which pass raw files through unchanged. The header is trusted only as far
 * as the bytes actually present: buffers grow with what was read, so a lying
 * header on a tiny file cannot make us allocate gigabytes. */
#include "dacc/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

const char *const dacc_mnist_names[DACC_MNIST_NFILES] = {
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
};

/* An upper bound on what we accept as one IDX payload (AlignMNIST-sized sets
 * fit easily); protects the size arithmetic and the allocator. */
#define IDX_MAX_BYTES ((int64_t)1 << 36)

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* gzread wrapper: reads up to n bytes; returns bytes read or -1 with e set. */
static int64_t gz_read_n(gzFile f, const char *path, void *dst, int64_t n, dacc_err *e) {
    int64_t got = 0;
    while (got < n) {
        int64_t want = n - got;
        if (want > (1 << 30)) want = 1 << 30;
        int r = gzread(f, (uint8_t *)dst + got, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            return dacc_fail(e, "%s: cannot decompress: %s", path,
                             zerr == Z_ERRNO ? strerror(errno) : msg);
        }
        if (r == 0) break;
        got += r;
    }
    /* gzread returns a short count (not -1) when a gzip stream ends early. */
    int zerr;
    const char *msg = gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END)
        return dacc_fail(e, "%s: cannot decompress: %s", path,
                         zerr == Z_ERRNO ? strerror(errno) : msg);
    return got;
}

/* Counts the bytes left in f (after the payload), to report the real size. */
static int64_t gz_count_rest(gzFile f, const char *path, dacc_err *e) {
    uint8_t buf[65536];
    int64_t total = 0;
    for (;;) {
        int64_t r = gz_read_n(f, path, buf, sizeof buf, e);
        if (r < 0) return -1;
        total += r;
        if (r < (int64_t)sizeof buf) return total;
    }
}

/* Reads an IDX file of unsigned bytes with the expected rank. dims[] gets the
 * dimensions, *data the payload (malloc'd). what: "images"/"labels". */
static int idx_read(const char *path, int rank, const char *what, uint8_t **data,
                    uint32_t dims[3], dacc_err *e) {
    *data = NULL;
    struct stat st;
    if (stat(path, &st) != 0)
        return dacc_fail(e, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return dacc_fail(e, "%s: is a directory, expected an IDX file", path);
    gzFile f = gzopen(path, "rb");
    if (!f) return dacc_fail(e, "%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
    gzbuffer(f, 1 << 17);

    uint8_t hdr[16];
    const uint32_t expect_magic = 0x800u | (uint32_t)rank;
    int64_t hlen = 4 + 4 * (int64_t)rank;
    int64_t got = gz_read_n(f, path, hdr, 4, e);
    if (got < 0) goto fail;
    if (got == 0) {
        dacc_fail(e, "%s: empty file, expected IDX %s (magic 0x%08x)", path, what, expect_magic);
        goto fail;
    }
    if (got < 4) {
        dacc_fail(e, "%s: truncated: %lld bytes, too short for an IDX header", path,
                  (long long)got);
        goto fail;
    }
    uint32_t magic = be32(hdr);
    if (magic != expect_magic) {
        if (hdr[0] == 0 && hdr[1] == 0 && hdr[2] == 0x08)
            dacc_fail(e, "%s: wrong rank: IDX header says %d dimensions, expected %d for %s "
                         "(magic 0x%08x, expected 0x%08x)",
                      path, hdr[3], rank, what, magic, expect_magic);
        else if (hdr[0] == 0 && hdr[1] == 0)
            dacc_fail(e, "%s: unsupported IDX element type 0x%02x (magic 0x%08x), expected "
                         "unsigned bytes (magic 0x%08x)",
                      path, hdr[2], magic, expect_magic);
        else
            dacc_fail(e, "%s: not an IDX %s file: magic 0x%08x, expected 0x%08x", path, what,
                      magic, expect_magic);
        goto fail;
    }
    got = gz_read_n(f, path, hdr + 4, hlen - 4, e);
    if (got < 0) goto fail;
    if (got < hlen - 4) {
        dacc_fail(e, "%s: truncated: %lld bytes, but an IDX header of rank %d needs %lld", path,
                  (long long)(4 + got), rank, (long long)hlen);
        goto fail;
    }
    int64_t size = 1;
    for (int i = 0; i < rank; i++) {
        dims[i] = be32(hdr + 4 + 4 * i);
        if (dims[i] == 0 || dims[i] > INT32_MAX) {
            dacc_fail(e, "%s: bad IDX header: dimension %d is %u", path, i, dims[i]);
            goto fail;
        }
        size *= dims[i];
        if (size > IDX_MAX_BYTES) {
            dacc_fail(e, "%s: bad IDX header: dimensions give more than %lld bytes", path,
                      (long long)IDX_MAX_BYTES);
            goto fail;
        }
    }

    /* Grow with the data actually present. */
    int64_t cap = size < (1 << 20) ? size : (1 << 20), have = 0;
    uint8_t *buf = malloc((size_t)cap);
    if (!buf) {
        dacc_fail(e, "%s: out of memory (%lld bytes)", path, (long long)cap);
        goto fail;
    }
    for (;;) {
        int64_t r = gz_read_n(f, path, buf + have, cap - have, e);
        if (r < 0) {
            free(buf);
            goto fail;
        }
        have += r;
        if (have < cap || cap == size) break;
        int64_t ncap = cap * 2 < size ? cap * 2 : size;
        uint8_t *nb = realloc(buf, (size_t)ncap);
        if (!nb) {
            free(buf);
            dacc_fail(e, "%s: out of memory (%lld bytes)", path, (long long)ncap);
            goto fail;
        }
        buf = nb;
        cap = ncap;
    }
    int64_t rest = gz_count_rest(f, path, e);
    if (rest < 0) {
        free(buf);
        goto fail;
    }
    if (have < size || rest > 0) {
        dacc_fail(e, "%s: %s: header says %u %s (%lld bytes) but the file has %lld bytes", path,
                  have < size ? "truncated" : "trailing bytes", dims[0], what,
                  (long long)(size + hlen), (long long)(have + rest + hlen));
        free(buf);
        goto fail;
    }
    gzclose(f);
    *data = buf;
    return 0;
fail:
    gzclose(f);
    return -1;
}

int dacc_idx_read_images(const char *path, uint8_t **pixels, int64_t *n, int *rows, int *cols,
                         dacc_err *e) {
    uint32_t d[3];
    uint8_t *p;
    if (idx_read(path, 3, "images", &p, d, e)) return -1;
    *pixels = p;
    *n = d[0];
    *rows = (int)d[1];
    *cols = (int)d[2];
    return 0;
}

int dacc_idx_read_labels(const char *path, uint8_t **labels, int64_t *n, dacc_err *e) {
    uint32_t d[3];
    uint8_t *p;
    if (idx_read(path, 1, "labels", &p, d, e)) return -1;
    for (uint32_t i = 0; i < d[0]; i++)
        if (p[i] > 9) {
            dacc_fail(e, "%s: label %u at index %u, expected 0..9", path, p[i], i);
            free(p);
            return -1;
        }
    *labels = p;
    *n = d[0];
    return 0;
}

static int is_file(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int dacc_mnist_find(const char *dir, int which, char *out, size_t out_len, dacc_err *e) {
    if (which < 0 || which >= DACC_MNIST_NFILES)
        return dacc_fail(e, "dacc_mnist_find: bad file index %d", which);
    const char *name = dacc_mnist_names[which];
    /* "train-images-idx3-ubyte" -> "train-images.idx3-ubyte" */
    char dotted[64];
    snprintf(dotted, sizeof dotted, "%s", name);
    char *dash = strstr(dotted, "-idx");
    if (dash) *dash = '.';
    const char *cands[4] = {name, dotted, name, dotted};
    for (int i = 0; i < 4; i++) {
        int n = snprintf(out, out_len, "%s/%s%s", dir, cands[i], i >= 2 ? ".gz" : "");
        if (n < 0 || (size_t)n >= out_len)
            return dacc_fail(e, "%s: path too long", dir);
        if (is_file(out)) return 0;
    }
    struct stat st;
    if (stat(dir, &st) != 0)
        return dacc_fail(e, "%s: cannot open data folder: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return dacc_fail(e, "%s: not a folder", dir);
    return dacc_fail(e, "%s: no %s (also looked for %s.gz, %s, %s.gz)", dir, name, name, dotted,
                     dotted);
}

void dacc_images_free(dacc_images *d) {
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

static int load_set(const char *dir, int which_images, dacc_images *out, dacc_err *e) {
    char ip[4096], lp[4096];
    dacc_images d = {0};
    int64_t nl;
    if (dacc_mnist_find(dir, which_images, ip, sizeof ip, e)) return -1;
    if (dacc_mnist_find(dir, which_images + 1, lp, sizeof lp, e)) return -1;
    if (dacc_idx_read_images(ip, &d.pixels, &d.n, &d.rows, &d.cols, e)) return -1;
    if (dacc_idx_read_labels(lp, &d.labels, &nl, e)) {
        dacc_images_free(&d);
        return -1;
    }
    if (nl != d.n) {
        dacc_fail(e, "%s has %lld images but %s has %lld labels", ip, (long long)d.n, lp,
                  (long long)nl);
        dacc_images_free(&d);
        return -1;
    }
    *out = d;
    return 0;
}

int dacc_mnist_load(const char *dir, dacc_images *train, dacc_images *test, dacc_err *e) {
    dacc_images tr = {0}, te = {0};
    if (train && load_set(dir, DACC_MNIST_TRAIN_IMAGES, &tr, e)) return -1;
    if (test && load_set(dir, DACC_MNIST_TEST_IMAGES, &te, e)) {
        dacc_images_free(&tr);
        return -1;
    }
    if (train && test && (tr.rows != te.rows || tr.cols != te.cols)) {
        dacc_fail(e, "%s: training images are %dx%d but test images are %dx%d", dir, tr.rows,
                  tr.cols, te.rows, te.cols);
        dacc_images_free(&tr);
        dacc_images_free(&te);
        return -1;
    }
    if (train) *train = tr;
    if (test) *test = te;
    return 0;
}
