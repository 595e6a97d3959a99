/* The live view of the run directory (see include/dacc/rundir.h): what the
 * dashboard and the text summary show. Every reader tolerates missing,
 * partial and malformed files: the engine may be writing them while we look. */
#include "study/rundir.h"
#include "dacc/fileio.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* Truncating copy (snprintf would warn about the truncation we want). */
static void copy_str(char *dst, size_t n, const char *src) {
    if (!n) return;
    if (!src) src = "";
    size_t l = strnlen(src, n - 1);
    memcpy(dst, src, l);
    dst[l] = 0;
}


/* Returns 1 when the file's stamp differs from *st (and updates it). */
static int stamp_changed(const char *path, dacc_rd_stamp *st) {
    struct stat sb;
    dacc_rd_stamp now = {0, 0, 0};
    if (stat(path, &sb) == 0) {
        now.exists = 1;
        now.size = (long long)sb.st_size;
        now.mtime_ns = (long long)sb.st_mtim.tv_sec * 1000000000LL + sb.st_mtim.tv_nsec;
    }
    if (now.exists == st->exists && now.size == st->size && now.mtime_ns == st->mtime_ns) return 0;
    *st = now;
    return 1;
}

static double num_or_nan(const dacc_jv *v) {
    return v && v->type == DACC_J_NUM ? v->num : NAN;
}

static dacc_jdoc *load_json(dacc_rd_run *r, const char *path, size_t max) {
    dacc_err e;
    dacc_jdoc *d = dacc_rd_load_json(path, max, &e);
    if (!d) copy_str(r->warning, sizeof r->warning, e.msg);
    return d;
}

/* ---- metrics.jsonl ---- */

int dacc_rd_parse_metrics(const char *buf, size_t n, dacc_rd_epoch *out, int max, int *bad) {
    int count = 0, nbad = 0;
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(buf + i, '\n', n - i);
        if (!nl) break; /* being written */
        size_t len = (size_t)(nl - (buf + i));
        const char *line = buf + i;
        i += len + 1;
        size_t k = 0;
        while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
        if (k == len) continue; /* blank */
        dacc_jdoc *d = dacc_json_parse(line, len, NULL, 0);
        const dacc_jv *o = dacc_json_root(d);
        const dacc_jv *ev = dacc_json_get(o, "epoch");
        if (!o || o->type != DACC_J_OBJ || !ev || ev->type != DACC_J_NUM || !(ev->num >= 0) ||
            ev->num > DACC_RD_EPOCH_MAX) {
            nbad++;
            dacc_json_free(d);
            continue;
        }
        dacc_rd_epoch ep = {(int)ev->num, num_or_nan(dacc_json_get(o, "lr")), num_or_nan(dacc_json_get(o, "loss")),
                       num_or_nan(dacc_json_get(o, "train_acc")), num_or_nan(dacc_json_get(o, "test_acc")),
                       num_or_nan(dacc_json_get(o, "seconds"))};
        dacc_json_free(d);
        int slot = count;
        for (int j = 0; j < count; j++)
            if (out[j].epoch == ep.epoch) { slot = j; break; }
        if (slot == count) {
            if (count >= max) continue;
            count++;
        }
        out[slot] = ep;
    }
    if (bad) *bad = nbad;
    return count;
}

static double ms_or_nan(const dacc_jv *v) {
    double x;
    return dacc_json_isnum(v, &x) && x >= 0 && x < 1e15 ? x : NAN;
}

