/* Fig. 5: the inspector's digits, each as its clean image and every
 * transformed block, with every variant's prediction under each image; wrong
 * predictions in red. Digits the variants disagree on come first. The
 * images are embedded as PNG (data/png.h) in data: URIs. */
#include "data/png.h"
#include "study/figures.h"
#include "study/svg.h"
#include <stdlib.h>
#include <string.h>

#define SHOW_DIGITS 12
#define CELL 64
#define IMG 56

/* Blocks on which the variants with a prediction do not all agree, and the
 * wrong predictions; disagreement counts most. */
static long digit_score(const dacc_fig_study *s, const dacc_fig_digit *d) {
    long dis = 0, wrong = 0;
    for (int b = 0; b < s->blocks; b++) {
        int first = -1, differ = 0;
        for (int v = 0; v < s->nv; v++) {
            int p = d->pred[v][b];
            if (p < 0) continue;
            wrong += p != d->label;
            if (first < 0) first = p;
            else differ |= p != first;
        }
        dis += differ;
    }
    return dis * 1000 + wrong;
}

static void embed(svg *g, const uint8_t *px, double x, double y) {
    size_t n = 0;
    uint8_t *png = dacc_png_gray8(px, 28, 28, &n);
    char *b64 = png ? dacc_base64(png, n) : NULL;
    if (b64)
        fprintf(g->f, "<image class=\"digit\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" "
                "preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" "
                "xlink:href=\"data:image/png;base64,%s\"/>\n", x, y, IMG, IMG, b64);
    else /* out of memory: a grey box keeps the grid readable */
        fprintf(g->f, "<rect class=\"digit\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%d\" fill=\"#808080\"/>\n",
                x, y, IMG, IMG);
    free(b64);
    free(png);
}

static void draw_digit(svg *g, const dacc_fig_study *s, const dacc_fig_digit *d, double y) {
    fprintf(g->f, "<g class=\"digitrow\" data-label=\"%d\" data-index=\"%ld\">\n", d->label, d->index);
    svg_text(g, 10, y + 14, "start", NULL, "%s digit %ld, label %d", d->split, d->index, d->label);
    for (int b = 0; b < s->blocks; b++) embed(g, d->img[b], 120 + b * CELL, y + 22);
    for (int v = 0; v < s->nv; v++) {
        double yy = y + 22 + IMG + 14 + 15 * v;
        svg_text(g, 112, yy, "end", "small", "%s", s->v[v].name);
        for (int b = 0; b < s->blocks; b++) {
            int p = d->pred[v][b];
            double x = 120 + b * CELL + IMG / 2.0;
            if (p < 0) svg_text(g, x, yy, "middle", "pred none small", "-");
            else if (p == d->label) svg_text(g, x, yy, "middle", "pred ok small", "%d", p);
            else svg_text(g, x, yy, "middle", "pred wrong small", "%d ✗", p);
        }
    }
    fputs("</g>\n", g->f);
}

char *dacc_fig_svg_digits(const dacc_fig_study *s, size_t *n) {
    int nd = s->nd < SHOW_DIGITS ? s->nd : SHOW_DIGITS;
    int order[DACC_FIG_MAXD];
    long score[DACC_FIG_MAXD];
    for (int i = 0; i < s->nd && i < DACC_FIG_MAXD; i++) order[i] = i, score[i] = digit_score(s, &s->d[i]);
    for (int i = 1; i < s->nd && i < DACC_FIG_MAXD; i++) /* stable insertion sort, highest first */
        for (int j = i; j > 0 && score[order[j]] > score[order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    double row_h = 22 + IMG + 14 + 15 * s->nv + 16;
    int w = 140 + (s->blocks > 0 ? s->blocks : 1) * CELL;
    if (w < 640) w = 640;
    int maxc = (w - 30) * 10 / 66, nl = svg_note_lines(s->notes, maxc);
    svg g;
    if (svg_open(&g, w, (int)(70 + row_h * (nd ? nd : 1) + 40 + 15 * nl), "Fig. 5: digits, their transformations and "
                 "each variant's prediction"))
        return NULL;
    svg_text(&g, 10, 22, "start", "title", "Digits: clean, then each transformed block; predictions below");
    svg_text(&g, 10, 40, "start", "small", "Red ✗: wrong prediction. Digits the variants disagree on first%s.",
             s->nd > nd ? " (the first of them shown)" : "");
    for (int b = 0; b < s->blocks; b++)
        svg_text(&g, 120 + b * CELL + IMG / 2.0, 60, "middle", "small", b ? "block %d" : "clean", b);
    double y = 66;
    for (int i = 0; i < nd; i++, y += row_h) draw_digit(&g, s, &s->d[order[i]], y);
    if (!nd) {
        svg_text(&g, 10, y + 20, "start", "note", "No inspector digits (inspect.json) in the run directory.");
        y += 30;
    }
    svg_notes(&g, 10, y + 10, s->notes, maxc);
    return svg_close(&g, n);
}
