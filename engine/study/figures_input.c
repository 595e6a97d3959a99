/* What the figures read beyond the report's rows: each task's metrics.csv
 * (training curves) and the run directory's inspect.json (digits), both
 * formats of docs/RUNDIR.md. Anything missing or malformed becomes a note in
 * the figures, never an error. */
#include "dacc/fileio.h"
#include "study/figures.h"
#include "study/rundir.h"
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METRICS (4u << 20)
#define MAX_INSPECT (16u << 20)

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

/* Column index of NAME in the comma-separated HEADER, or -1. */
static int column(const char *header, size_t len, const char *name) {
    size_t nl = strlen(name);
    int col = 0;
    for (size_t i = 0; i < len; col++) {
        size_t j = i;
        while (j < len && header[j] != ',') j++;
        if (j - i == nl && !memcmp(header + i, name, nl)) return col;
        i = j + 1;
    }
    return -1;
}

static double field(const char *line, size_t len, int col) {
    size_t i = 0;
    for (int c = 0; c < col && i < len; i++)
        if (line[i] == ',') c++;
    if (i >= len) return NAN;
    char buf[64];
    size_t k = 0;
    while (i < len && line[i] != ',' && k < sizeof buf - 1) buf[k++] = line[i++];
    buf[k] = 0;
    char *end;
    double v = strtod(buf, &end);
    return end == buf || *end ? NAN : v;
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
    snprintf(path, sizeof path, "%s/metrics.csv", task_dir);
    char *b = NULL;
    size_t n = 0;
    dacc_err e;
    if (dacc_read_file(path, MAX_METRICS, &b, &n, &e)) {
        dacc_fig_note(s, "no training curve: %s", e.msg);
        return;
    }
    const char *nl = memchr(b, '\n', n);
    size_t hl = nl ? (size_t)(nl - b) : n;
    int ce = column(b, hl, "epoch"), cl = column(b, hl, "loss"), ca = column(b, hl, "test_acc");
    if (!s->v[v].curve) s->v[v].curve = calloc(1, sizeof *s->v[v].curve);
    dacc_fig_curve *c = s->v[v].curve;
    if (!c || ce < 0 || cl < 0 || ca < 0) {
        dacc_fig_note(s, "%s: %s", path, c ? "no epoch, loss and test_acc columns" : "out of memory");
        free(b);
        return;
    }
    int rows = 0;
    for (const char *p = nl ? nl + 1 : b + n; p < b + n;) {
        const char *q = memchr(p, '\n', (size_t)(b + n - p));
        if (!q) break; /* a last line without its newline is being written */
        double ep = field(p, (size_t)(q - p), ce), lo = field(p, (size_t)(q - p), cl),
               ac = field(p, (size_t)(q - p), ca);
        if (ep >= 1 && ep <= DACC_FIG_MAXE && ep == floor(ep) && isfinite(lo) && ac >= 0 && ac <= 1) {
            add_point(c, (int)ep - 1, lo, ac);
            rows++;
        }
        p = q + 1;
    }
    if (rows) c->n_seeds++;
    else dacc_fig_note(s, "%s: no usable epoch line", path);
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

static int hexval(char h) {
    return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
}

/* One digit of inspect.json; 0 ok, -1 malformed. */
static int read_digit(dacc_fig_study *s, const dacc_jv *o, dacc_fig_digit *d) {
    const dacc_jv *im = dacc_json_get(o, "images"), *pr = dacc_json_get(o, "pred");
    long label = dacc_json_int(dacc_json_get(o, "label"), -1, -1, 9);
    if (label < 0 || !im || im->type != DACC_J_ARR || (int)dacc_json_len(im) != s->blocks) return -1;
    d->label = (int)label;
    d->index = dacc_json_int(dacc_json_get(o, "index"), -1, -1, 1000000000);
    snprintf(d->split, sizeof d->split, "%s", dacc_json_str(dacc_json_get(o, "split"), ""));
    int b = 0;
    for (const dacc_jv *h = im->child; h; h = h->next, b++) {
        if (h->type != DACC_J_STR || h->len != 2 * 784) return -1;
        for (int i = 0; i < 784; i++) {
            int hi = hexval(h->str[2 * i]), lo = hexval(h->str[2 * i + 1]);
            if (hi < 0 || lo < 0) return -1;
            d->img[b][i] = (uint8_t)(hi * 16 + lo);
        }
    }
    for (int v = 0; v < s->nv; v++) {
        const dacc_jv *a = dacc_json_get(pr, s->v[v].name), *e = a && a->type == DACC_J_ARR ? a->child : NULL;
        for (b = 0; b < s->blocks; b++, e = e ? e->next : NULL)
            d->pred[v][b] = e && e->type == DACC_J_ARR ? (int)dacc_json_int(e->child, -1, -1, 9) : -1;
    }
    return 0;
}

void dacc_fig_read_inspect(dacc_fig_study *s, const char *run_dir) {
    char path[4400];
    snprintf(path, sizeof path, "%s/inspect.json", run_dir);
    dacc_err e;
    dacc_jdoc *doc = dacc_rd_load_json(path, MAX_INSPECT, &e);
    if (!doc) {
        dacc_fig_note(s, "no digits: %s", e.msg);
        return;
    }
    const dacc_jv *r = dacc_json_root(doc), *dg = dacc_json_get(r, "digits");
    long blocks = dacc_json_int(dacc_json_get(r, "blocks"), 0, 0, DACC_FIG_MAXB + 1);
    if (dacc_json_int(dacc_json_get(r, "rows"), 0, 0, 1000) != 28 ||
        dacc_json_int(dacc_json_get(r, "cols"), 0, 0, 1000) != 28 || blocks < 1 || blocks > DACC_FIG_MAXB ||
        !dg || dg->type != DACC_J_ARR) {
        dacc_fig_note(s, "%s: not 28x28 digits with 1..%d blocks: no digits", path, DACC_FIG_MAXB);
        dacc_json_free(doc);
        return;
    }
    s->blocks = (int)blocks;
    s->d = calloc(DACC_FIG_MAXD, sizeof *s->d);
    int i = 0;
    for (const dacc_jv *d = dg->child; s->d && d && s->nd < DACC_FIG_MAXD; d = d->next, i++)
        if (read_digit(s, d, &s->d[s->nd]) == 0) s->nd++;
        else dacc_fig_note(s, "%s: digit %d malformed, left out", path, i);
    dacc_json_free(doc);
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
