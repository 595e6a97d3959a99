/* Crafted run directories against the bounds of the run directory's owner
 * (issue 11): a predictions file that claims more than the format allows, a
 * metrics line with epoch 999999, a study.json planning 30000 tasks, and
 * more than 16 variants. Each must be refused or bounded, never read whole,
 * looped over or cut silently. */
#include "dacc/report.h"
#include "dacc/rundir.h"
#include "dacc/tui.h"
#include "harness.h"
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Runs fn in a child with a time bound; returns its exit status (or 128 +
 * the signal that ended it: SIGALRM when it ran too long). */
static int in_child(int (*fn)(const char *), const char *arg, unsigned seconds) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(seconds);
        _exit(fn(arg));
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return 255;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A sparse predictions file whose header is consistent with its size but
 * claims 81 blocks of 2^21 images (340 MB): refused from the header, with
 * memory far below the file's size. */
static int pred_child(const char *path) {
    dacc_pred p;
    dacc_err e;
    int rc = dacc_pred_read(path, 0, 0, &p, &e);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (rc == 0) return 1;
    if (!strstr(e.msg, "at most")) {
        fprintf(stderr, "pred: %s\n", e.msg);
        return 2;
    }
    return ru.ru_maxrss > 64 * 1024 ? 3 : 0; /* KiB */
}

static void test_pred_bound(const char *tmp) {
    char path[600];
    snprintf(path, sizeof path, "%s/huge-predictions.bin", tmp);
    uint32_t blocks = 81, n = 1u << 21;
    unsigned char h[20];
    memcpy(h, "DACCPRED", 8);
    put_u32(h + 8, 1);
    put_u32(h + 12, blocks);
    put_u32(h + 16, n);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(h, 1, 20, f) == 20, "write header");
    if (!f) return;
    fclose(f);
    CHECK(truncate(path, 20 + (off_t)blocks * n * 2 + 4) == 0, "sparse file");
    int st = in_child(pred_child, path, 60);
    CHECK(st == 0, "a predictions file beyond the format's bound is refused from its header in bounded memory (%d)", st);
    unlink(path);
}

/* A plan of 30000 tasks with one finished: every other task is listed as
 * not started, in well under the bound (it was quadratic: > 120 s). */
static int plan_child(const char *run) {
    dacc_report_options o = {DACC_REPORT_BOTH, run, NULL, NULL};
    dacc_report_counts c;
    dacc_err e;
    const char *dirs[1] = {run};
    if (dacc_report_run(dirs, 1, &o, &c, &e)) {
        fprintf(stderr, "report: %s\n", e.msg);
        return 1;
    }
    return c.tasks_used == 1 && c.tasks_skipped == 29999 ? 0 : 2;
}

static void test_big_plan(const char *tmp) {
    char run[600], path[800];
    snprintf(run, sizeof run, "%s/bigplan", tmp);
    snprintf(path, sizeof path, "%s/tasks/00000-V-s0", run);
    char cmd[1000];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    CHECK(system(cmd) == 0, "mkdir");
    char *plan = malloc(30000 * 64 + 64);
    size_t k = (size_t)sprintf(plan, "{\"tasks\":[");
    for (int i = 0; i < 30000; i++)
        k += (size_t)sprintf(plan + k, "%s{\"id\":\"%05d-V-s%d\",\"variant\":\"V\",\"seed\":%d}", i ? "," : "", i, i, i);
    sprintf(plan + k, "]}\n");
    snprintf(path, sizeof path, "%s/study.json", run);
    write_file(path, plan);
    free(plan);
    snprintf(path, sizeof path, "%s/tasks/00000-V-s0/results.json", run);
    write_file(path, "{\"variant\":\"V\",\"seed\":0,\"heldout\":{\"clean\":0.5,\"n\":10}}\n");
    snprintf(path, sizeof path, "%s/tasks/00000-V-s0/DONE", run);
    write_file(path, "");
    int st = in_child(plan_child, run, 60);
    CHECK(st == 0, "report of a 30000-task plan finishes within 60 s with 29999 unstarted (%d)", st);
}

static void make_study(const char *run, int nvariants, int epochs) {
    char path[800], *s = malloc(64 * (size_t)nvariants + 512);
    size_t k = (size_t)sprintf(s, "{\"epochs\":%d,\"variants\":[", epochs);
    for (int v = 0; v < nvariants; v++) k += (size_t)sprintf(s + k, "%s\"V%02d\"", v ? "," : "", v);
    k += (size_t)sprintf(s + k, "],\"seeds\":[1],\"tasks\":[");
    for (int v = 0; v < nvariants; v++)
        k += (size_t)sprintf(s + k, "%s{\"id\":\"%02d-V%02d-s1\",\"variant\":\"V%02d\",\"seed\":1}", v ? "," : "", v, v, v);
    sprintf(s + k, "]}\n");
    mkdir(run, 0755);
    snprintf(path, sizeof path, "%s/study.json", run);
    write_file(path, s);
    free(s);
}

static long lines_of(const char *path) {
    FILE *f = fopen(path, "r");
    long n = 0;
    for (int c; f && (c = fgetc(f)) != EOF;) n += c == '\n';
    if (f) fclose(f);
    return n;
}

/* One metrics line claims epoch 999999 in a 2-epoch study: the summary
 * prints the two planned epochs, not a million rows. */
