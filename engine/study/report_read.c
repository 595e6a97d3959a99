/* `dacc report`, gathering (see report_agg.h): the finished task folders and
 * the study.json plans of every input, read through the run directory's
 * owner (rundir.h); anything unreadable is skipped with a reason. Duplicates
 * (the same variant and seed in several inputs) are merged after reading, by
 * sorting, so thousands of tasks cost O(n log n). */
#include "study/report_agg.h"
#include "study/rundir.h"
#include "dacc/fileio.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

void report_strs_add(report_strs *l, const char *fmt, ...) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **s = realloc(l->s, sizeof *s * (size_t)cap);
        if (!s) return;
        l->s = s;
        l->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *m = NULL;
    if (vasprintf(&m, fmt, ap) >= 0) l->s[l->n++] = m;
    va_end(ap);
}

void report_strs_free(report_strs *l) {
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    memset(l, 0, sizeof *l);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void task_free(report_task *t) {
    for (int k = 0; k < 2; k++) free(t->pr[k].right);
    free(t->sc);
    t->sc = NULL;
    t->ns = 0;
}

static void add_skip(report *r, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_skip(report *r, const char *path, const char *fmt, ...) {
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    report_strs_add(&r->skipped, "%s: %s", path, why);
}

/* Correctness bits and the histogram of one protocol's predictions. */
static void tally(report_proto *p, const dacc_pred *d, int64_t *right_blk) {
    for (int b = 0; b < d->blocks; b++)
        for (int64_t i = 0; i < d->n; i++) {
            size_t q = (size_t)b * (size_t)d->n + (size_t)i;
            int ri = d->pred[q] == d->label[i];
            p->right[q >> 3] |= (uint8_t)(ri << (q & 7));
            right_blk[b] += ri;
        }
    memset(p->hist, 0, sizeof p->hist);
    if (p->nb > 0)
        for (int64_t i = 0; i < d->n; i++) {
            int m = 0;
            for (int b = 1; b <= p->nb; b++) m += report_bit(p, b, i);
            p->hist[report_bit(p, 0, i) * (p->nb + 1) + m]++;
        }
    p->label_crc = (uint32_t)crc32(0L, d->label, (uInt)d->n);
}

/* Reads the predictions of one protocol into bits and the histogram; on
 * any problem leaves pred_ok = 0 and says why. The header must match
 * results.json before anything is read. */
static void load_predictions(report *r, report_task *t, int k) {
    report_proto *p = &t->pr[k];
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", t->path, report_proto_file[k]);
    dacc_pred d;
    dacc_err e;
    if (!exists(path)) {
        report_strs_add(&r->warnings, "%s: %s missing: McNemar and per-image intervals n/a for its %s protocol",
                        t->id, report_proto_file[k], report_proto_name[k]);
        return;
    }
    if (dacc_pred_read(path, p->nb + 1, p->n, &d, &e)) {
        report_strs_add(&r->warnings, "%s: McNemar and per-image intervals n/a (%s)", t->id, e.msg);
        return;
    }
    size_t bits = (size_t)d.blocks * (size_t)d.n;
    p->right = calloc((bits + 7) / 8, 1);
    if (!p->right) {
        dacc_pred_free(&d);
        report_strs_add(&r->warnings, "%s: out of memory for %s", t->id, report_proto_file[k]);
        return;
    }
    int64_t right_blk[REPORT_MAXB + 1] = {0};
    tally(p, &d, right_blk);
    dacc_pred_free(&d);
    /* the file must tell the same story as results.json */
    for (int b = 0; b <= p->nb; b++) {
        double acc = (double)right_blk[b] / (double)p->n, want = b ? p->y[b - 1] : p->clean;
        if (fabs(acc - want) > 1e-5) {
            report_strs_add(&r->warnings, "%s: %s block %d accuracy %.6f but results.json says %.6f: McNemar n/a",
                            t->id, report_proto_file[k], b, acc, want);
            free(p->right);
            p->right = NULL;
            return;
        }
    }
    p->pred_ok = 1;
}

static const char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *s = path + n;
    while (s > path && s[-1] != '/') s--;
    return s;
}


/* results.json of a finished folder into t; -1 (skipped with a reason). */
static int read_results(report *r, const char *dir, report_task *t) {
    char path[4400];
    snprintf(path, sizeof path, "%s/results.json", dir);
    if (!exists(path)) {
        add_skip(r, dir, "DONE but no results.json");
        return -1;
    }
    char *buf, err[200], why[256];
    size_t n;
    dacc_err e;
    dacc_rd_results res;
    if (dacc_read_file(path, DACC_RD_MAX_JSON, &buf, &n, &e)) {
        add_skip(r, dir, "unreadable results.json (%s)", e.msg);
        return -1;
    }
    int rc = dacc_rd_parse_results(buf, n, &res, err, sizeof err);
    free(buf);
    if (rc) {
        add_skip(r, dir, "unreadable results.json (%s: %s)", path, n ? err : "empty file");
        return -1;
    }
    const char *where;
    if (dacc_rd_check_results(&res, why, sizeof why, &where)) {
        add_skip(r, dir, "results.json: %s%s%s", where, *where ? ": " : "", why);
        return -1;
    }
    snprintf(t->variant, sizeof t->variant, "%s", res.variant);
    t->seed = res.seed;
    for (int k = 0; k < 2; k++) {
        const dacc_rd_proto *q = &res.proto[k];
        report_proto *p = &t->pr[k];
        p->xhat = p->delta = NAN;
        if (!(p->present = q->has)) continue;
        p->clean = q->clean;
        p->n = q->n;
        p->nb = q->ny;
        memcpy(p->y, q->y, sizeof(double) * (size_t)q->ny);
        if (q->ny) p->xhat = q->xhat, p->delta = q->delta;
    }
    return 0;
}

/* One task folder: skipped with a reason, or added (duplicates are merged
 * by report_merge_duplicates). */
static void read_task(report *r, const char *dir) {
    report_task t;
    memset(&t, 0, sizeof t);
    snprintf(t.path, sizeof t.path, "%s", dir);
    snprintf(t.id, sizeof t.id, "%s", base_name(dir));
    if (!dacc_rd_is_done(dir)) {
        add_skip(r, dir, "no DONE marker (not finished, still running, or failed)");
        return;
    }
    if (read_results(r, dir, &t)) return;
    char *end;
    t.index = strtol(t.id, &end, 10);
    if (end == t.id || *end != '-') t.index = 1L << 30;
    dacc_rd_read_settings(dir, t.settings, sizeof t.settings);
    for (int k = 0; k < 2; k++)
        if (t.pr[k].present && (r->o->protocols & (1 << k))) load_predictions(r, &t, k);
    report_read_scales(r, &t);
    if (r->nt == r->capt) {
        int cap = r->capt ? r->capt * 2 : 16;
        report_task *n = realloc(r->t, sizeof *n * (size_t)cap);
        if (!n) {
            task_free(&t);
            add_skip(r, dir, "out of memory");
            return;
        }
        r->t = n;
        r->capt = cap;
    }
    t.order = r->nt;
    r->t[r->nt++] = t;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct plan_ctx {
    report *r;
    const char *dir;
} plan_ctx;

static int add_plan(void *u, const char *id, const char *variant, uint64_t seed) {
    plan_ctx *c = u;
    report *r = c->r;
    if (r->npl == r->cappl) {
        int cap = r->cappl ? r->cappl * 2 : 16;
        report_plan *n = realloc(r->pl, sizeof *n * (size_t)cap);
        if (!n) return 1;
        r->pl = n;
        r->cappl = cap;
    }
    report_plan *p = &r->pl[r->npl++];
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->variant, sizeof p->variant, "%s", variant);
    snprintf(p->src, sizeof p->src, "%s", c->dir);
    p->seed = seed;
    return 0;
}

/* study.json: the planned tasks, so that tasks never started are listed. */
static void read_plan(report *r, const char *dir) {
    char path[4400];
    snprintf(path, sizeof path, "%s/study.json", dir);
    if (!exists(path)) return;
    dacc_err e;
    dacc_jdoc *d = dacc_rd_load_json(path, DACC_RD_MAX_JSON, &e);
    if (!d) {
        report_strs_add(&r->warnings, "%s (ignored)", e.msg);
        return;
    }
    plan_ctx c = {r, dir};
    dacc_rd_study_tasks(dacc_json_root(d), add_plan, &c);
    dacc_json_free(d);
}

int report_read_input(report *r, const char *dir, dacc_err *e) {
    char path[4400];
    if (!is_dir(dir)) return dacc_fail(e, "%s: no such directory", dir);
    snprintf(path, sizeof path, "%s/tasks", dir);
    if (is_dir(path)) {
        read_plan(r, dir);
        DIR *d = opendir(path);
        if (!d) return dacc_fail(e, "%s: cannot list: %s", path, strerror(errno));
        report_strs names = {0};
        for (struct dirent *de; (de = readdir(d));)
            if (de->d_name[0] != '.') report_strs_add(&names, "%s/%s", path, de->d_name);
        closedir(d);
        qsort(names.s, (size_t)names.n, sizeof *names.s, cmp_name); /* a fixed order */
        for (int i = 0; i < names.n; i++)
            if (is_dir(names.s[i])) read_task(r, names.s[i]);
        report_strs_free(&names);
        return 0;
    }
    static const char *const marks[] = {"results.json", "DONE", "config.json", "metrics.jsonl"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, marks[i]);
        if (exists(path)) {
            read_task(r, dir);
            return 0;
        }
    }
    snprintf(path, sizeof path, "%s/study.json", dir);
    if (exists(path)) { /* a run that has not created a task yet */
        read_plan(r, dir);
        return 0;
    }
    return dacc_fail(e, "%s: neither a run directory (no tasks/) nor a task folder", dir);
}

