/* dacc report on run directories built by hand: complete tasks, a task
 * without DONE, a truncated results.json, a corrupt predictions.bin, a set
 * without Original, two directories to merge (with an agreeing and a
 * disagreeing duplicate), a single task folder. The numbers in summary.csv,
 * summary.json and results.csv are checked against hand computations. */
#include "dacc/report.h"
#include "dacc/rundir.h"
#include "harness.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define N 20 /* images per block */
#define B 2  /* transformed blocks */

/* A task's correctness: wrong[b] = the images predicted wrong in block b,
 * given as a half-open range [lo, hi). */
typedef struct spec {
    const char *variant;
    int seed;
    int lo[B + 1], hi[B + 1];
} spec;

/* The hand-made study (labels i % 10; a wrong prediction is label + 1):
 * Original s1:    clean wrong {0,1}       b1 wrong {0..3}    b2 wrong {0..5}
 *                 x = 0.9, y = (0.8, 0.7), x^ = 0.75, delta = -0.15
 * Original s2:    clean right everywhere  b1 wrong {0,1}     b2 wrong {0,1}
 *                 x = 1.0, y = (0.9, 0.9), x^ = 0.9,  delta = -0.1
 * AveragePool s1: clean wrong {19}        b1 wrong {15..19}  b2 wrong {15..19}
 *                 x = 0.95, y = (0.75, 0.75), x^ = 0.75, delta = -0.2
 * AveragePool s2: clean wrong {17,18,19}  b1 wrong {17..19}  b2 wrong {16..19}
 *                 x = 0.85, y = (0.85, 0.8), x^ = 0.825, delta = -0.025 */
static const spec O1 = {"Original", 1, {0, 0, 0}, {2, 4, 6}};
static const spec O2 = {"Original", 2, {0, 0, 0}, {0, 2, 2}};
static const spec A1 = {"AveragePool", 1, {19, 15, 15}, {20, 20, 20}};
static const spec A2 = {"AveragePool", 2, {17, 17, 16}, {20, 20, 20}};

static void mkdir_p(const char *p) {
    char b[1024];
    snprintf(b, sizeof b, "%s", p);
    for (char *q = b + 1; *q; q++)
        if (*q == '/') {
            *q = 0;
            mkdir(b, 0755);
            *q = '/';
        }
    mkdir(b, 0755);
}

static void put_file(const char *dir, const char *name, const void *data, size_t n) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f) {
        perror(p);
        exit(2);
    }
    fwrite(data, 1, n, f);
    fclose(f);
}

static void put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static size_t make_predictions(const spec *s, uint8_t *buf) {
    memcpy(buf, "DACCPRED", 8);
    put_u32(buf + 8, 1);
    put_u32(buf + 12, B + 1);
    put_u32(buf + 16, N);
    uint8_t *p = buf + 20;
    for (int b = 0; b <= B; b++)
        for (int i = 0; i < N; i++) {
            int label = i % 10, wrong = i >= s->lo[b] && i < s->hi[b];
            *p++ = (uint8_t)(wrong ? (label + 1) % 10 : label);
            *p++ = (uint8_t)label;
        }
    size_t n = (size_t)(p - buf);
    put_u32(p, (uint32_t)crc32(0L, buf, (uInt)n));
    return n + 4;
}

static double acc_of(const spec *s, int b) { return (double)(N - (s->hi[b] - s->lo[b])) / N; }

/* A task folder as the engine writes it; flags: 1 = no DONE, 2 = truncated
 * results.json, 4 = a flipped byte in predictions.bin, 8 = results off by
 * +0.05 clean (a disagreeing copy). */
