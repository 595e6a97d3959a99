/* The run directory's writers (docs/RUNDIR.md) for the study runner:
 * study.json, progress.json, config.json, metrics.jsonl / metrics.csv,
 * results.json, inspect.txt / inspect.json and the DONE marker. Whole files
 * are written atomically (a unique temp name, then rename); the metrics
 * logs are appended one line per write. The runner decides what and when;
 * this file alone decides how the files look. */
#include "study/rundir.h"
#include "dacc_commit.h" /* generated: DACC_COMMIT */
#include "dacc/fileio.h"
#include "dacc/kernels.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A document built in memory, then written atomically. */
typedef struct doc {
    char *p;
    size_t n;
    FILE *f;
} doc;

static FILE *doc_open(doc *d) {
    d->p = NULL;
    d->n = 0;
    return d->f = open_memstream(&d->p, &d->n);
}

static int doc_write(doc *d, const char *path, dacc_err *e) {
    if (!d->f) return dacc_fail(e, "%s: out of memory", path);
    int bad = fclose(d->f);
    int rc = bad ? dacc_fail(e, "%s: out of memory", path) : dacc_write_file_atomic(path, d->p, d->n, e);
    free(d->p);
    return rc;
}

static void num6(FILE *f, double v) { dacc_json_put_num(f, v, "%.6g"); }

static void put_kernels(FILE *f) {
    const dacc_kernels *k = dacc_kernels_get();
    fputc('{', f);
    for (int i = 0; i < DACC_OP_COUNT; i++) {
        if (i) fputc(',', f);
        dacc_json_put_str(f, dacc_op_name((dacc_op)i));
        fputc(':', f);
        dacc_json_put_str(f, k->names[i]);
    }
    fputc('}', f);
}

int dacc_rd_write_study(const char *dir, const dacc_study_config *c, const dacc_task *tasks, int n, dacc_err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/study.json", dir);
    doc d;
    FILE *f = doc_open(&d);
    if (!f) return dacc_fail(e, "%s: out of memory", path);
    fprintf(f, "{\"format\":\"dacc-run\",\"version\":1,\"dacc_version\":\"" DACC_VERSION "\",\"commit\":\"" DACC_COMMIT
               "\",\"isa\":\"%s\",\"kernels\":",
            dacc_isa_name(dacc_kernels_get()->isa));
    put_kernels(f);
    fputs(",\"cpu\":", f);
    dacc_json_put_str(f, dacc_cpu_description());
    fprintf(f, ",\"threads\":%d,\"epochs\":%d,\"batch\":%d,\"protocol\":\"%s\",\"variants\":[", c->train.threads,
            c->train.epochs, c->train.batch, c->train.paper ? "paper" : "default");
    for (int v = 0; v < c->n_variants; v++) {
        if (v) fputc(',', f);
        dacc_json_put_str(f, c->variants[v].name);
    }
    fputs("],\"switches\":[", f); /* parallel to variants */
    for (int v = 0; v < c->n_variants; v++) {
        char sw[128];
        dacc_variant_switches(&c->variants[v], sw, sizeof sw);
        if (v) fputc(',', f);
        dacc_json_put_str(f, sw);
    }
    fputs("],\"seeds\":[", f);
    for (int v = 0; v < c->n_seeds; v++) fprintf(f, "%s%llu", v ? "," : "", (unsigned long long)c->seeds[v]);
    fprintf(f, "],\"blocks\":%d,\"alignmnist\":%s,\"tasks\":[", c->blocks, c->align_test ? "true" : "false");
    for (int t = 0; t < n; t++) {
        fprintf(f, "%s{\"id\":", t ? "," : "");
        dacc_json_put_str(f, tasks[t].id);
        fputs(",\"variant\":", f);
        dacc_json_put_str(f, tasks[t].variant.name);
        fprintf(f, ",\"seed\":%llu}", (unsigned long long)tasks[t].seed);
    }
    fputs("]}\n", f);
    return doc_write(&d, path, e);
}

