/* What the figures read beyond the report's rows, through the run
 * directory's owner (rundir.h): each task's metrics.jsonl (training curves),
 * inspect.json (digits, via the live view) and study.json (settings).
 * Anything missing or malformed becomes a note in the figures, never an
 * error. */
#include "dacc/fileio.h"
#include "study/figures.h"
#include "study/rundir.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS (4u << 20)

void dacc_fig_note(dacc_fig_study *s, const char *fmt, ...) {
    size_t k = strlen(s->notes);
    if (k + 2 >= sizeof s->notes) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->notes + k, sizeof s->notes - k - 1, fmt, ap);
    va_end(ap);
    k = strlen(s->notes);
    if (k + 1 < sizeof s->notes) s->notes[k] = '\n', s->notes[k + 1] = 0;
}

void dacc_fig_study_free(dacc_fig_study *s) {
    for (int v = 0; v < s->nv; v++) free(s->v[v].curve);
    free(s->d);
    memset(s, 0, sizeof *s);
}

static void add_point(dacc_fig_curve *c, int e, double loss, double acc) {
    if (!c->count[e]) {
        c->loss[e][0] = 0, c->loss[e][1] = INFINITY, c->loss[e][2] = -INFINITY;
        c->acc[e][0] = 0, c->acc[e][1] = INFINITY, c->acc[e][2] = -INFINITY;
    }
    c->count[e]++;
    c->loss[e][0] += loss, c->loss[e][1] = fmin(c->loss[e][1], loss), c->loss[e][2] = fmax(c->loss[e][2], loss);
    c->acc[e][0] += acc, c->acc[e][1] = fmin(c->acc[e][1], acc), c->acc[e][2] = fmax(c->acc[e][2], acc);
    if (e + 1 > c->n_epochs) c->n_epochs = e + 1;
}

void dacc_fig_add_metrics(dacc_fig_study *s, int v, const char *task_dir) {
    char path[4400];
    snprintf(path, sizeof path, "%s/metrics.jsonl", task_dir);
    char *b = NULL;
    size_t n = 0;
    dacc_err e;
    if (dacc_read_file(path, MAX_METRICS, &b, &n, &e)) {
        dacc_fig_note(s, "no training curve: %s", e.msg);
        return;
    }
    dacc_rd_epoch *ep = malloc(sizeof *ep * DACC_RD_MAX_EPOCHS);
    if (!s->v[v].curve) s->v[v].curve = calloc(1, sizeof *s->v[v].curve);
    dacc_fig_curve *c = s->v[v].curve;
    int bad = 0, nep = ep && c ? dacc_rd_parse_metrics(b, n, ep, DACC_RD_MAX_EPOCHS, &bad) : 0, rows = 0;
    for (int i = 0; i < nep; i++)
        if (ep[i].epoch >= 1 && ep[i].epoch <= DACC_FIG_MAXE && isfinite(ep[i].loss) && ep[i].test_acc >= 0 &&
            ep[i].test_acc <= 1) {
            add_point(c, ep[i].epoch - 1, ep[i].loss, ep[i].test_acc);
            rows++;
        }
    if (rows) c->n_seeds++;
    else dacc_fig_note(s, "%s: no usable epoch line", path);
    if (bad) dacc_fig_note(s, "%s: %d malformed line(s) skipped", path, bad);
    free(ep);
    free(b);
}

void dacc_fig_finish_curves(dacc_fig_study *s) {
    for (int v = 0; v < s->nv; v++) {
        dacc_fig_curve *c = s->v[v].curve;
        for (int e = 0; c && e < c->n_epochs; e++) {
            if (!c->count[e]) {
                for (int q = 0; q < 3; q++) c->loss[e][q] = c->acc[e][q] = NAN;
                continue;
            }
            c->loss[e][0] /= c->count[e];
            c->acc[e][0] /= c->count[e];
        }
    }
}

/* Copies one digit of the view; its variants found by name. */
static void copy_digit(dacc_fig_study *s, const dacc_rd_run *r, const dacc_rd_digit *g, dacc_fig_digit *d) {
    d->label = g->label;
    d->index = g->index;
    snprintf(d->split, sizeof d->split, "%s", g->split);
    for (int b = 0; b < s->blocks; b++) memcpy(d->img[b], g->img + (size_t)b * 784, 784);
    for (int v = 0; v < s->nv; v++) {
        int vi = -1;
        for (int k = 0; k < r->nvariants && vi < 0; k++)
            if (!strcmp(r->variants[k], s->v[v].name)) vi = k;
        for (int b = 0; b < s->blocks; b++) d->pred[v][b] = vi >= 0 ? g->pred[vi][b] : -1;
    }
}