/* The layer_ms object o into out (n = 0 when o is not an object). */
static void read_layer_ms(const dacc_jv *o, int epoch, dacc_rd_layer_ms *out) {
    static const char *const parts[DACC_RD_PARTS] = {"fwd", "bwd_data", "bwd_weights"};
    memset(out, 0, sizeof *out);
    if (!o || o->type != DACC_J_OBJ) return;
    out->epoch = epoch;
    out->steps = dacc_json_int(dacc_json_get(o, "steps"), 0, 0, 1L << 40);
    out->train = ms_or_nan(dacc_json_get(o, "train")), out->pack = ms_or_nan(dacc_json_get(o, "pack"));
    out->loss = ms_or_nan(dacc_json_get(o, "loss")), out->adam = ms_or_nan(dacc_json_get(o, "adam"));
    out->rest = ms_or_nan(dacc_json_get(o, "rest"));
    const dacc_jv *ls = dacc_json_get(o, "layers");
    for (const dacc_jv *l = ls && ls->type == DACC_J_ARR ? ls->child : NULL; l && out->n < DACC_RD_MAX_LAYERS;
         l = l->next) {
        copy_str(out->name[out->n], sizeof out->name[0], dacc_json_str(dacc_json_get(l, "name"), "?"));
        for (int k = 0; k < DACC_RD_PARTS; k++) out->ms[out->n][k] = ms_or_nan(dacc_json_get(l, parts[k]));
        const dacc_jv *bd = dacc_json_get(l, "bwd_data");
        if (bd && bd->type == DACC_J_NULL && !isnan(out->ms[out->n][DACC_RD_BWD_WEIGHTS])) {
            out->fused[out->n] = 1;
            out->ms[out->n][DACC_RD_BWD_DATA] = 0;
        }
        out->n++;
    }
}

void dacc_rd_parse_layer_ms(const char *buf, size_t n, dacc_rd_layer_ms *out) {
    memset(out, 0, sizeof *out);
    size_t end = n;
    while (end > 0) { /* lines from the last complete one back */
        const char *nl = memrchr(buf, '\n', end);
        if (!nl) return;
        size_t stop = (size_t)(nl - buf);
        const char *prev = stop ? memrchr(buf, '\n', stop) : NULL;
        size_t start = prev ? (size_t)(prev - buf) + 1 : 0;
        if (memmem(buf + start, stop - start, "\"layer_ms\"", 10)) {
            dacc_jdoc *d = dacc_json_parse(buf + start, stop - start, NULL, 0);
            const dacc_jv *o = dacc_json_root(d);
            read_layer_ms(dacc_json_get(o, "layer_ms"), (int)dacc_json_int(dacc_json_get(o, "epoch"), 0, 0, 1000000), out);
            dacc_json_free(d);
            if (out->n) return;
        }
        end = stop;
    }
}

/* ---- results.json ---- */



/* ---- study.json ---- */

static void clear_proto(dacc_rd_proto *p) {
    memset(p, 0, sizeof *p);
    p->clean = p->xhat = p->delta = p->xhat_file = p->delta_file = NAN;
}

/* A protocol as the view shows it: the file's x^ and delta (eq. 1 over the
 * first five blocks, as the runner wrote them), else computed from the
 * first y's; at most DACC_RD_SHOW_Y y's. */
static void view_proto(dacc_rd_proto *p, const dacc_rd_proto *q) {
    *p = *q;
    if (p->ny < 0) p->ny = 0;
    if (p->ny > DACC_RD_SHOW_Y) p->ny = DACC_RD_SHOW_Y;
    p->xhat = p->xhat_file;
    if (isnan(p->xhat) && p->ny > 0) {
        double s = 0;
        for (int i = 0; i < p->ny; i++) s += p->y[i];
        p->xhat = s / p->ny;
    }
    p->delta = q->delta_file;
    if (isnan(p->delta) && !isnan(p->xhat) && !isnan(p->clean)) p->delta = p->xhat - p->clean;
}

/* Epochs beyond the plan (or the format's maximum) are not kept: a crafted
 * line must not make a view or a summary loop over a million epochs. */
static int epoch_limit(const dacc_rd_run *r) {
    return r->epochs > 0 && r->epochs < DACC_RD_EPOCH_MAX ? r->epochs : DACC_RD_EPOCH_MAX;
}

static int variant_index(const dacc_rd_run *r, const char *name) {
    for (int i = 0; i < r->nvariants; i++)
        if (!strcmp(r->variants[i], name)) return i;
    return -1;
}

static int add_task(void *u, const char *id, const char *variant, uint64_t seed) {
    dacc_rd_run *r = u;
    if (r->ntasks >= r->cap_tasks) return 1;
    dacc_rd_task *k = &r->tasks[r->ntasks++];
    copy_str(k->id, sizeof k->id, id);
    copy_str(k->variant, sizeof k->variant, variant);
    k->seed = seed > 2147483647u ? 2147483647 : (int)seed;
    k->vidx = variant_index(r, variant);
    if (k->vidx < 0 && r->nvariants < DACC_RD_MAX_VARIANTS) { /* not listed: add it */
        copy_str(r->variants[r->nvariants], DACC_RD_NAME, variant);
        k->vidx = r->nvariants++;
    }
    clear_proto(&k->proto[DACC_RD_HELDOUT]);
    clear_proto(&k->proto[DACC_RD_PAPER]);
    return 0;
}

