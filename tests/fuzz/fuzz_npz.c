/* libFuzzer target for the npz reader (not a ctest program). Build by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Iengine \
 *     tests/fuzz/fuzz_npz.c engine/data/npz_read.c engine/core/err.c -lz -o fuzz_npz
 *   ./fuzz_npz -max_total_time=60 -max_len=4096 [corpus dir]
 * The reader takes a path, so each input goes through a per-process file. */
#include "dacc/npz.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/fuzz_npz.%d.npz", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    dacc_npz *z;
    dacc_err e;
    if (dacc_npz_open(path, &z, &e) != 0) return 0;
    for (int i = 0; i < dacc_npz_count(z); i++) {
        const dacc_npy_array *a = dacc_npz_array(z, i);
        int64_t n = a->count < 4096 ? a->count : 4096;
        double *d = malloc((size_t)(n ? n : 1) * sizeof *d);
        uint8_t *u = malloc((size_t)(n ? n : 1));
        if (d && u) {
            dacc_npz_read_f64(z, a, 0, n, d, &e);
            if (n > 2) {
                dacc_npz_read_u8(z, a, n / 2, n - n / 2, u, &e); /* forwards */
                dacc_npz_read_u8(z, a, 1, n / 3, u, &e);         /* backwards: restart */
            }
            int64_t k;
            dacc_npz_read_i64(z, a, a->count - 1, a->count ? 1 : 0, &k, &e);
        }
        free(d);
        free(u);
    }
    dacc_npz_close(z);
    return 0;
}