/* ---- merging and indexing ---- */

static int cmp_key(const char *va, uint64_t sa, const char *vb, uint64_t sb) {
    int c = strcmp(va, vb);
    return c ? c : sa < sb ? -1 : sa > sb;
}

static int cmp_task_key(const void *a, const void *b, void *ctx) {
    const report *r = ctx;
    const report_task *x = &r->t[*(const int *)a], *y = &r->t[*(const int *)b];
    int c = cmp_key(x->variant, x->seed, y->variant, y->seed);
    return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_order(const void *a, const void *b) {
    const report_task *x = a, *y = b;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int results_agree(const report_task *a, const report_task *b) {
    for (int k = 0; k < 2; k++) {
        const report_proto *p = &a->pr[k], *q = &b->pr[k];
        if (p->present != q->present) return 0;
        if (!p->present) continue;
        if (p->n != q->n || p->nb != q->nb || fabs(p->clean - q->clean) > 1e-9) return 0;
        for (int i = 0; i < p->nb; i++)
            if (fabs(p->y[i] - q->y[i]) > 1e-9) return 0;
        if (p->pred_ok && q->pred_ok && p->label_crc != q->label_crc) return 0;
    }
    return 1;
}

static int usable_preds(const report_task *t) { return t->pr[0].pred_ok + t->pr[1].pred_ok; }

/* Indices of r->t sorted by (variant, seed, read order) into *out. */
static int sort_keys(report *r, int **out) {
    int *ix = malloc(sizeof *ix * (size_t)(r->nt + 1));
    if (!ix) return -1;
    for (int i = 0; i < r->nt; i++) ix[i] = i;
    qsort_r(ix, (size_t)r->nt, sizeof *ix, cmp_task_key, r);
    *out = ix;
    return 0;
}

/* One group of duplicates g[0..n): the first read is kept unless a later
 * copy with the same results has more usable predictions. */
static void merge_group(report *r, const int *g, int n) {
    report_task *u = &r->t[g[0]];
    for (int j = 1; j < n; j++) {
        report_task *t = &r->t[g[j]];
        r->duplicates++;
        int agree = results_agree(u, t);
        if (!agree)
            report_strs_add(&r->warnings, "%s and %s: the same variant %s and seed %llu with different results; kept %s",
                            u->path, t->path, t->variant, (unsigned long long)t->seed, u->path);
        else if (r->o->log)
            fprintf(r->o->log, "note: %s duplicates %s (same results)\n", t->path, u->path);
        if (agree && usable_preds(t) > usable_preds(u)) { /* keep the better copy in u's place */
            long order = u->order;
            report_task tmp = *u;
            *u = *t;
            u->order = order;
            *t = tmp;
        }
        task_free(t);
        t->order = -1; /* dropped */
    }
}

void report_merge_duplicates(report *r) {
    int *ix;
    if (r->nt < 2 || sort_keys(r, &ix)) return;
    for (int i = 0; i < r->nt;) {
        int j = i + 1;
        while (j < r->nt && !cmp_key(r->t[ix[i]].variant, r->t[ix[i]].seed, r->t[ix[j]].variant, r->t[ix[j]].seed)) j++;
        if (j - i > 1) merge_group(r, ix + i, j - i);
        i = j;
    }
    free(ix);
    int n = 0;
    for (int i = 0; i < r->nt; i++)
        if (r->t[i].order >= 0) r->t[n++] = r->t[i];
    r->nt = n;
    qsort(r->t, (size_t)n, sizeof *r->t, cmp_order);
}

int report_index(report *r, dacc_err *e) {
    free(r->by_key);
    r->by_key = NULL;
    if (sort_keys(r, &r->by_key)) return dacc_fail(e, "out of memory");
    return 0;
}

/* The first index in by_key whose key is >= (variant, seed). */
static int lower_bound(const report *r, const char *variant, uint64_t seed) {
    int lo = 0, hi = r->nt;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const report_task *t = &r->t[r->by_key[mid]];
        if (cmp_key(t->variant, t->seed, variant, seed) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

const report_task *report_find(const report *r, const char *variant, uint64_t seed, int k) {
    if (!r->by_key) return NULL;
    for (int i = lower_bound(r, variant, seed); i < r->nt; i++) {
        const report_task *t = &r->t[r->by_key[i]];
        if (cmp_key(t->variant, t->seed, variant, seed)) break;
        if (t->pr[k].present) return t;
    }
    return NULL;
}

static int cmp_plan(const void *a, const void *b, void *ctx) {
    const report *r = ctx;
    const report_plan *x = &r->pl[*(const int *)a], *y = &r->pl[*(const int *)b];
    int c = cmp_key(x->variant, x->seed, y->variant, y->seed);
    return c ? c : *(const int *)a - *(const int *)b;
}

/* Is some skipped entry "<folder>: why"? (sorted: such entries are adjacent) */
static int skipped_already(char *const *sorted, int n, const char *folder) {
    size_t len = strlen(folder);
    int lo = 0, hi = n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strncmp(sorted[mid], folder, len) < 0) lo = mid + 1;
        else hi = mid;
    }
    for (int i = lo; i < n && !strncmp(sorted[i], folder, len); i++)
        if (sorted[i][len] == ':') return 1;
    return 0;
}

/* Tasks of a plan that never produced a folder we could read, in plan order:
 * not among the tasks, not listed by an earlier plan, not already skipped
 * with a reason. Sorted look-ups, so a 30000-task plan is O(n log n). */
void report_list_unstarted(report *r) {
    if (!r->npl || report_index(r, NULL)) return;
    int *pi = malloc(sizeof *pi * (size_t)r->npl);
    char *listed = calloc((size_t)r->npl, 1);
    char **sk = malloc(sizeof *sk * (size_t)(r->skipped.n + 1));
    if (!pi || !listed || !sk) goto out;
    for (int i = 0; i < r->npl; i++) pi[i] = i;
    qsort_r(pi, (size_t)r->npl, sizeof *pi, cmp_plan, r);
    for (int i = 1; i < r->npl; i++) /* a later plan listing the same task */
        if (!cmp_key(r->pl[pi[i]].variant, r->pl[pi[i]].seed, r->pl[pi[i - 1]].variant, r->pl[pi[i - 1]].seed))
            listed[pi[i]] = 1;
    int nsk = r->skipped.n;
    if (nsk) memcpy(sk, r->skipped.s, sizeof *sk * (size_t)nsk);
    qsort(sk, (size_t)nsk, sizeof *sk, cmp_name);
    for (int i = 0; i < r->npl; i++) {
        const report_plan *p = &r->pl[i];
        if (listed[i] || report_find(r, p->variant, p->seed, 0) || report_find(r, p->variant, p->seed, 1)) continue;
        char folder[4400];
        snprintf(folder, sizeof folder, "%s/tasks/%s", p->src, p->id);
        if (!skipped_already(sk, nsk, folder))
            add_skip(r, folder, "planned in study.json but not started (another shard's, or not run yet)");
    }
out:
    free(pi);
    free(listed);
    free(sk);
}

void report_free(report *r) {
    for (int k = 0; k < 2; k++) {
        for (int v = 0; r->rows[k] && v < r->nv; v++) free(r->rows[k][v].seeds);
        free(r->rows[k]);
    }
    free(r->names);
    report_free_scales(r);
    for (int i = 0; i < r->nt; i++) task_free(&r->t[i]);
    free(r->t);
    free(r->pl);
    free(r->by_key);
    report_strs_free(&r->skipped);
    report_strs_free(&r->warnings);
    report_strs_free(&r->inputs);
}

int report_range(const report *r, const char *variant, int *end) {
    int lo = r->by_key ? lower_bound(r, variant, 0) : 0, hi = lo;
    while (r->by_key && hi < r->nt && !strcmp(r->t[r->by_key[hi]].variant, variant)) hi++;
    *end = hi;
    return lo;
}
