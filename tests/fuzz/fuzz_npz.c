/* libFuzzer target: the npz/npy reader (zip directory, ZIP64, npy headers,
 * stored and deflate members), then element reads of every member in every
 * conversion, forwards and backwards (a deflate cursor restarts). */
#include "dacc/npz.h"
#include "fuzz_util.h"

static void read_member(dacc_npz *z, const dacc_npy_array *a) {
    dacc_err e;
    int64_t n = a->count < 4096 ? a->count : 4096;
    double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
    float *f = malloc((size_t)(n ? n : 1) * sizeof *f);
    uint8_t *u = malloc((size_t)(n ? n : 1));
    if (d && f && u) {
        dacc_npz_read_f64(z, a, 0, n, d, &e);
        dacc_npz_read_f32(z, a, 0, n, f, &e);
        if (n > 2) {
            dacc_npz_read_u8(z, a, n / 2, n - n / 2, u, &e); /* forwards */
            dacc_npz_read_u8(z, a, 1, n / 3, u, &e);         /* backwards: restart */
        }
        int64_t k;
        dacc_npz_read_i64(z, a, a->count - 1, a->count ? 1 : 0, &k, &e);
    }
    free(d);
    free(f);
    free(u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *p = fuzz_path("in.npz");
    fuzz_write(p, data, size);
    dacc_npz *z;
    dacc_err e;
    if (dacc_npz_open(p, &z, &e) != 0) return 0;
    for (int i = 0; i < dacc_npz_count(z); i++) {
        const dacc_npy_array *a = dacc_npz_array(z, i);
        if (dacc_npz_find(z, a->name) == NULL) abort(); /* names are unique */
        read_member(z, a);
    }
    dacc_npz_close(z);
    return 0;
}
