/* Readers of the run directory's files for `dacc report` and the view:
 * results.json, the task list of study.json, the settings of config.json.
 * The live view (study/progress/metrics/inspect) is in rundir_view.c. */
#include "study/rundir.h"
#include "dacc/fileio.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

dacc_jdoc *dacc_rd_load_json(const char *path, size_t max, dacc_err *e) {
    char *buf;
    size_t n;
    if (dacc_read_file(path, max, &buf, &n, e)) return NULL;
    char err[160];
    dacc_jdoc *d = n ? dacc_json_parse(buf, n, err, sizeof err) : NULL;
    free(buf);
    if (!d) dacc_fail(e, "%s: %s", path, n ? err : "empty file");
    return d;
}

static double num_or_nan(const dacc_jv *v) { return v && v->type == DACC_J_NUM ? v->num : NAN; }

void dacc_rd_parse_proto(const dacc_jv *o, dacc_rd_proto *p) {
    memset(p, 0, sizeof *p);
    p->clean = p->xhat = p->delta = p->xhat_file = p->delta_file = NAN;
    if (!o || o->type != DACC_J_OBJ) return;
    p->has = 1;
    p->clean = num_or_nan(dacc_json_get(o, "clean"));
    double n;
    if (dacc_json_isnum(dacc_json_get(o, "n"), &n) && n >= 1 && n <= 1e15 && n == floor(n)) p->n = (int64_t)n;
    const dacc_jv *y = dacc_json_get(o, "y");
    if (y && y->type == DACC_J_ARR) {
        double s = 0;
        for (const dacc_jv *c = y->child; c; c = c->next) {
            if (p->ny == DACC_RD_MAX_Y) { p->ny = -1; break; } /* too many: rejected by the check */
            s += (p->y[p->ny++] = num_or_nan(c));
        }
        if (p->ny > 0) {
            p->xhat = s / p->ny;
            p->delta = p->xhat - p->clean;
        } else if (p->ny == 0) {
            p->ny = -1; /* an empty list */
        }
    } else if (y) {
        p->ny = -1;
    }
    p->xhat_file = num_or_nan(dacc_json_get(o, "xhat"));
    p->delta_file = num_or_nan(dacc_json_get(o, "delta"));
}

/* Parses buf as JSON whose root must be an object; NULL (err filled) if not. */
dacc_jdoc *dacc_rd_parse_object(const char *buf, size_t n, const dacc_jv **root, char *err, size_t errn) {
    dacc_jdoc *d = dacc_json_parse(buf, n, err, errn);
    const dacc_jv *o = dacc_json_root(d);
    if (!o || o->type != DACC_J_OBJ) {
        if (d && err && errn) snprintf(err, errn, "not a JSON object");
        dacc_json_free(d);
        return NULL;
    }
    *root = o;
    return d;
}

int dacc_rd_parse_results(const char *buf, size_t n, dacc_rd_results *r, char *err, size_t errn) {
    memset(r, 0, sizeof *r);
    dacc_rd_parse_proto(NULL, &r->proto[DACC_RD_HELDOUT]);
    dacc_rd_parse_proto(NULL, &r->proto[DACC_RD_PAPER]);
    const dacc_jv *o;
    dacc_jdoc *d = dacc_rd_parse_object(buf, n, &o, err, errn);
    if (!d) return -1;
    const char *v = dacc_json_str(dacc_json_get(o, "variant"), "");
    if (strlen(v) < sizeof r->variant) memcpy(r->variant, v, strlen(v) + 1);
    double seed;
    if (dacc_json_isnum(dacc_json_get(o, "seed"), &seed) && seed >= 0 && seed == floor(seed) && seed <= 1.8e19) {
        r->has_seed = 1;
        r->seed = (uint64_t)seed;
    }
    dacc_rd_parse_proto(dacc_json_get(o, "heldout"), &r->proto[DACC_RD_HELDOUT]);
    dacc_rd_parse_proto(dacc_json_get(o, "paper"), &r->proto[DACC_RD_PAPER]);
    dacc_json_free(d);
    return 0;
}

