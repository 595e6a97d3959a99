/* libFuzzer target: the class-model reader. The harness rewrites the last
 * four bytes with the CRC32 of the rest (as the file stores it, little
 * endian), so the fuzzer reaches the range checks; an accepted model must
 * have sane integration settings and is sampled for every class. */
#include "dacc/align.h"
#include "fuzz_util.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 20)) return 0;
    const char *p = fuzz_path("in.model");
    fuzz_write_crc(p, data, size);
    dacc_align_model m;
    dacc_err e;
    if (dacc_align_model_load(p, &m, &e) != 0) return 0;
    if (m.fit.nsteps < 1 || m.fit.nsteps > 1000 || m.fit.nsub < 1 || m.fit.nsub > 1000 ||
        m.rows != 28 || m.cols != 28 || m.nclasses < 1 || m.nclasses > DACC_ALIGN_CLASSES)
        abort(); /* the reader let an out-of-range field through */
    double theta[4 * DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE * 2];
    for (int k = 0; k < m.nclasses; k++)
        if (dacc_align_sample(&m, k, 1.0, 1, 0, 0, theta) != 0) abort();
    dacc_align_model_free(&m);
    return 0;
}