static void read_study(dacc_rd_run *r) {
    char path[1200];
    snprintf(path, sizeof path, "%s/study.json", r->dir);
    dacc_jdoc *d = load_json(r, path, 4u << 20);
    const dacc_jv *o = dacc_json_root(d);
    free(r->tasks);
    r->tasks = NULL;
    r->ntasks = r->nvariants = r->nseeds = r->nkernels = r->variants_hidden = 0;
    r->have_study = 0;
    if (!o || o->type != DACC_J_OBJ) { dacc_json_free(d); return; }
    r->have_study = 1;
    copy_str(r->dacc_version, sizeof r->dacc_version, dacc_json_str(dacc_json_get(o, "dacc_version"), "?"));
    copy_str(r->isa, sizeof r->isa, dacc_json_str(dacc_json_get(o, "isa"), "?"));
    copy_str(r->protocol, sizeof r->protocol, dacc_json_str(dacc_json_get(o, "protocol"), "?"));
    r->threads = (int)dacc_json_int(dacc_json_get(o, "threads"), 0, 0, 1 << 20);
    r->epochs = (int)dacc_json_int(dacc_json_get(o, "epochs"), 0, 0, 1 << 20);
    r->batch = (int)dacc_json_int(dacc_json_get(o, "batch"), 0, 0, 1 << 24);
    r->blocks = (int)dacc_json_int(dacc_json_get(o, "blocks"), 0, 0, DACC_RD_SHOW_Y);
    const dacc_jv *vs = dacc_json_get(o, "variants");
    for (const dacc_jv *v = vs && vs->type == DACC_J_ARR ? vs->child : NULL; v; v = v->next) {
        const char *s = dacc_json_str(v, NULL);
        if (!s || !s[0]) continue;
        if (r->nvariants < DACC_RD_MAX_VARIANTS) copy_str(r->variants[r->nvariants++], DACC_RD_NAME, s);
        else r->variants_hidden++;
    }
    const dacc_jv *ss = dacc_json_get(o, "seeds");
    for (size_t i = 0; i < dacc_json_len(ss) && r->nseeds < DACC_RD_MAX_SEEDS; i++)
        r->seeds[r->nseeds++] = (int)dacc_json_int(dacc_json_at(ss, i), 0, -2147483647L, 2147483647L);
    const dacc_jv *ks = dacc_json_get(o, "kernels");
    if (ks && ks->type == DACC_J_OBJ)
        for (const dacc_jv *k = ks->child; k && r->nkernels < DACC_RD_MAX_KERNELS; k = k->next) {
            copy_str(r->kernel_op[r->nkernels], DACC_RD_NAME, k->key);
            copy_str(r->kernel_impl[r->nkernels], 96, dacc_json_str(k, "?"));
            r->nkernels++;
        }
    const dacc_jv *ts = dacc_json_get(o, "tasks");
    size_t nt = dacc_json_len(ts);
    if (nt > DACC_RD_MAX_TASKS) nt = DACC_RD_MAX_TASKS;
    if (nt) r->tasks = calloc(nt, sizeof *r->tasks);
    r->cap_tasks = r->tasks ? (int)nt : 0;
    dacc_rd_study_tasks(o, add_task, r);
    if (r->variants_hidden)
        snprintf(r->warning, sizeof r->warning, "study.json: %d variants beyond the first %d not shown",
                 r->variants_hidden, DACC_RD_MAX_VARIANTS);
    dacc_json_free(d);
}

/* ---- progress.json ---- */