int dacc_rd_write_progress(const char *dir, const dacc_rd_progress_rec *p, dacc_err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/progress.json", dir);
    doc d;
    FILE *f = doc_open(&d);
    if (!f) return dacc_fail(e, "%s: out of memory", path);
    fputs("{\"state\":", f);
    dacc_json_put_str(f, p->state);
    fputs(",\"task\":", f);
    dacc_json_put_str(f, p->task);
    fprintf(f, ",\"task_index\":%d,\"tasks\":%d,\"variant\":", p->task_index, p->tasks);
    dacc_json_put_str(f, p->variant);
    fprintf(f, ",\"seed\":%llu,\"epoch\":%d,\"epochs\":%d,\"batch\":%d,\"batches\":%d,\"images_per_s\":",
            (unsigned long long)p->seed, p->epoch, p->epochs, p->batch, p->batches);
    num6(f, p->images_per_s);
    fputs(",\"eta_s\":", f);
    num6(f, p->eta_s);
    if (p->scales > 0) {
        fputs(",\"scale\":", f);
        dacc_json_put_num(f, p->scale, "%.10g");
        fprintf(f, ",\"scale_index\":%d,\"scales\":%d", p->scale_index, p->scales);
    }
    fprintf(f, ",\"elapsed_s\":%.1f,\"updated\":%.1f,\"pid\":%d}\n", p->elapsed_s, p->updated, (int)getpid());
    return doc_write(&d, path, e);
}

/* The opening of config.json up to and including its key: what
 * dacc_rd_config_has_key compares. */
static void put_key(FILE *f, const char *key) {
    fputs("{\"key\":", f);
    dacc_json_put_str(f, key);
}

int dacc_rd_write_config(const char *task_dir, const char *key, const dacc_task *t, const dacc_study_config *c,
                         dacc_err *e) {
    char path[4200], sw[128];
    snprintf(path, sizeof path, "%s/config.json", task_dir);
    dacc_variant_switches(&t->variant, sw, sizeof sw);
    const dacc_train_config *tc = &c->train;
    doc d;
    FILE *f = doc_open(&d);
    if (!f) return dacc_fail(e, "%s: out of memory", path);
    put_key(f, key);
    fputs(",\"variant\":", f);
    dacc_json_put_str(f, t->variant.name);
    fputs(",\"switches\":", f);
    dacc_json_put_str(f, sw);
    fprintf(f, ",\"seed\":%llu,\"epochs\":%d,\"batch\":%d,\"lr\":%g,\"gamma\":%g,\"protocol\":\"%s\","
               "\"train_limit\":%lld,\"threads\":%d,\"blocks\":%d,\"mnist\":",
            (unsigned long long)t->seed, tc->epochs, tc->batch, tc->lr, tc->gamma, tc->paper ? "paper" : "default",
            (long long)tc->train_limit, tc->threads, c->blocks);
    dacc_json_put_str(f, c->mnist_dir ? c->mnist_dir : "");
    fputs(",\"align_train\":", f);
    dacc_json_put_str(f, c->align_train ? c->align_train : "");
    fputs(",\"align_test\":", f);
    dacc_json_put_str(f, c->align_test ? c->align_test : "");
    if (t->variant.augment == DACC_AUGMENT_ALIGN) {
        fprintf(f, ",\"augment\":\"align\",\"augment_scale\":%.17g,\"augment_model_hash\":\"%016llx\","
                   "\"augment_model\":", tc->augment_scale, (unsigned long long)tc->augment_model_hash);
        dacc_json_put_str(f, c->augment_model_path ? c->augment_model_path : "");
    }
    fprintf(f, ",\"isa\":\"%s\",\"kernels\":", dacc_isa_name(dacc_kernels_get()->isa));
    put_kernels(f);
    fputs(",\"dacc_version\":\"" DACC_VERSION "\"}\n", f);
    return doc_write(&d, path, e);
}

