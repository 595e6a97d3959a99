/* libFuzzer target: the IDX reader through gzip, and dacc_mnist_load on a
 * folder of gzip files. The first byte picks the mode: even -> the rest is
 * compressed by the harness (the fuzzer explores IDX headers under gzip);
 * odd -> written as is (corrupt gzip streams). For the folder load the rest
 * is split at the second byte into a labels file and an images file. */
#include "dacc/data.h"
#include "fuzz_util.h"

#include <string.h>
#include <sys/stat.h>

static void put(const char *path, int raw, const uint8_t *d, size_t n) {
    if (raw) fuzz_write(path, d, n);
    else fuzz_write_gz(path, d, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    int raw = data[0] & 1;
    const uint8_t *d = data + 2;
    size_t n = size - 2;
    const char *p = fuzz_path("one.idx.gz");
    put(p, raw, d, n);
    dacc_err e;
    uint8_t *px = NULL;
    int64_t cnt = 0;
    int rows = 0, cols = 0;
    if (dacc_idx_read_images(p, &px, &cnt, &rows, &cols, &e) == 0) free(px);
    if (dacc_idx_read_labels(p, &px, &cnt, &e) == 0) free(px);

    const char *dir = fuzz_path("mnist");
    mkdir(dir, 0700);
    char ip[160], lp[160];
    snprintf(ip, sizeof ip, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte.gz", dir);
    size_t cut = n ? (size_t)data[1] * n / 256 : 0;
    put(lp, raw, d, cut);
    put(ip, raw, d + cut, n - cut);
    dacc_images tr = {0};
    if (dacc_mnist_load(dir, &tr, NULL, &e) == 0) {
        if (tr.rows != 28 || tr.cols != 28) abort();
        dacc_images_free(&tr);
    }
    unlink(ip);
    unlink(lp);
    return 0;
}