static void read_progress(dacc_rd_run *r) {
    char path[1200];
    snprintf(path, sizeof path, "%s/progress.json", r->dir);
    dacc_jdoc *d = load_json(r, path, 1u << 20);
    const dacc_jv *o = dacc_json_root(d);
    dacc_rd_progress *p = &r->progress;
    if (!o || o->type != DACC_J_OBJ) {
        /* keep the last good state: a torn read must not blank the screen */
        r->progress_unreadable = access(path, F_OK) == 0;
        dacc_json_free(d);
        return;
    }
    r->progress_unreadable = 0;
    memset(p, 0, sizeof *p);
    p->valid = 1;
    copy_str(p->state, sizeof p->state, dacc_json_str(dacc_json_get(o, "state"), "?"));
    copy_str(p->task, sizeof p->task, dacc_json_str(dacc_json_get(o, "task"), ""));
    copy_str(p->variant, sizeof p->variant, dacc_json_str(dacc_json_get(o, "variant"), ""));
    p->task_index = (int)dacc_json_int(dacc_json_get(o, "task_index"), 0, 0, 1 << 20);
    p->tasks = (int)dacc_json_int(dacc_json_get(o, "tasks"), 0, 0, 1 << 20);
    p->seed = (int)dacc_json_int(dacc_json_get(o, "seed"), 0, -2147483647L, 2147483647L);
    p->epoch = (int)dacc_json_int(dacc_json_get(o, "epoch"), 0, 0, 1 << 20);
    p->epochs = (int)dacc_json_int(dacc_json_get(o, "epochs"), 0, 0, 1 << 20);
    p->batch = dacc_json_int(dacc_json_get(o, "batch"), 0, 0, 1L << 40);
    p->batches = dacc_json_int(dacc_json_get(o, "batches"), 0, 0, 1L << 40);
    p->images_per_s = num_or_nan(dacc_json_get(o, "images_per_s"));
    p->eta_s = num_or_nan(dacc_json_get(o, "eta_s"));
    p->elapsed_s = num_or_nan(dacc_json_get(o, "elapsed_s"));
    p->updated = num_or_nan(dacc_json_get(o, "updated"));
    p->scales = (int)dacc_json_int(dacc_json_get(o, "scales"), 0, 0, DACC_RD_MAX_SCALES);
    p->scale_index = (int)dacc_json_int(dacc_json_get(o, "scale_index"), 0, 0, DACC_RD_MAX_SCALES);
    p->scale = num_or_nan(dacc_json_get(o, "scale"));
    dacc_json_free(d);
}

/* ---- inspect.json ---- */

static void free_digits(dacc_rd_run *r) {
    for (int i = 0; i < r->ndigits; i++) free(r->digits[i].img);
    free(r->digits);
    r->digits = NULL;
    r->ndigits = 0;
}

static int decode_hex(const char *s, size_t len, unsigned char *out, size_t n) {
    if (len != 2 * n) return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = s[2 * i], lo = s[2 * i + 1], h, l;
        h = hi >= '0' && hi <= '9' ? hi - '0' : (hi | 32) >= 'a' && (hi | 32) <= 'f' ? (hi | 32) - 'a' + 10 : -1;
        l = lo >= '0' && lo <= '9' ? lo - '0' : (lo | 32) >= 'a' && (lo | 32) <= 'f' ? (lo | 32) - 'a' + 10 : -1;
        if (h < 0 || l < 0) return -1;
        out[i] = (unsigned char)(h * 16 + l);
    }
    return 0;
}