int dacc_rd_config_has_key(const char *task_dir, const char *key) {
    char path[4200], buf[8192], *want = NULL;
    size_t wn = 0;
    snprintf(path, sizeof path, "%s/config.json", task_dir);
    dacc_err ie;
    FILE *f = dacc_fopen_regular(path, &ie);
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    FILE *w = open_memstream(&want, &wn);
    if (!w) return 0;
    put_key(w, key);
    int same = fclose(w) == 0 && !strncmp(buf, want, wn);
    free(want);
    return same;
}

int dacc_rd_mark_done(const char *task_dir, dacc_err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/DONE", task_dir);
    return dacc_write_file_atomic(path, "", 0, e);
}

/* ---- metrics.jsonl / metrics.csv ---- */

/* ,"layer_ms":{...}: the epoch's milliseconds per layer and part, the
 * packing, loss and Adam step, and the rest of the training steps;
 * "bwd_data":null where the layer's two backward ops run as one call
 * (its time is in "bwd_weights"). */
static void put_layer_ms(FILE *f, const dacc_model *m, double train_s) {
    dacc_step_times st;
    dacc_model_step_times(m, &st);
    double sum = st.pack_s + st.loss_s + st.adam_s;
    fprintf(f, ",\"layer_ms\":{\"steps\":%ld,\"train\":%.3f,\"layers\":[", st.steps, 1e3 * train_s);
    for (int i = 0, n = 0; i < dacc_model_layer_count(m); i++) {
        double p[DACC_TIME_PARTS];
        for (int k = 0; k < DACC_TIME_PARTS; k++) p[k] = dacc_model_layer_time(m, i, k);
        if (p[0] + p[1] + p[2] <= 0) continue; /* a ReLU fused into the conv before it */
        char name[48];
        dacc_model_layer_label(m, i, name, sizeof name);
        fprintf(f, "%s{\"name\":", n++ ? "," : "");
        dacc_json_put_str(f, name);
        if (dacc_model_layer_bwd_fused(m, i))
            fprintf(f, ",\"fwd\":%.3f,\"bwd_data\":null,\"bwd_weights\":%.3f}", 1e3 * p[0], 1e3 * p[2]);
        else
            fprintf(f, ",\"fwd\":%.3f,\"bwd_data\":%.3f,\"bwd_weights\":%.3f}", 1e3 * p[0], 1e3 * p[1],
                    1e3 * p[2]);
        sum += p[0] + p[1] + p[2];
    }
    double rest = train_s - sum;
    fprintf(f, "],\"pack\":%.3f,\"loss\":%.3f,\"adam\":%.3f,\"rest\":%.3f}", 1e3 * st.pack_s, 1e3 * st.loss_s,
            1e3 * st.adam_s, 1e3 * (rest > 0 ? rest : 0));
}

int dacc_rd_append_metrics(const char *task_dir, const dacc_task *t, const dacc_epoch_stats *s,
                           const dacc_model *m, dacc_err *e) {
    char path[4200], *line = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&line, &n);
    if (!f) return dacc_fail(e, "%s: out of memory", task_dir);
    fputs("{\"variant\":", f);
    dacc_json_put_str(f, t->variant.name);
    fprintf(f, ",\"seed\":%llu,\"epoch\":%d,\"lr\":%.8g,\"loss\":%.6g,\"train_acc\":%.6g,\"test_acc\":%.6g,"
               "\"seconds\":%.2f",
            (unsigned long long)t->seed, s->epoch, s->lr, s->loss, s->train_acc, s->test_acc, s->seconds);
    if (m) put_layer_ms(f, m, s->train_seconds);
    fputs("}\n", f);
    if (fclose(f)) {
        free(line);
        return dacc_fail(e, "%s: out of memory", task_dir);
    }
    snprintf(path, sizeof path, "%s/metrics.jsonl", task_dir);
    int rc = dacc_append_file(path, line, n, e);
    free(line);
    if (rc) return -1;
    char csv[512];
    snprintf(path, sizeof path, "%s/metrics.csv", task_dir);
    static const char header[] = "epoch,lr,loss,train_acc,test_acc,seconds\n";
    if (access(path, F_OK) && dacc_append_file(path, header, sizeof header - 1, e)) return -1;
    int cn = snprintf(csv, sizeof csv, "%d,%.8g,%.6g,%.6g,%.6g,%.2f\n", s->epoch, s->lr, s->loss, s->train_acc,
                      s->test_acc, s->seconds);
    return dacc_append_file(path, csv, (size_t)cn, e);
}

