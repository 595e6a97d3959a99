/* libFuzzer target: the IDX reader on raw files (images and labels). */
#include "dacc/data.h"
#include "fuzz_util.h"

volatile unsigned fuzz_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_path("raw.idx");
    fuzz_write(p, data, size);
    dacc_err e;
    uint8_t *px = NULL, *lb = NULL;
    int64_t n = 0;
    int rows = 0, cols = 0;
    if (dacc_idx_read_images(p, &px, &n, &rows, &cols, &e) == 0) {
        /* the whole payload must be readable */
        for (int64_t i = 0; i < n * rows * cols; i++) fuzz_sink += px[i];
        free(px);
    }
    if (dacc_idx_read_labels(p, &lb, &n, &e) == 0) {
        for (int64_t i = 0; i < n; i++)
            if (lb[i] > 9) abort();
        free(lb);
    }
    return 0;
}
