/* The curses dashboard. Data comes from dacc_rd_run (rundir.c); layout from the
 * pure dacc_tui_layout(); this file only draws and handles keys. Every panel
 * paints every cell of its rectangle and the rectangles tile the screen, so
 * a frame never erases first and ncurses sends only what changed. */
#include "internal.h"
#ifdef DACC_HAVE_TUI
#include "chart.h"
#include "fmt.h"
#include "layout.h"
#include "split.h"
#include <curses.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

enum { C_GOOD = 1, C_BAD, C_TITLE, C_ACCENT, C_BAR1, C_BAR2, C_DIM };

typedef struct view {
    dacc_rd_run *r;
    int ascii, color;
    int focus;    /* content panel with the keyboard */
    int variant;  /* selected variant */
    int digit;    /* inspector: current digit */
    int proto;    /* DACC_RD_HELDOUT or DACC_RD_PAPER */
    int help;     /* help overlay shown */
} view;

/* ---- drawing primitives ---- */

static void set_attr(const view *v, attr_t a, int pair) {
    attr_set(a, (short)(v->color ? pair : 0), NULL);
}

/* UTF-8 text at (y,x), at most w columns; returns columns used. Invalid or
 * (in ascii mode) non-ASCII characters become '?'. */
static int put(const view *v, int y, int x, int w, const char *s) {
    wchar_t buf[512];
    int n = 0, cols = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t len = strlen(s);
    while (len && n < 511 && cols < w) {
        wchar_t wc;
        size_t k = v->ascii ? ((unsigned char)*s < 0x80 ? 1 : (size_t)-1) : mbrtowc(&wc, s, len, &st);
        if (v->ascii && k == 1) wc = (unsigned char)*s;
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            wc = L'?';
            k = 1;
            memset(&st, 0, sizeof st);
        }
        int cw = wcwidth(wc);
        if (cw < 0) { wc = L'?'; cw = 1; }
        if (cols + cw > w) break;
        buf[n++] = wc;
        cols += cw;
        s += k;
        len -= k;
    }
    if (n) mvaddnwstr(y, x, buf, n);
    return cols;
}

