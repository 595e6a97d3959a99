/* The curses dashboard. Data comes from dacc_rd_run (rundir.c); layout from the
 * pure dacc_tui_layout(); this file only draws and handles keys. Every panel
 * paints every cell of its rectangle and the rectangles tile the screen, so
 * a frame never erases first and ncurses sends only what changed. */
#include "internal.h"
#ifdef DACC_HAVE_TUI
#include "chart.h"
#include "draw.h"
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

static void draw_header(const view *v, const dacc_rect *rc) {
    const dacc_rd_progress *p = &v->r->progress;
    char ts[32];
    dw_set_attr(v, A_REVERSE | A_BOLD, 0);
    mvhline(rc->y, rc->x, ' ', rc->w);
    int state_pair = !p->valid ? 0 : !strcmp(p->state, "done") ? C_GOOD
                   : (!strcmp(p->state, "failed") || !strcmp(p->state, "interrupted")) ? C_BAD : 0;
    /* the state first: a long path must not push it off a narrow screen */
    int used = dw_put(v, rc->y, rc->x, rc->w, " dacc watch  state: ");
    dw_set_attr(v, A_REVERSE | A_BOLD, state_pair);
    used += dw_put(v, rc->y, rc->x + used, rc->w - used, p->valid ? p->state : "waiting");
    dw_set_attr(v, A_REVERSE | A_BOLD, 0);
    tf_now(ts, sizeof ts);
    int room = rc->w - used - (int)strlen(ts) - 4;
    if (room > 8) dw_putf(v, rc->y, rc->x + used, room, "  %s", v->r->dir);
    int tl = (int)strlen(ts) + 1;
    if (rc->w - used > tl + 2) dw_put(v, rc->y, rc->x + rc->w - tl, tl, ts);
    dw_set_attr(v, A_NORMAL, 0);
}

static void draw_footer(const view *v, const dacc_rect *rc) {
    dw_set_attr(v, A_REVERSE, 0);
    mvhline(rc->y, rc->x, ' ', rc->w);
    const char *keys = v->ascii
        ? " q quit  ? help  Tab/</> panel  up/dn variant  n/p digit  d disagree  t protocol  s scales"
        : " q quit  ? help  Tab/\xe2\x86\x90\xe2\x86\x92 panel  \xe2\x86\x91\xe2\x86\x93 variant  n/p digit  d disagree  t protocol  s scales";
    dw_put(v, rc->y, rc->x, rc->w, keys);
    if (v->r->warning[0] && rc->w > 130) {
        dw_set_attr(v, A_REVERSE, C_BAD);
        dw_putf(v, rc->y, rc->x + 92, rc->w - 93, "%s", v->r->warning);
    }
    dw_set_attr(v, A_NORMAL, 0);
}

