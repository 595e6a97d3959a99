/* tasks/<id>/scales.json (docs/RUNDIR.md): a finished network's accuracies
 * on AlignMNIST sets generated at other deformation scales, written by the
 * study runner after each scale and read by `dacc report`, the live view
 * and the runner itself (to evaluate only what is missing). */
#include "study/rundir.h"
#include "dacc/fileio.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const proto_key[DACC_RD_NPROTO] = {"heldout", "paper"};

static void put_proto(FILE *f, const dacc_rd_proto *p, const int64_t *hist, int nhist) {
    fputs("{\"clean\":", f);
    dacc_json_put_num(f, p->clean, "%.8g");
    if (p->ny > 0) {
        fputs(",\"y\":[", f);
        for (int b = 0; b < p->ny; b++) {
            if (b) fputc(',', f);
            dacc_json_put_num(f, p->y[b], "%.8g");
        }
        fputs("],\"xhat\":", f);
        dacc_json_put_num(f, p->xhat, "%.8g");
        fputs(",\"delta\":", f);
        dacc_json_put_num(f, p->delta, "%.8g");
    }
    fprintf(f, ",\"n\":%lld", (long long)p->n);
    if (nhist > 0) {
        fputs(",\"hist\":[", f);
        for (int i = 0; i < nhist; i++) fprintf(f, "%s%lld", i ? "," : "", (long long)hist[i]);
        fputc(']', f);
    }
    fputc('}', f);
}

int dacc_rd_write_scales(const char *task_dir, const dacc_task *t, const dacc_rd_scales *s, dacc_err *e) {
    char path[4200], *buf = NULL;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/scales.json", task_dir);
    FILE *f = open_memstream(&buf, &n);
    if (!f) return dacc_fail(e, "%s: out of memory", path);
    fputs("{\"variant\":", f);
    dacc_json_put_str(f, t->variant.name);
    fprintf(f, ",\"seed\":%llu,\"key\":", (unsigned long long)t->seed);
    dacc_json_put_str(f, s->key);
    fputs(",\"scales\":[", f);
    for (int i = 0; i < s->n; i++) {
        const dacc_rd_scale *c = &s->s[i];
        fputs(i ? ",\n {\"scale\":" : "\n {\"scale\":", f);
        dacc_json_put_num(f, c->scale, "%.10g");
        fputs(",\"set_train\":", f);
        dacc_json_put_str(f, c->set_train);
        fputs(",\"set_test\":", f);
        dacc_json_put_str(f, c->set_test);
        for (int k = 0; k < DACC_RD_NPROTO; k++) {
            if (!c->proto[k].has) continue;
            fprintf(f, ",\"%s\":", proto_key[k]);
            put_proto(f, &c->proto[k], c->hist[k], c->nhist[k]);
        }
        fputc('}', f);
    }
    fputs("]}\n", f);
    if (fclose(f)) {
        free(buf);
        return dacc_fail(e, "%s: out of memory", path);
    }
    int rc = dacc_write_file_atomic(path, buf, n, e);
    free(buf);
    return rc;
}

/* The histogram of one protocol: 2 * (ny + 1) counts >= 0 summing to n;
 * anything else leaves *nhist = 0. */
static void parse_hist(const dacc_jv *a, const dacc_rd_proto *p, int64_t *hist, int *nhist) {
    *nhist = 0;
    if (!a || a->type != DACC_J_ARR || p->ny <= 0 || a->len != (size_t)(2 * (p->ny + 1))) return;
    int64_t sum = 0;
    int i = 0;
    for (const dacc_jv *c = a->child; c; c = c->next, i++) {
        double v;
        if (!dacc_json_isnum(c, &v) || !(v >= 0) || v > 1e15 || v != floor(v)) return;
        hist[i] = (int64_t)v;
        sum += hist[i];
    }
    if (sum == p->n) *nhist = i;
}

static void copy_name(char *dst, const char *src) {
    size_t n = strlen(src);
    if (n >= DACC_RD_SET_NAME) n = 0; /* too long to be one of ours: dropped */
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* The writer's x^ and delta are exact (from counts: delta is 0, not
 * 1e-16, at the identity); kept when they agree with the y's to 1e-5, so
 * a rewrite leaves them as they were. */
static void keep_exact(dacc_rd_proto *p) {
    if (fabs(p->xhat_file - p->xhat) <= 1e-5) p->xhat = p->xhat_file;
    if (fabs(p->delta_file - p->delta) <= 1e-5) p->delta = p->delta_file;
}

/* One entry of "scales"; 0 when valid (kept), -1 when dropped. */
static int parse_entry(const dacc_jv *o, dacc_rd_scale *c) {
    memset(c, 0, sizeof *c);
    double s;
    if (!o || o->type != DACC_J_OBJ || !dacc_json_isnum(dacc_json_get(o, "scale"), &s) || !(s >= 0) ||
        s > DACC_RD_SCALE_MAX)
        return -1;
    c->scale = s;
    copy_name(c->set_train, dacc_json_str(dacc_json_get(o, "set_train"), ""));
    copy_name(c->set_test, dacc_json_str(dacc_json_get(o, "set_test"), ""));
    int any = 0;
    for (int k = 0; k < DACC_RD_NPROTO; k++) {
        const dacc_jv *po = dacc_json_get(o, proto_key[k]);
        dacc_rd_parse_proto(po, &c->proto[k]);
        char why[160];
        if (c->proto[k].has && (dacc_rd_check_proto(&c->proto[k], why, sizeof why) || c->proto[k].ny <= 0)) return -1;
        if (!c->proto[k].has) continue;
        parse_hist(dacc_json_get(po, "hist"), &c->proto[k], c->hist[k], &c->nhist[k]);
        keep_exact(&c->proto[k]);
        any |= c->proto[k].has;
    }
    return any ? 0 : -1;
}

int dacc_rd_parse_scales(const char *buf, size_t n, dacc_rd_scales *out, char *err, size_t errn) {
    memset(out, 0, sizeof *out);
    const dacc_jv *o;
    dacc_jdoc *d = dacc_rd_parse_object(buf, n, &o, err, errn);
    if (!d) return -1;
    const char *key = dacc_json_str(dacc_json_get(o, "key"), "");
    if (strlen(key) < sizeof out->key) memcpy(out->key, key, strlen(key) + 1);
    const dacc_jv *a = dacc_json_get(o, "scales");
    for (const dacc_jv *c = a && a->type == DACC_J_ARR ? a->child : NULL; c; c = c->next) {
        if (out->n == DACC_RD_MAX_SCALES || parse_entry(c, &out->s[out->n])) out->dropped++;
        else out->n++;
    }
    dacc_json_free(d);
    return 0;
}

int dacc_rd_read_scales(const char *task_dir, dacc_rd_scales *out, dacc_err *e) {
    char path[4200], *buf;
    size_t n;
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/scales.json", task_dir);
    if (access(path, F_OK) != 0) return 1;
    if (dacc_read_file(path, DACC_RD_SCALES_BYTES, &buf, &n, e)) return -1;
    char err[160];
    int rc = dacc_rd_parse_scales(buf, n, out, err, sizeof err);
    free(buf);
    if (rc) return dacc_fail(e, "%s: %s", path, err);
    return 0;
}
