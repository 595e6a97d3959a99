/* libFuzzer target: the checkpoint reader. The harness rewrites the last
 * four bytes with the CRC32 of the rest, so the fuzzer reaches the header
 * and tensor checks instead of stopping at the checksum; an accepted
 * checkpoint must hold only in-range fields and is applied to a model of
 * its variant. */
#include "dacc/checkpoint.h"
#include "fuzz_util.h"

#include <math.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1 << 20)) return 0;
    const char *p = fuzz_path("in.dacc");
    fuzz_write_crc(p, data, size);
    dacc_checkpoint c;
    dacc_err e;
    if (dacc_checkpoint_read(p, &c, &e) != 0) return 0;
    const dacc_train_config *g = &c.cfg;
    if (g->epochs < 0 || g->epochs > DACC_CKPT_MAX_EPOCHS || c.epochs_done > g->epochs ||
        g->threads < 0 || g->threads > DACC_CKPT_MAX_THREADS || !(g->lr > 0) || !isfinite(g->lr) ||
        (g->paper != 0 && g->paper != 1) || (g->variant.bn != 0 && g->variant.bn != 1))
        abort(); /* the reader let an out-of-range field through */
    dacc_model *m = dacc_model_new(&g->variant, 1, 1, 0, &e);
    if (m) {
        dacc_checkpoint_apply(&c, m, 1, p, &e);
        dacc_model_delete(m);
    }
    dacc_checkpoint_free(&c);
    return 0;
}