static void draw_progress(const view *v, const dacc_rect *rc) {
    const dacc_rd_run *r = v->r;
    const dacc_rd_progress *p = &r->progress;
    dw_frame(v, rc, "Progress", 0);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, lines = rc->h - 2;
    char eta[24], el[24];
    if (!r->have_study) {
        dw_putf(v, y, x, w, "waiting for %s/study.json ...", r->dir);
        return;
    }
    if (!p->valid) {
        dw_putf(v, y, x, w, "%d tasks planned; waiting for progress.json ...", r->ntasks);
        return;
    }
    int ntasks = p->tasks > 0 ? p->tasks : r->ntasks;
    int used = dw_putf(v, y, x, w, "task %d/%d  ", p->task_index + 1, ntasks);
    dw_set_attr(v, A_BOLD, C_ACCENT);
    used += dw_put(v, y, x + used, w - used, p->variant[0] ? p->variant : "-");
    dw_set_attr(v, A_NORMAL, 0);
    char ips[32] = "-";
    if (isfinite(p->images_per_s)) snprintf(ips, sizeof ips, "%.0f", p->images_per_s);
    if (p->scales > 0) /* dacc run --scales: a finished network on another scale's set */
        dw_putf(v, y, x + used, w - used, "  seed %d  evaluating deformation scale %g (%d of %d)", p->seed, p->scale,
                p->scale_index + 1, p->scales);
    else
        dw_putf(v, y, x + used, w - used, "  seed %d  epoch %d/%d  batch %ld/%ld  %s img/s", p->seed, p->epoch,
                p->epochs, p->batch, p->batches, ips);
    int bw = w - 6 - 8 - 16;
    if (bw < 10) bw = 10;
    double fs = dacc_rd_study_fraction(r);
    double fe = p->batches > 0 ? (double)p->batch / (double)p->batches : 0;
    if (!strcmp(p->state, "done") || !strcmp(p->state, "evaluating")) fe = 1;
    if (lines >= 2) {
        dw_put(v, y + 1, x, 6, "study");
        dw_hbar(v, y + 1, x + 6, bw, fs, C_BAR1, 1);
        dw_putf(v, y + 1, x + 7 + bw, 24, "%5.1f%%  elapsed %s", 100 * fs, tf_duration(p->elapsed_s, el, sizeof el));
    }
    if (lines >= 3) {
        dw_put(v, y + 2, x, 6, "epoch");
        dw_hbar(v, y + 2, x + 6, bw, fe, C_BAR2, 1);
        dw_putf(v, y + 2, x + 7 + bw, 24, "%5.1f%%  ETA %s", 100 * fe, tf_duration(p->eta_s, eta, sizeof eta));
    }
    if (lines >= 4) {
        int done = 0;
        for (int i = 0; i < r->ntasks; i++) done += r->tasks[i].done;
        char upd[48] = "";
        if (isfinite(p->updated)) {
            double age = (double)time(NULL) - p->updated;
            if (age >= 0 && age < 1e7) snprintf(upd, sizeof upd, ", progress.json %.0f s old", age);
        }
        dw_putf(v, y + 3, x, w, "%d of %d tasks complete%s  %s", done, r->ntasks, upd, r->warning);
    }
}

static void sparkline(const view *v, int y, int x, int w, const double *vals, int n, double lo, double hi, int pair) {
    static const wchar_t ticks[8] = {L'\x2581', L'\x2582', L'\x2583', L'\x2584', L'\x2585', L'\x2586', L'\x2587', L'\x2588'};
    static const char ramp[] = "_.-:=+*#";
    int start = n > w ? n - w : 0;
    dw_set_attr(v, A_NORMAL, pair);
    for (int i = start; i < n; i++) {
        double f = hi > lo ? (vals[i] - lo) / (hi - lo) : 0.5;
        int k;
        if (!isfinite(vals[i])) { mvaddch(y, x + i - start, ' '); continue; }
        k = (int)(f * 7 + 0.5);
        if (k < 0) k = 0;
        if (k > 7) k = 7;
        dw_glyph(v, y, x + i - start, ticks[k], ramp[k]);
    }
    dw_set_attr(v, A_NORMAL, 0);
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
    dacc_chart_opts o = {v->ascii, q ? 100 : 1, q ? "%.2f" : "%.4f", NULL};
    ok = ok && dacc_chart_render(s, ns, &o, w, h - 1, cells, own) == 0;
    if (ok) {
        dw_set_attr(v, A_BOLD, 0);
        dw_putf(v, y, x, w, "%s, %s %s", q ? "test accuracy %" : "training loss",
             v->variant < r->nvariants ? r->variants[v->variant] : "", v->ascii ? "'*'" : "bright");
        for (int i = 0; i < w * (h - 1); i++) {
            dw_set_attr(v, own[i] == ns ? A_BOLD : A_NORMAL, own[i] == ns ? C_ACCENT : own[i] ? C_DIM : 0);
            dw_glyph(v, y + 1 + i / w, x + i % w, cells[i], cells[i] < 0x80 ? (char)cells[i] : '.');
        }
        dw_set_attr(v, A_NORMAL, 0);
    }
    free(vals);
    free(cells);
    free(own);
    return ok;
}