static void make_task(const char *run, int index, const spec *s, int flags) {
    char dir[1024], json[2048];
    snprintf(dir, sizeof dir, "%s/tasks/%02d-%s-s%d", run, index, s->variant, s->seed);
    mkdir_p(dir);
    double y1 = acc_of(s, 1), y2 = acc_of(s, 2), x = acc_of(s, 0) + (flags & 8 ? 0.05 : 0), xh = (y1 + y2) / 2;
    int n = snprintf(json, sizeof json,
                     "{\"variant\":\"%s\",\"seed\":%d,\"paper\":{\"clean\":%.6g,\"n\":%d},"
                     "\"heldout\":{\"clean\":%.6g,\"y\":[%.6g,%.6g],\"xhat\":%.6g,\"delta\":%.6g,\"n\":%d,"
                     "\"per_class\":{\"clean\":[1,1,1,1,1,1,1,1,1,1]}}}\n",
                     s->variant, s->seed, x, 60000, x, y1, y2, xh, xh - x, N);
    put_file(dir, "results.json", json, flags & 2 ? (size_t)n / 2 : (size_t)n);
    snprintf(json, sizeof json, "{\"key\":\"k\",\"variant\":\"%s\",\"seed\":%d,\"epochs\":20,\"batch\":64,"
             "\"lr\":0.001,\"gamma\":0.7,\"protocol\":\"default\",\"train_limit\":0,\"blocks\":%d}\n",
             s->variant, s->seed, B);
    put_file(dir, "config.json", json, strlen(json));
    uint8_t pred[20 + (B + 1) * N * 2 + 4];
    size_t pn = make_predictions(s, pred);
    if (flags & 4) pred[30] ^= 0x01;
    put_file(dir, "predictions.bin", pred, pn);
    if (!(flags & 1)) put_file(dir, "DONE", "", 0);
}

/* ---- reading the outputs back ---- */

static char *slurp(const char *dir, const char *name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    if (b) b[n] = 0;
    fclose(f);
    return b;
}

/* The field `col` of the CSV row whose first two fields are k1,k2 (no
 * quoting in these files). Returns NaN for "n/a" or missing; the text in txt. */
static double csv_get(const char *csv, const char *k1, const char *k2, const char *col, char *txt, size_t tn) {
    if (txt) txt[0] = 0;
    if (!csv) return NAN;
    const char *nl = strchr(csv, '\n');
    int ci = -1, i = 0;
    for (const char *p = csv; p < nl; i++) {
        const char *e = p;
        while (e < nl && *e != ',') e++;
        if ((size_t)(e - p) == strlen(col) && !strncmp(p, col, (size_t)(e - p))) ci = i;
        p = e + 1;
    }
    if (ci < 0) return NAN;
    for (const char *row = nl + 1; *row;) {
        const char *end = strchr(row, '\n');
        if (!end) break;
        char line[4096];
        size_t len = (size_t)(end - row) < sizeof line - 1 ? (size_t)(end - row) : sizeof line - 1;
        memcpy(line, row, len);
        line[len] = 0;
        char *f[256];
        int nf = 0;
        for (char *save = NULL, *t = strtok_r(line, ",", &save); t && nf < 256; t = strtok_r(NULL, ",", &save))
            f[nf++] = t;
        if (nf > ci && nf > 1 && !strcmp(f[0], k1) && !strcmp(f[1], k2)) {
            if (txt) snprintf(txt, tn, "%s", f[ci]);
            if (!strcmp(f[ci], "n/a")) return NAN;
            return strtod(f[ci], NULL);
        }
        row = end + 1;
    }
    return NAN;
}

#define NEAR(a, b, tol) (fabs((a) - (b)) <= (tol))

static int run_report(const char *const *dirs, int n, const char *out, int protocols, dacc_report_counts *c,
                      dacc_err *e) {
    dacc_report_options o = {protocols, out, NULL, NULL};
    return dacc_report_run(dirs, n, &o, c, e);
}

