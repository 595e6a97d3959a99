/* tasks/<id>/scales.json (dacc run --scales) through its owner's reader:
 * a valid entry is read back with its histogram; the bounds hold (at most
 * DACC_RD_MAX_SCALES entries, scales in [0, 10], y counts, histogram
 * length and sum); malformed entries are dropped and counted, never read
 * half; a file over 1 MiB is refused before it is parsed. The live view
 * (the dashboard's) averages delta per scale over a variant's seeds and
 * leaves out a scales.json written for other settings than config.json's. */
#include "dacc/rundir.h"
#include "harness.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char entry_fmt[] =
    "{\"scale\":%s,\"set_train\":\"tr.npz\",\"set_test\":\"te.npz\","
    "\"heldout\":{\"clean\":0.9,\"y\":[0.8,0.7],\"xhat\":0.75,\"delta\":-0.15,\"n\":10,\"hist\":%s},"
    "\"paper\":{\"clean\":0.95,\"y\":[0.9,0.9],\"xhat\":0.9,\"delta\":-0.05,\"n\":20}}";

static char *doc_of(const char *const *scales, const char *const *hists, int n) {
    size_t cap = 512 + (size_t)n * 512;
    char *d = malloc(cap);
    size_t k = (size_t)snprintf(d, cap, "{\"variant\":\"Original\",\"seed\":1,\"key\":\"K\",\"scales\":[");
    for (int i = 0; i < n; i++) {
        if (i) d[k++] = ',';
        k += (size_t)snprintf(d + k, cap - k, entry_fmt, scales[i], hists[i]);
    }
    snprintf(d + k, cap - k, "]}");
    return d;
}

static dacc_rd_scales out;

static void test_valid(void) {
    const char *sc[2] = {"0.5", "2"}, *h[2] = {"[1,0,0,0,1,8]", "[0,0,0,0,0,10]"};
    char *d = doc_of(sc, h, 2), err[160];
    CHECK(dacc_rd_parse_scales(d, strlen(d), &out, err, sizeof err) == 0, "valid file parses (%s)", err);
    CHECK(out.n == 2 && out.dropped == 0, "two entries kept (%d, dropped %d)", out.n, out.dropped);
    CHECK(!strcmp(out.key, "K"), "key read");
    const dacc_rd_scale *s = &out.s[0];
    CHECK(s->scale == 0.5 && !strcmp(s->set_train, "tr.npz") && !strcmp(s->set_test, "te.npz"), "scale and sets");
    CHECK(s->proto[DACC_RD_HELDOUT].ny == 2 && fabs(s->proto[DACC_RD_HELDOUT].delta + 0.15) < 1e-12,
          "held-out y and delta (from y)");
    CHECK(s->nhist[DACC_RD_HELDOUT] == 6 && s->hist[DACC_RD_HELDOUT][5] == 8, "histogram read");
    CHECK(s->nhist[DACC_RD_PAPER] == 0 && s->proto[DACC_RD_PAPER].has, "paper without histogram");
    free(d);
}

static void test_dropped(void) {
    /* a negative scale, one above 10, NaN-like text, a histogram of the
     * wrong length and one whose sum is not n, an x^ that is not y's mean */
    const char *sc[4] = {"-1", "10.5", "1", "3"};
    const char *h[4] = {"[1,0,0,0,1,8]", "[1,0,0,0,1,8]", "[1,0,0,1,8]", "[1,0,0,0,1,9]"};
    char *d = doc_of(sc, h, 4), err[160];
    CHECK(dacc_rd_parse_scales(d, strlen(d), &out, err, sizeof err) == 0, "parses");
    CHECK(out.n == 2 && out.dropped == 2, "out-of-range scales dropped (kept %d, dropped %d)", out.n, out.dropped);
    CHECK(out.n == 2 && out.s[0].nhist[0] == 0 && out.s[1].nhist[0] == 0,
          "histograms of the wrong length or sum are left out");
    free(d);
    const char *bad = "{\"key\":\"K\",\"scales\":[{\"scale\":1,\"heldout\":{\"clean\":0.9,\"y\":[0.8,0.7],"
                      "\"xhat\":0.5,\"n\":10}},{\"scale\":1,\"heldout\":{\"clean\":2,\"y\":[0.8],\"n\":10}},"
                      "{\"scale\":1,\"heldout\":{\"clean\":0.9,\"y\":[],\"n\":10}},{\"scale\":1},7]}";
    CHECK(dacc_rd_parse_scales(bad, strlen(bad), &out, err, sizeof err) == 0 && out.n == 0 && out.dropped == 5,
          "bad x^, accuracy, empty y, no protocol, not an object: all dropped (%d kept, %d dropped)", out.n,
          out.dropped);
    CHECK(dacc_rd_parse_scales("[1]", 3, &out, err, sizeof err) == -1, "not an object: refused");
    CHECK(dacc_rd_parse_scales("{\"scales\":[", 11, &out, err, sizeof err) == -1, "truncated: refused");
}

