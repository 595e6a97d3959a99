/* IDX reader (the MNIST file format), raw or gzip through zlib's gz* calls,
 * which pass raw files through unchanged. Only regular files are opened. The
 * header is trusted only as far as the bytes present: the dimensions are
 * bounded before they are multiplied, a raw file's size must match them
 * before anything is allocated, and a gzip payload's buffer grows with what
 * was decompressed, so a lying header cannot make us allocate gigabytes. */
#include "dacc/data.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dacc/fileio.h"

const char *const dacc_mnist_names[DACC_MNIST_NFILES] = {
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
};

/* Upper bounds checked before any allocation or multiplication overflows:
 * one IDX payload (MNIST's training images are 47 MB; this leaves room for
 * EMNIST-sized sets) and the best deflate ratio (about 1032:1), which bounds
 * what a gzip file of a given size can hold. */
#define IDX_MAX_BYTES ((int64_t)1 << 31)
#define GZIP_MAX_RATIO 1040

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

/* Counts the bytes left in f (after the payload), to report the real size;
 * stops counting at `limit` (a bomb after the payload is not unpacked). */
static int64_t gz_count_rest(gzFile f, const char *path, int64_t limit, dacc_err *e) {
    uint8_t buf[65536];
    int64_t total = 0;
    for (;;) {
        int64_t r = gz_read_n(f, path, buf, sizeof buf, e);
        if (r < 0) return -1;
        total += r;
        if (r < (int64_t)sizeof buf || total >= limit) return total;
    }
}

/* One IDX file being read: the open stream and what the header said. */
typedef struct idx_file {
    const char *path, *what;
    gzFile f;
    int64_t file_bytes; /* size on disk */
    int rank;
    int64_t hlen, size; /* header bytes, payload bytes */
    uint32_t dims[3];
} idx_file;

static int idx_bad_magic(const idx_file *x, const uint8_t *h, uint32_t want, dacc_err *e) {
    uint32_t magic = be32(h);
    if (h[0] == 0 && h[1] == 0 && h[2] == 0x08)
        return dacc_fail(e, "%s: wrong rank: IDX header says %d dimensions, expected %d for %s "
                            "(magic 0x%08x, expected 0x%08x)",
                         x->path, h[3], x->rank, x->what, magic, want);
    if (h[0] == 0 && h[1] == 0)
        return dacc_fail(e, "%s: unsupported IDX element type 0x%02x (magic 0x%08x), expected "
                            "unsigned bytes (magic 0x%08x)",
                         x->path, h[2], magic, want);
    return dacc_fail(e, "%s: not an IDX %s file: magic 0x%08x, expected 0x%08x", x->path, x->what,
                     magic, want);
}

/* Reads and checks the header: magic, every dimension non-zero, their
 * product computed without overflow and within IDX_MAX_BYTES, and within
 * what the file's size can hold (exactly, for a raw file). */
static int idx_header(idx_file *x, dacc_err *e) {
    uint8_t hdr[16];
    const uint32_t want = 0x800u | (uint32_t)x->rank;
    x->hlen = 4 + 4 * (int64_t)x->rank;
    int64_t got = gz_read_n(x->f, x->path, hdr, x->hlen, e);
    if (got < 0) return -1;
    if (got == 0)
        return dacc_fail(e, "%s: empty file, expected IDX %s (magic 0x%08x)", x->path, x->what,
                         want);
    if (got < 4)
        return dacc_fail(e, "%s: truncated: %lld bytes, too short for an IDX header", x->path,
                         (long long)got);
    if (be32(hdr) != want) return idx_bad_magic(x, hdr, want, e);
    if (got < x->hlen)
        return dacc_fail(e, "%s: truncated: %lld bytes, but an IDX header of rank %d needs %lld",
                         x->path, (long long)got, x->rank, (long long)x->hlen);
    x->size = 1;
    for (int i = 0; i < x->rank; i++) {
        x->dims[i] = be32(hdr + 4 + 4 * i);
        if (x->dims[i] == 0 || x->dims[i] > INT32_MAX)
            return dacc_fail(e, "%s: bad IDX header: dimension %d is %u", x->path, i, x->dims[i]);
        if (x->size > IDX_MAX_BYTES / x->dims[i])
            return dacc_fail(e, "%s: bad IDX header: dimensions give more than %lld bytes",
                             x->path, (long long)IDX_MAX_BYTES);
        x->size *= x->dims[i];
    }
    int64_t on_disk = x->file_bytes - x->hlen;
    if (gzdirect(x->f) && on_disk != x->size)
        return dacc_fail(e, "%s: %s: header says %u %s (%lld bytes) but the file has %lld bytes",
                         x->path, on_disk < x->size ? "truncated" : "trailing bytes", x->dims[0],
                         x->what, (long long)(x->size + x->hlen), (long long)x->file_bytes);
    if (!gzdirect(x->f) && x->size / GZIP_MAX_RATIO > x->file_bytes)
        return dacc_fail(e, "%s: truncated: header says %u %s (%lld bytes) but a gzip file of "
                            "%lld bytes cannot hold that many",
                         x->path, x->dims[0], x->what, (long long)(x->size + x->hlen),
                         (long long)x->file_bytes);
    return 0;
}

/* Reads the payload, growing the buffer with the data actually present so a
 * lying gzip header cannot make us allocate up front; then checks the size. */
