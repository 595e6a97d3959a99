/* The TUI's readers against what a live run directory really looks like:
 * metrics lines being written, malformed and partial lines, empty and
 * missing files, huge numbers and deeply nested JSON. None of it may crash,
 * and what is readable must be read exactly. */
#include "harness.h"
#include "core/json.h"
#include "dacc/rundir.h"
#include "dacc/tui.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *L1 = "{\"variant\":\"Original\",\"seed\":1,\"epoch\":1,\"lr\":0.001,\"loss\":0.1432,\"train_acc\":0.9561,\"test_acc\":0.9874,\"seconds\":41.2}\n";
static const char *L2 = "{\"variant\":\"Original\",\"seed\":1,\"epoch\":2,\"lr\":0.0007,\"loss\":0.0611,\"train_acc\":0.9811,\"test_acc\":0.9902,\"seconds\":40.9}\n";
static const char *L3 = "{\"variant\":\"Original\",\"seed\":1,\"epoch\":3,\"lr\":0.00049,\"loss\":0.0455,\"train_acc\":0.9861,\"test_acc\":0.9911,\"seconds\":41.0}\n";

static int parse_str(const char *s, dacc_rd_epoch *ep, int max, int *bad) {
    return dacc_rd_parse_metrics(s, strlen(s), ep, max, bad);
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void append_file(const char *path, const char *text) {
    FILE *f = fopen(path, "ab");
    if (!f) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void test_metrics(void) {
    dacc_rd_epoch ep[DACC_RD_MAX_EPOCHS];
    int bad = -1;
    char buf[4096];

    snprintf(buf, sizeof buf, "%s%s%s", L1, L2, L3);
    int n = parse_str(buf, ep, DACC_RD_MAX_EPOCHS, &bad);
    CHECK(n == 3 && bad == 0, "three good lines: n=%d bad=%d", n, bad);
    CHECK(ep[0].epoch == 1 && ep[2].epoch == 3, "epochs in order");
    CHECK(fabs(ep[1].loss - 0.0611) < 1e-12 && fabs(ep[1].test_acc - 0.9902) < 1e-12 &&
          fabs(ep[2].lr - 0.00049) < 1e-15 && fabs(ep[0].seconds - 41.2) < 1e-12, "values read exactly");

    /* a line being written: every prefix of the file gives exactly the
     * complete lines before the cut */
    size_t len = strlen(buf), l1 = strlen(L1), l2 = strlen(L2);
    int wrong = 0;
    for (size_t cut = 0; cut <= len; cut++) {
        int want = cut >= len ? 3 : cut >= l1 + l2 ? 2 : cut >= l1 ? 1 : 0;
        int got = dacc_rd_parse_metrics(buf, cut, ep, DACC_RD_MAX_EPOCHS, &bad);
        if (got != want || bad != 0) wrong++;
    }
    CHECK(wrong == 0, "%d of %zu cut positions miscounted", wrong, len + 1);

    /* the last line without '\n' is ignored even if it is complete JSON */
    snprintf(buf, sizeof buf, "%s%.*s", L1, (int)strlen(L2) - 1, L2);
    n = parse_str(buf, ep, DACC_RD_MAX_EPOCHS, &bad);
    CHECK(n == 1 && ep[0].epoch == 1, "unterminated last line ignored (n=%d)", n);

    /* malformed lines are skipped and counted; blank and CRLF lines are fine */
    snprintf(buf, sizeof buf,
             "garbage\n{\n%s{\"epoch\":}\n[1,2,3]\n{\"loss\":0.1}\n\n   \n{\"epoch\":\"2\"}\n%.*s\r\n"
             "{\"epoch\":-1}\n\"str\"\n{\"epoch\":3,\"loss\":0.2,}\n{\"epoch\":4}trailing\n",
             L1, (int)strlen(L3) - 1, L3);
    n = parse_str(buf, ep, DACC_RD_MAX_EPOCHS, &bad);
    CHECK(n == 2 && ep[0].epoch == 1 && ep[1].epoch == 3, "good lines among malformed ones: n=%d", n);
    CHECK(bad == 10, "malformed lines counted: %d", bad);

    /* empty input and only-newlines input */
    CHECK(dacc_rd_parse_metrics("", 0, ep, DACC_RD_MAX_EPOCHS, &bad) == 0 && bad == 0, "empty buffer");
    CHECK(parse_str("\n\n\n", ep, DACC_RD_MAX_EPOCHS, &bad) == 0 && bad == 0, "only newlines");

    /* huge numbers: a huge epoch is rejected, a huge loss is kept as inf */
    n = parse_str("{\"epoch\":1e400,\"loss\":1}\n{\"epoch\":2.5e9}\n"
                  "{\"epoch\":5,\"loss\":1e999,\"train_acc\":-1e999,\"test_acc\":123456789012345678901234567890}\n"
                  "{\"epoch\":6,\"loss\":0.000000000000000000000000000000000000000000000000000000000000000000000"
                  "000000000000000000000000000000000000000000000000000000000000000000000000000001}\n",
                  ep, DACC_RD_MAX_EPOCHS, &bad);
    CHECK(n == 2 && bad == 2, "huge epochs rejected: n=%d bad=%d", n, bad);
    CHECK(n == 2 && isinf(ep[0].loss) && ep[0].loss > 0 && isinf(ep[0].train_acc) && ep[0].train_acc < 0 &&
          ep[0].test_acc > 1e29, "huge values read as inf/large");
    CHECK(n == 2 && ep[1].loss >= 0 && ep[1].loss < 1e-100, "long literal read");

    /* absent fields are NaN, not 0 */
    n = parse_str("{\"epoch\":7}\n", ep, DACC_RD_MAX_EPOCHS, &bad);
    CHECK(n == 1 && isnan(ep[0].loss) && isnan(ep[0].test_acc), "absent fields are NaN");

    /* a resumed task repeats an epoch: the later line wins */
    snprintf(buf, sizeof buf, "%s%s{\"epoch\":2,\"loss\":0.5}\n", L1, L2);
    n = parse_str(buf, ep, DACC_RD_MAX_EPOCHS, &bad);
    CHECK(n == 2 && fabs(ep[1].loss - 0.5) < 1e-12, "repeated epoch replaced (n=%d)", n);

    /* bounded: more lines than room */
    size_t cap = 700 * 40;
    char *many = malloc(cap);
    size_t o = 0;
    for (int i = 1; i <= 700; i++) o += (size_t)snprintf(many + o, cap - o, "{\"epoch\":%d,\"loss\":0.1}\n", i);
    n = dacc_rd_parse_metrics(many, o, ep, DACC_RD_MAX_EPOCHS, &bad);
    CHECK(n == DACC_RD_MAX_EPOCHS, "capacity respected: %d", n);
    free(many);

    /* random bytes (fresh each run): no crash, never more than the lines */
    uint64_t s = test_seed();
    char junk[512];
    int over = 0;
    for (int it = 0; it < 3000; it++) {
        size_t jl = (size_t)(test_rand_u64(&s) % sizeof junk);
        int lines = 0;
        for (size_t i = 0; i < jl; i++) {
            uint64_t r = test_rand_u64(&s);
            /* bias towards JSON-ish characters so the parser goes deep */
            static const char pool[] = "{}[]\":,0123456789.eE+-\\ntrufalse \n";
            junk[i] = (r & 1) ? pool[(r >> 8) % (sizeof pool - 1)] : (char)(r >> 16);
            if (junk[i] == '\n') lines++;
        }
        if (jl && it % 2) { memcpy(junk, L1, jl < strlen(L1) ? jl : strlen(L1)); }
        lines = 0;
        for (size_t i = 0; i < jl; i++) lines += junk[i] == '\n';
        n = dacc_rd_parse_metrics(junk, jl, ep, DACC_RD_MAX_EPOCHS, &bad);
        if (n < 0 || n > lines || bad < 0 || n + bad > lines) over++;
    }
    CHECK(over == 0, "random input: %d bad counts", over);
}

static void test_json(void) {
    char err[128];
    /* deep nesting: an error, not a stack overflow */
    size_t depth = 200000;
    char *deep = malloc(2 * depth + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    dacc_jdoc *d = dacc_json_parse(deep, 2 * depth, err, sizeof err);
    CHECK(!d && strstr(err, "deep"), "200000 levels rejected: %s", err);
    memset(deep, '{', depth);
    d = dacc_json_parse(deep, depth, err, sizeof err);
    CHECK(!d, "200000 open braces rejected");
    /* 60 levels are fine */
    memset(deep, '[', 60);
    memset(deep + 60, ']', 60);
    d = dacc_json_parse(deep, 120, err, sizeof err);
    CHECK(d != NULL, "60 levels parse: %s", err);
    dacc_json_free(d);
    free(deep);

    const char *txt = "{\"a\":[1,2.5,-3e2,true,false,null],\"s\":\"x\\u00e9\\ud83d\\ude00\\n\\\"\",\"o\":{\"k\":7}}";
    d = dacc_json_parse(txt, strlen(txt), err, sizeof err);
    const dacc_jv *r = dacc_json_root(d);
    CHECK(d && dacc_json_len(dacc_json_get(r, "a")) == 6, "array length");
    CHECK(dacc_json_num(dacc_json_at(dacc_json_get(r, "a"), 2), 0) == -300, "exponent");
    CHECK(dacc_json_at(dacc_json_get(r, "a"), 3) && dacc_json_at(dacc_json_get(r, "a"), 3)->type == DACC_J_TRUE, "true");
    CHECK(!strcmp(dacc_json_str(dacc_json_get(r, "s"), ""), "x\xc3\xa9\xf0\x9f\x98\x80\n\""), "escapes and surrogate pair");
    CHECK(dacc_json_int(dacc_json_get(dacc_json_get(r, "o"), "k"), 0, 0, 10) == 7, "nested object");
    CHECK(dacc_json_get(r, "missing") == NULL && dacc_json_num(NULL, 4) == 4 && dacc_json_str(dacc_json_get(r, "a"), "def")[0] == 'd',
          "missing and mistyped lookups return defaults");
    CHECK(dacc_json_at(dacc_json_get(r, "a"), 99) == NULL, "index past the end");
    dacc_json_free(d);

    /* dacc_json_int never converts an out-of-range double */
    d = dacc_json_parse("[1e300,-1e300,1e999,3.9]", 24, err, sizeof err);
    r = dacc_json_root(d);
    CHECK(dacc_json_int(dacc_json_at(r, 0), 0, 0, 100) == 100 && dacc_json_int(dacc_json_at(r, 1), 0, -5, 100) == -5 &&
          dacc_json_int(dacc_json_at(r, 2), 0, 0, 9) == 9 && dacc_json_int(dacc_json_at(r, 3), 0, 0, 9) == 3, "dacc_json_int clamps");
    dacc_json_free(d);

    static const char *badj[] = {"", "{", "[1,", "{\"a\" 1}", "{\"a\":}", "[1 2]", "\"abc", "\"\\x\"", "\"\\u12\"",
                                 "tru", "nul", "01x", "-", "1.", "1e", "{}}", "[]]", "{\"a\":1,}", "\"\x01\"",
                                 "{\"\\", "\"\\"};
    int crashed_or_accepted = 0;
    for (size_t i = 0; i < sizeof badj / sizeof badj[0]; i++) {
        d = dacc_json_parse(badj[i], strlen(badj[i]), err, sizeof err);
        if (d || !err[0]) crashed_or_accepted++;
        dacc_json_free(d);
    }
    CHECK(crashed_or_accepted == 0, "%d malformed documents accepted", crashed_or_accepted);
    d = dacc_json_parse("  {\"x\":1}\n  ", 12, err, sizeof err);
    CHECK(d != NULL, "surrounding whitespace is fine");
    dacc_json_free(d);
    CHECK(dacc_json_parse(NULL, 5, err, sizeof err) == NULL, "NULL input");
}

static void test_results(void) {
    dacc_rd_results res;
    const dacc_rd_proto *p = res.proto;
    const char *r1 = "{\"variant\":\"Original\",\"seed\":1,"
                     "\"heldout\":{\"clean\":0.99,\"y\":[0.98,0.97,0.96,0.95,0.94],\"n\":10000}}";
    CHECK(dacc_rd_parse_results(r1, strlen(r1), &res, NULL, 0) == 0, "results parse");
    CHECK(p[DACC_RD_HELDOUT].has && !p[DACC_RD_PAPER].has, "only held-out present");
    CHECK(p[DACC_RD_HELDOUT].ny == 5 && fabs(p[DACC_RD_HELDOUT].xhat - 0.96) < 1e-12 && fabs(p[DACC_RD_HELDOUT].delta + 0.03) < 1e-12,
          "x^ and delta computed from y when absent (eq. 1, 2)");
    const char *r2 = "{\"paper\":{\"clean\":0.97}}"; /* no AlignMNIST: clean only */
    CHECK(dacc_rd_parse_results(r2, strlen(r2), &res, NULL, 0) == 0 && p[DACC_RD_PAPER].has && p[DACC_RD_PAPER].ny == 0 &&
          isnan(p[DACC_RD_PAPER].xhat) && isnan(p[DACC_RD_PAPER].delta), "clean only: x^ and delta absent");
    CHECK(dacc_rd_parse_results("{\"paper\":", 9, &res, NULL, 0) == -1 && !p[DACC_RD_PAPER].has, "truncated results rejected");
}

static void test_rundir(void) {
    char dir[512], path[700], sub[600];
    snprintf(dir, sizeof dir, "%s/run", test_tmpdir());
    mkdir(dir, 0755);
    dacc_rd_run *r = NULL;
    dacc_err e = {{0}};

    CHECK(dacc_rd_run_open(&r, "/nonexistent/dacc/run", &e) == -1 && strstr(e.msg, "/nonexistent/dacc/run"),
          "missing run dir: error names it (%s)", e.msg);
    CHECK(dacc_rd_run_open(&r, dir, &e) == 0 && r, "open: %s", e.msg);
    /* nothing there yet: no crash, nothing known */
    dacc_rd_run_refresh(r);
    CHECK(!r->have_study && r->ntasks == 0 && !r->progress.valid && r->ndigits == 0, "empty run dir");

    /* an empty study.json is not a study */
    snprintf(path, sizeof path, "%s/study.json", dir);
    write_file(path, "");
    dacc_rd_run_refresh(r);
    CHECK(!r->have_study, "empty study.json");

    write_file(path, "{\"format\":\"dacc-run\",\"isa\":\"avx2\",\"kernels\":{\"conv_fwd\":\"k1\",\"gemm\":\"k2\"},"
                     "\"epochs\":20,\"variants\":[\"Original\",\"StepLR\"],\"seeds\":[1,2],"
                     "\"tasks\":[{\"id\":\"00-Original-s1\",\"variant\":\"Original\",\"seed\":1},"
                     "{\"id\":\"01-StepLR-s1\",\"variant\":\"StepLR\",\"seed\":1},"
                     "{\"id\":\"../../etc\",\"variant\":\"StepLR\",\"seed\":9},"
                     "{\"id\":\"02-Original-s2\",\"variant\":\"Original\",\"seed\":2}]}");
    int ch = dacc_rd_run_refresh(r);
    CHECK(ch & DACC_RD_CH_STUDY, "study change reported");
    CHECK(r->have_study && r->ntasks == 3 && r->nvariants == 2 && r->nseeds == 2 && r->nkernels == 2 &&
          !strcmp(r->isa, "avx2") && !strcmp(r->kernel_impl[1], "k2"), "study read (unsafe task id dropped)");
    CHECK(dacc_rd_run_refresh(r) == 0, "no change -> nothing re-read");

    /* task dirs missing entirely: fine */
    CHECK(r->tasks[0].nep == 0 && !r->tasks[0].has_results, "missing task files");

    snprintf(sub, sizeof sub, "%s/tasks", dir);
    mkdir(sub, 0755);
    snprintf(sub, sizeof sub, "%s/tasks/00-Original-s1", dir);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/metrics.jsonl", sub);
    write_file(path, "");
    dacc_rd_run_refresh(r);
    CHECK(r->tasks[0].nep == 0, "empty metrics file");
    char partial[256];
    snprintf(partial, sizeof partial, "%s%.40s", L1, L2);
    write_file(path, partial);
    ch = dacc_rd_run_refresh(r);
    CHECK((ch & DACC_RD_CH_METRICS) && r->tasks[0].nep == 1, "line being written ignored (nep=%d)", r->tasks[0].nep);
    append_file(path, L2 + 40);
    ch = dacc_rd_run_refresh(r);
    CHECK((ch & DACC_RD_CH_METRICS) && r->tasks[0].nep == 2, "completed line picked up (nep=%d)", r->tasks[0].nep);
    append_file(path, "}}}{{{not json\n");
    dacc_rd_run_refresh(r);
    CHECK(r->tasks[0].nep == 2 && r->tasks[0].bad_lines == 1, "malformed line skipped");

    snprintf(path, sizeof path, "%s/results.json", sub);
    write_file(path, "{\"heldout\":{\"clean\":0.99,\"y\":[0.98,0.98,0.98,0.98,0.98],\"xhat\":0.98,\"delta\":-0.01}}");
    snprintf(sub, sizeof sub, "%s/tasks/02-Original-s2", dir);
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/results.json", sub);
    write_file(path, "{\"heldout\":{\"clean\":0.97,\"y\":[0.96,0.96,0.96,0.96,0.96],\"xhat\":0.96,\"delta\":-0.01}}");
    snprintf(path, sizeof path, "%s/DONE", sub);
    write_file(path, "");
    ch = dacc_rd_run_refresh(r);
    CHECK(ch & DACC_RD_CH_RESULTS, "results change reported");
    CHECK(r->tasks[2].done && !r->tasks[0].done, "DONE marker seen");
    dacc_rd_stats st;
    dacc_rd_variant_stats(r, 0, DACC_RD_HELDOUT, &st);
    CHECK(st.nseeds == 2 && fabs(st.clean - 0.98) < 1e-12 && fabs(st.xhat - 0.97) < 1e-12 &&
          fabs(st.delta + 0.01) < 1e-12 && fabs(st.delta_sd) < 1e-9, "mean over seeds");
    dacc_rd_variant_stats(r, 1, DACC_RD_HELDOUT, &st);
    CHECK(st.nseeds == 0 && isnan(st.clean), "variant without results");

    /* progress: a good one, then a torn one keeps the good state */
    snprintf(path, sizeof path, "%s/progress.json", dir);
    write_file(path, "{\"state\":\"training\",\"task_index\":1,\"tasks\":3,\"epoch\":11,\"epochs\":20,"
                     "\"batch\":469,\"batches\":938,\"eta_s\":1e999}");
    dacc_rd_run_refresh(r);
    CHECK(r->progress.valid && !strcmp(r->progress.state, "training") && r->progress.epoch == 11 &&
          isinf(r->progress.eta_s), "progress read");
    double f = dacc_rd_study_fraction(r);
    CHECK(fabs(f - (1 + 10.5 / 20) / 3) < 1e-9, "study fraction %g", f);
    write_file(path, "{\"state\":\"done\",\"task_ind");
    dacc_rd_run_refresh(r);
    CHECK(r->progress.valid && !strcmp(r->progress.state, "training"), "torn progress.json keeps the last state");
    CHECK(r->warning[0] != 0, "torn file noted in the warning");
    CHECK(dacc_rd_state_final("done") && dacc_rd_state_final("failed") && dacc_rd_state_final("interrupted") &&
          !dacc_rd_state_final("training"), "final states");

    /* inspect.json: one good digit, one with bad hex, one with too few bytes */
    char *ins = malloc(20000);
    char img[1569];
    for (int i = 0; i < 784; i++) snprintf(img + 2 * i, 3, "%02x", (i * 7) & 255);
    snprintf(ins, 20000,
             "{\"rows\":28,\"cols\":28,\"blocks\":2,\"digits\":["
             "{\"index\":5,\"label\":3,\"split\":\"test\",\"images\":[\"%s\",\"%s\"],"
             "\"pred\":{\"Original\":[[3,0.99],[5,0.6]],\"Nope\":[[1,1]]}},"
             "{\"index\":6,\"label\":3,\"images\":[\"zz%s\"]},"
             "{\"index\":7,\"label\":3,\"images\":[\"00ff\"]}]}",
             img, img, img + 2);
    snprintf(path, sizeof path, "%s/inspect.json", dir);
    write_file(path, ins);
    free(ins);
    ch = dacc_rd_run_refresh(r);
    CHECK((ch & DACC_RD_CH_INSPECT) && r->ndigits == 1, "inspect: bad digits skipped (%d)", r->ndigits);
    if (r->ndigits == 1) {
        const dacc_rd_digit *g = &r->digits[0];
        CHECK(g->nblocks == 2 && g->label == 3 && g->img[1] == 7 && g->img[784 + 783] == ((783 * 7) & 255),
              "digit pixels decoded");
        CHECK(g->pred[0][0] == 3 && g->pred[0][1] == 5 && fabsf(g->conf[0][1] - 0.6f) < 1e-6f &&
              g->pred[1][0] == -1, "predictions per variant; missing variant is -1");
    }
    dacc_rd_run_free(r);
}

static void test_summary(void) {
    char fixture[512];
    test_source_path("tests/fixtures/run-sample", fixture, sizeof fixture);
    char out[512];
    snprintf(out, sizeof out, "%s/summary.txt", test_tmpdir());
    FILE *f = fopen(out, "w+");
    dacc_err e = {{0}};
    int rc = dacc_tui_print_summary(fixture, f, &e);
    CHECK(rc == 0, "summary of the fixture: %s", e.msg);
    rewind(f);
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    CHECK(strstr(text, "Held-out protocol") && strstr(text, "Paper protocol"), "both protocols printed");
    /* numbers written by tests/fixtures/make_run_sample.py */
    CHECK(strstr(text, "ConvPool") && strstr(text, "99.25") && strstr(text, "97.18") && strstr(text, "-2.07"),
          "ConvPool's held-out clean, x^ and delta printed");
    CHECK(strstr(text, "AveragePool") && strstr(text, "-0.64"), "AveragePool's delta printed");
    CHECK(strstr(text, "Per-epoch"), "per-epoch summary printed");
    FILE *devnull = fopen("/dev/null", "w");
    rc = dacc_tui_print_summary("/nonexistent/run", devnull, &e);
    CHECK(rc == -1 && strstr(e.msg, "/nonexistent/run"), "missing run dir is an error: %s", e.msg);
    rc = dacc_tui_print_summary(test_tmpdir(), devnull, &e);
    CHECK(rc == -1 && strstr(e.msg, "study.json"), "dir without study.json is an error: %s", e.msg);
    fclose(devnull);
}

int main(void) {
    test_metrics();
    test_json();
    test_results();
    test_rundir();
    test_summary();
    return test_finish();
}