/* The epoch of one metrics line; the CSV header counts as epoch 0. */
static int line_epoch(const char *line, int csv, int first) {
    if (csv) return first ? 0 : atoi(line); /* header, then the epoch first */
    const char *p = strstr(line, "\"epoch\":");
    return p ? atoi(p + 8) : 1 << 30;
}

int dacc_rd_trim_metrics(const char *task_dir, int upto, dacc_err *e) {
    static const char *const files[2] = {"metrics.jsonl", "metrics.csv"};
    for (int k = 0; k < 2; k++) {
        char path[4200], line[2048];
        snprintf(path, sizeof path, "%s/%s", task_dir, files[k]);
        dacc_err ie;
        FILE *in = dacc_fopen_regular(path, &ie);
        if (!in) continue;
        doc d;
        FILE *o = doc_open(&d);
        for (int seen = 0; o && fgets(line, sizeof line, in); seen++) {
            if (!strchr(line, '\n')) break; /* a half-written last line */
            if (line_epoch(line, k == 1, seen == 0) <= upto) fputs(line, o);
        }
        fclose(in);
        if (doc_write(&d, path, e)) return -1;
    }
    return 0;
}

/* ---- results.json ---- */

static void put_protocol(FILE *f, const char *name, const dacc_robustness *r) {
    fprintf(f, "\"%s\":{\"clean\":", name);
    num6(f, r->acc[0]);
    if (r->blocks > 0) {
        fputs(",\"y\":[", f);
        for (int b = 1; b <= r->blocks; b++) {
            if (b > 1) fputc(',', f);
            num6(f, r->acc[b]);
        }
        fputs("],\"xhat\":", f);
        num6(f, r->xhat);
        fputs(",\"delta\":", f);
        num6(f, r->delta);
    }
    fprintf(f, ",\"n\":%lld,\"per_class\":{\"clean\":[", (long long)r->n);
    for (int c = 0; c < DACC_CLASSES; c++) fprintf(f, "%s%.6g", c ? "," : "", r->class_clean[c]);
    fputs("]", f);
    if (r->blocks > 0) {
        fputs(",\"xhat\":[", f);
        for (int c = 0; c < DACC_CLASSES; c++) fprintf(f, "%s%.6g", c ? "," : "", r->class_xhat[c]);
        fputs("]", f);
    }
    fputs("}}", f);
}

int dacc_rd_write_results(const char *task_dir, const dacc_task *t, const dacc_robustness *paper,
                          const dacc_robustness *heldout, dacc_err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/results.json", task_dir);
    doc d;
    FILE *f = doc_open(&d);
    if (!f) return dacc_fail(e, "%s: out of memory", path);
    fputs("{\"variant\":", f);
    dacc_json_put_str(f, t->variant.name);
    fprintf(f, ",\"seed\":%llu,", (unsigned long long)t->seed);
    put_protocol(f, "paper", paper);
    fputc(',', f);
    put_protocol(f, "heldout", heldout);
    fputs("}\n", f);
    return doc_write(&d, path, e);
}

/* ---- inspect.txt / inspect.json ---- */

int dacc_rd_write_task_inspect(const char *task_dir, int n, int nb, const uint8_t *pred, const float *conf,
                               dacc_err *e) {
    char path[4200];
    snprintf(path, sizeof path, "%s/inspect.txt", task_dir);
    doc d;
    FILE *f = doc_open(&d);
    if (!f) return dacc_fail(e, "%s: out of memory", path);
    for (int k = 0; k < n; k++)
        for (int b = 0; b <= nb; b++) fprintf(f, "%d %d %d %.4f\n", k, b, pred[k * (nb + 1) + b], conf[k * (nb + 1) + b]);
    return doc_write(&d, path, e);
}

