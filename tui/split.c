/* The per-layer time split as text (split.h). */
#include "split.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

const dacc_rd_task *ts_split_task(const dacc_rd_run *r) {
    const dacc_rd_task *last = NULL;
    for (int i = 0; i < r->ntasks; i++) {
        const dacc_rd_task *t = &r->tasks[i];
        if (!t->split.n) continue;
        if (r->progress.valid && !strcmp(t->id, r->progress.task)) return t;
        last = t;
    }
    return last;
}

/* ms per step, NaN without steps */
static double per_step(const dacc_rd_layer_ms *s, double ms) {
    return s->steps > 0 && ms >= 0 ? ms / (double)s->steps : NAN;
}

/* The `shown` layers with the most time, in network order, into idx. */
static void largest(const dacc_rd_layer_ms *s, int shown, int *idx) {
    int rank_ok[DACC_RD_MAX_LAYERS] = {0}, m = 0;
    for (int i = 0; i < s->n; i++) {
        double ti = s->ms[i][0] + s->ms[i][1] + s->ms[i][2];
        int above = 0; /* layers with more time (ties: the earlier first) */
        for (int j = 0; j < s->n; j++) {
            double tj = s->ms[j][0] + s->ms[j][1] + s->ms[j][2];
            above += tj > ti || (tj == ti && j < i);
        }
        rank_ok[i] = above < shown;
    }
    for (int i = 0; i < s->n; i++)
        if (rank_ok[i]) idx[m++] = i;
}

int ts_split_line(const dacc_rd_task *t, int rows, int k, char *buf, size_t n) {
    const dacc_rd_layer_ms *s = &t->split;
    int shown = s->n < rows - 4 ? s->n : rows - 4; /* title, header, (+N more), rest */
    if (shown < 0) shown = 0;
    int more = shown < s->n, lines = 2 + shown + more + 1;
    double total = s->train > 0 ? s->train : NAN;
    int idx[DACC_RD_MAX_LAYERS];
    largest(s, shown, idx);
    buf[0] = 0;
    if (k == 0) {
        snprintf(buf, n, "Training time per step, %s epoch %d (%ld steps), ms:", t->id, s->epoch, s->steps);
    } else if (k == 1) {
        snprintf(buf, n, "%-18s %9s %9s %9s %9s %6s", "layer", "forward", "bwd-data", "bwd-wts", "total", "%");
    } else if (k < 2 + shown) {
        const double *p = s->ms[idx[k - 2]];
        double sum = p[0] + p[1] + p[2];
        char bd[16]; /* a fused backward's time is all in bwd-wts */
        if (s->fused[idx[k - 2]]) snprintf(bd, sizeof bd, "%9s", "(in wts)");
        else snprintf(bd, sizeof bd, "%9.3f", per_step(s, p[1]));
        snprintf(buf, n, "%-18.18s %9.3f %s %9.3f %9.3f %5.1f%%", s->name[idx[k - 2]], per_step(s, p[0]), bd,
                 per_step(s, p[2]), per_step(s, sum), 100 * sum / total);
    } else if (more && k == 2 + shown) {
        snprintf(buf, n, "(+%d smaller layers not shown)", s->n - shown);
    } else if (k == lines - 1) {
        double rest = s->pack + s->loss + s->adam + s->rest;
        snprintf(buf, n, "%-18s %9s %9s %9s %9.3f %5.1f%%  (pack %.3f, loss %.3f, adam %.3f, other %.3f)",
                 "the rest", "", "", "", per_step(s, rest), 100 * rest / total, per_step(s, s->pack),
                 per_step(s, s->loss), per_step(s, s->adam), per_step(s, s->rest));
    }
    return lines;
}