void dacc_fig_read_inspect(dacc_fig_study *s, const char *run_dir) {
    dacc_rd_run *r = NULL;
    dacc_err e;
    if (dacc_rd_run_open(&r, run_dir, &e)) {
        dacc_fig_note(s, "no digits: %s", e.msg);
        return;
    }
    dacc_rd_run_refresh(r);
    if (!r->ndigits || r->rows != 28 || r->cols != 28 || r->iblocks < 1 || r->iblocks > DACC_FIG_MAXB) {
        dacc_fig_note(s, "no digits: %s/inspect.json %s", run_dir,
                      r->st_inspect.exists ? "has no 28x28 digits we can show" : "is missing");
        dacc_rd_run_free(r);
        return;
    }
    s->blocks = r->iblocks;
    int nd = r->ndigits < DACC_FIG_MAXD ? r->ndigits : DACC_FIG_MAXD;
    s->d = calloc((size_t)nd, sizeof *s->d);
    for (int i = 0; s->d && i < nd; i++)
        if (r->digits[i].img && r->digits[i].nblocks == s->blocks) copy_digit(s, r, &r->digits[i], &s->d[s->nd++]);
    dacc_rd_run_free(r);
}

static void setting(dacc_fig_study *s, const char *key, const dacc_jv *v) {
    size_t k = strlen(s->settings), cap = sizeof s->settings;
    if (!v || k + 2 >= cap) return;
    if (v->type == DACC_J_STR) snprintf(s->settings + k, cap - k, "%s: %s\n", key, v->str);
    else if (v->type == DACC_J_NUM) snprintf(s->settings + k, cap - k, "%s: %g\n", key, v->num);
    else if (v->type == DACC_J_TRUE || v->type == DACC_J_FALSE)
        snprintf(s->settings + k, cap - k, "%s: %s\n", key, v->type == DACC_J_TRUE ? "true" : "false");
    else if (v->type == DACC_J_ARR) {
        k += (size_t)snprintf(s->settings + k, cap - k, "%s:", key);
        for (const dacc_jv *x = v->child; x && k < cap; x = x->next) {
            if (x->type == DACC_J_STR) k += (size_t)snprintf(s->settings + k, cap - k, " %s", x->str);
            else if (x->type == DACC_J_NUM) k += (size_t)snprintf(s->settings + k, cap - k, " %g", x->num);
        }
        if (k < cap) snprintf(s->settings + k, cap - k, "\n");
    }
}

void dacc_fig_read_study(dacc_fig_study *s, const char *run_dir) {
    char path[4400];
    size_t k = strlen(s->settings);
    snprintf(s->settings + k, sizeof s->settings - k, "run directory: %s\n", run_dir);
    snprintf(path, sizeof path, "%s/study.json", run_dir);
    dacc_err e;
    dacc_jdoc *doc = dacc_rd_load_json(path, DACC_RD_MAX_JSON, &e);
    if (!doc) {
        dacc_fig_note(s, "no study settings: %s", e.msg);
        return;
    }
    const dacc_jv *r = dacc_json_root(doc);
    static const char *const keys[] = {"dacc_version", "commit", "machine", "cpu", "isa", "threads",
                                       "epochs", "batch", "protocol", "variants", "seeds", "blocks",
                                       "scales", "fixture"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) setting(s, keys[i], dacc_json_get(r, keys[i]));
    const dacc_jv *kern = dacc_json_get(r, "kernels");
    for (const dacc_jv *x = kern && kern->type == DACC_J_OBJ ? kern->child : NULL; x; x = x->next) {
        char key[96];
        snprintf(key, sizeof key, "kernel %s", x->key);
        setting(s, key, x);
    }
    if (dacc_json_get(r, "fixture"))
        dacc_fig_note(s, "this run directory is a test fixture (study.json \"fixture\"): its numbers are invented");
    if (!dacc_json_get(r, "commit"))
        dacc_fig_note(s, "study.json records no commit, only the dacc version");
    dacc_json_free(doc);
}