static void test_many(void) {
    enum { N = 40 };
    const char *sc[N], *h[N];
    char num[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(num[i], sizeof num[i], "%g", 0.1 * i);
        sc[i] = num[i];
        h[i] = "[1,0,0,0,1,8]";
    }
    char *d = doc_of(sc, h, N), err[160];
    CHECK(dacc_rd_parse_scales(d, strlen(d), &out, err, sizeof err) == 0, "40 entries parse");
    CHECK(out.n == DACC_RD_MAX_SCALES && out.dropped == N - DACC_RD_MAX_SCALES, "at most %d kept (%d, dropped %d)",
          DACC_RD_MAX_SCALES, out.n, out.dropped);
    free(d);
}

static void test_file_bound(void) {
    char dir[] = "/tmp/dacc-scales-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    dacc_err e;
    CHECK(dacc_rd_read_scales(dir, &out, &e) == 1 && out.n == 0, "absent file: 1, empty");
    snprintf(path, sizeof path, "%s/scales.json", dir);
    FILE *f = fopen(path, "wb");
    fputs("{\"key\":\"", f);
    for (int i = 0; i < (1 << 20); i++) fputc('a', f);
    fputs("\",\"scales\":[]}", f);
    fclose(f);
    CHECK(dacc_rd_read_scales(dir, &out, &e) == -1 && strstr(e.msg, "scales.json"), "a file over 1 MiB refused: %s",
          e.msg);
    unlink(path);
    rmdir(dir);
}

static void put(const char *dir, const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
}

/* One task folder with config.json's key CKEY and scales.json of key SKEY
 * holding held-out delta D0 at scale 0.5 and D1 at scale 2. */
static void task(const char *run, const char *id, const char *ckey, const char *skey, double d0, double d1) {
    char dir[256], text[2048];
    snprintf(dir, sizeof dir, "%s/tasks/%s", run, id);
    mkdir(dir, 0755);
    snprintf(text, sizeof text, "{\"key\":\"%s\",\"variant\":\"Original\"}", ckey);
    put(dir, "config.json", text);
    snprintf(text, sizeof text,
             "{\"key\":\"%s\",\"scales\":[{\"scale\":0.5,\"heldout\":{\"clean\":0.9,\"y\":[%.17g],\"n\":10}},"
             "{\"scale\":2,\"heldout\":{\"clean\":0.9,\"y\":[%.17g],\"n\":10}}]}",
             skey, 0.9 + d0, 0.9 + d1);
    put(dir, "scales.json", text);
}

static void test_view(void) {
    char run[] = "/tmp/dacc-scales-view-XXXXXX", path[128];
    CHECK(mkdtemp(run) != NULL, "temp dir");
    snprintf(path, sizeof path, "%s/tasks", run);
    mkdir(path, 0755);
    put(run, "study.json", "{\"variants\":[\"Original\"],\"seeds\":[1,2,3],\"tasks\":["
                           "{\"id\":\"00-Original-s1\",\"variant\":\"Original\",\"seed\":1},"
                           "{\"id\":\"01-Original-s2\",\"variant\":\"Original\",\"seed\":2},"
                           "{\"id\":\"02-Original-s3\",\"variant\":\"Original\",\"seed\":3}]}");
    task(run, "00-Original-s1", "A", "A", -0.1, -0.3);
    task(run, "01-Original-s2", "B", "B", -0.2, -0.5);
    task(run, "02-Original-s3", "C", "old", -0.9, -0.9); /* another network's: left out */
    dacc_rd_run *r = NULL;
    dacc_err e;
    CHECK(dacc_rd_run_open(&r, run, &e) == 0, "view opens");
    dacc_rd_run_refresh(r);
    double xs[DACC_RD_MAX_SCALES], d[DACC_RD_MAX_SCALES];
    int n = dacc_rd_scale_curve(r, 0, DACC_RD_HELDOUT, xs, d, DACC_RD_MAX_SCALES);
    CHECK(n == 2 && xs[0] == 0.5 && xs[1] == 2, "scales 0.5 and 2 (%d)", n);
    CHECK(n == 2 && fabs(d[0] + 0.15) < 1e-9 && fabs(d[1] + 0.4) < 1e-9, "delta mean of the two seeds: %g %g",
          d[0], d[1]);
    CHECK(dacc_rd_scale_curve(r, 0, DACC_RD_PAPER, xs, d, DACC_RD_MAX_SCALES) == 2 && isnan(d[0]),
          "no paper protocol: NaN");
    dacc_rd_run_free(r);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", run);
    CHECK(system(cmd) == 0, "cleanup");
}

int main(void) {
    test_view();
    test_valid();
    test_dropped();
    test_many();
    test_file_bound();
    return test_finish();
}
