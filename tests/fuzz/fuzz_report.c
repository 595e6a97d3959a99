/* libFuzzer target: `dacc report`'s inputs. The input becomes a run
 * directory (parts separated by "@@@\n": study.json, tasks/t1/results.json,
 * tasks/t1/predictions.bin, tasks/t1/config.json,
 * tasks/t1/predictions-paper.bin; tasks/t1/DONE always present; the
 * predictions get their CRC recomputed) and the report is made from it into
 * a folder beside it. */
#include "dacc/report.h"
#include "fuzz_util.h"

#include <string.h>
#include <sys/stat.h>

/* Part k as a predictions file with its CRC32 trailer recomputed, so the
 * fuzzer reaches the header checks. */
static void put_pred(const char *dir, const char *name, int k, int np, const uint8_t **part,
                     size_t *len) {
    if (k >= np || len[k] > (1 << 20)) {
        fuzz_put(dir, name, k, np, part, len);
        return;
    }
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    fuzz_write_crc(p, part[k], len[k]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *part[5];
    size_t len[5];
    const char *dir;
    char t1[220];
    int np = fuzz_run_dir("report-run", data, size, part, len, 5, &dir, t1, sizeof t1);
    const char *out = fuzz_path("report-out");
    mkdir(out, 0700);
    fuzz_put(dir, "study.json", 0, np, part, len);
    fuzz_put(t1, "results.json", 1, np, part, len);
    put_pred(t1, "predictions.bin", 2, np, part, len);
    fuzz_put(t1, "config.json", 3, np, part, len);
    put_pred(t1, "predictions-paper.bin", 4, np, part, len);
    fuzz_put(t1, "DONE", 0, 1, part, len);
    const char *dirs[1] = {dir};
    dacc_report_options o = {.protocols = DACC_REPORT_BOTH, .out_dir = out};
    dacc_report_counts c;
    dacc_err e;
    dacc_report_run(dirs, 1, &o, &c, &e);
    return 0;
}