static void draw_train(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    dw_frame(v, rc, "Training: loss and test accuracy per epoch", focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    int me = dacc_rd_max_epoch(r, -1);
    if (!r->nvariants || !me) {
        dw_put(v, y, x, w, r->have_study ? "no finished epoch yet" : "waiting for study.json");
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
    dw_set_attr(v, A_BOLD, 0);
    dw_put(v, y, x, 12, "variant");
    dw_put(v, y, xl, sw + 9, "loss");
    dw_put(v, y, xa, sw + 9, "test acc %");
    dw_put(v, y, xe, 5, "ep");
    dw_set_attr(v, A_NORMAL, 0);
    double vals[400];
    int row = 1;
    for (int vi = 0; vi < r->nvariants && row < h; vi++, row++) {
        char b[16];
        int sel = vi == v->variant;
        dw_set_attr(v, sel ? A_REVERSE : A_NORMAL, 0);
        dw_put(v, y + row, x, 11, r->variants[vi]);
        dw_set_attr(v, A_NORMAL, 0);
        int n = dacc_rd_max_epoch(r, vi);
        if (n > 400) n = 400;
        for (int ep = 1; ep <= n; ep++) vals[ep - 1] = dacc_rd_epoch_mean(r, vi, ep, 0);
        sparkline(v, y + row, xl, sw, vals, n, lo_l, hi_l, C_BAR2);
        dw_put(v, y + row, xll, 7, n ? tf_num(vals[n - 1], b, sizeof b) : "-");
        for (int ep = 1; ep <= n; ep++) vals[ep - 1] = dacc_rd_epoch_mean(r, vi, ep, 2);
        sparkline(v, y + row, xa, sw, vals, n, lo_a, hi_a, C_BAR1);
        dw_put(v, y + row, xal, 7, n ? tf_pct(vals[n - 1], 2, b, sizeof b) : "-");
        dw_putf(v, y + row, xe, 5, "%d", n);
    }
    /* charts of loss and accuracy when there is room, else the selected
     * variant's last epochs in numbers */
    int cw = (w - 2) / 2;
    if (h - row >= 9 && cw >= 30 && draw_chart(v, y + row + 1, x, cw, h - row - 1, 0) &&
        draw_chart(v, y + row + 1, x + cw + 2, cw, h - row - 1, 2))
        return;
    if (row + 2 <= h && v->variant < r->nvariants) {
        row++;
        dw_set_attr(v, A_BOLD, 0);
        dw_putf(v, y + row, x, w, "%s, per epoch (mean over seeds): loss / train %% / test %%", r->variants[v->variant]);
        dw_set_attr(v, A_NORMAL, 0);
        row++;
        int n = dacc_rd_max_epoch(r, v->variant);
        int per = w / 26 > 0 ? w / 26 : 1;
        int first = 1;
        int room = (h - row) * per;
        if (n > room) first = n - room + 1;
        for (int ep = first, k = 0; ep <= n && row < h; ep++, k++) {
            char a[16], b[16], c[16];
            dw_putf(v, y + row, x + (k % per) * 26, 25, "%2d %s %s %s", ep,
                 tf_num(dacc_rd_epoch_mean(r, v->variant, ep, 0), a, sizeof a),
                 tf_pct(dacc_rd_epoch_mean(r, v->variant, ep, 1), 2, b, sizeof b),
                 tf_pct(dacc_rd_epoch_mean(r, v->variant, ep, 2), 2, c, sizeof c));
            if (k % per == per - 1) row++;
        }
    }
}

/* The running training's time per layer, `h` rows at y (split.c). */
static void draw_split(const view *v, int y, int x, int w, int h, const dacc_rd_task *t) {
    char line[256];
    for (int k = 0, n = 1; k < n && k < h; k++) {
        n = ts_split_line(t, h, k, line, sizeof line);
        dw_set_attr(v, k == 0 ? A_BOLD : A_NORMAL, k == 1 ? C_DIM : 0);
        dw_put(v, y + k, x, w, line);
    }
    dw_set_attr(v, A_NORMAL, 0);
}

static void draw_system(const view *v, const dacc_rect *rc, int focused) {
    const dacc_rd_run *r = v->r;
    dw_frame(v, rc, "System: ISA and kernels in use, time per layer", focused);
    int x = rc->x + 2, w = rc->w - 4, y = rc->y + 1, h = rc->h - 2;
    const dacc_rd_task *st = r->have_study ? ts_split_task(r) : NULL;
    if (st && h > 8) { /* the split below the kernel list, up to half the panel and more */
        int sh = st->split.n + 4;
        if (sh > h - 4) sh = h - 4;
        draw_split(v, y + h - sh, x, w, sh, st);
        h -= sh;
    }
    if (!r->have_study) {
        dw_put(v, y, x, w, "waiting for study.json");
        return;
    }
    int used = dw_put(v, y, x, w, "ISA ");
    dw_set_attr(v, A_BOLD, C_ACCENT);
    used += dw_put(v, y, x + used, w - used, r->isa);
    dw_set_attr(v, A_NORMAL, 0);
    char seeds[128] = "";
    for (int i = 0, o = 0; i < r->nseeds && o < 100; i++)
        o += snprintf(seeds + o, sizeof seeds - (size_t)o, i ? ",%d" : "%d", r->seeds[i]);
    dw_putf(v, y, x + used, w - used, "  threads %d  batch %d  epochs %d  protocol %s  seeds %s  dacc %s", r->threads,
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
            if (nrow > 0) dw_putf(v, y + h - 1, x + w - 14, 14, "(+%d more)", r->nkernels - k);
            break;
        }
        dw_set_attr(v, A_NORMAL, C_DIM);
        int u = dw_putf(v, y + 1 + row, x + col * colw, colw, "%-*s ", opw, r->kernel_op[k]);
        dw_set_attr(v, A_NORMAL, 0);
        dw_put(v, y + 1 + row, x + col * colw + u, colw - u - 1, r->kernel_impl[k]);
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
        "s          robustness panel: delta against deformation scale",
        "           (dacc run --scales) / the Fig. 3 and 4 bars",
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
    dw_frame(v, &rc, "Help", 1);
    for (int i = 0; i < n && i + 1 < h - 1; i++) {
        dw_set_attr(v, i == 0 ? A_BOLD : A_NORMAL, 0);
        dw_put(v, rc.y + 1 + i, rc.x + 2, w - 4, lines[i]);
    }
    dw_set_attr(v, A_NORMAL, 0);
}

static void draw(view *v) {
    int rows, cols;
    getmaxyx(stdscr, rows, cols);
    dacc_rect rc[DACC_P_COUNT];
    int n = dacc_tui_layout(cols, rows, v->focus, rc, DACC_P_COUNT);
    if (n <= 0) {
        dw_fill(v, 0, 0, cols, rows);
        dw_set_attr(v, A_BOLD, 0);
        char msg[96];
        snprintf(msg, sizeof msg, "enlarge the terminal (need 80x24, have %dx%d)", cols, rows);
        int len = (int)strlen(msg);
        mvaddnstr(rows / 2, len < cols ? (cols - len) / 2 : 0, msg, cols);
        dw_set_attr(v, A_NORMAL, 0);
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
        case DACC_P_TABLE: dw_draw_table(v, &rc[i], f); break;
        case DACC_P_BARS: dw_draw_bars(v, &rc[i], f); break;
        case DACC_P_INSPECT: dw_draw_inspect(v, &rc[i], f); break;
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
        if (dw_digit_disagrees(r, &r->digits[d])) { v->digit = d; return; }
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
    case 's': case 'S': v->scales = !v->scales; if (v->scales) v->focus = DACC_P_BARS; break;
    case 'n': case ' ': if (nd) v->digit = (v->digit + 1) % nd; break;
    case 'p': if (nd) v->digit = (v->digit + nd - 1) % nd; break;
    case 'd': case 'D': if (nd) next_disagreement(v); break;
    case 12: /* Ctrl-L */ clearok(curscr, TRUE); break;
    default: break;
    }
    return 0;
}

int td_dashboard(dacc_rd_run *r, const dacc_tui_options *opt, dacc_err *e) {
    view v = {r, opt->ascii, !opt->no_color, DACC_P_TABLE, 0, 0, DACC_RD_HELDOUT, 0, 0};
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
