/* `dacc report`, aggregation (see report_agg.h): per variant and protocol
 * the means over seeds with their intervals, the one-seed intervals over the
 * images, the relative measures and McNemar's test against Original. The
 * statistics themselves are dacc/stats.h; this file only gathers their
 * inputs. Tasks are looked up through the sorted index (report_index). */
#include "study/report_agg.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int report_bit(const report_proto *p, int block, int64_t i) {
    size_t k = (size_t)block * (size_t)p->n + (size_t)i;
    return (p->right[k >> 3] >> (k & 7)) & 1;
}

/* b = Original right & variant wrong, c = the reverse, over given blocks. */
int report_pair_counts(const report_proto *o, const report_proto *v, int b0, int b1, int64_t *bb, int64_t *cc) {
    if (!o->pred_ok || !v->pred_ok || o->n != v->n || o->label_crc != v->label_crc) return 0;
    if (b1 > o->nb || b1 > v->nb) return 0;
    for (int b = b0; b <= b1; b++) {
        int64_t x = 0, y = 0;
        for (int64_t i = 0; i < o->n; i++) {
            int ro = report_bit(o, b, i), rv = report_bit(v, b, i);
            x += ro && !rv;
            y += !ro && rv;
        }
        bb[b - b0] = x;
        cc[b - b0] = y;
    }
    return 1;
}

/* Wilson interval of an accuracy given as a fraction of n images. */
dacc_interval report_wilson_acc(double acc, int64_t n) {
    if (isnan(acc)) return (dacc_interval){NAN, NAN, 0};
    return dacc_wilson((int64_t)llround(acc * (double)n), n);
}

static const char *ref_name(const report *r) {
    for (int i = 0; i < r->nt; i++)
        if (!strcasecmp(r->t[i].variant, "Original")) return r->t[i].variant;
    return NULL;
}

typedef struct vname {
    const char *name;
    long first;
} vname;