static void test_main_merge(const char *tmp) {
    /* A: seed 1 (complete), plus one unfinished and one truncated task.
     * B: seed 2, plus an agreeing copy of A's Original s1, as from another machine. */
    char a[600], b[600], out[600];
    snprintf(a, sizeof a, "%s/A", tmp);
    snprintf(b, sizeof b, "%s/B", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    make_task(a, 0, &O1, 0);
    make_task(a, 1, &A1, 0);
    spec s3 = {"Dropout", 1, {0, 0, 0}, {1, 1, 1}};
    make_task(a, 2, &s3, 1); /* no DONE */
    spec s4 = {"ConvPool", 1, {0, 0, 0}, {1, 1, 1}};
    make_task(a, 3, &s4, 2); /* DONE, truncated results.json */
    make_task(b, 4, &O2, 0);
    make_task(b, 5, &A2, 0);
    make_task(b, 0, &O1, 0); /* duplicate that agrees */
    const char *dirs[2] = {a, b};
    dacc_report_counts c;
    dacc_err e;
    int rc = run_report(dirs, 2, out, DACC_REPORT_BOTH, &c, &e);
    CHECK(rc == 0, "report A+B: %s", rc ? e.msg : "");
    CHECK(c.tasks_used == 4 && c.tasks_skipped == 2 && c.duplicates == 1, "used %d skipped %d dup %d",
          c.tasks_used, c.tasks_skipped, c.duplicates);
    char *s = slurp(out, "summary.csv"), *j = slurp(out, "summary.json"), *r = slurp(out, "results.csv"),
         *md = slurp(out, "summary.md");
    CHECK(s && j && r && md, "four files written");
    char t[256];
    /* Original, heldout: clean 0.9, 1.0 -> mean 0.95, sd sqrt(0.005) = 0.070711,
     * half = t(1) * 0.070711 / sqrt(2) = 12.706205 * 0.05 = 0.635310 */
    CHECK(NEAR(csv_get(s, "heldout", "Original", "clean_mean", t, 0), 0.95, 1e-6), "O clean mean");
    CHECK(NEAR(csv_get(s, "heldout", "Original", "clean_sd", t, 0), 0.070711, 1e-6), "O clean sd");
    CHECK(NEAR(csv_get(s, "heldout", "Original", "clean_lo", t, 0), 0.95 - 0.635310, 1e-6), "O clean lo");
    /* 0.95 + 0.635310 is clipped to 1 */
    CHECK(csv_get(s, "heldout", "Original", "clean_hi", t, 0) == 1, "O clean hi clipped");
    /* x^ 0.75, 0.9 -> 0.825, half 12.706205 * 0.075 = 0.952965; delta -0.15, -0.1 -> -0.125, half 0.317655 */
    CHECK(NEAR(csv_get(s, "heldout", "Original", "xhat_mean", t, 0), 0.825, 1e-6), "O xhat");
    CHECK(csv_get(s, "heldout", "Original", "xhat_hi", t, 0) == 1, "O xhat hi clipped");
    CHECK(NEAR(csv_get(s, "heldout", "Original", "xhat_sd", t, 0), 0.106066, 1e-6), "O xhat sd");
    CHECK(NEAR(csv_get(s, "heldout", "Original", "delta_mean", t, 0), -0.125, 1e-6), "O delta");
    CHECK(NEAR(csv_get(s, "heldout", "Original", "delta_lo", t, 0), -0.125 - 0.317655, 1e-6), "O delta lo");
    /* AveragePool: clean 0.95, 0.85 -> 0.9; x^ 0.75, 0.825 -> 0.7875; delta -0.2, -0.025 -> -0.1125,
     * sd = sqrt(2 * 0.0875^2) = 0.123744, half = 12.706205 * 0.0875 = 1.111793 */
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "clean_mean", t, 0), 0.9, 1e-6), "A clean");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "xhat_mean", t, 0), 0.7875, 1e-6), "A xhat");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "delta_sd", t, 0), 0.123744, 1e-6), "A delta sd");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "delta_hi", t, 0), -0.1125 + 1.111793, 1e-6), "A delta hi");
    CHECK(csv_get(s, "heldout", "AveragePool", "delta_lo", t, 0) == -1, "A delta lo clipped to -1");
    /* x^/x = 0.7875 / 0.9 = 0.875; error ratio clean (1-0.9)/(1-0.95) = 2;
     * x^: (1-0.7875)/(1-0.825) = 0.2125/0.175 = 1.214286; rel. delta error 0.1125/0.125 = 0.9 */
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "rel_robustness", t, 0), 0.875, 1e-6), "A x^/x");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "error_ratio_clean", t, 0), 2, 1e-6), "A err ratio clean");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "error_ratio_xhat", t, 0), 1.214286, 1e-6), "A err ratio x^");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "rel_delta_error", t, 0), 0.9, 1e-6), "A rel delta err");
    CHECK(NEAR(csv_get(s, "heldout", "Original", "rel_robustness", t, 0), 0.825 / 0.95, 1e-6), "O x^/x");
    /* McNemar clean, pooled over seeds. s1: b (O right, A wrong) = {19} = 1, c = {0,1} = 2;
     * s2: b = {17,18,19} = 3, c = 0. b = 4, c = 2, n = 6: exact,
     * p = 2 * (C(6,0) + C(6,1) + C(6,2)) / 64 = 2 * 22 / 64 = 0.6875 */
    CHECK(csv_get(s, "heldout", "AveragePool", "mcnemar_clean_b", t, 0) == 4 &&
          csv_get(s, "heldout", "AveragePool", "mcnemar_clean_c", t, 0) == 2, "A mcnemar clean b/c");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "mcnemar_clean_p", t, 0), 0.6875, 1e-9), "A mcnemar clean p");
    csv_get(s, "heldout", "AveragePool", "mcnemar_clean_method", t, sizeof t);
    CHECK(!strcmp(t, "exact"), "exact method: %s", t);
    /* transformed, pooled over seeds and blocks:
     * s1 b1: b = {15..19} 5, c = {0..3} 4;  s1 b2: b 5, c = {0..5} 6
     * s2 b1: b = {17..19} 3, c = {0,1} 2;   s2 b2: b = {16..19} 4, c 2
     * b = 17, c = 14, n = 31 >= 25: chi2 = (3 - 1)^2 / 31 = 0.129032, p = erfc(sqrt(0.064516)) = 0.719438 */
    CHECK(csv_get(s, "heldout", "AveragePool", "mcnemar_xhat_b", t, 0) == 17 &&
          csv_get(s, "heldout", "AveragePool", "mcnemar_xhat_c", t, 0) == 14, "A mcnemar x^ b/c");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "mcnemar_xhat_p", t, 0), 0.719438, 1e-6), "A mcnemar x^ p");
    csv_get(s, "heldout", "AveragePool", "mcnemar_xhat_method", t, sizeof t);
    CHECK(!strcmp(t, "chi2-cc"), "chi2 method: %s", t);
    CHECK(csv_get(s, "heldout", "AveragePool", "mcnemar_xhat_pairs", t, 0) == 2, "two seed pairs");
    csv_get(s, "heldout", "Original", "mcnemar_clean_p", t, sizeof t);
    CHECK(!strcmp(t, "ref"), "Original is the reference: %s", t);
    /* per block, pooled over seeds: block 1 b 8 c 6, block 2 b 9 c 8 */
    CHECK(j && strstr(j, "\"per_block\":[{\"b\":8,\"c\":6,"), "per-block 1 in summary.json");
    CHECK(j && strstr(j, "{\"b\":9,\"c\":8,"), "per-block 2 in summary.json");
    CHECK(j && strstr(j, "\"mcnemar_clean\":{\"b\":4,\"c\":2,\"p\":0.6875,"), "summary.json McNemar clean");
    CHECK(j && strstr(j, "\"rel_delta_error\":0.9,"), "summary.json rel delta error");
    CHECK(j && strstr(j, "\"ci95\":[0.3146897"), "summary.json Original clean CI");
    /* skipped tasks are listed with their reason */
    CHECK(j && strstr(j, "02-Dropout-s1: no DONE marker"), "unfinished task skipped");
    CHECK(j && strstr(j, "03-ConvPool-s1: unreadable results.json"), "truncated results.json skipped");
    CHECK(md && strstr(md, "02-Dropout-s1: no DONE"), "skipped listed in summary.md");
    /* the paper protocol has clean only: 60000 images, means of 0.9/1.0 */
    CHECK(NEAR(csv_get(s, "paper", "Original", "clean_mean", t, 0), 0.95, 1e-6), "paper clean");
    csv_get(s, "paper", "AveragePool", "mcnemar_clean_p", t, sizeof t);
    CHECK(!strcmp(t, "n/a"), "paper: no predictions-paper.bin -> McNemar n/a (%s)", t);
    CHECK(isnan(csv_get(s, "paper", "AveragePool", "xhat_mean", t, 0)), "paper: no x^");
    /* results.csv: Original s1 heldout. Paired delta per image: 2 images (c=0,m=0) d=0,
     * 2 (1,0) d=-1, 2 (1,1) d=-0.5, 14 (1,2) d=0: mean -0.15, ss = 16*0.0225 + 2*0.7225 + 2*0.1225
     * = 2.05, sd = sqrt(2.05/19) = 0.328473, se = 0.073449, half 0.143957 -> [-0.293957, -0.006043]
     * x^ per image: 0,0,0,0,.5,.5, 14x1: mean .75, ss 3.25, se sqrt(3.25/19/20) = 0.092480 -> [0.568742, 0.931258]
     * Wilson clean 18/20: centre (0.9 + 0.096036)/1.192073 = 0.835550, half = z/1.192073 *
     * sqrt(0.0045 + 0.0024009) = 1.644164 * 0.083072 = 0.136584 -> [0.698967, 0.972133] */
    CHECK(NEAR(csv_get(r, "heldout", "00-Original-s1", "delta_lo", t, 0), -0.293957, 1e-6), "paired lo");
    CHECK(NEAR(csv_get(r, "heldout", "00-Original-s1", "delta_hi", t, 0), -0.006043, 1e-6), "paired hi");
    CHECK(NEAR(csv_get(r, "heldout", "00-Original-s1", "xhat_lo", t, 0), 0.568742, 1e-6), "x^ lo");
    CHECK(NEAR(csv_get(r, "heldout", "00-Original-s1", "clean_lo", t, 0), 0.698967, 2e-6), "wilson lo %s", t);
    CHECK(NEAR(csv_get(r, "heldout", "00-Original-s1", "clean_hi", t, 0), 0.972133, 2e-6), "wilson hi %s", t);
    /* per task McNemar: s1 clean b=1 c=2 -> p = 2*(1+3)/8 = 1; s2 b=3 c=0 -> 2/8 = 0.25 */
    CHECK(NEAR(csv_get(r, "heldout", "01-AveragePool-s1", "mcnemar_clean_p", t, 0), 1, 1e-12), "task McNemar s1");
    CHECK(NEAR(csv_get(r, "heldout", "05-AveragePool-s2", "mcnemar_clean_p", t, 0), 0.25, 1e-12), "task McNemar s2");
    CHECK(csv_get(r, "heldout", "05-AveragePool-s2", "y2", t, 0) == 0.8, "y2 column");
    /* the Markdown: percent with intervals, marker-free here (p > 0.05) */
    CHECK(md && strstr(md, "| Original | 2 | 95.00 [31.47, 100.00] | 82.50 ["), "md Original row");
    CHECK(md && strstr(md, "| AveragePool | 2 | 90.00 ["), "md AveragePool row");
    CHECK(md && strstr(md, "| 0.6875 / 0.7194 |"), "md McNemar p");
    free(s); free(j); free(r); free(md);

    /* the same merge in the other order gives the same tables */
    char out2[600];
    snprintf(out2, sizeof out2, "%s/out2", tmp);
    const char *dirs2[2] = {b, a};
    rc = run_report(dirs2, 2, out2, DACC_REPORT_BOTH, &c, &e);
    char *s1 = slurp(out, "summary.csv"), *s2 = slurp(out2, "summary.csv");
    CHECK(rc == 0 && s1 && s2 && !strcmp(s1, s2), "merge order does not matter");
    free(s1); free(s2);
    /* protocol filter */
    snprintf(out2, sizeof out2, "%s/out3", tmp);
    rc = run_report(dirs, 2, out2, DACC_REPORT_HELDOUT, &c, &e);
    s1 = slurp(out2, "summary.csv");
    CHECK(rc == 0 && s1 && strstr(s1, "\nheldout,") && !strstr(s1, "\npaper,"), "--protocol heldout only");
    free(s1);
}