int dacc_rd_check_proto(const dacc_rd_proto *p, char *why, size_t whyn) {
    if (!(p->clean >= 0 && p->clean <= 1) || p->n < 1) {
        snprintf(why, whyn, "no valid clean accuracy and image count");
        return -1;
    }
    if (p->ny < 0) {
        snprintf(why, whyn, "\"y\" is not a list of 1..%d accuracies", DACC_RD_MAX_Y);
        return -1;
    }
    for (int b = 0; b < p->ny; b++)
        if (!(p->y[b] >= 0 && p->y[b] <= 1)) {
            snprintf(why, whyn, "y[%d] is not an accuracy", b + 1);
            return -1;
        }
    if (p->ny > 0 && !isnan(p->xhat_file) && fabs(p->xhat_file - p->xhat) > 1e-5) {
        snprintf(why, whyn, "xhat %.6f is not the mean of y (%.6f)", p->xhat_file, p->xhat);
        return -1;
    }
    return 0;
}

int dacc_rd_check_results(const dacc_rd_results *r, char *why, size_t whyn, const char **where) {
    static const char *const names[DACC_RD_NPROTO] = {"heldout", "paper"};
    *where = "";
    if (!r->variant[0]) {
        snprintf(why, whyn, "results.json has no variant name");
        return -1;
    }
    if (!r->has_seed) {
        snprintf(why, whyn, "results.json has no valid seed");
        return -1;
    }
    for (int k = 0; k < DACC_RD_NPROTO; k++)
        if (r->proto[k].has && dacc_rd_check_proto(&r->proto[k], why, whyn)) {
            *where = names[k];
            return -1;
        }
    if (!r->proto[0].has && !r->proto[1].has) {
        snprintf(why, whyn, "results.json has neither heldout nor paper results");
        return -1;
    }
    return 0;
}

static int safe_id(const char *id) {
    return id[0] && !strstr(id, "..") && !strchr(id, '/') && !strchr(id, '\\');
}

int dacc_rd_study_tasks(const dacc_jv *study, dacc_rd_task_fn fn, void *u) {
    const dacc_jv *ts = dacc_json_get(study, "tasks");
    int skipped = 0;
    for (const dacc_jv *t = ts && ts->type == DACC_J_ARR ? ts->child : NULL; t; t = t->next) {
        const char *id = dacc_json_str(dacc_json_get(t, "id"), NULL);
        const char *v = dacc_json_str(dacc_json_get(t, "variant"), NULL);
        double seed;
        if (!id || !v || !v[0] || !safe_id(id) || !dacc_json_isnum(dacc_json_get(t, "seed"), &seed) || !(seed >= 0) ||
            seed > 1.8e19 || seed != floor(seed)) {
            skipped++;
            continue;
        }
        if (fn(u, id, v, (uint64_t)seed)) break;
    }
    return skipped;
}

void dacc_rd_read_settings(const char *task_dir, char *out, size_t n) {
    static const char *const keys[] = {"epochs", "batch", "lr", "gamma", "protocol", "train_limit", "blocks"};
    char path[4400];
    snprintf(path, sizeof path, "%s/config.json", task_dir);
    out[0] = 0;
    dacc_err e;
    dacc_jdoc *d = access(path, F_OK) == 0 ? dacc_rd_load_json(path, DACC_RD_MAX_JSON, &e) : NULL;
    const dacc_jv *c = dacc_json_root(d);
    size_t k = 0;
    for (size_t i = 0; c && i < sizeof keys / sizeof keys[0] && k < n; i++) {
        const dacc_jv *v = dacc_json_get(c, keys[i]);
        if (v && v->type == DACC_J_NUM) k += (size_t)snprintf(out + k, n - k, "%s%s=%g", k ? "," : "", keys[i], v->num);
        else if (v && v->type == DACC_J_STR)
            k += (size_t)snprintf(out + k, n - k, "%s%s=%s", k ? "," : "", keys[i], v->str);
    }
    dacc_json_free(d);
}

int dacc_rd_is_done(const char *task_dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/DONE", task_dir);
    return access(path, F_OK) == 0;
}
