/* libFuzzer target for the run directory's text readers (not a ctest
 * program): the JSON reader, results.json, metrics lines and study.json's
 * task list, all from the one owner (engine/study/rundir_*.c). Build by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Iengine \
 *     tests/fuzz/fuzz_rundir.c engine/core/json.c engine/core/err.c engine/core/fileio.c \
 *     engine/study/rundir_read.c engine/study/rundir_view.c -lm -o fuzz_rundir
 *   cp -r tests/fuzz/corpus/rundir /tmp/corpus && ./fuzz_rundir -max_total_time=60 -max_len=4096 /tmp/corpus
 * The first byte picks the reader; the rest is its input. */
#include "study/rundir.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_task(void *u, const char *id, const char *variant, uint64_t seed) {
    (void)id, (void)variant, (void)seed;
    ++*(int *)u;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        dacc_rd_results r;
        char why[128];
        const char *where;
        if (dacc_rd_parse_results(s, n, &r, why, sizeof why) == 0) dacc_rd_check_results(&r, why, sizeof why, &where);
        break;
    }
    case 1: {
        static dacc_rd_epoch ep[DACC_RD_MAX_EPOCHS];
        int bad;
        dacc_rd_parse_metrics(s, n, ep, DACC_RD_MAX_EPOCHS, &bad);
        break;
    }
    default: {
        dacc_jdoc *d = dacc_json_parse(s, n, NULL, 0);
        int count = 0;
        dacc_rd_study_tasks(dacc_json_root(d), count_task, &count);
        dacc_json_free(d);
        break;
    }
    }
    return 0;
}