static int idx_payload(idx_file *x, uint8_t **data, dacc_err *e) {
    int64_t cap = x->size < (1 << 20) ? x->size : (1 << 20), have = 0;
    uint8_t *buf = malloc((size_t)cap);
    if (!buf) return dacc_fail(e, "%s: out of memory (%lld bytes)", x->path, (long long)cap);
    for (;;) {
        int64_t r = gz_read_n(x->f, x->path, buf + have, cap - have, e);
        if (r < 0) goto fail;
        have += r;
        if (have < cap || cap == x->size) break;
        int64_t ncap = cap < x->size / 2 ? cap * 2 : x->size;
        uint8_t *nb = realloc(buf, (size_t)ncap);
        if (!nb) {
            dacc_fail(e, "%s: out of memory (%lld bytes)", x->path, (long long)ncap);
            goto fail;
        }
        buf = nb;
        cap = ncap;
    }
    int64_t rest = gz_count_rest(x->f, x->path, IDX_MAX_BYTES, e);
    if (rest < 0) goto fail;
    if (have < x->size || rest > 0) {
        dacc_fail(e, "%s: %s: header says %u %s (%lld bytes) but the file has %s%lld bytes",
                  x->path, have < x->size ? "truncated" : "trailing bytes", x->dims[0], x->what,
                  (long long)(x->size + x->hlen), rest >= IDX_MAX_BYTES ? "more than " : "",
                  (long long)(have + rest + x->hlen));
        goto fail;
    }
    *data = buf;
    return 0;
fail:
    free(buf);
    return -1;
}

/* Reads an IDX file of unsigned bytes with the expected rank. dims[] gets the
 * dimensions, *data the payload (malloc'd). what: "images"/"labels". If
 * expect_n >= 0 the first dimension must equal it (checked before reading
 * the payload); other_path names where that count came from. */
static int idx_read(const char *path, int rank, const char *what, int64_t expect_n,
                    const char *other_path, uint8_t **data, uint32_t dims[3], dacc_err *e) {
    *data = NULL;
    int fd = dacc_open_regular(path, e);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return dacc_fail(e, "%s: cannot stat: %s", path, strerror(err));
    }
    idx_file x = {.path = path, .what = what, .rank = rank, .file_bytes = st.st_size};
    x.f = gzdopen(fd, "rb");
    if (!x.f) {
        close(fd);
        return dacc_fail(e, "%s: cannot open: out of memory", path);
    }
    gzbuffer(x.f, 1 << 17);
    int rc = idx_header(&x, e);
    if (rc == 0 && expect_n >= 0 && x.dims[0] != expect_n)
        rc = dacc_fail(e, "%s has %u %s but %s has %lld labels", path, x.dims[0], what,
                       other_path, (long long)expect_n);
    if (rc == 0) rc = idx_payload(&x, data, e);
    gzclose(x.f);
    if (rc == 0) memcpy(dims, x.dims, sizeof x.dims);
    return rc;
}

static int read_images(const char *path, int64_t expect_n, const char *labels_path,
                       uint8_t **pixels, int64_t *n, int *rows, int *cols, dacc_err *e) {
    uint32_t d[3];
    uint8_t *p;
    if (idx_read(path, 3, "images", expect_n, labels_path, &p, d, e)) return -1;
    *pixels = p;
    *n = d[0];
    *rows = (int)d[1];
    *cols = (int)d[2];
    return 0;
}

int dacc_idx_read_images(const char *path, uint8_t **pixels, int64_t *n, int *rows, int *cols,
                         dacc_err *e) {
    return read_images(path, -1, NULL, pixels, n, rows, cols, e);
}

int dacc_idx_read_labels(const char *path, uint8_t **labels, int64_t *n, dacc_err *e) {
    uint32_t d[3];
    uint8_t *p;
    if (idx_read(path, 1, "labels", -1, NULL, &p, d, e)) return -1;
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

int dacc_images_check_mnist(const dacc_images *d, const char *what, dacc_err *e) {
    if (d && (d->rows != DACC_MNIST_SIDE || d->cols != DACC_MNIST_SIDE))
        return dacc_fail(e, "%s are %dx%d, expected %dx%d (MNIST)", what, d->rows, d->cols,
                         DACC_MNIST_SIDE, DACC_MNIST_SIDE);
    return 0;
}

/* Labels first: they are small, and their count bounds the image file's
 * header before any of its pixels are read. The images must be 28x28. */
static int load_set(const char *dir, int which_images, dacc_images *out, dacc_err *e) {
    char ip[4096], lp[4096];
    dacc_images d = {0};
    if (dacc_mnist_find(dir, which_images, ip, sizeof ip, e)) return -1;
    if (dacc_mnist_find(dir, which_images + 1, lp, sizeof lp, e)) return -1;
    if (dacc_idx_read_labels(lp, &d.labels, &d.n, e)) return -1;
    if (read_images(ip, d.n, lp, &d.pixels, &d.n, &d.rows, &d.cols, e)) {
        dacc_images_free(&d);
        return -1;
    }
    if (d.rows != DACC_MNIST_SIDE || d.cols != DACC_MNIST_SIDE) {
        dacc_fail(e, "%s: images are %dx%d, expected %dx%d (MNIST)", ip, d.rows, d.cols,
                  DACC_MNIST_SIDE, DACC_MNIST_SIDE);
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