static int cmp_vname(const void *a, const void *b) {
    const vname *x = a, *y = b;
    int ox = !strcasecmp(x->name, "Original"), oy = !strcasecmp(y->name, "Original");
    if (ox != oy) return oy - ox;
    if (x->first != y->first) return x->first < y->first ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The variants in report order: Original first, then by their first task
 * index (the study's order), then by name. */
static int variant_order(report *r) {
    vname *v = malloc(sizeof *v * (size_t)(r->nt + 1));
    r->names = calloc((size_t)r->nt + 1, sizeof *r->names);
    if (!v || !r->names) {
        free(v);
        return -1;
    }
    int n = 0;
    for (int i = 0; i < r->nt; i++) { /* by_key groups a variant's tasks */
        const report_task *t = &r->t[r->by_key[i]];
        if (n && !strcmp(v[n - 1].name, t->variant)) {
            if (t->index < v[n - 1].first) v[n - 1].first = t->index;
        } else {
            v[n++] = (vname){t->variant, t->index};
        }
    }
    qsort(v, (size_t)n, sizeof *v, cmp_vname);
    for (int i = 0; i < n; i++) snprintf(r->names[i], REPORT_NAME, "%s", v[i].name);
    r->nv = n;
    free(v);
    return 0;
}

static void clip(dacc_interval *i, double lo, double hi) {
    if (!i->ok) return;
    if (i->lo < lo) i->lo = lo;
    if (i->hi > hi) i->hi = hi;
}

/* Means over the seeds of one variant in protocol k (and, with one seed,
 * the intervals over that seed's images). */
static void summarize(report *r, int k, const char *variant, report_row *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->variant, sizeof row->variant, "%s", variant);
    int end, start = report_range(r, variant, &end), m = end - start + 1;
    row->seeds = calloc((size_t)m, sizeof *row->seeds);
    const report_proto **ps = calloc((size_t)m, sizeof *ps);
    double *c = calloc((size_t)m, sizeof *c), *x = calloc((size_t)m, sizeof *x), *d = calloc((size_t)m, sizeof *d);
    if (row->seeds && ps && c && x && d)
        for (int i = start; i < end; i++) { /* ascending seeds */
            const report_task *t = &r->t[r->by_key[i]];
            if (!t->pr[k].present) continue;
            ps[row->n] = &t->pr[k];
            row->seeds[row->n++] = t->seed;
        }
    int nb = -1;
    for (int s = 0; s < row->n; s++) {
        const report_proto *p = ps[s];
        c[s] = p->clean;
        if (p->nb > 0) {
            x[row->nx] = p->xhat;
            d[row->nx++] = p->delta;
        }
        if (nb < 0) nb = p->nb;
        else if (nb != p->nb) nb = -2;
        row->n_images = p->n;
    }
    if (nb == -2)
        report_strs_add(&r->warnings, "%s/%s: seeds have different numbers of transformed blocks",
                        report_proto_name[k], variant);
    if (row->nx && row->nx != row->n)
        report_strs_add(&r->warnings, "%s/%s: only %d of %d seeds have transformed accuracies", report_proto_name[k],
                        variant, row->nx, row->n);
    row->nb = nb > 0 ? nb : 0;
    row->clean = dacc_mean_ci_of(c, row->n);
    row->xhat = dacc_mean_ci_of(x, row->nx);
    row->delta = dacc_mean_ci_of(d, row->nx);
    /* few seeds give wide t-intervals: clip them to the possible range */
    clip(&row->clean.ci, 0, 1);
    clip(&row->xhat.ci, 0, 1);
    clip(&row->delta.ci, -1, 1);
    row->relrob = dacc_rel_robustness(row->clean.mean, row->xhat.mean);
    row->err_clean = row->err_xhat = row->rel_derr = NAN;
    row->one_clean = row->one_xhat = row->one_delta = (dacc_interval){NAN, NAN, 0};
    if (row->n == 1) {
        const report_proto *p = ps[0];
        row->one_clean = report_wilson_acc(p->clean, p->n);
        if (p->pred_ok && p->nb > 0) {
            row->one_xhat = dacc_xhat_interval(p->hist, p->nb).ci;
            row->one_delta = dacc_paired_delta(p->hist, p->nb).ci;
        }
    }
    free(ps);
    free(c);
    free(x);
    free(d);
}

/* McNemar against the reference, pooled over the seeds both have (and the
 * transformed blocks). */
static void mcnemar_ref(report *r, int k, report_row *row, const report_row *ref) {
    int64_t bc = 0, cc = 0, bt = 0, ct = 0;
    row->mc_trans.nb = row->nb;
    for (int s = 0; s < row->n; s++) {
        const report_task *tv = report_find(r, row->variant, row->seeds[s], k),
                          *to = report_find(r, ref->variant, row->seeds[s], k);
        if (!to) continue;
        int64_t b1[REPORT_MAXB + 1], c1[REPORT_MAXB + 1];
        if (!report_pair_counts(&to->pr[k], &tv->pr[k], 0, 0, b1, c1)) {
            if (to->pr[k].pred_ok && tv->pr[k].pred_ok)
                report_strs_add(&r->warnings, "%s vs %s (%s): different images (labels or counts differ): not paired",
                                tv->id, to->id, report_proto_name[k]);
            continue;
        }
        bc += b1[0];
        cc += c1[0];
        row->mc_clean.pairs++;
        if (row->nb > 0 && tv->pr[k].nb == row->nb &&
            report_pair_counts(&to->pr[k], &tv->pr[k], 1, row->nb, b1, c1)) {
            for (int b = 0; b < row->nb; b++) {
                row->mc_trans.bb[b] += b1[b];
                row->mc_trans.cb[b] += c1[b];
                bt += b1[b];
                ct += c1[b];
            }
            row->mc_trans.pairs++;
        }
    }
    if (row->mc_clean.pairs) {
        row->mc_clean.ok = 1;
        row->mc_clean.t = dacc_mcnemar_test(bc, cc);
    }
    if (row->mc_trans.pairs) {
        row->mc_trans.ok = 1;
        row->mc_trans.t = dacc_mcnemar_test(bt, ct);
    }
}

/* The comparisons against Original's row (ref may be row itself). */
static void compare_ref(report *r, int k, report_row *row, const report_row *ref) {
    row->have_ref = 1;
    row->is_ref = ref == row;
    row->err_clean = dacc_error_ratio(row->clean.mean, ref->clean.mean);
    if (row->nx && ref->nx) {
        row->err_xhat = dacc_error_ratio(row->xhat.mean, ref->xhat.mean);
        row->rel_derr = dacc_rel_delta_error(row->clean.mean, row->xhat.mean, ref->clean.mean, ref->xhat.mean);
    }
    if (!row->is_ref) mcnemar_ref(r, k, row, ref);
}

int report_aggregate(report *r, dacc_err *e) {
    if (report_index(r, e)) return -1;
    r->ref = ref_name(r);
    r->rows[0] = calloc((size_t)r->nt, sizeof **r->rows);
    r->rows[1] = calloc((size_t)r->nt, sizeof **r->rows);
    if (!r->rows[0] || !r->rows[1] || variant_order(r)) return dacc_fail(e, "out of memory");
    for (int i = 0; i < r->nt; i++)
        for (int k = 0; k < 2; k++)
            if (r->t[i].pr[k].present && (r->o->protocols & (1 << k))) {
                r->have_proto[k] = 1;
                if (r->t[i].pr[k].nb > r->maxb) r->maxb = r->t[i].pr[k].nb;
            }
    if (!r->have_proto[0] && !r->have_proto[1]) return dacc_fail(e, "no task has results for the protocol asked for");
    if (!r->ref) report_strs_add(&r->warnings, "no Original among the tasks: comparisons against it are n/a");
    for (int k = 0; k < 2; k++) {
        if (!r->have_proto[k]) continue;
        report_row *rows = r->rows[k];
        for (int v = 0; v < r->nv; v++) summarize(r, k, r->names[v], &rows[v]);
        /* Original sorts first (variant_order) */
        const report_row *refrow = r->ref && !strcmp(r->names[0], r->ref) && rows[0].n ? &rows[0] : NULL;
        for (int v = 0; v < r->nv; v++) {
            if (refrow) compare_ref(r, k, &rows[v], refrow);
            if (rows[v].n == 1)
                report_strs_add(&r->warnings, "%s/%s: one seed (n=1): no interval over seeds", report_proto_name[k],
                                r->names[v]);
        }
    }
    return 0;
}