static void test_corrupt_and_no_original(const char *tmp) {
    char c1[600], out[600];
    dacc_report_counts c;
    dacc_err e;
    /* a corrupt predictions.bin: that task's McNemar is n/a, with a warning */
    snprintf(c1, sizeof c1, "%s/C", tmp);
    snprintf(out, sizeof out, "%s/Cout", tmp);
    make_task(c1, 0, &O1, 0);
    make_task(c1, 1, &A1, 4);
    const char *d1[1] = {c1};
    int rc = run_report(d1, 1, out, DACC_REPORT_BOTH, &c, &e);
    CHECK(rc == 0 && c.tasks_used == 2, "corrupt predictions: still reported (%s)", rc ? e.msg : "");
    char *s = slurp(out, "summary.csv"), *j = slurp(out, "summary.json"), *r = slurp(out, "results.csv"), t[64];
    csv_get(s, "heldout", "AveragePool", "mcnemar_clean_p", t, sizeof t);
    CHECK(!strcmp(t, "n/a"), "corrupt predictions -> McNemar n/a (%s)", t);
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "clean_mean", t, 0), 0.95, 1e-9), "accuracies still there");
    CHECK(j && strstr(j, "CRC mismatch"), "warning names the CRC");
    csv_get(r, "heldout", "01-AveragePool-s1", "predictions", t, sizeof t);
    CHECK(!strcmp(t, "n/a"), "results.csv marks the predictions n/a");
    CHECK(isnan(csv_get(r, "heldout", "01-AveragePool-s1", "delta_lo", t, 0)), "no paired interval without predictions");
    /* n = 1: no t-interval, a warning */
    CHECK(isnan(csv_get(s, "heldout", "Original", "clean_lo", t, 0)), "n=1: no interval");
    csv_get(s, "heldout", "Original", "warning", t, sizeof t);
    CHECK(strstr(t, "n=1") != NULL, "n=1 warning in summary.csv: %s", t);
    CHECK(j && strstr(j, "one seed (n=1)"), "n=1 warning in summary.json");
    free(s); free(j); free(r);

    /* no Original: ratios and tests n/a */
    char d[600];
    snprintf(d, sizeof d, "%s/D", tmp);
    snprintf(out, sizeof out, "%s/Dout", tmp);
    make_task(d, 1, &A1, 0);
    make_task(d, 5, &A2, 0);
    const char *d2[1] = {d};
    rc = run_report(d2, 1, out, DACC_REPORT_BOTH, &c, &e);
    CHECK(rc == 0, "no Original: reported");
    s = slurp(out, "summary.csv");
    j = slurp(out, "summary.json");
    char *md = slurp(out, "summary.md");
    CHECK(isnan(csv_get(s, "heldout", "AveragePool", "error_ratio_clean", t, 0)), "no Original: error ratio n/a");
    CHECK(isnan(csv_get(s, "heldout", "AveragePool", "rel_delta_error", t, 0)), "no Original: rel delta n/a");
    csv_get(s, "heldout", "AveragePool", "mcnemar_xhat_p", t, sizeof t);
    CHECK(!strcmp(t, "n/a"), "no Original: McNemar n/a");
    CHECK(NEAR(csv_get(s, "heldout", "AveragePool", "delta_mean", t, 0), -0.1125, 1e-9), "no Original: delta");
    CHECK(j && strstr(j, "\"reference\":null"), "no reference in summary.json");
    CHECK(md && strstr(md, "No Original among the tasks"), "summary.md says so");
    free(s); free(j); free(md);
}

