/* Text output: the final tables (dacc_tui_print_summary, the end of plain
 * mode and of `dacc run`) and the plain, line-per-event watcher used when
 * stdout is not a terminal. */
#include "fmt.h"
#include "internal.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int any_proto(const dacc_rd_run *r, int proto) {
    for (int i = 0; i < r->ntasks; i++)
        if (r->tasks[i].has_results && r->tasks[i].proto[proto].has) return 1;
    return 0;
}

static void print_results(const dacc_rd_run *r, int proto, FILE *out) {
    char b[16];
    int multi = r->nseeds > 1;
    fprintf(out, "%s, accuracy in %%, delta = x^ - clean in points\n",
            proto == DACC_RD_HELDOUT ? "Held-out protocol (MNIST test images and their AlignMNIST transformations)"
                                : "Paper protocol (MNIST training images, as the notebook)");
    fprintf(out, "%-12s %5s %7s", "variant", "seeds", "clean");
    for (int k = 0; k < DACC_RD_SHOW_Y; k++) fprintf(out, " %6s%d", "y", k + 1);
    fprintf(out, " %7s %7s%s\n", "x^", "delta", multi ? "    sd" : "");
    for (int v = 0; v < r->nvariants; v++) {
        dacc_rd_stats s;
        dacc_rd_variant_stats(r, v, proto, &s);
        fprintf(out, "%-12s %5d %7s", r->variants[v], s.nseeds, tf_pct(s.clean, 2, b, sizeof b));
        for (int k = 0; k < DACC_RD_SHOW_Y; k++) fprintf(out, " %7s", tf_pct(s.y[k], 2, b, sizeof b));
        fprintf(out, " %7s", tf_pct(s.xhat, 2, b, sizeof b));
        fprintf(out, " %7s", tf_pp(s.delta, 2, b, sizeof b));
        if (multi) fprintf(out, " %5s", isnan(s.delta_sd) ? "-" : tf_pct(s.delta_sd, 2, b, sizeof b));
        fputc('\n', out);
    }
    fputc('\n', out);
}

static void print_epochs(const dacc_rd_run *r, FILE *out) {
    int maxep = dacc_rd_max_epoch(r, -1);
    if (!maxep) {
        fprintf(out, "Per-epoch summary: no epochs finished yet\n");
        return;
    }
    static const char *what[3] = {"training loss", "training accuracy %", "test accuracy %"};
    for (int m = 0; m < 3; m++) {
        if (m == 1) continue; /* loss and test accuracy are what one compares */
        fprintf(out, "Per-epoch %s (mean over seeds)\n%-5s", what[m], "epoch");
        for (int v = 0; v < r->nvariants; v++) fprintf(out, " %11.11s", r->variants[v]);
        fputc('\n', out);
        for (int ep = 1; ep <= maxep && !tui_stop_flag; ep++) {
            char b[16];
            fprintf(out, "%5d", ep);
            for (int v = 0; v < r->nvariants; v++) {
                double x = dacc_rd_epoch_mean(r, v, ep, m);
                fprintf(out, " %11s", m == 0 ? tf_num(x, b, sizeof b) : tf_pct(x, 2, b, sizeof b));
            }
            fputc('\n', out);
        }
        fputc('\n', out);
    }
}

void tt_print_summary(const dacc_rd_run *r, FILE *out) {
    const dacc_rd_progress *p = &r->progress;
    fprintf(out, "dacc study %s: %s, %d tasks, %d variants x %d seed%s, %d epochs, ISA %s\n\n", r->dir,
            p->valid ? p->state : "no progress.json", r->ntasks, r->nvariants, r->nseeds,
            r->nseeds == 1 ? "" : "s", r->epochs, r->isa[0] ? r->isa : "?");
    if (!r->have_study) {
        fprintf(out, "no readable study.json yet\n");
        return;
    }
    if (r->variants_hidden)
        fprintf(out, "note: study.json lists %d more variants than the %d shown here; `dacc report` covers all\n\n",
                r->variants_hidden, DACC_RD_MAX_VARIANTS);
    int any = 0;
    if (any_proto(r, DACC_RD_HELDOUT)) { print_results(r, DACC_RD_HELDOUT, out); any = 1; }
    if (any_proto(r, DACC_RD_PAPER)) { print_results(r, DACC_RD_PAPER, out); any = 1; }
    if (!any) fprintf(out, "No results yet (no task has written results.json)\n\n");
    print_epochs(r, out);
}