static int epoch_child(const char *run) {
    char out[800];
    snprintf(out, sizeof out, "%s/summary.txt", run);
    FILE *f = fopen(out, "w");
    dacc_err e;
    int rc = f ? dacc_tui_print_summary(run, f, &e) : -1;
    if (f) fclose(f);
    return rc == 0 && lines_of(out) < 60 ? 0 : 1;
}

static void test_epoch_bound(const char *tmp) {
    char run[600], path[800];
    snprintf(run, sizeof run, "%s/epochs", tmp);
    make_study(run, 1, 2);
    snprintf(path, sizeof path, "%s/tasks", run);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tasks/00-V00-s1", run);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tasks/00-V00-s1/metrics.jsonl", run);
    write_file(path, "{\"epoch\":1,\"loss\":0.5,\"test_acc\":0.9}\n{\"epoch\":2,\"loss\":0.4,\"test_acc\":0.95}\n"
                     "{\"epoch\":999999,\"loss\":0.1,\"test_acc\":0.99}\n");
    dacc_rd_run *r;
    dacc_err e;
    CHECK(dacc_rd_run_open(&r, run, &e) == 0, "open: %s", e.msg);
    dacc_rd_run_refresh(r);
    CHECK(dacc_rd_max_epoch(r, -1) == 2 && r->tasks[0].nep == 2, "epochs beyond the plan dropped (max %d)",
          dacc_rd_max_epoch(r, -1));
    dacc_rd_run_free(r);
    CHECK(in_child(epoch_child, run, 30) == 0, "summary of a run with epoch 999999 stays short");
    /* the parser alone (used also by the report's figures) refuses epochs
     * beyond the format's bound */
    const char *lines = "{\"epoch\":1,\"loss\":0.5}\n{\"epoch\":999999,\"loss\":0.1}\n";
    dacc_rd_epoch ep[4];
    int bad = 0, n = dacc_rd_parse_metrics(lines, strlen(lines), ep, 4, &bad);
    CHECK(n == 1 && ep[0].epoch == 1 && bad == 1, "metrics parser: epoch 999999 refused (%d kept, %d bad)", n, bad);
}

/* 17 variants are all shown; beyond the view's 32, the rest are counted and
 * the summary says so. */
static void test_variants(const char *tmp) {
    char run[600], out[800];
    snprintf(run, sizeof run, "%s/v17", tmp);
    make_study(run, 17, 2);
    dacc_rd_run *r;
    dacc_err e;
    CHECK(dacc_rd_run_open(&r, run, &e) == 0, "open: %s", e.msg);
    dacc_rd_run_refresh(r);
    CHECK(r->nvariants == 17 && r->ntasks == 17 && r->tasks[16].vidx == 16, "17 variants read (%d)", r->nvariants);
    dacc_rd_run_free(r);
    snprintf(run, sizeof run, "%s/v40", tmp);
    make_study(run, 40, 2);
    CHECK(dacc_rd_run_open(&r, run, &e) == 0, "open: %s", e.msg);
    dacc_rd_run_refresh(r);
    CHECK(r->nvariants == DACC_RD_MAX_VARIANTS && r->variants_hidden == 40 - DACC_RD_MAX_VARIANTS,
          "40 variants: %d shown, %d counted as hidden", r->nvariants, r->variants_hidden);
    dacc_rd_run_free(r);
    snprintf(out, sizeof out, "%s/summary.txt", run);
    FILE *f = fopen(out, "w+");
    CHECK(f && dacc_tui_print_summary(run, f, &e) == 0, "summary");
    char text[8192] = "";
    if (f) {
        rewind(f);
        text[fread(text, 1, sizeof text - 1, f)] = 0;
        fclose(f);
    }
    CHECK(strstr(text, "8 more variants"), "the summary says that 8 variants are not shown");
}

/* A results.json with 8 transformed accuracies: the view keeps the five it
 * shows (the per-variant means index a five-entry array) and the file's x^. */
static void test_many_y(const char *tmp) {
    char run[600], path[800];
    snprintf(run, sizeof run, "%s/y8", tmp);
    make_study(run, 1, 2);
    snprintf(path, sizeof path, "%s/tasks", run);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tasks/00-V00-s1", run);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/tasks/00-V00-s1/results.json", run);
    write_file(path, "{\"variant\":\"V00\",\"seed\":1,\"heldout\":{\"clean\":0.9,"
                     "\"y\":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8],\"xhat\":0.3,\"delta\":-0.6,\"n\":10}}\n");
    dacc_rd_run *r;
    dacc_err e;
    CHECK(dacc_rd_run_open(&r, run, &e) == 0, "open: %s", e.msg);
    dacc_rd_run_refresh(r);
    dacc_rd_stats st;
    dacc_rd_variant_stats(r, 0, DACC_RD_HELDOUT, &st);
    CHECK(st.nseeds == 1 && st.ny == DACC_RD_SHOW_Y && st.y[4] == 0.5 && st.xhat == 0.3 && st.delta == -0.6,
          "8 y's: %d shown, y5 %g, x^ %g (the file's)", st.ny, st.y[4], st.xhat);
    dacc_rd_run_free(r);
}

int main(void) {
    const char *tmp = test_tmpdir();
    test_pred_bound(tmp);
    test_big_plan(tmp);
    test_epoch_bound(tmp);
    test_variants(tmp);
    test_many_y(tmp);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (!test_failed && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return test_finish();
}