static void test_duplicates_and_single(const char *tmp) {
    char e1[600], e2[600], out[600];
    dacc_report_counts c;
    dacc_err e;
    /* the same task with different results in two directories: warn, keep the first */
    snprintf(e1, sizeof e1, "%s/E1", tmp);
    snprintf(e2, sizeof e2, "%s/E2", tmp);
    snprintf(out, sizeof out, "%s/Eout", tmp);
    make_task(e1, 0, &O1, 0);
    make_task(e2, 0, &O1, 8);
    const char *d[2] = {e1, e2};
    int rc = run_report(d, 2, out, DACC_REPORT_BOTH, &c, &e);
    char *j = slurp(out, "summary.json"), *s = slurp(out, "summary.csv"), t[64];
    CHECK(rc == 0 && c.duplicates == 1 && c.tasks_used == 1, "disagreeing duplicate: one kept");
    CHECK(j && strstr(j, "with different results; kept"), "disagreement warned");
    CHECK(NEAR(csv_get(s, "heldout", "Original", "clean_mean", t, 0), 0.9, 1e-9), "the first copy kept");
    free(j); free(s);
    /* a single task folder as input, output elsewhere */
    char task[700];
    snprintf(task, sizeof task, "%s/tasks/00-Original-s1", e1);
    snprintf(out, sizeof out, "%s/Fout/sub", tmp);
    mkdir_p(out);
    const char *d1[1] = {task};
    rc = run_report(d1, 1, out, DACC_REPORT_BOTH, &c, &e);
    CHECK(rc == 0 && c.tasks_used == 1, "single task folder (%s)", rc ? e.msg : "");
    /* nothing usable: an error, not a crash */
    char g[600];
    snprintf(g, sizeof g, "%s/G", tmp);
    spec s5 = {"Original", 1, {0, 0, 0}, {1, 1, 1}};
    make_task(g, 0, &s5, 1);
    const char *d3[1] = {g};
    rc = run_report(d3, 1, NULL, DACC_REPORT_BOTH, &c, &e);
    CHECK(rc != 0 && strstr(e.msg, "no finished task") && c.tasks_skipped == 1, "only unfinished tasks: %s", e.msg);
    snprintf(g, sizeof g, "%s/does-not-exist", tmp);
    rc = run_report(d3, 1, NULL, DACC_REPORT_BOTH, &c, &e);
    const char *d4[1] = {g};
    rc = run_report(d4, 1, NULL, DACC_REPORT_BOTH, &c, &e);
    CHECK(rc != 0 && strstr(e.msg, "no such directory"), "missing input: %s", e.msg);
    rc = run_report(d1, 1, out, DACC_REPORT_PAPER, &c, &e);
    CHECK(rc == 0, "paper protocol alone");
    /* default output: the first input */
    const char *d5[1] = {e1};
    rc = run_report(d5, 1, NULL, DACC_REPORT_BOTH, &c, &e);
    char *md = slurp(e1, "summary.md");
    CHECK(rc == 0 && md != NULL, "default out dir is the first DIR");
    free(md);
}