/* One task's inspect.txt into pv/cv [digit][block]; 1 when complete. */
static int read_task_inspect(const char *path, const dacc_rd_inspect *in, int *pv, float *cv) {
    dacc_err ie;
    FILE *f = dacc_fopen_regular(path, &ie);
    if (!f) return 0;
    int k, b, p, got = 0, per = in->n * (in->nb + 1);
    float c;
    while (fscanf(f, "%d %d %d %f", &k, &b, &p, &c) == 4)
        if (k >= 0 && k < in->n && b >= 0 && b <= in->nb) {
            pv[k * (in->nb + 1) + b] = p;
            cv[k * (in->nb + 1) + b] = c;
            got++;
        }
    fclose(f);
    return got == per;
}

static void put_digit(FILE *f, const dacc_rd_inspect *in, int k, const dacc_task *tasks, int nt, const char *show,
                      const int *pv, const float *cv) {
    int nb = in->nb, per = in->n * (nb + 1);
    fprintf(f, "%s{\"index\":%lld,\"label\":%d,\"split\":\"test\",\"images\":[", k ? "," : "",
            (long long)in->index[k], in->labels[k]);
    for (int b = 0; b <= nb; b++) {
        fputs(b ? ",\"" : "\"", f);
        const uint8_t *im = in->images + ((size_t)k * (nb + 1) + b) * 784;
        for (int p = 0; p < 784; p++) fprintf(f, "%02x", im[p]);
        fputc('"', f);
    }
    fputs("],\"pred\":{", f);
    int first = 1;
    for (int t = 0; t < nt; t++) {
        if (!show[t]) continue;
        if (!first) fputc(',', f);
        first = 0;
        dacc_json_put_str(f, tasks[t].variant.name);
        fputs(":[", f);
        for (int b = 0; b <= nb; b++)
            fprintf(f, "%s[%d,%.4f]", b ? "," : "", pv[t * per + k * (nb + 1) + b], cv[t * per + k * (nb + 1) + b]);
        fputc(']', f);
    }
    fputs("}}", f);
}

int dacc_rd_write_inspect_json(const char *dir, const dacc_task *tasks, int nt, const dacc_rd_inspect *in,
                               dacc_err *e) {
    char path[4200];
    int per = in->n * (in->nb + 1);
    int *pv = calloc((size_t)per * (size_t)nt + 1, sizeof *pv);
    float *cv = calloc((size_t)per * (size_t)nt + 1, sizeof *cv);
    char *show = calloc((size_t)nt + 1, 1);
    if (!pv || !cv || !show) {
        free(pv), free(cv), free(show);
        return dacc_fail(e, "%s/inspect.json: out of memory", dir);
    }
    for (int t = 0; t < nt; t++) {
        snprintf(path, sizeof path, "%s/tasks/%s/inspect.txt", dir, tasks[t].id);
        show[t] = (char)read_task_inspect(path, in, pv + (size_t)t * per, cv + (size_t)t * per);
    }
    for (int t = 0; t < nt; t++) /* the lowest seed per variant: tasks are seed-major */
        for (int u = 0; show[t] && u < t; u++)
            if (show[u] && !strcmp(tasks[u].variant.name, tasks[t].variant.name)) show[t] = 0;
    doc d;
    FILE *f = doc_open(&d);
    if (f) {
        fprintf(f, "{\"rows\":28,\"cols\":28,\"blocks\":%d,\"digits\":[", in->nb + 1);
        for (int k = 0; k < in->n; k++) put_digit(f, in, k, tasks, nt, show, pv, cv);
        fputs("]}\n", f);
    }
    free(pv), free(cv), free(show);
    snprintf(path, sizeof path, "%s/inspect.json", dir);
    return doc_write(&d, path, e);
}