static void read_inspect(dacc_rd_run *r) {
    char path[1200];
    snprintf(path, sizeof path, "%s/inspect.json", r->dir);
    dacc_jdoc *d = load_json(r, path, 64u << 20);
    const dacc_jv *o = dacc_json_root(d);
    if (!o || o->type != DACC_J_OBJ) { dacc_json_free(d); return; } /* keep the last good one */
    free_digits(r);
    r->rows = (int)dacc_json_int(dacc_json_get(o, "rows"), 28, 1, DACC_RD_MAX_SIDE);
    r->cols = (int)dacc_json_int(dacc_json_get(o, "cols"), 28, 1, DACC_RD_MAX_SIDE);
    r->iblocks = (int)dacc_json_int(dacc_json_get(o, "blocks"), 1, 1, DACC_RD_MAX_BLOCKS);
    const dacc_jv *ds = dacc_json_get(o, "digits");
    size_t nd = dacc_json_len(ds);
    if (nd > DACC_RD_MAX_DIGITS) nd = DACC_RD_MAX_DIGITS;
    size_t px = (size_t)r->rows * (size_t)r->cols;
    if (nd) r->digits = calloc(nd, sizeof *r->digits);
    for (size_t i = 0; r->digits && i < nd; i++) {
        const dacc_jv *dv = dacc_json_at(ds, i);
        const dacc_jv *imgs = dacc_json_get(dv, "images");
        size_t nb = dacc_json_len(imgs);
        if (nb > (size_t)r->iblocks) nb = (size_t)r->iblocks;
        if (!nb) continue;
        dacc_rd_digit *g = &r->digits[r->ndigits];
        g->img = calloc(nb, px);
        if (!g->img) break;
        int ok = 1;
        for (size_t b = 0; b < nb && ok; b++) {
            const dacc_jv *s = dacc_json_at(imgs, b);
            if (!s || s->type != DACC_J_STR || decode_hex(s->str, s->len, g->img + b * px, px)) ok = 0;
        }
        if (!ok) { free(g->img); g->img = NULL; continue; }
        g->nblocks = (int)nb;
        g->index = (int)dacc_json_int(dacc_json_get(dv, "index"), -1, -1, 2147483647L);
        g->label = (int)dacc_json_int(dacc_json_get(dv, "label"), -1, -1, 9);
        copy_str(g->split, sizeof g->split, dacc_json_str(dacc_json_get(dv, "split"), "?"));
        for (int v = 0; v < DACC_RD_MAX_VARIANTS; v++)
            for (int b = 0; b < DACC_RD_MAX_BLOCKS; b++) { g->pred[v][b] = -1; g->conf[v][b] = NAN; }
        const dacc_jv *pred = dacc_json_get(dv, "pred");
        if (pred && pred->type == DACC_J_OBJ)
            for (const dacc_jv *pv = pred->child; pv; pv = pv->next) {
                int vi = variant_index(r, pv->key);
                if (vi < 0) continue;
                for (size_t b = 0; b < dacc_json_len(pv) && b < DACC_RD_MAX_BLOCKS; b++) {
                    const dacc_jv *pair = dacc_json_at(pv, b);
                    long cls = dacc_json_int(dacc_json_at(pair, 0), -1, -1, 9);
                    g->pred[vi][b] = (int)cls;
                    g->conf[vi][b] = (float)dacc_json_num(dacc_json_at(pair, 1), NAN);
                }
            }
        r->ndigits++;
    }
    dacc_json_free(d);
}

/* ---- the run ---- */