static void test_pred_read(const char *tmp) {
    uint8_t buf[20 + (B + 1) * N * 2 + 4];
    size_t n = make_predictions(&A2, buf);
    char dir[600];
    snprintf(dir, sizeof dir, "%s/P", tmp);
    mkdir_p(dir);
    char path[700];
    snprintf(path, sizeof path, "%s/ok.bin", dir);
    put_file(dir, "ok.bin", buf, n);
    dacc_pred p;
    dacc_err e;
    int rc = dacc_pred_read(path, 0, 0, &p, &e);
    CHECK(rc == 0 && p.blocks == B + 1 && p.n == N && p.label[13] == 3 && p.pred[0 * N + 17] == 8 &&
              p.pred[2 * N + 16] == 7 && p.pred[1 * N + 16] == 6,
          "predictions read back");
    dacc_pred_free(&p);
    put_file(dir, "trunc.bin", buf, n - 7);
    snprintf(path, sizeof path, "%s/trunc.bin", dir);
    rc = dacc_pred_read(path, 0, 0, &p, &e);
    CHECK(rc != 0 && strstr(e.msg, "truncated"), "truncated: %s", e.msg);
    buf[40] ^= 0x10;
    put_file(dir, "crc.bin", buf, n);
    snprintf(path, sizeof path, "%s/crc.bin", dir);
    rc = dacc_pred_read(path, 0, 0, &p, &e);
    CHECK(rc != 0 && strstr(e.msg, "CRC"), "bit flip: %s", e.msg);
    put_file(dir, "magic.bin", "NOTAPRED0000000000000000000", 27);
    snprintf(path, sizeof path, "%s/magic.bin", dir);
    rc = dacc_pred_read(path, 0, 0, &p, &e);
    CHECK(rc != 0 && strstr(e.msg, "DACCPRED"), "bad magic: %s", e.msg);
    put_file(dir, "empty.bin", "", 0);
    snprintf(path, sizeof path, "%s/empty.bin", dir);
    rc = dacc_pred_read(path, 0, 0, &p, &e);
    CHECK(rc != 0, "empty file");
}

int main(void) {
    const char *tmp = test_tmpdir();
    test_main_merge(tmp);
    test_corrupt_and_no_original(tmp);
    test_duplicates_and_single(tmp);
    test_pred_read(tmp);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (!test_failed && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return test_finish();
}
