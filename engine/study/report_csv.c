/* `dacc report`, the tables (see report_agg.h): results.csv (one row per
 * task and protocol), summary.csv and summary.json (one row per variant and
 * protocol). Numbers that cannot be computed are "n/a" (CSV) or null (JSON). */
#include "study/report_agg.h"
#include "core/json.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void csv_num(FILE *f, double v, const char *fmt) {
    fputc(',', f);
    if (isnan(v) || isinf(v)) fputs("n/a", f);
    else fprintf(f, fmt, v);
}

void report_csv_str(FILE *f, const char *s) {
    fputc(',', f);
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static const char *mc_method(const dacc_mcnemar *m) { return m->exact ? "exact" : "chi2-cc"; }

static void csv_mcnemar(FILE *f, const report_proto *o, const report_proto *p, int b0, int b1) {
    int64_t bb[REPORT_MAXB + 1], cc[REPORT_MAXB + 1], bt = 0, ct = 0;
    if (!o || (b0 > 0 && p->nb <= 0) || !report_pair_counts(o, p, b0, b1, bb, cc)) {
        fputs(",n/a,n/a,n/a", f);
        return;
    }
    for (int b = 0; b <= b1 - b0; b++) bt += bb[b], ct += cc[b];
    dacc_mcnemar m = dacc_mcnemar_test(bt, ct);
    fprintf(f, ",%lld,%lld", (long long)m.b, (long long)m.c);
    csv_num(f, m.p, "%.6g");
}

/* One task's row of results.csv in protocol k. */
static void results_row(const report *r, FILE *f, const report_task *t, int k) {
    const report_proto *p = &t->pr[k];
    fprintf(f, "%s", report_proto_name[k]);
    report_csv_str(f, t->id);
    report_csv_str(f, t->variant);
    fprintf(f, ",%llu,%lld", (unsigned long long)t->seed, (long long)p->n);
    dacc_interval w = report_wilson_acc(p->clean, p->n);
    csv_num(f, p->clean, "%.6f");
    csv_num(f, w.lo, "%.6f");
    csv_num(f, w.hi, "%.6f");
    for (int b = 0; b < r->maxb; b++) {
        double y = b < p->nb ? p->y[b] : NAN;
        w = report_wilson_acc(y, p->n);
        csv_num(f, y, "%.6f");
        csv_num(f, w.lo, "%.6f");
        csv_num(f, w.hi, "%.6f");
    }
    dacc_paired px = {0, NAN, NAN, NAN, {NAN, NAN, 0}}, pd = px;
    if (p->pred_ok && p->nb > 0) {
        px = dacc_xhat_interval(p->hist, p->nb);
        pd = dacc_paired_delta(p->hist, p->nb);
    }
    csv_num(f, p->xhat, "%.6f");
    csv_num(f, px.ci.lo, "%.6f");
    csv_num(f, px.ci.hi, "%.6f");
    csv_num(f, p->delta, "%.6f");
    csv_num(f, pd.ci.lo, "%.6f");
    csv_num(f, pd.ci.hi, "%.6f");
    /* McNemar against Original of the same seed: clean, then the blocks pooled */
    const report_task *o = r->ref && strcmp(r->ref, t->variant) ? report_find(r, r->ref, t->seed, k) : NULL;
    csv_mcnemar(f, o ? &o->pr[k] : NULL, p, 0, 0);
    csv_mcnemar(f, o ? &o->pr[k] : NULL, p, 1, p->nb);
    fprintf(f, ",%s\n", p->pred_ok ? "ok" : "n/a");
}

void report_write_results_csv(const report *r, FILE *f) {
    fputs("protocol,task,variant,seed,n_images,clean,clean_lo,clean_hi", f);
    for (int b = 1; b <= r->maxb; b++) fprintf(f, ",y%d,y%d_lo,y%d_hi", b, b, b);
    fputs(",xhat,xhat_lo,xhat_hi,delta,delta_lo,delta_hi,"
          "mcnemar_clean_b,mcnemar_clean_c,mcnemar_clean_p,"
          "mcnemar_xhat_b,mcnemar_xhat_c,mcnemar_xhat_p,predictions\n", f);
    for (int k = 0; k < 2; k++) {
        if (!(r->o->protocols & (1 << k))) continue;
        for (int v = 0; v < r->nv; v++) {
            int end;
            for (int i = report_range(r, r->names[v], &end); i < end; i++) { /* ascending seeds */
                const report_task *t = &r->t[r->by_key[i]];
                if (t->pr[k].present) results_row(r, f, t, k);
            }
        }
    }
}

static void summary_csv_rows(FILE *f, int k, const report_row *rows, int nv) {
    for (int v = 0; v < nv; v++) {
        const report_row *w = &rows[v];
        if (!w->n) continue;
        fprintf(f, "%s", report_proto_name[k]);
        report_csv_str(f, w->variant);
        fprintf(f, ",%d,", w->n);
        for (int s = 0; s < w->n; s++) fprintf(f, "%s%llu", s ? " " : "", (unsigned long long)w->seeds[s]);
        fprintf(f, ",%lld,%d", (long long)w->n_images, w->nb);
        const dacc_mean_ci *m3[3] = {&w->clean, &w->xhat, &w->delta};
        for (int q = 0; q < 3; q++) {
            csv_num(f, m3[q]->mean, "%.6f");
            csv_num(f, m3[q]->sd, "%.6f");
            csv_num(f, m3[q]->ci.lo, "%.6f");
            csv_num(f, m3[q]->ci.hi, "%.6f");
        }
        csv_num(f, w->relrob, "%.6f");
        csv_num(f, w->err_clean, "%.6f");
        csv_num(f, w->err_xhat, "%.6f");
        csv_num(f, w->rel_derr, "%.6f");
        const report_mcn *mc[2] = {&w->mc_clean, &w->mc_trans};
        for (int q = 0; q < 2; q++) {
            if (mc[q]->ok) {
                fprintf(f, ",%lld,%lld", (long long)mc[q]->t.b, (long long)mc[q]->t.c);
                csv_num(f, mc[q]->t.p, "%.6g");
                fprintf(f, ",%s,%d", mc_method(&mc[q]->t), mc[q]->pairs);
            } else {
                fputs(w->is_ref ? ",ref,ref,ref,ref,ref" : ",n/a,n/a,n/a,n/a,n/a", f);
            }
        }
        fprintf(f, ",%s,", w->n == 1 ? "n=1: no interval over seeds" : ""); /* scale: empty = the study's own set */
        csv_num(f, w->one_delta.ok ? w->one_delta.lo : NAN, "%.6f");
        csv_num(f, w->one_delta.ok ? w->one_delta.hi : NAN, "%.6f");
        fputc('\n', f);
    }
}

void report_write_summary_csv(const report *r, FILE *f) {
    fputs("protocol,variant,n_seeds,seeds,n_images,blocks,"
          "clean_mean,clean_sd,clean_lo,clean_hi,xhat_mean,xhat_sd,xhat_lo,xhat_hi,"
          "delta_mean,delta_sd,delta_lo,delta_hi,rel_robustness,error_ratio_clean,error_ratio_xhat,"
          "rel_delta_error,mcnemar_clean_b,mcnemar_clean_c,mcnemar_clean_p,mcnemar_clean_method,"
          "mcnemar_clean_pairs,mcnemar_xhat_b,mcnemar_xhat_c,mcnemar_xhat_p,mcnemar_xhat_method,"
          "mcnemar_xhat_pairs,warning,scale,delta_image_lo,delta_image_hi\n", f);
    for (int k = 0; k < 2; k++)
        if (r->have_proto[k]) summary_csv_rows(f, k, r->rows[k], r->nv);
    for (int k = 0; k < 2; k++)
        if (r->have_proto[k]) report_csv_scale_rows(r, f, k);
}

void report_json_ci(FILE *f, const char *name, const dacc_mean_ci *m) {
    fprintf(f, "\"%s\":{\"mean\":", name);
    dacc_json_put_num(f, m->mean, "%.10g");
    fputs(",\"sd\":", f);
    dacc_json_put_num(f, m->sd, "%.10g");
    fputs(",\"ci95\":", f);
    if (m->ci.ok) {
        fputc('[', f);
        dacc_json_put_num(f, m->ci.lo, "%.10g");
        fputc(',', f);
        dacc_json_put_num(f, m->ci.hi, "%.10g");
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    fputc('}', f);
}

void report_json_means(FILE *f, const dacc_mean_ci *clean, const dacc_mean_ci *xhat, const dacc_mean_ci *delta) {
    report_json_ci(f, "clean", clean);
    fputc(',', f);
    report_json_ci(f, "xhat", xhat);
    fputc(',', f);
    report_json_ci(f, "delta", delta);
}

void report_json_interval(FILE *f, dacc_interval i) {
    if (!i.ok) {
        fputs("null", f);
        return;
    }
    fputc('[', f);
    dacc_json_put_num(f, i.lo, "%.10g");
    fputc(',', f);
    dacc_json_put_num(f, i.hi, "%.10g");
    fputc(']', f);
}

/* ,"one_seed_image_ci95": the per-image intervals of a one-seed row (clean
 * left out when NULL), null with several seeds. */
void report_json_one_seed(FILE *f, int n, const dacc_interval *clean, dacc_interval xhat, dacc_interval delta) {
    fputs(",\"one_seed_image_ci95\":", f);
    if (n != 1) {
        fputs("null", f);
        return;
    }
    fputc('{', f);
    if (clean) {
        fputs("\"clean\":", f);
        report_json_interval(f, *clean);
        fputc(',', f);
    }
    fputs("\"xhat\":", f);
    report_json_interval(f, xhat);
    fputs(",\"delta\":", f);
    report_json_interval(f, delta);
    fputc('}', f);
}

static void json_mcnemar(FILE *f, const report_row *w, const report_mcn *m, int blocks) {
    if (w->is_ref) {
        fputs("\"reference\"", f);
        return;
    }
    if (!m->ok) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"b\":%lld,\"c\":%lld,\"p\":", (long long)m->t.b, (long long)m->t.c);
    dacc_json_put_num(f, m->t.p, "%.10g");
    fputs(",\"chi2\":", f);
    dacc_json_put_num(f, m->t.stat, "%.10g");
    fprintf(f, ",\"method\":\"%s\",\"seed_pairs\":%d", mc_method(&m->t), m->pairs);
    if (blocks) {
        fputs(",\"per_block\":[", f);
        for (int b = 0; b < m->nb; b++) {
            dacc_mcnemar t = dacc_mcnemar_test(m->bb[b], m->cb[b]);
            fprintf(f, "%s{\"b\":%lld,\"c\":%lld,\"p\":", b ? "," : "", (long long)t.b, (long long)t.c);
            dacc_json_put_num(f, t.p, "%.10g");
            fputc('}', f);
        }
        fputc(']', f);
    }
    fputc('}', f);
}

static void write_summary_json_protocol(const report *r, FILE *f, int k) {
    const report_row *rows = r->rows[k];
    int nv = r->nv;
    fprintf(f, "\"%s\":{\"title\":", report_proto_name[k]);
    dacc_json_put_str(f, report_proto_title[k]);
    fputs(",\"variants\":[", f);
    int first = 1;
    for (int v = 0; v < nv; v++) {
        const report_row *w = &rows[v];
        if (!w->n) continue;
        fputs(first ? "\n  {" : ",\n  {", f);
        first = 0;
        fputs("\"variant\":", f);
        dacc_json_put_str(f, w->variant);
        fprintf(f, ",\"n\":%d,\"seeds\":[", w->n);
        for (int s = 0; s < w->n; s++) fprintf(f, "%s%llu", s ? "," : "", (unsigned long long)w->seeds[s]);
        fprintf(f, "],\"images\":%lld,\"blocks\":%d,", (long long)w->n_images, w->nb);
        report_json_means(f, &w->clean, &w->xhat, &w->delta);
        report_json_one_seed(f, w->n, &w->one_clean, w->one_xhat, w->one_delta);
        fputs(",\"rel_robustness\":", f);
        dacc_json_put_num(f, w->relrob, "%.10g");
        fputs(",\"error_ratio_clean\":", f);
        dacc_json_put_num(f, w->err_clean, "%.10g");
        fputs(",\"error_ratio_xhat\":", f);
        dacc_json_put_num(f, w->err_xhat, "%.10g");
        fputs(",\"rel_delta_error\":", f);
        dacc_json_put_num(f, w->rel_derr, "%.10g");
        fputs(",\"mcnemar_clean\":", f);
        json_mcnemar(f, w, &w->mc_clean, 0);
        fputs(",\"mcnemar_xhat\":", f);
        json_mcnemar(f, w, &w->mc_trans, 1);
        fputs(",\"warning\":", f);
        if (w->n == 1) fputs("\"n=1: one seed, no interval over seeds\"", f);
        else fputs("null", f);
        report_json_scales(r, f, k, v);
        fputc('}', f);
    }
    fputs("]}", f);
}

static void json_list(FILE *f, const char *name, const report_strs *l) {
    fprintf(f, "\"%s\":[", name);
    for (int i = 0; i < l->n; i++) {
        if (i) fputc(',', f);
        dacc_json_put_str(f, l->s[i]);
    }
    fputc(']', f);
}

void report_write_summary_json(const report *r, FILE *f) {
    fputs("{\"format\":\"dacc-report\",\"version\":1,", f);
    json_list(f, "inputs", &r->inputs);
    fprintf(f, ",\"tasks_used\":%d,\"reference\":", r->nt);
    if (r->ref) dacc_json_put_str(f, r->ref);
    else fputs("null", f);
    fputc(',', f);
    json_list(f, "skipped", &r->skipped);
    fputc(',', f);
    json_list(f, "warnings", &r->warnings);
    fputs(",\n\"protocols\":{", f);
    int first = 1;
    for (int k = 0; k < 2; k++)
        if (r->have_proto[k]) {
            if (!first) fputs(",\n", f);
            first = 0;
            write_summary_json_protocol(r, f, k);
        }
    fputs("}}\n", f);
}