int dacc_rd_run_open(dacc_rd_run **out, const char *dir, dacc_err *e) {
    struct stat sb;
    *out = NULL;
    if (stat(dir, &sb) != 0) return dacc_fail(e, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return dacc_fail(e, "%s: not a directory", dir);
    if (strlen(dir) >= sizeof((dacc_rd_run *)0)->dir) return dacc_fail(e, "%s: path too long", dir);
    dacc_rd_run *r = calloc(1, sizeof *r);
    if (!r) return dacc_fail(e, "%s: out of memory", dir);
    copy_str(r->dir, sizeof r->dir, dir);
    *out = r;
    return 0;
}

/* One task's metrics, results and DONE marker; returns DACC_RD_CH_* bits. */
/* scales.json of a task: its delta per scale (entries of other settings
 * than config.json's are not this network's and are left out). */
static void read_task_scales(const dacc_rd_run *r, dacc_rd_task *t) {
    char dir[1400];
    snprintf(dir, sizeof dir, "%s/tasks/%s", r->dir, t->id);
    t->nscales = 0;
    dacc_rd_scales *s = t->st_scales.exists ? malloc(sizeof *s) : NULL;
    dacc_err e;
    if (s && dacc_rd_read_scales(dir, s, &e) == 0 && dacc_rd_config_has_key(dir, s->key))
        for (int i = 0; i < s->n; i++) {
            t->scale[t->nscales] = s->s[i].scale;
            for (int k = 0; k < DACC_RD_NPROTO; k++)
                t->scale_delta[t->nscales][k] = s->s[i].proto[k].has ? s->s[i].proto[k].delta : NAN;
            t->nscales++;
        }
    free(s);
}

static int refresh_task(dacc_rd_run *r, dacc_rd_task *t) {
    char path[1400];
    int ch = 0;
    snprintf(path, sizeof path, "%s/tasks/%s/metrics.jsonl", r->dir, t->id);
    if (stamp_changed(path, &t->st_metrics)) {
        char *buf;
        size_t len;
        t->nep = 0;
        t->split.n = 0;
        if (t->st_metrics.exists && dacc_read_file(path, 16u << 20, &buf, &len, NULL) == 0) {
            t->nep = dacc_rd_parse_metrics(buf, len, t->ep, DACC_RD_MAX_EPOCHS, &t->bad_lines);
            dacc_rd_parse_layer_ms(buf, len, &t->split);
            free(buf);
        }
        int lim = epoch_limit(r), n = 0;
        for (int j = 0; j < t->nep; j++)
            if (t->ep[j].epoch <= lim) t->ep[n++] = t->ep[j];
            else t->bad_lines++;
        t->nep = n;
        ch |= DACC_RD_CH_METRICS;
    }
    snprintf(path, sizeof path, "%s/tasks/%s/results.json", r->dir, t->id);
    if (stamp_changed(path, &t->st_results)) {
        char *buf;
        size_t len;
        dacc_rd_results res;
        t->has_results = 0;
        if (t->st_results.exists && dacc_read_file(path, 1u << 20, &buf, &len, NULL) == 0) {
            t->has_results = dacc_rd_parse_results(buf, len, &res, NULL, 0) == 0;
            free(buf);
        }
        for (int k = 0; k < DACC_RD_NPROTO; k++) {
            if (t->has_results) view_proto(&t->proto[k], &res.proto[k]);
            else clear_proto(&t->proto[k]);
        }
        ch |= DACC_RD_CH_RESULTS;
    }
    snprintf(path, sizeof path, "%s/tasks/%s/scales.json", r->dir, t->id);
    if (stamp_changed(path, &t->st_scales)) {
        read_task_scales(r, t);
        ch |= DACC_RD_CH_RESULTS;
    }
    snprintf(path, sizeof path, "%s/tasks/%s", r->dir, t->id);
    int done = dacc_rd_is_done(path);
    if (done != t->done) {
        t->done = done;
        ch |= DACC_RD_CH_RESULTS;
    }
    return ch;
}

int dacc_rd_run_refresh(dacc_rd_run *r) {
    char path[1400];
    int ch = 0;
    snprintf(path, sizeof path, "%s/study.json", r->dir);
    if (stamp_changed(path, &r->st_study)) {
        read_study(r);
        ch |= DACC_RD_CH_STUDY;
        /* a new plan invalidates what we know of inspect.json's variants */
        r->st_inspect = (dacc_rd_stamp){0, 0, 0};
    }
    snprintf(path, sizeof path, "%s/progress.json", r->dir);
    if (stamp_changed(path, &r->st_progress)) {
        read_progress(r);
        ch |= DACC_RD_CH_PROGRESS;
    }
    for (int i = 0; i < r->ntasks; i++) ch |= refresh_task(r, &r->tasks[i]);
    snprintf(path, sizeof path, "%s/inspect.json", r->dir);
    if (stamp_changed(path, &r->st_inspect)) {
        read_inspect(r);
        ch |= DACC_RD_CH_INSPECT;
    }
    return ch;
}

void dacc_rd_run_free(dacc_rd_run *r) {
    if (!r) return;
    free(r->tasks);
    free_digits(r);
    free(r);
}

void dacc_rd_variant_stats(const dacc_rd_run *r, int vidx, int proto, dacc_rd_stats *s) {
    memset(s, 0, sizeof *s);
    s->clean = s->xhat = s->delta = s->delta_sd = NAN;
    for (int k = 0; k < DACC_RD_SHOW_Y; k++) s->y[k] = NAN;
    double sc = 0, sx = 0, sd = 0, sdd = 0, sy[DACC_RD_SHOW_Y] = {0};
    int nc = 0, nx = 0, nd = 0, ny[DACC_RD_SHOW_Y] = {0};
    for (int i = 0; i < r->ntasks; i++) {
        const dacc_rd_task *t = &r->tasks[i];
        if (t->vidx != vidx || !t->has_results || !t->proto[proto].has) continue;
        const dacc_rd_proto *p = &t->proto[proto];
        s->nseeds++;
        if (!isnan(p->clean)) { sc += p->clean; nc++; }
        if (!isnan(p->xhat)) { sx += p->xhat; nx++; }
        if (!isnan(p->delta)) { sd += p->delta; sdd += p->delta * p->delta; nd++; }
        for (int k = 0; k < p->ny; k++)
            if (!isnan(p->y[k])) { sy[k] += p->y[k]; ny[k]++; }
        if (p->ny > s->ny) s->ny = p->ny;
    }
    if (nc) s->clean = sc / nc;
    if (nx) s->xhat = sx / nx;
    if (nd) s->delta = sd / nd;
    if (nd > 1) {
        double var = (sdd - sd * sd / nd) / (nd - 1);
        s->delta_sd = var > 0 ? sqrt(var) : 0;
    }
    for (int k = 0; k < DACC_RD_SHOW_Y; k++)
        if (ny[k]) s->y[k] = sy[k] / ny[k];
}

int dacc_rd_scale_curve(const dacc_rd_run *r, int vidx, int proto, double *xs, double *delta, int max) {
    int n = 0;
    for (int i = 0; i < r->ntasks; i++)
        for (int j = 0; j < r->tasks[i].nscales; j++) {
            double s = r->tasks[i].scale[j];
            int at = 0;
            while (at < n && xs[at] < s) at++;
            if ((at < n && xs[at] == s) || n == max) continue;
            memmove(xs + at + 1, xs + at, sizeof *xs * (size_t)(n - at));
            xs[at] = s;
            n++;
        }
    for (int q = 0; delta && q < n; q++) {
        double sum = 0;
        int m = 0;
        for (int i = 0; i < r->ntasks; i++) {
            const dacc_rd_task *t = &r->tasks[i];
            for (int j = 0; t->vidx == vidx && j < t->nscales; j++)
                if (t->scale[j] == xs[q] && isfinite(t->scale_delta[j][proto])) sum += t->scale_delta[j][proto], m++;
        }
        delta[q] = m ? sum / m : NAN;
    }
    return n;
}

int dacc_rd_state_final(const char *state) {
    return !strcmp(state, "done") || !strcmp(state, "failed") || !strcmp(state, "interrupted");
}

double dacc_rd_study_fraction(const dacc_rd_run *r) {
    const dacc_rd_progress *p = &r->progress;
    int ntasks = p->tasks > 0 ? p->tasks : r->ntasks;
    if (!p->valid || ntasks <= 0) return 0;
    if (!strcmp(p->state, "done")) return 1;
    double within = 0;
    if (p->epochs > 0) {
        double ep = p->epoch > 0 ? p->epoch - 1 : 0;
        if (p->batches > 0) ep += (double)p->batch / (double)p->batches;
        if (!strcmp(p->state, "evaluating")) ep = p->epochs;
        within = ep / p->epochs;
    }
    if (within < 0) within = 0;
    if (within > 1) within = 1;
    double f = (p->task_index + within) / ntasks;
    return f < 0 ? 0 : f > 1 ? 1 : f;
}

double dacc_rd_epoch_mean(const dacc_rd_run *r, int vidx, int epoch, int which) {
    double s = 0;
    int n = 0;
    for (int i = 0; i < r->ntasks; i++) {
        const dacc_rd_task *t = &r->tasks[i];
        if (t->vidx != vidx) continue;
        for (int j = 0; j < t->nep; j++) {
            if (t->ep[j].epoch != epoch) continue;
            double x = which == 0 ? t->ep[j].loss : which == 1 ? t->ep[j].train_acc : t->ep[j].test_acc;
            if (isfinite(x)) {
                s += x;
                n++;
            }
        }
    }
    return n ? s / n : NAN;
}

int dacc_rd_max_epoch(const dacc_rd_run *r, int vidx) {
    int m = 0;
    for (int i = 0; i < r->ntasks; i++)
        if (vidx < 0 || r->tasks[i].vidx == vidx)
            for (int j = 0; j < r->tasks[i].nep; j++)
                if (r->tasks[i].ep[j].epoch > m) m = r->tasks[i].ep[j].epoch;
    return m;
}