static int putf(const view *v, int y, int x, int w, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int putf(const view *v, int y, int x, int w, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return put(v, y, x, w, buf);
}

static void glyph(const view *v, int y, int x, wchar_t g, char fallback) {
    if (v->ascii) mvaddch(y, x, (chtype)(unsigned char)fallback);
    else mvaddnwstr(y, x, &g, 1);
}

static void fill(const view *v, int y, int x, int w, int h) {
    set_attr(v, A_NORMAL, 0);
    for (int i = 0; i < h; i++) mvhline(y + i, x, ' ', w);
}

/* Border with the title in it; the focused panel's title is reversed. */
static void frame(const view *v, const dacc_rect *rc, const char *title, int focused) {
    int x0 = rc->x, y0 = rc->y, x1 = rc->x + rc->w - 1, y1 = rc->y + rc->h - 1;
    fill(v, rc->y, rc->x, rc->w, rc->h);
    set_attr(v, focused ? A_BOLD : A_NORMAL, focused ? C_TITLE : C_DIM);
    for (int x = x0 + 1; x < x1; x++) {
        glyph(v, y0, x, L'\x2500', '-');
        glyph(v, y1, x, L'\x2500', '-');
    }
    for (int y = y0 + 1; y < y1; y++) {
        glyph(v, y, x0, L'\x2502', '|');
        glyph(v, y, x1, L'\x2502', '|');
    }
    glyph(v, y0, x0, L'\x250c', '+');
    glyph(v, y0, x1, L'\x2510', '+');
    glyph(v, y1, x0, L'\x2514', '+');
    glyph(v, y1, x1, L'\x2518', '+');
    set_attr(v, focused ? A_REVERSE | A_BOLD : A_BOLD, C_TITLE);
    putf(v, y0, x0 + 2, rc->w - 4, " %s ", title);
    set_attr(v, A_NORMAL, 0);
}

/* Horizontal bar of `cells` columns filled to fraction f (eighths in UTF-8). */
static void hbar(const view *v, int y, int x, int cells, double f, int pair, int track) {
    if (cells <= 0) return;
    if (!(f >= 0)) f = 0;
    if (f > 1) f = 1;
    int eighths = (int)(f * cells * 8 + 0.5);
    static const wchar_t part[8] = {L' ', L'\x258f', L'\x258e', L'\x258d', L'\x258c', L'\x258b', L'\x258a', L'\x2589'};
    for (int i = 0; i < cells; i++) {
        int e = eighths - i * 8;
        if (e >= 8) {
            set_attr(v, v->color ? A_NORMAL : A_NORMAL, pair);
            glyph(v, y, x + i, L'\x2588', '#');
        } else if (e > 0 && !v->ascii) {
            set_attr(v, A_NORMAL, pair);
            glyph(v, y, x + i, part[e], '#');
        } else {
            set_attr(v, A_NORMAL, C_DIM);
            if (track) glyph(v, y, x + i, L'\x2591', '.');
            else mvaddch(y, x + i, ' ');
        }
    }
    set_attr(v, A_NORMAL, 0);
}

/* ---- data helpers ---- */

static int has_proto(const dacc_rd_run *r, int proto) {
    for (int i = 0; i < r->ntasks; i++)
        if (r->tasks[i].has_results && r->tasks[i].proto[proto].has) return 1;
    return 0;
}

static int digit_disagrees(const dacc_rd_run *r, const dacc_rd_digit *g) {
    for (int b = 0; b < g->nblocks; b++) {
        int first = -1;
        for (int vi = 0; vi < r->nvariants && vi < DACC_RD_MAX_VARIANTS; vi++) {
            int p = g->pred[vi][b];
            if (p < 0) continue;
            if (first < 0) first = p;
            else if (p != first) return 1;
        }
    }
    return 0;
}

/* ---- panels ---- */

static void draw_header(const view *v, const dacc_rect *rc) {
    const dacc_rd_progress *p = &v->r->progress;
    char ts[32];
    set_attr(v, A_REVERSE | A_BOLD, 0);
    mvhline(rc->y, rc->x, ' ', rc->w);
    int state_pair = !p->valid ? 0 : !strcmp(p->state, "done") ? C_GOOD
                   : (!strcmp(p->state, "failed") || !strcmp(p->state, "interrupted")) ? C_BAD : 0;
    /* the state first: a long path must not push it off a narrow screen */
    int used = put(v, rc->y, rc->x, rc->w, " dacc watch  state: ");
    set_attr(v, A_REVERSE | A_BOLD, state_pair);
    used += put(v, rc->y, rc->x + used, rc->w - used, p->valid ? p->state : "waiting");
    set_attr(v, A_REVERSE | A_BOLD, 0);
    tf_now(ts, sizeof ts);
    int room = rc->w - used - (int)strlen(ts) - 4;
    if (room > 8) putf(v, rc->y, rc->x + used, room, "  %s", v->r->dir);
    int tl = (int)strlen(ts) + 1;
    if (rc->w - used > tl + 2) put(v, rc->y, rc->x + rc->w - tl, tl, ts);
    set_attr(v, A_NORMAL, 0);
}

static void draw_footer(const view *v, const dacc_rect *rc) {
    set_attr(v, A_REVERSE, 0);
    mvhline(rc->y, rc->x, ' ', rc->w);
    const char *keys = v->ascii
        ? " q quit  ? help  Tab/</> panel  up/dn variant  n/p digit  d disagree  t protocol"
        : " q quit  ? help  Tab/\xe2\x86\x90\xe2\x86\x92 panel  \xe2\x86\x91\xe2\x86\x93 variant  n/p digit  d disagree  t protocol";
    put(v, rc->y, rc->x, rc->w, keys);
    if (v->r->warning[0] && rc->w > 120) {
        set_attr(v, A_REVERSE, C_BAD);
        putf(v, rc->y, rc->x + 86, rc->w - 87, "%s", v->r->warning);
    }
    set_attr(v, A_NORMAL, 0);
}

static void draw_progress(const view *v, const dacc_rect *rc) {
    const dacc_rd_run *r = v->r;
    const dacc_rd_progress *p = &r->progress;
    frame(v, rc, "Progress", 0);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, lines = rc->h - 2;
    char eta[24], el[24];
    if (!r->have_study) {
        putf(v, y, x, w, "waiting for %s/study.json ...", r->dir);
        return;
    }
    if (!p->valid) {
        putf(v, y, x, w, "%d tasks planned; waiting for progress.json ...", r->ntasks);
        return;
    }
    int ntasks = p->tasks > 0 ? p->tasks : r->ntasks;
    int used = putf(v, y, x, w, "task %d/%d  ", p->task_index + 1, ntasks);
    set_attr(v, A_BOLD, C_ACCENT);
    used += put(v, y, x + used, w - used, p->variant[0] ? p->variant : "-");
    set_attr(v, A_NORMAL, 0);
    char ips[32] = "-";
    if (isfinite(p->images_per_s)) snprintf(ips, sizeof ips, "%.0f", p->images_per_s);
    putf(v, y, x + used, w - used, "  seed %d  epoch %d/%d  batch %ld/%ld  %s img/s", p->seed,
         p->epoch, p->epochs, p->batch, p->batches, ips);
    int bw = w - 6 - 8 - 16;
    if (bw < 10) bw = 10;
    double fs = dacc_rd_study_fraction(r);
    double fe = p->batches > 0 ? (double)p->batch / (double)p->batches : 0;
    if (!strcmp(p->state, "done") || !strcmp(p->state, "evaluating")) fe = 1;
    if (lines >= 2) {
        put(v, y + 1, x, 6, "study");
        hbar(v, y + 1, x + 6, bw, fs, C_BAR1, 1);
        putf(v, y + 1, x + 7 + bw, 24, "%5.1f%%  elapsed %s", 100 * fs, tf_duration(p->elapsed_s, el, sizeof el));
    }
    if (lines >= 3) {
        put(v, y + 2, x, 6, "epoch");
        hbar(v, y + 2, x + 6, bw, fe, C_BAR2, 1);
        putf(v, y + 2, x + 7 + bw, 24, "%5.1f%%  ETA %s", 100 * fe, tf_duration(p->eta_s, eta, sizeof eta));
    }
    if (lines >= 4) {
        int done = 0;
        for (int i = 0; i < r->ntasks; i++) done += r->tasks[i].done;
        char upd[48] = "";
        if (isfinite(p->updated)) {
            double age = (double)time(NULL) - p->updated;
            if (age >= 0 && age < 1e7) snprintf(upd, sizeof upd, ", progress.json %.0f s old", age);
        }
        putf(v, y + 3, x, w, "%d of %d tasks complete%s  %s", done, r->ntasks, upd, r->warning);
    }
}

static void sparkline(const view *v, int y, int x, int w, const double *vals, int n, double lo, double hi, int pair) {
    static const wchar_t ticks[8] = {L'\x2581', L'\x2582', L'\x2583', L'\x2584', L'\x2585', L'\x2586', L'\x2587', L'\x2588'};
    static const char ramp[] = "_.-:=+*#";
    int start = n > w ? n - w : 0;
    set_attr(v, A_NORMAL, pair);
    for (int i = start; i < n; i++) {
        double f = hi > lo ? (vals[i] - lo) / (hi - lo) : 0.5;
        int k;
        if (!isfinite(vals[i])) { mvaddch(y, x + i - start, ' '); continue; }
        k = (int)(f * 7 + 0.5);
        if (k < 0) k = 0;
        if (k > 7) k = 7;
        glyph(v, y, x + i - start, ticks[k], ramp[k]);
    }
    set_attr(v, A_NORMAL, 0);
}

/* Loss (Q = 0) or test accuracy (Q = 2) per epoch of every variant as a
 * chart (tui/chart.c): the selected variant drawn last and bright, the
 * others dim. Returns 0 when there is no room. */
static int draw_chart(const view *v, int y, int x, int w, int h, int q) {
    const dacc_rd_run *r = v->r;
    enum { MAXV = 32, MAXE = 400 };
    int nv = r->nvariants < MAXV ? r->nvariants : MAXV, me = dacc_rd_max_epoch(r, -1) < MAXE ? dacc_rd_max_epoch(r, -1) : MAXE;
    double *vals = malloc(sizeof *vals * (size_t)(nv * me + 1));
    wchar_t *cells = malloc(sizeof *cells * (size_t)(w * h));
    unsigned char *own = malloc((size_t)(w * h));
    dacc_chart_series s[MAXV];
    int ns = 0, ok = vals && cells && own && nv > 0;
    for (int k = 0; ok && k < nv; k++) {
        int vi = (v->variant + 1 + k) % nv; /* the selected one last */
        double *y = vals + ns * me;
        for (int ep = 1; ep <= me; ep++) y[ep - 1] = dacc_rd_epoch_mean(r, vi, ep, q);
        s[ns++] = (dacc_chart_series){y, dacc_rd_max_epoch(r, vi) < me ? dacc_rd_max_epoch(r, vi) : me};
    }
    dacc_chart_opts o = {v->ascii, q ? 100 : 1, q ? "%.2f" : "%.4f"};
    ok = ok && dacc_chart_render(s, ns, &o, w, h - 1, cells, own) == 0;
    if (ok) {
        set_attr(v, A_BOLD, 0);
        putf(v, y, x, w, "%s, %s %s", q ? "test accuracy %" : "training loss",
             v->variant < r->nvariants ? r->variants[v->variant] : "", v->ascii ? "'*'" : "bright");
        for (int i = 0; i < w * (h - 1); i++) {
            set_attr(v, own[i] == ns ? A_BOLD : A_NORMAL, own[i] == ns ? C_ACCENT : own[i] ? C_DIM : 0);
            glyph(v, y + 1 + i / w, x + i % w, cells[i], cells[i] < 0x80 ? (char)cells[i] : '.');
        }
        set_attr(v, A_NORMAL, 0);
    }
    free(vals);
    free(cells);
    free(own);
    return ok;
}

static void draw_train(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    frame(v, rc, "Training: loss and test accuracy per epoch", focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    int me = dacc_rd_max_epoch(r, -1);
    if (!r->nvariants || !me) {
        put(v, y, x, w, r->have_study ? "no finished epoch yet" : "waiting for study.json");
        return;
    }
    if (me > 400) me = 400;
    double lo_l = INFINITY, hi_l = -INFINITY, lo_a = INFINITY, hi_a = -INFINITY;
    for (int vi = 0; vi < r->nvariants; vi++)
        for (int ep = 1; ep <= me; ep++) {
            double l = dacc_rd_epoch_mean(r, vi, ep, 0), a = dacc_rd_epoch_mean(r, vi, ep, 2);
            if (isfinite(l)) { if (l < lo_l) lo_l = l; if (l > hi_l) hi_l = l; }
            if (isfinite(a)) { if (a < lo_a) lo_a = a; if (a > hi_a) hi_a = a; }
        }
    /* name 12 | loss spark | last loss 8 | acc spark | last acc 7 | ep 4 */
    int sw = (w - 12 - 8 - 8 - 5 - 2) / 2;
    if (sw > me) sw = me;
    if (sw < 4) sw = 4;
    int xl = x + 12, xll = xl + sw + 1, xa = xll + 8, xal = xa + sw + 1, xe = xal + 8;
    set_attr(v, A_BOLD, 0);
    put(v, y, x, 12, "variant");
    put(v, y, xl, sw + 9, "loss");
    put(v, y, xa, sw + 9, "test acc %");
    put(v, y, xe, 5, "ep");
    set_attr(v, A_NORMAL, 0);
    double vals[400];
    int row = 1;
    for (int vi = 0; vi < r->nvariants && row < h; vi++, row++) {
        char b[16];
        int sel = vi == v->variant;
        set_attr(v, sel ? A_REVERSE : A_NORMAL, 0);
        put(v, y + row, x, 11, r->variants[vi]);
        set_attr(v, A_NORMAL, 0);
        int n = dacc_rd_max_epoch(r, vi);
        if (n > 400) n = 400;
        for (int ep = 1; ep <= n; ep++) vals[ep - 1] = dacc_rd_epoch_mean(r, vi, ep, 0);
        sparkline(v, y + row, xl, sw, vals, n, lo_l, hi_l, C_BAR2);
        put(v, y + row, xll, 7, n ? tf_num(vals[n - 1], b, sizeof b) : "-");
        for (int ep = 1; ep <= n; ep++) vals[ep - 1] = dacc_rd_epoch_mean(r, vi, ep, 2);
        sparkline(v, y + row, xa, sw, vals, n, lo_a, hi_a, C_BAR1);
        put(v, y + row, xal, 7, n ? tf_pct(vals[n - 1], 2, b, sizeof b) : "-");
        putf(v, y + row, xe, 5, "%d", n);
    }
    /* charts of loss and accuracy when there is room, else the selected
     * variant's last epochs in numbers */
    int cw = (w - 2) / 2;
    if (h - row >= 9 && cw >= 30 && draw_chart(v, y + row + 1, x, cw, h - row - 1, 0) &&
        draw_chart(v, y + row + 1, x + cw + 2, cw, h - row - 1, 2))
        return;
    if (row + 2 <= h && v->variant < r->nvariants) {
        row++;
        set_attr(v, A_BOLD, 0);
        putf(v, y + row, x, w, "%s, per epoch (mean over seeds): loss / train %% / test %%", r->variants[v->variant]);
        set_attr(v, A_NORMAL, 0);
        row++;
        int n = dacc_rd_max_epoch(r, v->variant);
        int per = w / 26 > 0 ? w / 26 : 1;
        int first = 1;
        int room = (h - row) * per;
        if (n > room) first = n - room + 1;
        for (int ep = first, k = 0; ep <= n && row < h; ep++, k++) {
            char a[16], b[16], c[16];
            putf(v, y + row, x + (k % per) * 26, 25, "%2d %s %s %s", ep,
                 tf_num(dacc_rd_epoch_mean(r, v->variant, ep, 0), a, sizeof a),
                 tf_pct(dacc_rd_epoch_mean(r, v->variant, ep, 1), 2, b, sizeof b),
                 tf_pct(dacc_rd_epoch_mean(r, v->variant, ep, 2), 2, c, sizeof c));
            if (k % per == per - 1) row++;
        }
    }
}

static void draw_table(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    int both = has_proto(r, DACC_RD_HELDOUT) && has_proto(r, DACC_RD_PAPER);
    int proto = v->proto;
    if (!has_proto(r, proto) && has_proto(r, 1 - proto)) proto = 1 - proto;
    char title[96];
    snprintf(title, sizeof title, "Results: %s protocol%s", proto == DACC_RD_HELDOUT ? "held-out" : "paper",
             both ? (proto == DACC_RD_HELDOUT ? " (t: paper)" : " (t: held-out)") : "");
    frame(v, rc, title, focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    const char *delta = v->ascii ? "dAcc" : "\xce\x94" "acc";
    set_attr(v, A_BOLD, 0);
    int cx = x;
    put(v, y, cx, 12, "variant");
    cx += 12;
    putf(v, y, cx, 3, "%s", r->nseeds > 1 ? " n" : "");
    cx += 3;
    putf(v, y, cx, 7, "%7s", "clean");
    cx += 7;
    for (int k = 0; k < DACC_RD_SHOW_Y; k++, cx += 7) putf(v, y, cx, 7, "%6s%d", "y", k + 1);
    putf(v, y, cx, 7, "%7s", "x^");
    cx += 7;
    putf(v, y, cx, 8, "%*s%s", v->ascii ? 4 : 4, "", delta);
    set_attr(v, A_NORMAL, 0);
    /* best (closest to zero) delta in green, worst in red */
    double best = -INFINITY, worst = INFINITY;
    for (int vi = 0; vi < r->nvariants; vi++) {
        dacc_rd_stats s;
        dacc_rd_variant_stats(r, vi, proto, &s);
        if (isfinite(s.delta)) { if (s.delta > best) best = s.delta; if (s.delta < worst) worst = s.delta; }
    }
    int row = 1;
    for (int vi = 0; vi < r->nvariants && row < h; vi++, row++) {
        dacc_rd_stats s;
        char b[16];
        dacc_rd_variant_stats(r, vi, proto, &s);
        int sel = vi == v->variant;
        set_attr(v, sel ? A_REVERSE : A_NORMAL, 0);
        put(v, y + row, x, 11, r->variants[vi]);
        set_attr(v, A_NORMAL, 0);
        cx = x + 12;
        if (r->nseeds > 1) putf(v, y + row, cx, 3, "%2d", s.nseeds);
        cx += 3;
        putf(v, y + row, cx, 7, "%7s", tf_pct(s.clean, 2, b, sizeof b));
        cx += 7;
        for (int k = 0; k < DACC_RD_SHOW_Y; k++, cx += 7) putf(v, y + row, cx, 7, "%7s", tf_pct(s.y[k], 2, b, sizeof b));
        putf(v, y + row, cx, 7, "%7s", tf_pct(s.xhat, 2, b, sizeof b));
        cx += 7;
        int pair = 0;
        if (isfinite(s.delta) && best > worst) pair = s.delta == best ? C_GOOD : s.delta == worst ? C_BAD : 0;
        set_attr(v, pair ? A_BOLD : A_NORMAL, pair);
        putf(v, y + row, cx, 8, "%8s", tf_pp(s.delta, 2, b, sizeof b));
        set_attr(v, A_NORMAL, 0);
    }
    if (row + 1 < h) {
        set_attr(v, A_NORMAL, C_DIM);
        putf(v, y + row + 1, x, w, "accuracy in %%, %s = x^ - clean in points; x^ = mean of y1..y5%s",
             v->ascii ? "dAcc" : "\xce\x94" "acc", r->nseeds > 1 ? "; mean over n seeds" : "");
        set_attr(v, A_NORMAL, 0);
    }
}

static void draw_bars(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    int proto = v->proto;
    if (!has_proto(r, proto) && has_proto(r, 1 - proto)) proto = 1 - proto;
    char title[96];
    snprintf(title, sizeof title, "Robustness (%s): Fig. 3 clean vs x^, Fig. 4 %s",
             proto == DACC_RD_HELDOUT ? "held-out" : "paper", v->ascii ? "delta" : "\xce\x94" "accuracy");
    frame(v, rc, title, focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    int nv = r->nvariants;
    dacc_rd_stats st[DACC_RD_MAX_VARIANTS];
    double lo = INFINITY, maxd = 0;
    int any = 0;
    for (int vi = 0; vi < nv; vi++) {
        dacc_rd_variant_stats(r, vi, proto, &st[vi]);
        if (isfinite(st[vi].clean) && st[vi].clean < lo) lo = st[vi].clean;
        if (isfinite(st[vi].xhat) && st[vi].xhat < lo) lo = st[vi].xhat;
        if (isfinite(st[vi].delta) && fabs(st[vi].delta) > maxd) maxd = fabs(st[vi].delta);
        if (isfinite(st[vi].clean)) any = 1;
    }
    if (!any) {
        put(v, y, x, w, "no results yet: bars appear as tasks finish");
        return;
    }
    /* axis from a round value below the lowest accuracy to 100 % */
    if (!isfinite(lo) || lo > 1) lo = 1;
    double axis = floor(lo * 200 - 1) / 200; /* 0.5-point steps */
    if (axis < 0) axis = 0;
    if (axis > 0.995) axis = 0.995;
    int two_lines = h >= 3 * nv + 4; /* clean and x^ on separate lines */
    int bw = w - 12 - 8 - 8;
    if (bw < 10) bw = 10;
    char b1[16], b2[16];
    set_attr(v, A_BOLD, 0);
    putf(v, y, x, w, "accuracy %%, axis %.1f..100   ", 100 * axis);
    set_attr(v, A_NORMAL, C_BAR1);
    if (two_lines) put(v, y, x + 31, 10, v->ascii ? "# clean" : "\xe2\x96\x88 clean");
    else put(v, y, x + 31, 10, v->ascii ? "# clean" : "\xe2\x96\x92 clean");
    set_attr(v, A_NORMAL, C_BAR2);
    put(v, y, x + 41, 20, v->ascii ? "= x^ (transformed)" : "\xe2\x96\x88 x^ (transformed)");
    set_attr(v, A_NORMAL, 0);
    int row = 1;
    for (int vi = 0; vi < nv && row < h; vi++) {
        const dacc_rd_stats *s = &st[vi];
        set_attr(v, vi == v->variant ? A_REVERSE : A_NORMAL, 0);
        put(v, y + row, x, 11, r->variants[vi]);
        set_attr(v, A_NORMAL, 0);
        double fc = (s->clean - axis) / (1 - axis), fx = (s->xhat - axis) / (1 - axis);
        if (two_lines) {
            hbar(v, y + row, x + 12, bw, fc, C_BAR1, 0);
            putf(v, y + row, x + 13 + bw, 14, "%s", tf_pct(s->clean, 2, b1, sizeof b1));
            row++;
            if (row >= h) break;
            if (v->ascii) {
                int n = isfinite(fx) ? (int)(fx * bw + 0.5) : 0;
                set_attr(v, A_NORMAL, C_BAR2);
                for (int i = 0; i < bw; i++) mvaddch(y + row, x + 12 + i, i < n ? '=' : ' ');
                set_attr(v, A_NORMAL, 0);
            } else {
                hbar(v, y + row, x + 12, bw, fx, C_BAR2, 0);
            }
            putf(v, y + row, x + 13 + bw, 14, "%s", tf_pct(s->xhat, 2, b2, sizeof b2));
            row++;
        } else {
            /* one line: solid up to x^, shaded from x^ to clean (the drop) */
            int nc = isfinite(fc) ? (int)(fc * bw + 0.5) : 0, nx = isfinite(fx) ? (int)(fx * bw + 0.5) : 0;
            if (nc < 0) nc = 0;
            if (nx < 0) nx = 0;
            for (int i = 0; i < bw; i++) {
                if (i < nx && i < nc) { set_attr(v, A_NORMAL, C_BAR2); glyph(v, y + row, x + 12 + i, L'\x2588', '='); }
                else if (i < nc) { set_attr(v, A_NORMAL, C_BAR1); glyph(v, y + row, x + 12 + i, L'\x2592', '#'); }
                else { set_attr(v, A_NORMAL, 0); mvaddch(y + row, x + 12 + i, ' '); }
            }
            set_attr(v, A_NORMAL, 0);
            putf(v, y + row, x + 13 + bw, 16, "%s/%s", tf_pct(s->clean, 2, b1, sizeof b1),
                 tf_pct(s->xhat, 2, b2, sizeof b2));
            row++;
        }
    }
    if (row + 1 >= h) return;
    /* Fig. 4: delta bars growing left from a zero line near the right edge */
    row++;
    set_attr(v, A_BOLD, 0);
    putf(v, y + row, x, w, "%s = x^ - clean in points, zero at %s (nearer zero = more robust)",
         v->ascii ? "delta" : "\xce\x94" "accuracy", v->ascii ? "|" : "\xe2\x94\x82");
    set_attr(v, A_NORMAL, 0);
    row++;
    int zero = x + 12 + bw - 6; /* leaves room for small positive deltas */
    int left = bw - 6;
    if (maxd <= 0) maxd = 1e-4;
    for (int vi = 0; vi < nv && row < h; vi++, row++) {
        const dacc_rd_stats *s = &st[vi];
        set_attr(v, vi == v->variant ? A_REVERSE : A_NORMAL, 0);
        put(v, y + row, x, 11, r->variants[vi]);
        set_attr(v, A_NORMAL, 0);
        int n = isfinite(s->delta) ? (int)(fabs(s->delta) / maxd * left + 0.5) : 0;
        if (n > left) n = left;
        int neg = isfinite(s->delta) && s->delta < 0;
        set_attr(v, A_NORMAL, neg ? C_BAD : C_GOOD);
        if (neg)
            for (int i = 0; i < n; i++) glyph(v, y + row, zero - 1 - i, L'\x2588', '#');
        else
            for (int i = 0; i < n && i < 5; i++) glyph(v, y + row, zero + 1 + i, L'\x2588', '#');
        set_attr(v, A_BOLD, 0);
        glyph(v, y + row, zero, L'\x2502', '|');
        set_attr(v, A_NORMAL, 0);
        putf(v, y + row, x + 13 + bw, 14, "%s", tf_pp(s->delta, 2, b1, sizeof b1));
    }
}

/* One digit image, area-averaged to iw x ih cells. UTF-8: half blocks, two
 * pixel rows per cell; ASCII: a ten-step shade ramp. */
static void draw_digit(const view *v, int y, int x, int iw, int ih, const unsigned char *img, int rows, int cols) {
    static const char ramp[] = " .:-=+*#%@";
    int subrows = v->ascii ? 1 : 2;
    for (int cy = 0; cy < ih; cy++)
        for (int cx = 0; cx < iw; cx++) {
            double lv[2] = {0, 0};
            for (int s = 0; s < subrows; s++) {
                int py0 = (cy * subrows + s) * rows / (ih * subrows), py1 = (cy * subrows + s + 1) * rows / (ih * subrows);
                int px0 = cx * cols / iw, px1 = (cx + 1) * cols / iw;
                if (py1 <= py0) py1 = py0 + 1;
                if (px1 <= px0) px1 = px0 + 1;
                double sum = 0;
                int n = 0;
                for (int py = py0; py < py1 && py < rows; py++)
                    for (int px = px0; px < px1 && px < cols; px++) { sum += img[py * cols + px]; n++; }
                lv[s] = n ? sum / n / 255.0 : 0;
            }
            if (v->ascii) {
                int k = (int)(lv[0] * 9 + 0.5);
                mvaddch(y + cy, x + cx, (chtype)(unsigned char)ramp[k < 0 ? 0 : k > 9 ? 9 : k]);
            } else {
                int top = lv[0] >= 0.3, bot = lv[1] >= 0.3;
                wchar_t g = top && bot ? L'\x2588' : top ? L'\x2580' : bot ? L'\x2584' : L' ';
                mvaddnwstr(y + cy, x + cx, &g, 1);
            }
        }
}

static void draw_inspect(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    frame(v, rc, "Inspector: a digit and its AlignMNIST transformations (Fig. 5)", focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    if (!r->ndigits) {
        put(v, y, x, w, "no inspect.json digits yet");
        return;
    }
    int di = v->digit < r->ndigits ? v->digit : r->ndigits - 1;
    const dacc_rd_digit *g = &r->digits[di];
    int nb = g->nblocks, nv = r->nvariants;
    int dis = digit_disagrees(r, g);
    set_attr(v, A_BOLD, 0);
    int used = putf(v, y, x, w, "digit %d/%d  #%d (%s)  label %d", di + 1, r->ndigits, g->index, g->split, g->label);
    set_attr(v, A_NORMAL, dis ? C_BAD : C_DIM);
    used += put(v, y, x + used, w - used, dis ? "  variants disagree" : "  variants agree");
    set_attr(v, A_NORMAL, C_DIM);
    static const char hint[] = "   n/p step  d next disagreement";
    if (w - used >= (int)sizeof hint - 1) put(v, y, x + used, w - used, hint);
    set_attr(v, A_NORMAL, 0);
    /* left column 12 for names, then nb images with one space between */
    /* Square pixels would need iw = 2*ih (a cell is twice as tall as wide,
     * half blocks give two pixel rows per cell); when short of width we
     * accept digits up to about 1.5x too tall rather than tiny ones. */
    int colw = (w - 12) / nb;
    if (colw > r->cols + 1) colw = r->cols + 1;
    if (colw < 2) colw = 2;
    int iw = colw - 1;
    int ih = h - 1 - 1 - nv;
    int ih_max = (iw * 3 + 3) / 4;
    if (ih > ih_max) ih = ih_max;
    if (ih > r->rows / (v->ascii ? 1 : 2)) ih = r->rows / (v->ascii ? 1 : 2);
    if (ih < 1) ih = 1;
    if (iw > 2 * ih) iw = 2 * ih;
    if (colw < 7 && 12 + nb * 7 <= w) colw = 7; /* room for "7 99%" */
    size_t px = (size_t)r->rows * (size_t)r->cols;
    for (int b = 0; b < nb; b++) draw_digit(v, y + 1, x + 12 + b * colw, iw, ih, g->img + b * px, r->rows, r->cols);
    int ly = y + 1 + ih;
    set_attr(v, A_BOLD, 0);
    put(v, ly, x, 12, "predicted");
    for (int b = 0; b < nb; b++) putf(v, ly, x + 12 + b * colw, colw - 1, b == 0 ? "clean" : "y%d", b);
    set_attr(v, A_NORMAL, 0);
    for (int vi = 0; vi < nv && ly + 1 + vi < y + h; vi++) {
        int row = ly + 1 + vi;
        set_attr(v, vi == v->variant ? A_REVERSE : A_NORMAL, 0);
        put(v, row, x, 11, r->variants[vi]);
        for (int b = 0; b < nb; b++) {
            int p = vi < DACC_RD_MAX_VARIANTS ? g->pred[vi][b] : -1;
            int cx = x + 12 + b * colw;
            if (p < 0) {
                set_attr(v, A_NORMAL, C_DIM);
                put(v, row, cx, colw - 1, "-");
                continue;
            }
            int right = p == g->label;
            set_attr(v, right ? A_NORMAL : A_BOLD | (v->color ? 0 : A_REVERSE), right ? C_GOOD : C_BAD);
            float c = g->conf[vi][b];
            if (isfinite(c) && colw - 1 >= 6) putf(v, row, cx, colw - 1, "%d %2.0f%%%s", p, 100.0 * c > 99 ? 99.0 : 100.0 * c, right ? "" : "!");
            else putf(v, row, cx, colw - 1, "%d%s", p, right ? "" : "!");
        }
        set_attr(v, A_NORMAL, 0);
    }
}

/* The running training's time per layer, `h` rows at y (split.c). */
static void draw_split(const view *v, int y, int x, int w, int h, const dacc_rd_task *t) {
    char line[256];
    for (int k = 0, n = 1; k < n && k < h; k++) {
        n = ts_split_line(t, h, k, line, sizeof line);
        set_attr(v, k == 0 ? A_BOLD : A_NORMAL, k == 1 ? C_DIM : 0);
        put(v, y + k, x, w, line);
    }
    set_attr(v, A_NORMAL, 0);
}

static void draw_system(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    frame(v, rc, "System: ISA and kernels in use, time per layer", focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    const dacc_rd_task *st = r->have_study ? ts_split_task(r) : NULL;
    if (st && h > 8) { /* the split below the kernel list, up to half the panel and more */
        int sh = st->split.n + 4;
        if (sh > h - 4) sh = h - 4;
        draw_split(v, y + h - sh, x, w, sh, st);
        h -= sh;
    }
    if (!r->have_study) {
        put(v, y, x, w, "waiting for study.json");
        return;
    }
    int used = put(v, y, x, w, "ISA ");
    set_attr(v, A_BOLD, C_ACCENT);
    used += put(v, y, x + used, w - used, r->isa);
    set_attr(v, A_NORMAL, 0);
    char seeds[128] = "";
    for (int i = 0, o = 0; i < r->nseeds && o < 100; i++)
        o += snprintf(seeds + o, sizeof seeds - (size_t)o, i ? ",%d" : "%d", r->seeds[i]);
    putf(v, y, x + used, w - used, "  threads %d  batch %d  epochs %d  protocol %s  seeds %s  dacc %s", r->threads,
         r->batch, r->epochs, r->protocol, seeds, r->dacc_version);
    int colw = 0, opw = 0;
    for (int k = 0; k < r->nkernels; k++) {
        int l = (int)strlen(r->kernel_op[k]);
        if (l > opw) opw = l;
    }
    if (opw > 16) opw = 16;
    for (int k = 0; k < r->nkernels; k++) {
        int l = opw + (int)strlen(r->kernel_impl[k]) + 3;
        if (l > colw) colw = l;
    }
    if (colw > w) colw = w;
    int ncol = colw ? w / colw : 1;
    if (ncol < 1) ncol = 1;
    int nrow = h - 1;
    for (int k = 0; k < r->nkernels; k++) {
        int col = k / (nrow > 0 ? nrow : 1), row = k % (nrow > 0 ? nrow : 1);
        if (col >= ncol || nrow <= 0) {
            if (nrow > 0) putf(v, y + h - 1, x + w - 14, 14, "(+%d more)", r->nkernels - k);
            break;
        }
        set_attr(v, A_NORMAL, C_DIM);
        int u = putf(v, y + 1 + row, x + col * colw, colw, "%-*s ", opw, r->kernel_op[k]);
        set_attr(v, A_NORMAL, 0);
        put(v, y + 1 + row, x + col * colw + u, colw - u - 1, r->kernel_impl[k]);
    }
}

static void draw_help(const view *v, int cols, int rows) {
    static const char *lines[] = {
        "dacc watch: keys",
        "",
        "q          quit (the run goes on)",
        "?          this help; any key closes it",
        "Tab, S-Tab next / previous panel",
        "Left/Right previous / next panel (digits in the inspector)",
        "Up/Down    select a variant (highlighted in every panel)",
        "1..5       training, results, robustness, inspector, system",
        "t          toggle held-out / paper protocol",
        "n / p      next / previous digit in the inspector",
        "d          next digit the variants disagree on",
        "Ctrl-L     redraw the screen",
        "",
        "Below 160x44 one panel (plus the results from 38 rows) shows.",
    };
    int n = (int)(sizeof lines / sizeof lines[0]);
    int w = 64, h = n + 2;
    if (w > cols) w = cols;
    if (h > rows) h = rows;
    dacc_rect rc = {(cols - w) / 2, (rows - h) / 2, w, h, 0};
    frame(v, &rc, "Help", 1);
    for (int i = 0; i < n && i + 1 < h - 1; i++) {
        set_attr(v, i == 0 ? A_BOLD : A_NORMAL, 0);
        put(v, rc.y + 1 + i, rc.x + 2, w - 4, lines[i]);
    }
    set_attr(v, A_NORMAL, 0);
}

static void draw(view *v) {
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    dacc_rect rc[DACC_P_COUNT];
    int n = dacc_tui_layout(cols, rows, v->focus, rc, DACC_P_COUNT);
    if (n <= 0) {
        fill(v, 0, 0, cols, rows);
        set_attr(v, A_BOLD, 0);
        char msg[96];
        snprintf(msg, sizeof msg, "enlarge the terminal (need 80x24, have %dx%d)", cols, rows);
        int len = (int)strlen(msg);
        mvaddnstr(rows / 2, len < cols ? (cols - len) / 2 : 0, msg, cols);
        set_attr(v, A_NORMAL, 0);
        if (rows > 1) mvaddnstr(rows / 2 + 1, 0, "q quits", cols);
        return;
    }
    for (int i = 0; i < n; i++) {
        /* highlight the focused panel only when several are visible */
        int f = n > 4 && rc[i].panel == v->focus;
        switch (rc[i].panel) {
        case DACC_P_HEADER: draw_header(v, &rc[i]); break;
        case DACC_P_FOOTER: draw_footer(v, &rc[i]); break;
        case DACC_P_PROGRESS: draw_progress(v, &rc[i]); break;
        case DACC_P_TRAIN: draw_train(v, &rc[i], f); break;
        case DACC_P_TABLE: draw_table(v, &rc[i], f); break;
        case DACC_P_BARS: draw_bars(v, &rc[i], f); break;
        case DACC_P_INSPECT: draw_inspect(v, &rc[i], f); break;
        case DACC_P_SYSTEM: draw_system(v, &rc[i], f); break;
        default: break;
        }
    }
    if (v->help) draw_help(v, cols, rows);
    move(rows - 1, cols - 1);
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void next_disagreement(view *v) {
    const dacc_rd_run *r = v->r;
    for (int k = 1; k <= r->ndigits; k++) {
        int d = (v->digit + k) % r->ndigits;
        if (digit_disagrees(r, &r->digits[d])) { v->digit = d; return; }
    }
}

/* Returns 1 to quit. */
static int handle_key(view *v, int ch) {
    int nd = v->r->ndigits, nv = v->r->nvariants;
    if (v->help) { /* any key closes help; q still quits */
        v->help = 0;
        return ch == 'q' || ch == 'Q';
    }
    switch (ch) {
    case 'q': case 'Q': return 1;
    case '?': case 'h': v->help = 1; break;
    case '\t': v->focus = v->focus >= DACC_LAST_CONTENT ? DACC_FIRST_CONTENT : v->focus + 1; break;
    case KEY_BTAB: v->focus = v->focus <= DACC_FIRST_CONTENT ? DACC_LAST_CONTENT : v->focus - 1; break;
    case KEY_RIGHT:
        if (v->focus == DACC_P_INSPECT && nd) v->digit = (v->digit + 1) % nd;
        else v->focus = v->focus >= DACC_LAST_CONTENT ? DACC_FIRST_CONTENT : v->focus + 1;
        break;
    case KEY_LEFT:
        if (v->focus == DACC_P_INSPECT && nd) v->digit = (v->digit + nd - 1) % nd;
        else v->focus = v->focus <= DACC_FIRST_CONTENT ? DACC_LAST_CONTENT : v->focus - 1;
        break;
    case KEY_UP: if (nv) v->variant = (v->variant + nv - 1) % nv; break;
    case KEY_DOWN: if (nv) v->variant = (v->variant + 1) % nv; break;
    case '1': case '2': case '3': case '4': case '5': v->focus = DACC_FIRST_CONTENT + (ch - '1'); break;
    case 't': case 'T': v->proto = 1 - v->proto; break;
    case 'n': case ' ': if (nd) v->digit = (v->digit + 1) % nd; break;
    case 'p': if (nd) v->digit = (v->digit + nd - 1) % nd; break;
    case 'd': case 'D': if (nd) next_disagreement(v); break;
    case 12: /* Ctrl-L */ clearok(curscr, TRUE); break;
    default: break;
    }
    return 0;
}

int td_dashboard(dacc_rd_run *r, const dacc_tui_options *opt, dacc_err *e) {
    view v = {r, opt->ascii, !opt->no_color, DACC_P_TABLE, 0, 0, DACC_RD_HELDOUT, 0};
    if (!initscr()) return dacc_fail(e, "watch: cannot initialise the terminal (TERM=%s)", getenv("TERM") ? getenv("TERM") : "");
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    curs_set(0);
    if (v.color && has_colors()) {
        start_color();
        use_default_colors();
        init_pair(C_GOOD, COLOR_GREEN, -1);
        init_pair(C_BAD, COLOR_RED, -1);
        init_pair(C_TITLE, COLOR_CYAN, -1);
        init_pair(C_ACCENT, COLOR_YELLOW, -1);
        init_pair(C_BAR1, COLOR_BLUE, -1);
        init_pair(C_BAR2, COLOR_MAGENTA, -1);
        init_pair(C_DIM, COLOR_WHITE, -1);
    } else {
        v.color = 0;
    }
    int tick = opt->refresh_ms < 250 ? 250 : opt->refresh_ms > 1000 ? 1000 : opt->refresh_ms;
    timeout(tick);
    dacc_rd_run_refresh(r);
    double last_draw = -1e9, last_poll = mono_s();
    int dirty = 1, ended = 0;
    double bad_since = -1;
    while (!tui_stop_flag) {
        double now = mono_s();
        if (now - last_poll >= opt->refresh_ms / 1000.0) {
            if (dacc_rd_run_refresh(r)) dirty = 1;
            last_poll = now;
            if (r->nvariants && v.variant >= r->nvariants) v.variant = 0;
            if (r->ndigits && v.digit >= r->ndigits) v.digit = 0;
        }
        if (now - last_draw >= 1.0) dirty = 1; /* the clock and "s old" */
        if (dirty) {
            draw(&v);
            refresh();
            last_draw = now;
            dirty = 0;
        }
        if (opt->exit_when_done && (ended = tw_run_ended(r, now, &bad_since, e)) != 0) break;
        int ch = getch();
        if (ch == ERR) continue;
        if (ch == KEY_RESIZE) {
            erase(); /* new geometry: repaint everything once */
            dirty = 1;
            continue;
        }
        if (handle_key(&v, ch)) break;
        dirty = 1;
    }
    endwin();
    return ended < 0 ? -1 : 0;
}

#else /* built without ncurses: the plain watcher is all there is */

int td_dashboard(dacc_rd_run *r, const dacc_tui_options *opt, dacc_err *e) {
    return tt_plain_watch(r, opt, stdout, e);
}

#endif