int dacc_tui_print_summary(const char *run_dir, FILE *out, dacc_err *e) {
    dacc_rd_run *r;
    if (dacc_rd_run_open(&r, run_dir, e)) return -1;
    dacc_rd_run_refresh(r);
    if (!r->have_study) {
        dacc_fail(e, "%s/study.json: %s", run_dir, r->warning[0] ? r->warning : "missing or unreadable");
        dacc_rd_run_free(r);
        return -1;
    }
    tt_print_summary(r, out);
    dacc_rd_run_free(r);
    return ferror(out) ? dacc_fail(e, "writing the summary failed") : 0;
}

static void progress_line(const dacc_rd_run *r, FILE *out) {
    const dacc_rd_progress *p = &r->progress;
    char ts[32], eta[24], el[24];
    tf_now(ts, sizeof ts);
    if (!p->valid) {
        fprintf(out, "%s waiting for %s/progress.json\n", ts, r->dir);
        return;
    }
    fprintf(out, "%s %-11s task %d/%d %s epoch %d/%d batch %ld/%ld", ts, p->state,
            p->task_index + 1, p->tasks, p->task, p->epoch, p->epochs, p->batch, p->batches);
    if (!isnan(p->images_per_s)) fprintf(out, " %.0f img/s", p->images_per_s);
    if (p->scales > 0) fprintf(out, " scale %g (%d/%d)", p->scale, p->scale_index + 1, p->scales);
    fprintf(out, " elapsed %s ETA %s study %.1f%%\n", tf_duration(p->elapsed_s, el, sizeof el),
            tf_duration(p->eta_s, eta, sizeof eta), 100.0 * dacc_rd_study_fraction(r));
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int tt_plain_watch(dacc_rd_run *r, const dacc_tui_options *opt, FILE *out, dacc_err *e) {
    double bad_since = -1;
    int ended = 0;
    int ms = opt->refresh_ms > 0 ? opt->refresh_ms : 500;
    int *printed = NULL, *reported = NULL, nprinted = 0;
    char last_state[24] = "";
    double last_line = -1e9;
    for (;;) {
        int ch = dacc_rd_run_refresh(r);
        if (ch & DACC_RD_CH_STUDY) {
            free(printed);
            free(reported);
            nprinted = r->ntasks;
            printed = calloc((size_t)nprinted + 1, sizeof *printed);
            reported = calloc((size_t)nprinted + 1, sizeof *reported);
            if (!printed || !reported) {
                free(printed);
                free(reported);
                return dacc_fail(e, "out of memory");
            }
        }
        double now = mono_s();
        const char *state = r->progress.valid ? r->progress.state : "";
        if (strcmp(state, last_state) || now - last_line >= 10.0) {
            progress_line(r, out);
            snprintf(last_state, sizeof last_state, "%s", state);
            last_line = now;
        }
        for (int i = 0; i < r->ntasks && i < nprinted; i++) {
            dacc_rd_task *t = &r->tasks[i];
            for (; printed[i] < t->nep; printed[i]++) {
                const dacc_rd_epoch *ep = &t->ep[printed[i]];
                char ts[32], a[16], b[16], c[16], d[16];
                fprintf(out, "%s epoch       %s seed %d epoch %d loss %s train %s%% test %s%% lr %s %.1f s\n",
                        tf_now(ts, sizeof ts), t->variant, t->seed, ep->epoch, tf_num(ep->loss, a, sizeof a),
                        tf_pct(ep->train_acc, 2, b, sizeof b), tf_pct(ep->test_acc, 2, c, sizeof c),
                        tf_num(ep->lr, d, sizeof d), isnan(ep->seconds) ? 0.0 : ep->seconds);
            }
            if (t->has_results && !reported[i]) {
                const dacc_rd_proto *p = t->proto[DACC_RD_HELDOUT].has ? &t->proto[DACC_RD_HELDOUT] : &t->proto[DACC_RD_PAPER];
                char ts[32], a[16], b[16], c[16];
                fprintf(out, "%s results     %s seed %d (%s) clean %s%% x^ %s%% delta %s\n", tf_now(ts, sizeof ts),
                        t->variant, t->seed, t->proto[DACC_RD_HELDOUT].has ? "held-out" : "paper",
                        tf_pct(p->clean, 2, a, sizeof a), tf_pct(p->xhat, 2, b, sizeof b),
                        tf_pp(p->delta, 2, c, sizeof c));
                reported[i] = 1;
            }
        }
        fflush(out);
        if (opt->exit_when_done) ended = tw_run_ended(r, mono_s(), &bad_since, e);
        if (tui_stop_flag || ended) break;
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* a signal cuts it short; the flag is checked above */
    }
    fputc('\n', out);
    tt_print_summary(r, out);
    fflush(out);
    free(printed);
    free(reported);
    return ended < 0 ? -1 : 0;
}
