/* What the figures read beyond the report's rows: each task's metrics.csv
 * (training curves) and the run directory's inspect.json (digits), both
 * formats of docs/RUNDIR.md. Anything missing or malformed becomes a note in
 * the figures, never an error. */
#include "dacc/fileio.h"
#include "study/figures.h"
#include "study/json.h"
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
static int read_digit(dacc_fig_study *s, const jv *o, dacc_fig_digit *d) {
    double label, index;
    const jv *im = jget(o, "images"), *pr = jget(o, "pred"), *sp = jget(o, "split");
    if (!jnum(jget(o, "label"), &label) || label < 0 || label > 9 || !im || im->type != J_ARR ||
        im->n != s->blocks)
        return -1;
    d->label = (int)label;
    d->index = jnum(jget(o, "index"), &index) && index >= 0 && index < 1e9 ? (long)index : -1;
    snprintf(d->split, sizeof d->split, "%s", sp && sp->type == J_STR ? sp->str : "");
    for (int b = 0; b < s->blocks; b++) {
        const jv *h = &im->items[b];
        if (h->type != J_STR || strlen(h->str) != 2 * 784) return -1;
        for (int i = 0; i < 784; i++) {
            int hi = hexval(h->str[2 * i]), lo = hexval(h->str[2 * i + 1]);
            if (hi < 0 || lo < 0) return -1;
            d->img[b][i] = (uint8_t)(hi * 16 + lo);
        }
    }
    for (int v = 0; v < s->nv; v++) {
        const jv *a = jget(pr, s->v[v].name);
        for (int b = 0; b < s->blocks; b++) {
            double c = -1;
            const jv *e = a && a->type == J_ARR && b < a->n ? &a->items[b] : NULL;
            if (e && e->type == J_ARR && e->n >= 1 && jnum(&e->items[0], &c) && c >= 0 && c <= 9 && c == floor(c))
                d->pred[v][b] = (int)c;
            else
                d->pred[v][b] = -1;
        }
    }
    return 0;
}

void dacc_fig_read_inspect(dacc_fig_study *s, const char *run_dir) {
    char path[4400];
    snprintf(path, sizeof path, "%s/inspect.json", run_dir);
    jv r;
    dacc_err e;
    if (read_json(path, &r, &e)) {
        dacc_fig_note(s, "no digits: %s", e.msg);
        return;
    }
    double rows, cols, blocks;
    const jv *dg = jget(&r, "digits");
    if (!jnum(jget(&r, "rows"), &rows) || rows != 28 || !jnum(jget(&r, "cols"), &cols) || cols != 28 ||
        !jnum(jget(&r, "blocks"), &blocks) || blocks < 1 || blocks > DACC_FIG_MAXB || !dg || dg->type != J_ARR) {
        dacc_fig_note(s, "%s: not 28x28 digits with 1..%d blocks: no digits", path, DACC_FIG_MAXB);
        jv_free(&r);
        return;
    }
    s->blocks = (int)blocks;
    int nd = dg->n < DACC_FIG_MAXD ? dg->n : DACC_FIG_MAXD;
    s->d = calloc((size_t)nd + 1, sizeof *s->d);
    for (int i = 0; s->d && i < nd; i++)
        if (read_digit(s, &dg->items[i], &s->d[s->nd]) == 0) s->nd++;
        else dacc_fig_note(s, "%s: digit %d malformed, left out", path, i);
    jv_free(&r);
}

static void setting(dacc_fig_study *s, const char *key, const jv *v) {
    size_t k = strlen(s->settings), cap = sizeof s->settings;
    if (!v || k + 2 >= cap) return;
    if (v->type == J_STR) snprintf(s->settings + k, cap - k, "%s: %s\n", key, v->str);
    else if (v->type == J_NUM || v->type == J_BOOL) snprintf(s->settings + k, cap - k, "%s: %g\n", key, v->num);
    else if (v->type == J_ARR) {
        k += (size_t)snprintf(s->settings + k, cap - k, "%s:", key);
        for (int i = 0; i < v->n && k < cap; i++) {
            const jv *x = &v->items[i];
            if (x->type == J_STR) k += (size_t)snprintf(s->settings + k, cap - k, " %s", x->str);
            else if (x->type == J_NUM) k += (size_t)snprintf(s->settings + k, cap - k, " %g", x->num);
        }
        if (k < cap) snprintf(s->settings + k, cap - k, "\n");
    }
}

void dacc_fig_read_study(dacc_fig_study *s, const char *run_dir) {
    char path[4400];
    snprintf(path, sizeof path, "%s/study.json", run_dir);
    jv r;
    dacc_err e;
    setting(s, "run directory", &(jv){.type = J_STR, .str = (char *)run_dir});
    if (read_json(path, &r, &e)) {
        dacc_fig_note(s, "no study settings: %s", e.msg);
        return;
    }
    static const char *const keys[] = {"dacc_version", "commit", "machine", "cpu", "isa", "threads",
                                       "epochs", "batch", "protocol", "variants", "seeds", "blocks",
                                       "scales", "fixture"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) setting(s, keys[i], jget(&r, keys[i]));
    const jv *kern = jget(&r, "kernels");
    for (int i = 0; kern && kern->type == J_OBJ && i < kern->n; i++) {
        char key[96];
        snprintf(key, sizeof key, "kernel %s", kern->keys[i]);
        setting(s, key, &kern->items[i]);
    }
    if (!jget(&r, "commit"))
        dacc_fig_note(s, "study.json records no commit: the version above is the only build identity");
    jv_free(&r);
}
